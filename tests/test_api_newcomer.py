"""The Python API a notebook user expects: load_run(...).predict, config classes and dir(rnnlab)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from typer.testing import CliRunner

import rnnlab


def test_public_names_are_listed_and_importable():
    names = dir(rnnlab)
    for name in ("load_run", "ModelConfig", "TrainConfig", "fit", "train", "export_run", "TSVDataset"):
        assert name in names
    from rnnlab import ModelConfig, TrainConfig

    assert ModelConfig().model == "rnn" and TrainConfig().optimizer == "sgd"  # the classic dataclass defaults


def test_classic_train_default_epochs_is_small():
    import inspect

    from rnnlab.training import train

    assert inspect.signature(train).parameters["epochs"].default <= 20


def test_presets_print_every_epoch():
    for p in rnnlab.PRESETS.values():
        assert p.train.print_every == 1, p.name


def test_run_predict(tmp_path, small_tsv):
    from rnnlab.cli import app

    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["train", "--train", str(small_tsv), "--epochs", "1", "--max-length", "20",
                                 "--recurrent-dim", "4", "--hidden-dim", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    run = rnnlab.load_run(out)
    texts = ["a wonderful film", "awful", ""]
    got = run.predict(texts)
    assert got.probabilities.shape == (3, 2)
    np.testing.assert_allclose(got.probabilities.sum(1), 1.0, atol=1e-9)
    assert got.labels == [run.labels[i] for i in got.probabilities.argmax(1)]
    from rnnlab.inspect import predict_proba

    np.testing.assert_allclose(got.probabilities[:, 1],
                               predict_proba(run.model, run.vocab, texts, run.tokenizer(), run.max_length))
    df = run.predict(texts, as_frame=True)
    assert list(df.columns) == ["text", "label", "p_neg", "p_pos"] and df["label"].tolist() == got.labels
    assert run.predict("one text").probabilities.shape == (1, 2)


def test_progress_in_a_plain_log(monkeypatch, capsys):
    from rnnlab import progress

    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with progress.progress_bar("epoch 1", total=4, unit="reviews") as advance:
        advance(2)
        advance(2)
    err = capsys.readouterr().err
    assert "epoch 1: 2/4 reviews (50%)" in err and "epoch 1: 4/4 reviews (100%)" in err
