"""Issue 12 items 1, 6, 11, 12: a run appears whole or not at all; an existing run is never touched."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest

from rnnlab import training
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError
from rnnlab.runs import CHECKPOINT, CONFIG, load_run, partial_dir
from tests._synthetic import synthetic_prepared
from tests.adversarial._helpers import cli, copy_v1, one_line_error, snapshot, write_data, write_vectors

QUIET = {"log": lambda *_: None, "progress": False}


def _fit(out, epochs=3, **kw):
    return training.fit(None, None, model_config=ModelConfig(model="gru", recurrent_dim=8, hidden_dim=4),
                        train_config=TrainConfig(epochs=epochs, optimizer="adam", lr=0.01),
                        out_dir=out, prepared=synthetic_prepared(), **QUIET, **kw)


def _interrupt_in_epoch(monkeypatch, epoch, exc=KeyboardInterrupt):
    real = training.train_epoch
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            raise exc()
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", fake)


def test_train_into_an_existing_run_is_refused_and_changes_nothing(tmp_path, capsys):
    """Before: all six files were replaced in place, exit 0."""
    run = copy_v1(tmp_path)
    before = snapshot(run)
    data, vec = write_data(tmp_path / "t.tsv"), write_vectors(tmp_path / "v.txt")
    code, _, err = cli(capsys, "train", "--train", data, "--vectors", vec, "--epochs", "1", "--out", run)
    assert code == 1
    assert one_line_error(err) == (f"--out {run}: a run (or other files) already exists there; nothing was changed. "
                                   f"Give --overwrite to replace it, or --resume {run} to continue it")
    assert snapshot(run) == before


def test_interrupted_overwrite_leaves_the_old_run_byte_identical(tmp_path, monkeypatch):
    """Before: an interrupt left a mix of two models' files that predict used without complaint."""
    run = copy_v1(tmp_path)
    before = snapshot(run)
    _interrupt_in_epoch(monkeypatch, 2)
    with pytest.raises(training.TrainingInterrupted):
        _fit(run, overwrite=True)
    assert snapshot(run) == before
    monkeypatch.undo()
    _fit(run, overwrite=True)  # a complete overwrite replaces it whole
    assert load_run(run).model_config.model == "gru"
    assert not partial_dir(run).exists()
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["config.json", "vocab.json", "weights.safetensors", "metrics.jsonl", "curves.png", CHECKPOINT])


def test_an_interrupted_new_run_is_kept_aside_and_resumes_into_place(tmp_path, monkeypatch):
    out = tmp_path / "new"
    _interrupt_in_epoch(monkeypatch, 2)
    with pytest.raises(training.TrainingInterrupted) as exc:
        _fit(out)
    assert not out.exists()  # nothing half-made where a run is expected
    assert (partial_dir(out) / CHECKPOINT).exists()
    assert str(exc.value) == (f"training interrupted (Ctrl-C) during epoch 2; kept the checkpoint of epoch 1 in "
                              f"{partial_dir(out)} ({out} was not changed); continue with: rnnlab train --resume {out}")
    with pytest.raises(RnnlabError, match="training did not finish"):
        load_run(out)
    monkeypatch.undo()
    _fit(out, resume=True)
    assert (out / CONFIG).exists() and not partial_dir(out).exists()


def test_disk_full_is_one_line_and_leaves_no_half_run(tmp_path, monkeypatch):
    """Before: an OSError traceback and a folder holding only metrics.jsonl."""
    real = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Full(real(fd, mode)))
    out = tmp_path / "run"
    with pytest.raises(RnnlabError, match=r"metrics.jsonl: no space left on the device; free some space and try again; nothing was saved and .* was not changed$"):
        _fit(out)
    assert not out.exists()


def _tmpfs(path):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    return path


@pytest.mark.slow
def test_disk_full_on_a_real_3mb_tmpfs(tmp_path, capsys):
    disk = _tmpfs(tmp_path / "disk")
    try:
        (disk / "filler").write_bytes(b"\0" * (3 * 1024 * 1024 - 40_000))
        out = disk / "run"
        with pytest.raises(RnnlabError, match="no space left on the device"):
            training.fit(None, None, model_config=ModelConfig(model="gru", recurrent_dim=64, hidden_dim=64),
                         train_config=TrainConfig(epochs=1), out_dir=out,
                         prepared=synthetic_prepared(vocab_size=200, dim=50), **QUIET)
        assert not out.exists()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_stale_temporary_files_are_cleaned_on_resume(tmp_path, monkeypatch):
    """Before: a SIGKILL during a save left .checkpoint.safetensors.XXXX (8 MB) behind for good."""
    out = tmp_path / "run"
    _interrupt_in_epoch(monkeypatch, 2)
    with pytest.raises(training.TrainingInterrupted):
        _fit(out)
    monkeypatch.undo()
    stale = [partial_dir(out) / ".checkpoint.safetensors.k1ll3d", partial_dir(out) / ".weights.safetensors.abc.tmp"]
    for p in stale:
        p.write_bytes(b"\0" * 1000)
    _fit(out, resume=True)
    assert not any(p.exists() for p in stale)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_files_honour_the_umask(tmp_path):
    """Before: every file was 0600 whatever the umask, so another user's server could not read runs."""
    old = os.umask(0o022)
    try:
        _fit(tmp_path / "run", epochs=1)
    finally:
        os.umask(old)
    for p in (tmp_path / "run").iterdir():
        assert p.stat().st_mode & 0o777 == 0o644, p
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o755
