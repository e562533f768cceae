"""rnnlab.classic: notebook inputs accepted as is, and a loss_function consistent with forward."""

import pytest
import torch
from torch.utils.data import DataLoader

from rnnlab import classic
from rnnlab.compat.torchtext.vocab import Vectors, build_vocab_from_iterator
from rnnlab.training import _logits, _loss_fn

ITEMS = [("pos", "a great film"), ("neg", "a bad film"), ("pos", "great great acting"), ("neg", "bad")]


def _tok(text):
    return text.split()


@pytest.fixture()
def setting(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("great 1 0 0.5\nbad -1 0 0.5\nfilm 0 1 0\n", encoding="utf-8")
    vocab = build_vocab_from_iterator((_tok(t) for _, t in ITEMS), specials=["<pad>", "<unk>"])
    vocab.set_default_index(vocab["<unk>"])
    return vocab, Vectors(str(path))


def _models(vocab, vectors):
    torch.manual_seed(0)
    return [classic.BagOfEmbeddingsBinaryClassifier(vocab, vectors, 4, freeze_embeddings=False),
            classic.RNNClassifier(vocab, vectors, 3, 4, freeze_embeddings=False),
            classic.LSTMClassifier(vocab, vectors, 3, 4, freeze_embeddings=False),
            classic.GRUClassifier(vocab, vectors, 3, 4)]


def _batch(model, vocab):
    fn = classic.collate_batch_boe if model.family == "boe" else classic.collate_batch_rnn
    return fn(ITEMS, vocab=vocab, tokenizer=_tok)


def test_embeddings_from_vectors_rows_by_itos_zeros_for_unknown(setting):
    vocab, vectors = setting
    m = classic.RNNClassifier(vocab, vectors, 3, 4)
    w = m.embedding.weight
    assert w.shape == (len(vocab), vectors.dim)
    assert torch.equal(w[vocab["great"]], vectors["great"]) and torch.equal(w[vocab["a"]], torch.zeros(3))
    assert m.embedding.padding_idx == vocab["<pad>"] == 0
    same = classic.RNNClassifier(vocab, w.detach().clone(), 3, 4)          # a tensor works too
    assert torch.equal(same.embedding.weight, w)
    with pytest.raises(ValueError, match="len\\(vocab\\)"):
        classic.RNNClassifier(vocab, torch.zeros(3, 3), 3, 4)


def test_collate_shapes_pad_index_int_labels_and_list_lengths(setting):
    vocab, _ = setting
    labels, padded, lengths = classic.collate_batch_rnn(ITEMS, vocab=vocab, tokenizer=_tok)
    assert labels.dtype == torch.int64 and labels.tolist() == [1, 0, 1, 0]
    assert lengths == [3, 3, 3, 1] and padded.shape == (4, 3)
    assert padded[3, 1:].tolist() == [vocab["<pad>"]] * 2
    labels, text, offsets = classic.collate_batch_boe(ITEMS, vocab=vocab, tokenizer=_tok)
    assert offsets.tolist() == [0, 3, 6, 9] and len(text) == 10


@pytest.mark.parametrize("i", range(4))
def test_loss_function_on_forward_equals_the_internal_trainers_loss(setting, i):
    vocab, vectors = setting
    model = _models(vocab, vectors)[i]
    labels, text, extra = _batch(model, vocab)
    classic_loss = model.loss_function(model(text, extra), labels)            # int labels, list lengths
    internal = _loss_fn(model)(_logits(model, text, torch.as_tensor(extra)), labels.float())
    assert isinstance(model.loss_function, torch.nn.BCELoss)
    assert classic_loss.item() == pytest.approx(internal.item(), rel=1e-5)
    # and the gradients agree too (the notebook's gradient cell)
    model.zero_grad()
    model.loss_function(model(text, extra).view(-1), labels.float()).backward()
    g1 = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    _loss_fn(model)(_logits(model, text, torch.as_tensor(extra)), labels.float()).backward()
    g2 = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-6)


def test_lengths_list_or_tensor_give_the_same_output(setting):
    vocab, vectors = setting
    model = _models(vocab, vectors)[1].eval()
    _, padded, lengths = classic.collate_batch_rnn(ITEMS, vocab=vocab, tokenizer=_tok)
    assert torch.equal(model(padded, lengths), model(padded, torch.tensor(lengths)))


def test_train_prints_the_classic_log_line_and_test_returns_acc_and_loss(setting):
    vocab, vectors = setting
    model = _models(vocab, vectors)[1]
    collate = lambda b: classic.collate_batch_rnn(b, vocab=vocab, tokenizer=_tok)  # noqa: E731
    loader = DataLoader(ITEMS, batch_size=2, collate_fn=collate)
    lines = []
    rows = classic.train(model, loader, torch.optim.SGD(model.parameters(), lr=0.5), epochs=4, print_every=2,
                         validation_data=loader, print_fn=lines.append)
    import re
    row = re.compile(r"^\| epoch +\d+ \| train acc +[01]\.\d{3} \| train loss +\d+\.\d{3} \| "
                     r"valid acc +[01]\.\d{3} \| valid loss +\d+\.\d{3} \|$")
    assert [l.split("|")[1].split()[1] for l in lines[:3]] == ["0", "2", "4"]
    assert all(row.match(l) for l in lines[:3]) and lines[-1].startswith("\nOverall training time:")
    assert rows[-1]["train"]["loss"] < rows[0]["train"]["loss"]
    m = classic.test(model, loader)
    assert set(m) == {"acc", "loss"} and m == rows[-1]["valid"]


def test_predict_multiple_and_display_weights(setting, capsys):
    vocab, vectors = setting
    model = _models(vocab, vectors)[0]
    df = classic.predict_multiple(model, ["a great film", "bad"],
                                  lambda b: classic.collate_batch_boe(b, vocab=vocab, tokenizer=_tok))
    assert list(df.columns) == ["Input text", "Classifier probability", "Output label"]
    assert ((df["Classifier probability"] > 0.5) == (df["Output label"] == "pos")).all()
    classic.display_weights(model)
    assert "HIDDEN.WEIGHT" in capsys.readouterr().out


def test_newwords_collate_positions_and_missing_tokens(setting):
    vocab, _ = setting
    with pytest.raises(ValueError, match="no <newneg> or <newpos>"):
        classic.collate_batch_rnn_newwords(ITEMS, vocab=vocab, tokenizer=_tok)
    vocab.append_token("<newneg>")
    vocab.append_token("<newpos>")
    for add_at, col in (("start", 0), ("middle", 1), ("end", 3)):
        _, padded, lengths = classic.collate_batch_rnn_newwords(ITEMS[:2], add_at, vocab=vocab, tokenizer=_tok)
        assert lengths == [4, 4]
        assert padded[0, col] == vocab["<newpos>"] and padded[1, col] == vocab["<newneg>"]
    with pytest.raises(ValueError, match="add_at"):
        classic.collate_batch_rnn_newwords(ITEMS, "top", vocab=vocab, tokenizer=_tok)


def test_similarities_are_zero_for_zero_vectors_and_untrained_gradients(setting):
    vocab, vectors = setting
    vocab.append_token("<newneg>")
    vocab.append_token("<newpos>")
    model = classic.RNNClassifier(vocab, vectors, 3, 4)
    sims = classic.newword_similarities(model, print_fn=None)
    assert set(sims) == {("<newneg>", "<newpos>"), ("<newneg>", "bad"), ("<newpos>", "bad")}  # no "good" in vocab
    assert all(v == 0.0 for v in sims.values())  # zero vectors: 0, not NaN
    classic.setup(vocab, _tok, ITEMS)
    lines = []
    grads = classic.view_untrained_gradients("end", classic.RNNClassifier, (vocab, vectors, 3, 4),
                                             {"freeze_embeddings": False}, print_fn=lines.append)
    assert grads.shape == (2, 3) and float(grads.norm(dim=1).min()) > 0
    assert "cosine" in lines[0]
    with pytest.raises(ValueError, match="freeze_embeddings=False"):
        classic.view_untrained_gradients("end", classic.RNNClassifier, (vocab, vectors, 3, 4), {}, print_fn=None)


def test_top_level_names_are_the_classic_classes():
    import rnnlab

    assert rnnlab.RNNClassifier is classic.RNNClassifier
    assert rnnlab.LSTMClassifier is classic.LSTMClassifier
    assert rnnlab.BagOfEmbeddingsBinaryClassifier is classic.BagOfEmbeddingsBinaryClassifier
    assert rnnlab.collate_batch_rnn_newwords is classic.collate_batch_rnn_newwords
