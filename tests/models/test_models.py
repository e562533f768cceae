import itertools

import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.data.batching import collate_encoded_boe, collate_encoded_padded
from rnnlab.models import (BagOfEmbeddingsBinaryClassifier, LSTMClassifier, RNNClassifier, build_model,
                           config_of)

SEQS = [[2, 3, 4, 5, 6, 7, 8], [9, 10], [11, 12, 13, 14], [15]]


@pytest.mark.parametrize("cell, activation, layers, bidirectional",
                         [(c, a, l, b) for c, a in (("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh"))
                          for l, b in itertools.product((1, 2), (False, True))])
def test_padding_never_changes_a_recurrent_models_output(tiny_vocab_and_vectors, cell, activation, layers,
                                                          bidirectional):
    vocab, emb = tiny_vocab_and_vectors
    torch.manual_seed(0)
    model = build_model(ModelConfig(model=cell, activation=activation, recurrent_dim=6, hidden_dim=5,
                                    layers=layers, bidirectional=bidirectional), vocab, emb).eval()
    _, padded, lengths = collate_encoded_padded([(s, 0) for s in SEQS])
    assert (padded == vocab.pad_index).sum() == sum(7 - len(s) for s in SEQS)
    batched = model(padded, lengths)
    alone = torch.cat([model(torch.tensor([s]), torch.tensor([len(s)])) for s in SEQS])
    torch.testing.assert_close(batched, alone, rtol=0, atol=1e-6)
    # the document embedding is every layer's and direction's final state
    doc = model.document_embedding(padded, lengths)
    assert doc.shape == (4, 6 * layers * (2 if bidirectional else 1))


def test_document_embedding_is_the_final_hidden_state(tiny_vocab_and_vectors):
    vocab, emb = tiny_vocab_and_vectors
    torch.manual_seed(0)
    model = RNNClassifier(vocab, emb, recurrent_dim=4, hidden_dim=3).eval()
    seq = torch.tensor([SEQS[0]])
    out, _ = model.rnn(model.embedding(seq))
    torch.testing.assert_close(model.document_embedding(seq, torch.tensor([7]))[0], out[0, -1])


def test_bag_model_is_the_mean_vector_through_the_mlp(tiny_vocab_and_vectors):
    vocab, emb = tiny_vocab_and_vectors
    torch.manual_seed(0)
    model = BagOfEmbeddingsBinaryClassifier(vocab, emb, hidden_dim=5).eval()
    _, text, offsets = collate_encoded_boe([(s, 0) for s in SEQS])
    probs = model(text, offsets)
    for i, s in enumerate(SEQS):
        mean = emb[s].mean(0)
        expected = torch.sigmoid(model.output(torch.relu(model.hidden(mean))))
        torch.testing.assert_close(probs[i], expected[0])


def test_bag_model_ignores_word_order(tiny_vocab_and_vectors):
    vocab, emb = tiny_vocab_and_vectors
    model = BagOfEmbeddingsBinaryClassifier(vocab, emb, hidden_dim=5).eval()
    seq = SEQS[0]
    perms = [seq, seq[::-1], seq[3:] + seq[:3]]
    _, text, offsets = collate_encoded_boe([(p, 0) for p in perms])
    probs = model(text, offsets)
    assert torch.allclose(probs, probs[0].expand(3), atol=1e-7)


def test_frozen_by_default_and_fine_tunable(tiny_vocab_and_vectors):
    vocab, emb = tiny_vocab_and_vectors
    assert not LSTMClassifier(vocab, emb, 4, 3).embedding.weight.requires_grad
    assert LSTMClassifier(vocab, emb, 4, 3, freeze_embeddings=False).embedding.weight.requires_grad
    assert torch.equal(RNNClassifier(vocab, emb, 4, 3).embedding.weight, emb)


def test_classic_names_and_loss_function(tiny_vocab_and_vectors):
    vocab, emb = tiny_vocab_and_vectors
    m = RNNClassifier(vocab, emb, recurrent_dim=4, hidden_dim=3, recurrent_activation="relu",
                      recurrent_layers=2, recurrent_bidirectional=True)
    assert m.rnn.nonlinearity == "relu" and m.rnn.num_layers == 2 and m.rnn.bidirectional
    assert isinstance(m.loss_function, torch.nn.Module)
    cfg = config_of(m)
    assert (cfg.model, cfg.activation, cfg.layers, cfg.bidirectional, cfg.recurrent_dim) == ("rnn", "relu", 2, True, 4)


def test_bad_choices_raise_value_errors_listing_valid_ones(tiny_vocab_and_vectors):
    vocab, emb = tiny_vocab_and_vectors
    with pytest.raises(ValueError, match="rnn, lstm, gru"):
        build_model(ModelConfig(model="rnn"), vocab, emb).__class__(vocab, emb, 4, 3, cell="transformer")
    with pytest.raises(ValueError, match="boe, rnn, lstm, gru"):
        ModelConfig(model="cnn")
    with pytest.raises(ValueError, match="32 entries but the embedding matrix has 5 rows"):
        RNNClassifier(vocab, emb[:5], 4, 3)


def test_reading_api_gives_the_forward_pass_on_both_families():
    """embed -> document (layer_states, finals, pool) -> head equals forward_logits, packed or padded."""
    torch.manual_seed(0)
    ids = torch.randint(2, 30, (3, 6))
    lengths = torch.tensor([6, 2, 4])
    ids[torch.arange(6)[None, :] >= lengths[:, None]] = 1
    for kw in [dict(model="boe"), dict(model="lstm", bidirectional=True, layers=2, pooling="final+max+mean"),
               dict(model="gru", num_classes=3)]:
        cfg = ModelConfig(vocab_size=30, embedding_dim=6, recurrent_dim=5, hidden_dim=4, **kw)
        model = build_model(cfg, None, torch.randn(30, 6)).eval()
        with torch.no_grad():
            doc = model.document(model.embed(ids), lengths)
            if kw["model"] == "boe":
                flat = torch.cat([ids[i, :n] for i, n in enumerate(lengths)])
                offsets = torch.tensor([0, 6, 8])
                expected = model.forward_logits(flat, offsets)
                assert model.num_layers == 0 and model.layer_states(model.embed(ids), lengths) == []
            else:
                expected = model.forward_logits(ids, lengths)
                states = model.layer_states(model.embed(ids), lengths)
                assert len(states) == model.num_layers and all(len(s) == model.num_directions for s in states)
            torch.testing.assert_close(model.head(doc), expected, rtol=0, atol=1e-5)
