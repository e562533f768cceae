import re

import pytest
import torch
from torch.utils.data import DataLoader

from rnnlab import (BagOfEmbeddingsBinaryClassifier, LSTMClassifier, TSVDataset, make_collate_fn,
                    predict_multiple, train)
from rnnlab import test as classic_test
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data.tsv import read_tsv
from rnnlab.training import fit, split_validation

ROW = re.compile(r"^\|\s+\d+ \|\s+[01]\.\d{4} \|\s+\d+\.\d{4} \|\s+[01]\.\d{4} \|\s+\d+\.\d{4} \|$")


def test_fit_prints_the_table_from_epoch_zero_and_is_deterministic(small_tsv):
    examples = read_tsv(small_tsv)
    tr, va = split_validation(examples, 0.25, seed=1)
    outputs = []
    for _ in range(2):
        lines: list[str] = []
        model, history, _ = fit(tr, va, model_config=ModelConfig(model="rnn", recurrent_dim=8, hidden_dim=4),
                                train_config=TrainConfig(epochs=3, print_every=2, batch_size=8, max_length=60),
                                log=lines.append, progress=False)
        outputs.append((lines, [r["valid"]["loss"] for r in history], model.state_dict()))
    lines = outputs[0][0]
    header = lines.index("| epoch | train acc | train loss | valid acc | valid loss |")
    rows = [l for l in lines[header + 2:] if l.startswith("|")]
    assert [int(r.split("|")[1]) for r in rows] == [0, 2, 3]  # epoch 0, every 2nd, and the last
    assert all(ROW.match(r) for r in rows)
    assert any(l.startswith("training time:") for l in lines)
    assert outputs[0][1] == outputs[1][1]
    for k, v in outputs[0][2].items():
        assert torch.equal(v, outputs[1][2][k]), k


def test_training_learns_on_the_sample(sample_train, sample_test):
    tr = read_tsv(sample_train)
    te = read_tsv(sample_test)
    _, history, _ = fit(tr, te, model_config=ModelConfig(model="boe", hidden_dim=16, freeze_embeddings=False),
                        train_config=TrainConfig(optimizer="adam", lr=0.005, epochs=3, batch_size=32),
                        log=lambda s: None, progress=False)
    assert history[0]["valid"]["acc"] < 0.6
    assert max(r["valid"]["acc"] for r in history) > 0.70


def test_split_validation_is_seeded_and_disjoint():
    items = list(range(100))
    a = split_validation(items, 0.2, seed=3)
    assert a == split_validation(items, 0.2, seed=3)
    assert len(a[1]) == 20 and sorted(a[0] + a[1]) == items


def test_classic_notebook_api(small_tsv):
    """The classic code's names and signatures: TSVDataset, collate fns, train, test, predict_multiple."""
    from rnnlab import build_vocab, embedding_matrix, tokenize

    ds = TSVDataset(small_tsv)
    vocab = build_vocab(tokenize(ds.texts))
    emb, _ = embedding_matrix(vocab)
    for model in (BagOfEmbeddingsBinaryClassifier(vocab, emb, hidden_dim=8),
                  LSTMClassifier(vocab, emb, recurrent_dim=8, hidden_dim=4)):
        family = "boe" if isinstance(model, BagOfEmbeddingsBinaryClassifier) else "recurrent"
        collate = make_collate_fn(family, vocab, max_length=50)
        loader = DataLoader(ds, batch_size=16, shuffle=True, collate_fn=collate,
                            generator=torch.Generator().manual_seed(0))
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
        lines = []
        history = train(model, loader, opt, epochs=2, print_every=1, validation_data=loader, log=lines.append,
                        progress=False)
        assert len(history) == 3 and lines[0].startswith("| epoch |")
        m = classic_test(model, loader)
        assert set(m) == {"acc", "loss"} and 0 <= m["acc"] <= 1
        df = predict_multiple(model, ["I loved it", "I hated it"], collate)
        assert list(df.columns) == ["text", "prob", "label"] and len(df) == 2
        assert set(df["label"]) <= {"neg", "pos"}
        assert ((df["prob"] > 0.5) == (df["label"] == "pos")).all()


def test_keep_best_restores_the_lowest_validation_loss_epoch(small_tsv):
    examples = read_tsv(small_tsv)
    tr, va = split_validation(examples, 0.3, seed=1)
    model, history, prepared = fit(tr, va, model_config=ModelConfig(model="boe", hidden_dim=8, freeze_embeddings=False),
                                   train_config=TrainConfig(optimizer="adam", lr=0.05, epochs=6, batch_size=8),
                                   log=lambda s: None, progress=False)
    best = min(history, key=lambda r: r["valid"]["loss"])
    from rnnlab.data.batching import make_loader
    from rnnlab.training import evaluate

    m = evaluate(model, make_loader(prepared.valid, "boe", 64, shuffle=False))
    assert m["loss"] == pytest.approx(best["valid"]["loss"], rel=1e-5)
