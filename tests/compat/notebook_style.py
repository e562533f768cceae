"""A notebook written the way course notebooks are, against rnnlab.compat.torchtext and rnnlab.classic.

Run directly: ``python tests/compat/notebook_style.py TRAIN.tsv TEST.tsv VECTORS.txt``; the test
suite calls :func:`run` on a small slice of the sample data. Every function the classic API
offers is called with the inputs notebook code hands it: a vocabulary with specials and a
default index, a ``Vectors`` object read from a text file, int labels and list lengths.
"""

from __future__ import annotations

import sys

import torch
from torch import nn, optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader

from rnnlab.classic import (BagOfEmbeddingsBinaryClassifier, LSTMClassifier, RNNClassifier, TSVDataset,
                            collate_batch_boe, collate_batch_rnn, collate_batch_rnn_newwords, display_weights,
                            newword_similarities, predict_multiple, setup, test, train, view_untrained_gradients)
from rnnlab.compat.torchtext.data.utils import get_tokenizer
from rnnlab.compat.torchtext.vocab import Vectors, build_vocab_from_iterator
from rnnlab.scratch import course


def run(train_path, test_path, vectors_path, epochs: int = 2) -> dict:
    out: dict = {}
    # -- data, vocabulary, embeddings --------------------------------------------------------
    word_splitter = get_tokenizer("spacy", language="en_core_web_sm")

    def lowercase_tokens(text):
        return [w.lower() for w in word_splitter(text)]

    training = TSVDataset(train_path)
    held_out = TSVDataset(test_path)
    vocab = build_vocab_from_iterator((lowercase_tokens(t) for _, t in training), specials=["<pad>", "<unk>"])
    vocab.set_default_index(vocab["<unk>"])
    vectors = Vectors(vectors_path)
    setup(vocab, lowercase_tokens, training)
    out["pad_index"] = vocab.get_stoi()["<pad>"]

    # -- padding and packing (questions 1.1.1-1.1.2) -----------------------------------------
    seqs = [torch.tensor(vocab(lowercase_tokens(s))) for s in ("so dull", "not good at all", "a fine , fine film")]
    padded = pad_sequence(seqs, batch_first=True, padding_value=out["pad_index"])
    out["padded"] = padded
    counter = nn.RNN(1, 1, batch_first=True, nonlinearity="relu")
    with torch.no_grad():
        for p in counter.parameters():
            p.fill_(1.0)
        counter.bias_ih_l0.fill_(0.0)
        ones = torch.ones(3, padded.shape[1], 1)  # every step adds 1 + 1
        packed = pack_padded_sequence(ones, [len(s) for s in seqs], batch_first=True, enforce_sorted=False)
        _, with_packing = counter(packed)
        _, without_packing = counter(ones)
        steps, _ = pad_packed_sequence(counter(packed)[0], batch_first=True, padding_value=-1.0)
    out["final_with_packing"] = with_packing.view(-1).tolist()
    out["final_without_packing"] = without_packing.view(-1).tolist()
    out["packed_steps"] = steps.view(3, -1)

    # -- the three classifiers, course style -----------------------------------------------------
    boe_train = DataLoader(training, batch_size=8, shuffle=True, collate_fn=collate_batch_boe)
    boe_test = DataLoader(held_out, batch_size=100, collate_fn=collate_batch_boe)
    rnn_train = DataLoader(training, batch_size=8, shuffle=True, collate_fn=collate_batch_rnn)
    rnn_test = DataLoader(held_out, batch_size=100, collate_fn=collate_batch_rnn)
    out["logs"] = {}
    for name, build, loaders in (
            ("rnn", lambda: RNNClassifier(vocab, vectors, vectors.dim, 20), (rnn_train, rnn_test)),
            ("boe", lambda: BagOfEmbeddingsBinaryClassifier(vocab, vectors, 20), (boe_train, boe_test)),
            ("lstm", lambda: LSTMClassifier(vocab, vectors, vectors.dim, 20), (rnn_train, rnn_test))):
        torch.manual_seed(1)
        model = build()
        lines: list = []
        train(model, loaders[0], optim.SGD(model.parameters(), lr=0.05), epochs=epochs, print_every=1,
              validation_data=loaders[1], print_fn=lines.append)
        out["logs"][name] = lines
        out[f"{name}_test"] = test(model, loaders[1])
        out[f"{name}_model"] = model
        # a student's own loop of the classic shape gives the same loss as test()
        labels, *inputs = next(iter(loaders[1]))
        with torch.no_grad():
            out[f"{name}_manual_loss"] = model.loss_function(model(*inputs).view(-1), labels.to(torch.float32)).item()
    out["predictions"] = predict_multiple(out["rnn_model"], ["What a wonderful film", "Dreadful and dull"],
                                          collate_batch_rnn)
    weights_lines: list = []
    display_weights(out["boe_model"], print_fn=weights_lines.append)
    out["weights_lines"] = weights_lines

    # -- tell-tale tokens (activity 1.2) ---------------------------------------------------------
    vocab.append_token("<newneg>")
    vocab.append_token("<newpos>")
    newword_train = DataLoader(training, batch_size=8, shuffle=True,
                               collate_fn=lambda batch: collate_batch_rnn_newwords(batch, add_at="end"))
    torch.manual_seed(1)
    telltale = RNNClassifier(vocab, vectors, vectors.dim, 20, freeze_embeddings=False)
    out["similarities_before"] = newword_similarities(telltale, print_fn=None)
    train(telltale, newword_train, optim.SGD(telltale.parameters(), lr=0.05), epochs=1, print_every=1,
          print_fn=lambda *_: None)
    out["similarities_after"] = newword_similarities(telltale, print_fn=None)
    out["gradients"] = {pos: view_untrained_gradients(pos, RNNClassifier, (vocab, vectors, vectors.dim, 20),
                                                      {"freeze_embeddings": False}, print_fn=None)
                        for pos in ("start", "middle", "end")}

    # -- part 2, from first principles ----------------------------------------------------------
    w = torch.tensor([[0.1, -0.2, 0.3]]).numpy()
    values = course.insert_bias(torch.tensor([0.5, -0.5]).numpy())
    p = course.logistic_layer(w, values)
    delta = course.crossent_loss_gradient(p, [1.0])
    out["part2"] = {"p": p, "grad": course.calculate_weights_gradient(delta, values),
                    "back": course.send_delta_back(delta, w, remove_bias_term=True)}
    return out


if __name__ == "__main__":
    results = run(*sys.argv[1:4])
    for name, lines in results["logs"].items():
        print(name)
        print("\n".join(lines))
    print(results["predictions"])
    print(results["gradients"])
