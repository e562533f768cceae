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


def _small_prepared(small_tsv, model="lstm"):
    from rnnlab.training import prepare_data

    tr, va = split_validation(read_tsv(small_tsv), 0.25, seed=1)
    return prepare_data(tr, va, max_length=60, log=lambda s: None, progress=False)


def test_running_train_metrics_equal_a_full_pass_when_the_weights_stay_put(small_tsv):
    """With a learning rate of 0 (and no dropout) the running tally of a training epoch is the same
    pass as evaluate() over the same batches: the same accuracy, F1 and loss."""
    from rnnlab.data.batching import make_loader
    from rnnlab.models import build_model
    from rnnlab.training import RunningMetrics, evaluate, model_task, train_epoch

    prepared = _small_prepared(small_tsv)
    for name in ("lstm", "boe"):
        config = ModelConfig(model=name, recurrent_dim=8, hidden_dim=4, vocab_size=len(prepared.vocab))
        torch.manual_seed(0)
        model = build_model(config, prepared.vocab, prepared.embeddings)
        family = "boe" if name == "boe" else "recurrent"
        loader = make_loader(prepared.train, family, 16, shuffle=False)
        tally = RunningMetrics(model_task(model))
        train_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.0), tally=tally)
        running, full = tally.metrics(), evaluate(model, loader)
        for key in ("acc", "f1", "n", "confusion"):
            assert running[key] == full[key], (name, key)
        assert running["loss"] == pytest.approx(full["loss"], rel=1e-6), name


def test_train_metrics_running_says_so_and_has_no_epoch_zero_train_row(small_tsv):
    tr, va = split_validation(read_tsv(small_tsv), 0.25, seed=1)
    lines: list[str] = []
    _, history, _ = fit(tr, va, model_config=ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4),
                        train_config=TrainConfig(optimizer="adam", lr=0.01, epochs=2, batch_size=16, max_length=60),
                        log=lines.append, progress=False, train_metrics="running")
    from rnnlab.training import RUNNING_NOTE

    header = lines.index("| epoch | train acc | train loss | valid acc | valid loss |")
    assert lines[header - 1] == RUNNING_NOTE
    rows = [l for l in lines if l.startswith("|") and l.split("|")[1].strip().isdigit()]
    assert rows[0].split("|")[2].strip() == "-" and rows[0].split("|")[4].strip() != "-"
    assert all(ROW.match(r) for r in rows[1:])
    assert history[0]["train"] is None and history[0]["valid"] is not None
    assert [r["train"]["acc"] > 0 for r in history[1:]] == [True, True]
    with pytest.raises(ValueError, match="unknown train_metrics 'sometimes'; choose one of full, running"):
        fit(tr, va, model_config=ModelConfig(model="boe", hidden_dim=4), train_config=TrainConfig(epochs=1),
            log=lambda s: None, progress=False, train_metrics="sometimes")


def test_flush_denormals_flushes_inside_and_restores_the_mode():
    from rnnlab.training import flush_denormals

    tiny = torch.tensor([1e-39], dtype=torch.float32)
    assert float(tiny * 1) != 0.0  # the default: denormals kept
    with flush_denormals() as _:
        if float(torch.tensor([1e-39], dtype=torch.float32)) != 0.0:
            pytest.skip("this CPU cannot flush denormals")
        assert float(tiny * 1) == 0.0
    assert float(tiny * 1) != 0.0
    torch.set_flush_denormal(True)  # a caller's own choice stands after the block
    try:
        with flush_denormals():
            pass
        assert float(torch.tensor([1e-39], dtype=torch.float32)) == 0.0
    finally:
        torch.set_flush_denormal(False)


def test_running_train_metrics_train_the_same_weights_as_full_passes(small_tsv):
    """The pass over the training data only measures: the same seed gives the same weights and validation rows."""
    tr, va = split_validation(read_tsv(small_tsv), 0.25, seed=1)
    results = {}
    for metrics in ("full", "running"):
        model, history, _ = fit(tr, va, model_config=ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4,
                                                                 dropout=0.3, pooling="final+max+mean"),
                                train_config=TrainConfig(optimizer="adam", lr=0.01, epochs=2, batch_size=16,
                                                         max_length=60, train_metrics=metrics),
                                log=lambda s: None, progress=False)
        results[metrics] = (model.state_dict(), [r["valid"] for r in history])
    (full, full_valid), (running, running_valid) = results["full"], results["running"]
    assert full_valid == running_valid
    for name in full:
        assert torch.equal(full[name], running[name]), name


def test_resolve_precision_auto_follows_the_cpu_and_cuda_keeps_float16(monkeypatch):
    from rnnlab import training
    from rnnlab.training import resolve_precision

    for has, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(training, "cpu_has_bfloat16", lambda has=has: has)
        assert resolve_precision("auto") == expected
        assert resolve_precision("float32") == "float32"
        assert resolve_precision("auto", "cuda") == resolve_precision("bfloat16", "cuda") == "float16"
        if has:
            assert resolve_precision("bfloat16") == "bfloat16"
        else:
            with pytest.raises(ValueError, match="needs a CPU that computes in bfloat16 natively"):
                resolve_precision("bfloat16")
    with pytest.raises(ValueError, match="unknown precision 'half'; choose one of float32, bfloat16, auto"):
        resolve_precision("half")
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        TrainConfig(precision="half")


def _native_bfloat16() -> bool:
    from rnnlab.training import cpu_has_bfloat16

    return cpu_has_bfloat16()


needs_bfloat16 = pytest.mark.skipif(not _native_bfloat16(), reason="this CPU has no native bfloat16 (AVX512-BF16/AMX)")


def test_bfloat16_is_refused_on_a_cpu_without_it_before_any_work(monkeypatch, small_tsv, tmp_path):
    from rnnlab import training
    from rnnlab.errors import RnnlabError

    monkeypatch.setattr(training, "cpu_has_bfloat16", lambda: False)
    tr, va = split_validation(read_tsv(small_tsv), 0.25, seed=1)
    with pytest.raises(RnnlabError, match="precision 'bfloat16' needs a CPU that computes in bfloat16 natively"):
        fit(tr, va, model_config=ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4),
            train_config=TrainConfig(epochs=1, precision="bfloat16"), out_dir=tmp_path / "run",
            log=lambda s: None, progress=False)
    assert not (tmp_path / "run").exists() and list(tmp_path.iterdir()) == []
    assert training.resolve_precision("auto") == "float32"


@needs_bfloat16
@pytest.mark.parametrize("name,extra", [("lstm", {"bidirectional": True, "pooling": "final+max+mean"}),
                                        ("gru", {"layers": 2}), ("rnn", {}), ("boe", {})])
def test_bfloat16_training_passes_compute_in_bfloat16_and_evaluation_in_float32(small_tsv, name, extra):
    """precision="bfloat16": the training pass's products run in bfloat16 (autocast), the weights and
    their updates stay float32, and evaluation computes in float32 as before."""
    from rnnlab.data.batching import make_loader
    from rnnlab.models import build_model
    from rnnlab.training import evaluate, train_epoch

    prepared = _small_prepared(small_tsv)
    config = ModelConfig(model=name, recurrent_dim=8, hidden_dim=4, vocab_size=len(prepared.vocab),
                         freeze_embeddings=False, **extra)
    torch.manual_seed(0)
    model = build_model(config, prepared.vocab, prepared.embeddings)
    seen = []
    model.output.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    loader = make_loader(prepared.train, "boe" if name == "boe" else "recurrent", 16, shuffle=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_epoch(model, loader, torch.optim.Adam(model.parameters(), lr=0.01), precision="bfloat16")
    assert seen and set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 and bool(torch.isfinite(p).all()) for p in model.parameters())
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    seen.clear()
    m = evaluate(model, loader)
    assert set(seen) == {torch.float32} and m["loss"] == m["loss"]
    seen.clear()
    train_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.0))  # the default: float32
    assert set(seen) == {torch.float32}


@needs_bfloat16
def test_fit_in_bfloat16_says_so_and_is_deterministic(small_tsv):
    tr, va = split_validation(read_tsv(small_tsv), 0.25, seed=1)
    results = []
    for precision in ("bfloat16", "bfloat16", "float32"):
        lines: list[str] = []
        model, history, _ = fit(tr, va, model_config=ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4,
                                                                 bidirectional=True, pooling="final+max+mean"),
                                train_config=TrainConfig(optimizer="adam", lr=0.01, epochs=2, batch_size=16,
                                                         max_length=60, precision=precision),
                                log=lines.append, progress=False)
        said = any(l.startswith("model: lstm") and l.endswith("; training passes in bfloat16 mixed precision")
                   for l in lines)
        assert said == (precision == "bfloat16")
        assert len(history) == 3 and all(r["valid"]["loss"] == r["valid"]["loss"] for r in history)
        results.append(model.state_dict())
    (a, b, f32) = results
    assert all(torch.equal(a[k], b[k]) for k in a)               # the same seed, the same weights
    assert any(not torch.equal(a[k], f32[k]) for k in a)         # and not float32's
