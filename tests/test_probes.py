"""Probes: tell-tale token insertion, zero embeddings, similarity, gradients, permutation invariance."""

import math

import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.data.tsv import read_tsv
from rnnlab.data.vocab import Vocab
from rnnlab.models import build_model
from rnnlab.probes import (CONTRAST_TEXTS, NEWNEG, NEWPOS, contrastive_predictions, cosine, gradient_report,
                           insert_telltale_ids, permutation_check, prepare_telltale, similarity_table,
                           telltale_prepared)


@pytest.fixture(scope="module")
def small_prepared(small_tsv):
    ex = read_tsv(small_tsv)
    return prepare_telltale(ex[:120], ex[120:160], log=lambda *_: None, progress=False)


@pytest.fixture(scope="module")
def short_prepared(small_tsv):
    """Texts cut to 20 tokens: over whole reviews a tanh RNN's gradient at the start underflows to 0."""
    ex = read_tsv(small_tsv)
    return prepare_telltale(ex[:120], ex[120:160], max_length=20, log=lambda *_: None, progress=False)


def test_insert_positions():
    ids = np.arange(10, 17)                                  # 7 tokens
    assert insert_telltale_ids(ids, 99, "start").tolist() == [99, 10, 11, 12, 13, 14, 15, 16]
    assert insert_telltale_ids(ids, 99, "middle").tolist() == [10, 11, 12, 99, 13, 14, 15, 16]   # 7 // 2 = 3
    assert insert_telltale_ids(ids, 99, "end").tolist() == [10, 11, 12, 13, 14, 15, 16, 99]
    # already at max_length: cut to max_length - 1 first, so the token is always there and the length fits
    out = insert_telltale_ids(ids, 99, "end", max_length=7)
    assert out.tolist() == [10, 11, 12, 13, 14, 15, 99]
    with pytest.raises(ValueError, match="start, middle, end"):
        insert_telltale_ids(ids, 99, "nowhere")


def test_telltale_tokens_get_zero_embeddings_and_the_last_indices(small_prepared):
    v = small_prepared.vocab
    assert v.itos[-2:] == [NEWNEG, NEWPOS]
    rows = small_prepared.embeddings[[v.stoi[NEWNEG], v.stoi[NEWPOS]]]
    assert torch.count_nonzero(rows) == 0
    model = build_model(ModelConfig(model="rnn", vocab_size=len(v), freeze_embeddings=False), v,
                        small_prepared.embeddings)
    assert torch.count_nonzero(model.embedding.weight[-2:]) == 0


@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_every_train_and_valid_text_carries_its_label_token(small_prepared, position):
    v = small_prepared.vocab
    neg, pos = v.stoi[NEWNEG], v.stoi[NEWPOS]
    marked = telltale_prepared(small_prepared, position)
    for base, ds in ((small_prepared.train, marked.train), (small_prepared.valid, marked.valid)):
        for (orig, y), (ids, y2) in zip(base, ds):
            assert y == y2 and len(ids) == len(orig) + 1
            token = pos if y == 1 else neg
            k = {"start": 0, "middle": len(orig) // 2, "end": len(orig)}[position]
            assert ids[k] == token
            assert np.sum(ids == neg) + np.sum(ids == pos) == 1
    assert small_prepared.train.ids[0][0] not in (neg, pos)     # the base data is untouched


def test_similarity_matches_a_hand_computation():
    vocab = Vocab(["<unk>", "<pad>", "a", "b", "c"])
    emb = torch.tensor([[0., 0.], [0., 0.], [3., 4.], [4., 3.], [0., 0.]])
    model = build_model(ModelConfig(model="boe", vocab_size=5, embedding_dim=2), vocab, emb)
    df = similarity_table(model, vocab, [("a", "b"), ("a", "c"), ("a", "zzz")])
    assert df["cosine"][0] == pytest.approx((3 * 4 + 4 * 3) / (5 * 5))          # 24 / 25
    assert df["norm a"][0] == pytest.approx(5.0)
    assert math.isnan(df["cosine"][1])                                           # zero vector: undefined
    assert "not in vocabulary: zzz" in df["note"][2]
    assert cosine(torch.tensor([1., 0.]), torch.tensor([-1., 0.])) == pytest.approx(-1.0)


@pytest.mark.parametrize("cfg", [ModelConfig(model="rnn", recurrent_dim=8, hidden_dim=4),
                                 ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4),
                                 ModelConfig(model="gru", recurrent_dim=8, hidden_dim=4),
                                 ModelConfig(model="rnn", recurrent_dim=8, hidden_dim=4, bidirectional=True)],
                         ids=["rnn", "lstm", "gru", "bidirectional-rnn"])
def test_gradient_report_for_every_cell(short_prepared, cfg):
    small_prepared = short_prepared
    df, vectors = gradient_report(short_prepared, cfg, ("start", "middle", "end"), seed=1, batch_size=8,
                                  max_length=20)
    assert list(df["position"]) == ["start", "middle", "end"]
    for col in (f"|grad {NEWNEG}|", f"|grad {NEWPOS}|"):
        assert (df[col] > 0).all() and np.isfinite(df[col]).all()
    assert df[f"|grad {NEWNEG}| / start"][0] == pytest.approx(1.0)
    assert set(vectors) == {"start", "middle", "end"}
    assert all(v.shape == (2, small_prepared.embeddings.shape[1]) for v in vectors.values())
    if cfg.model == "rnn" and not cfg.bidirectional:
        # a forward RNN reads the end token last: its rows get the biggest push
        assert df[f"|grad {NEWPOS}|"][2] > df[f"|grad {NEWPOS}|"][0]


def test_gradient_report_is_repeatable(short_prepared):
    cfg = ModelConfig(model="rnn", recurrent_dim=8, hidden_dim=4)
    a, _ = gradient_report(short_prepared, cfg, ("end",), seed=3, max_length=20)
    b, _ = gradient_report(short_prepared, cfg, ("end",), seed=3, max_length=20)
    assert a.equals(b)


def test_bag_model_gives_permutations_identical_probabilities():
    texts = [t for _, t in CONTRAST_TEXTS]
    from rnnlab.data.tokenize import tokenize
    from rnnlab.data.vocab import build_vocab

    vocab = build_vocab(tokenize(texts))
    torch.manual_seed(0)
    emb = torch.randn(len(vocab), 6)
    boe = build_model(ModelConfig(model="boe", vocab_size=len(vocab), embedding_dim=6, hidden_dim=5), vocab, emb)
    rnn = build_model(ModelConfig(model="rnn", vocab_size=len(vocab), embedding_dim=6, hidden_dim=5,
                                  recurrent_dim=7), vocab, emb)
    preds = contrastive_predictions({"boe": (boe, vocab), "rnn": (rnn, vocab)})
    assert list(preds.columns) == ["group", "text", "boe", "rnn"]
    perms = permutation_check(preds)
    assert len(perms) == 2                                   # the 'order' pair and the 'intensifier' pair
    assert (perms["boe"] < 1e-6).all()
    assert (perms["rnn"] > 1e-6).all()


def _three_class():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_three_class", Path(__file__).with_name("_three_class.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_telltale_probes_refuse_more_than_two_classes_in_one_line(small_prepared):
    import copy

    from rnnlab.errors import RnnlabError

    three = copy.copy(small_prepared)
    three.labels = ["neg", "neu", "pos"]
    message = "the tell-tale probe (<newneg> / <newpos>) needs two classes; this has 3 (neg, neu, pos)"
    with pytest.raises(RnnlabError) as err:
        telltale_prepared(three, "start")
    assert str(err.value) == message
    with pytest.raises(RnnlabError, match="tell-tale gradient report .* needs two classes; this has 3"):
        gradient_report(three, ModelConfig(model="rnn"), ("end",))


def test_contrast_of_a_three_class_run_has_a_column_per_class(tmp_path):
    from rnnlab.runs import load_run
    from rnnlab.trace import trace_run

    run = load_run(_three_class().three_class_run(tmp_path / "lstm3"))
    df = contrastive_predictions({"lstm3": run})
    cols = ["lstm3 p(neg)", "lstm3 p(neu)", "lstm3 p(pos)"]
    assert list(df.columns) == ["group", "text"] + cols
    np.testing.assert_allclose(df[cols].sum(axis=1), 1.0, atol=1e-9)
    t = trace_run(run, df["text"][0])
    assert df.loc[0, cols].tolist() == pytest.approx([t.probabilities[c] for c in ("neg", "neu", "pos")], abs=1e-6)
    perms = permutation_check(df)
    assert list(perms.columns) == ["text a", "text b"] + cols


def test_probe_commands_print_json(trained_runs, tmp_path):
    import json

    from typer.testing import CliRunner

    from rnnlab.cli import app

    runner = CliRunner()
    run3 = _three_class().three_class_run(tmp_path / "lstm3")
    r = runner.invoke(app, ["probe", "contrast", str(trained_runs["boe"]), str(run3), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert len(body["predictions"]) == len(CONTRAST_TEXTS)
    first = body["predictions"][0]
    assert set(first) == {"group", "text", "boe", "lstm3 p(neg)", "lstm3 p(neu)", "lstm3 p(pos)"}
    assert 0 < first["boe"] < 1
    assert all(row["boe"] < 1e-6 for row in body["permutations"])  # a bag ignores word order
    r = runner.invoke(app, ["probe", "similarity", str(trained_runs["boe"]), "--json",
                            "--pair", f"{NEWNEG}:the", "--pair", "the:a"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert rows[0]["token a"] == NEWNEG and rows[0]["cosine"] is None  # not in this run's vocabulary
    assert -1 <= rows[1]["cosine"] <= 1
