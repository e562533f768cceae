"""Resume: an interrupted run continues from its last completed epoch to the same result; checkpoints are atomic."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch

from rnnlab import checkpoint as ckpt
from rnnlab import training
from rnnlab.config import ModelConfig, TrainConfig

_spec = importlib.util.spec_from_file_location("_synthetic", Path(__file__).with_name("_synthetic.py"))
_synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_synthetic)

# dropout (RNG), Adam (optimizer state), a schedule (scheduler state), keep_best (best weights) and patience
MODEL = ModelConfig(model="gru", recurrent_dim=6, hidden_dim=5, bidirectional=True, freeze_embeddings=False,
                    dropout=0.3, pooling="final+max+mean")
TRAIN = TrainConfig(optimizer="adam", lr=0.01, epochs=4, batch_size=8, seed=3, lr_schedule="linear", patience=3,
                    clip_grad=1.0)


def _fit(out, **kw):
    return training.fit(None, model_config=MODEL, train_config=TRAIN, out_dir=out,
                        prepared=_synthetic.synthetic_prepared(), log=lambda *_: None, progress=False, **kw)


def _interrupt_at(monkeypatch, epoch: int):
    """Make training epoch ``epoch`` raise KeyboardInterrupt halfway, as Ctrl-C would."""
    real, calls = training.train_epoch, {"n": 0}

    def fake(model, loader, optimizer, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            it = iter(loader)
            next(it)  # some batches done, then the signal
            raise KeyboardInterrupt
        return real(model, loader, optimizer, *args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", fake)


def _strip(history):
    return [{k: v for k, v in row.items() if k != "train_seconds"} for row in history]


def test_resumed_run_matches_uninterrupted_run(tmp_path, monkeypatch):
    model_a, hist_a, _ = _fit(tmp_path / "a")

    _interrupt_at(monkeypatch, 3)
    with pytest.raises(training.TrainingInterrupted) as exc:
        _fit(tmp_path / "b")
    assert exc.value.epoch == 2 and "--resume" in str(exc.value)
    _, state = ckpt.read_checkpoint(tmp_path / "b")
    assert state["epoch"] == 2 and not state["finished"]
    monkeypatch.undo()

    model_b, hist_b, _ = _fit(tmp_path / "b", resume=True)
    assert _strip(hist_b) == _strip(hist_a)
    for (name, a), (_, b) in zip(model_a.state_dict().items(), model_b.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)
    rows = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4]


def test_finished_run_refuses_to_resume(tmp_path):
    from rnnlab.errors import RnnlabError

    _fit(tmp_path / "a")
    with pytest.raises(RnnlabError, match="already finished"):
        _fit(tmp_path / "a", resume=True)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    from rnnlab.errors import InputError

    (tmp_path / "run").mkdir()
    with pytest.raises(InputError, match="no checkpoint to resume from"):
        ckpt.read_checkpoint(tmp_path / "run")


def test_failed_write_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    from rnnlab.training import make_optimizer

    model = torch.nn.Linear(3, 1)
    opt = make_optimizer(model, TrainConfig(optimizer="adam"))
    model(torch.ones(2, 3)).sum().backward()
    opt.step()
    ckpt.save_checkpoint(tmp_path, model=model, optimizer=opt, epoch=1, history=[], best={"loss": 0.5})
    before = (tmp_path / ckpt.CHECKPOINT).read_bytes()

    real_fdopen = os.fdopen

    class HalfWriter:  # the process dies (here: raises) after writing half the bytes
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError("killed during write")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="killed"):
        ckpt.save_checkpoint(tmp_path, model=model, optimizer=opt, epoch=2, history=[], best={"loss": 0.4})
    monkeypatch.undo()

    assert (tmp_path / ckpt.CHECKPOINT).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]  # no temporary file left behind
    tensors, state = ckpt.read_checkpoint(tmp_path)
    assert state["epoch"] == 1
    fresh = torch.nn.Linear(3, 1)
    opt2 = make_optimizer(fresh, TrainConfig(optimizer="adam"))
    ckpt.restore(tensors, state, model=fresh, optimizer=opt2)
    torch.testing.assert_close(fresh.weight, model.weight)
    torch.testing.assert_close(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_cli_resume_continues_interrupted_run(tmp_path, monkeypatch, small_tsv):
    from typer.testing import CliRunner

    from rnnlab.cli import app

    args = ["train", "--train", str(small_tsv), "--model", "rnn", "--epochs", "2", "--max-length", "40",
            "--optimizer", "adam", "--lr", "0.01", "--batch-size", "32"]
    runner = CliRunner()
    full = runner.invoke(app, args + ["--out", str(tmp_path / "full")])
    assert full.exit_code == 0, full.output

    _interrupt_at(monkeypatch, 2)
    cut = runner.invoke(app, args + ["--out", str(tmp_path / "cut")])
    assert cut.exit_code == 130, cut.output
    assert "rnnlab train --resume" in cut.output
    monkeypatch.undo()
    resumed = runner.invoke(app, ["train", "--resume", str(tmp_path / "cut")])
    assert resumed.exit_code == 0, resumed.output

    def rows(run):
        return _strip([json.loads(x) for x in (tmp_path / run / "metrics.jsonl").read_text().splitlines()])

    assert rows("cut") == rows("full")
