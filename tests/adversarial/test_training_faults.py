"""Issue 12 items 2, 3, 4, 6 (cache), 8, 13: divergence, resumes on other data or options, interrupts, caps."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile

import pytest

from rnnlab import training
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import InputError, RnnlabError
from rnnlab.runs import CHECKPOINT, CONFIG, partial_dir
from tests._synthetic import synthetic_prepared
from tests.adversarial._helpers import cli, one_line_error, snapshot, write_data, write_vectors

QUIET = {"log": lambda *_: None, "progress": False}


# -- item 2: a diverging run is an error, not a saved success ------------------------------------------------
def test_diverging_training_stops_with_one_line_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """Before: --lr 1e30 trained to nan loss, exited 0 and saved NaN weights."""
    out = tmp_path / "run"
    real = training.train_epoch
    calls = {"n": 0}

    def poison_second_epoch(model, *args, **kwargs):  # epoch 1 trains normally; epoch 2 at a huge rate
        calls["n"] += 1
        if calls["n"] == 2:
            for group in args[1].param_groups:
                group["lr"] = 1e30
        return real(model, *args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", poison_second_epoch)
    with pytest.raises(RnnlabError) as exc:
        training.fit(None, None, model_config=ModelConfig(model="rnn", recurrent_dim=8, hidden_dim=4),
                     train_config=TrainConfig(epochs=4, lr=0.1), out_dir=out, prepared=synthetic_prepared(), **QUIET)
    msg = str(exc.value)
    assert msg.startswith("training diverged in epoch 2 (")
    assert msg.endswith(f"the learning rate is probably too high; the last good checkpoint (epoch 1) is kept in "
                        f"{partial_dir(out)}; {out} was not changed")
    assert not out.exists()
    from rnnlab.checkpoint import read_checkpoint

    _, state = read_checkpoint(out)  # finite: it loads
    assert state["epoch"] == 1


def test_lr_1e30_on_the_command_line_exits_non_zero(tmp_path, capsys):
    data, vec = write_data(tmp_path / "t.tsv"), write_vectors(tmp_path / "v.txt")
    code, _, err = cli(capsys, "train", "--train", data, "--vectors", vec, "--epochs", "2", "--lr", "1e30",
                       "--model", "rnn", "--recurrent-dim", "4", "--out", tmp_path / "run")
    assert code == 1
    line = one_line_error(err)
    assert line.startswith("training diverged in epoch 1 (") and "the learning rate is probably too high" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1e99"])
def test_vectors_with_non_finite_values_are_refused(tmp_path, bad):
    from rnnlab.embeddings import read_text_vectors

    path = write_vectors(tmp_path / "v.txt", bad=bad)
    with pytest.raises(InputError) as exc:
        read_text_vectors(path)
    assert str(exc.value) == f"{path}:4: the vector of 'good' holds a non-finite value (nan or inf)"


# -- items 3 and 4: resume on the same data and settings only -------------------------------------------------
def _interrupted_cli_run(tmp_path, monkeypatch, capsys):
    data, vec = write_data(tmp_path / "t.tsv"), write_vectors(tmp_path / "v.txt")
    real = training.train_epoch
    calls = {"n": 0}

    def stop_in_epoch_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", stop_in_epoch_2)
    out = tmp_path / "run"
    code, stdout, _ = cli(capsys, "train", "--train", data, "--vectors", vec, "--epochs", "3", "--model", "rnn",
                          "--recurrent-dim", "4", "--valid-split", "0.25", "--out", out)
    monkeypatch.setattr(training, "train_epoch", real)
    assert code == 130
    assert stdout.strip().splitlines()[-1] == (
        f"training interrupted (Ctrl-C) during epoch 2; kept the checkpoint of epoch 1 in {partial_dir(out)} "
        f"({out} was not changed); continue with: rnnlab train --resume {out}")
    return data, vec, out


@pytest.mark.parametrize("change, what", [
    (lambda d: d.write_text(d.read_text() + "pos\tone more good film\n"), "the training data changed"),
    (lambda d: write_data(d, flip=True), "changed since the run started"),
])
def test_resume_on_other_data_is_refused(tmp_path, monkeypatch, capsys, change, what):
    """Before: added lines gave a size-mismatch traceback; flipped labels resumed silently."""
    data, _, out = _interrupted_cli_run(tmp_path, monkeypatch, capsys)
    kept = snapshot(partial_dir(out))
    change(data)
    code, _, err = cli(capsys, "train", "--resume", out)
    assert code == 1
    line = one_line_error(err)
    assert line.startswith(f"--resume {out}: ") and what in line
    assert line.endswith("a resume must use the same data; train a new run instead")
    assert snapshot(partial_dir(out)) == kept


def test_resume_works_from_another_folder(tmp_path, monkeypatch, capsys):
    _, _, out = _interrupted_cli_run(tmp_path, monkeypatch, capsys)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = cli(capsys, "train", "--resume", out)
    assert code == 0, err
    assert (out / CONFIG).exists() and not partial_dir(out).exists()


def test_resume_refuses_conflicting_options_and_extends_with_epochs(tmp_path, monkeypatch, capsys):
    """Before: --resume ignored --epochs 2 --model gru --lr 5 --out elsewhere and ran the old plan."""
    _, _, out = _interrupted_cli_run(tmp_path, monkeypatch, capsys)
    kept = snapshot(partial_dir(out))
    code, _, err = cli(capsys, "train", "--resume", out, "--model", "gru", "--lr", "5", "--out", tmp_path / "x")
    assert code == 1
    assert one_line_error(err) == (f"--resume {out}: --lr, --model, --out cannot be changed when resuming (the run "
                                   "keeps the options it was started with); with --resume give only --epochs, "
                                   "--threads or --device")
    assert snapshot(partial_dir(out)) == kept and not (tmp_path / "x").exists()
    code, _, err = cli(capsys, "train", "--resume", out, "--threads", "1", "--device", "cpu")
    assert code == 0, err
    finished = snapshot(out)
    code, _, err = cli(capsys, "train", "--resume", out)
    assert code == 1 and "already finished (epoch 3)" in one_line_error(err)
    assert snapshot(out) == finished and not partial_dir(out).exists()
    code, _, err = cli(capsys, "train", "--resume", out, "--epochs", "4")
    assert code == 0, err
    config = json.loads((out / CONFIG).read_text())
    assert config["train"]["epochs"] == 4
    assert [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [0, 1, 2, 3, 4]


# -- item 13: interrupts say what was kept ----------------------------------------------------------------------
def test_ctrl_c_before_the_first_checkpoint_says_nothing_was_kept(tmp_path, monkeypatch, capsys):
    """Before: exit 130 with no message."""
    data, vec = write_data(tmp_path / "t.tsv"), write_vectors(tmp_path / "v.txt")

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "evaluate", stop)  # during epoch 0's evaluation
    out = tmp_path / "run"
    code, stdout, _ = cli(capsys, "train", "--train", data, "--vectors", vec, "--epochs", "2", "--out", out)
    assert code == 130
    assert stdout.strip().splitlines()[-1] == (
        f"training interrupted (Ctrl-C) before the first epoch was saved; nothing was kept and {out} was not "
        "changed; start it again with the same command")
    assert not out.exists() and not partial_dir(out).exists()


def test_sigterm_mid_epoch_says_what_was_kept(tmp_path, monkeypatch, capsys):
    """Before: SIGTERM mid-epoch printed nothing."""
    data, vec = write_data(tmp_path / "t.tsv"), write_vectors(tmp_path / "v.txt")
    real = training.train_epoch
    calls = {"n": 0}

    def term_in_epoch_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", term_in_epoch_2)
    out = tmp_path / "run"
    code, stdout, _ = cli(capsys, "train", "--train", data, "--vectors", vec, "--epochs", "3", "--out", out)
    assert code == 143
    assert stdout.strip().splitlines()[-1] == (
        f"training stopped by SIGTERM during epoch 2; kept the checkpoint of epoch 1 in {partial_dir(out)} "
        f"({out} was not changed); continue with: rnnlab train --resume {out}")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))
    assert (partial_dir(out) / CHECKPOINT).exists()


# -- item 6 (cache) and item 8 ------------------------------------------------------------------------------------
def test_an_unwritable_cache_is_a_warning_and_the_work_goes_on(tmp_path, monkeypatch, capsys):
    """Before: a full cache made evaluate die, although the cache is only an optimisation."""
    import errno

    from rnnlab.data import tokenize

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tokenize, "save_corpus", full)
    corpus, cached = tokenize.tokenize_cached(["a good film", "a bad film"], cache_root=tmp_path / "cache")
    assert not cached and len(corpus) == 2
    err = capsys.readouterr().err
    assert err.startswith("warning: could not write the token cache") and "continuing without it" in err


def _archive(path, reviews):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in reviews.items():
            data = text.encode()
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_huge_review_in_an_archive_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """Before: a 389 KB gzip holding a 400 MB review became a 400 MB train.tsv (peak 1.6 GB)."""
    from rnnlab.data.imdb import import_imdb

    monkeypatch.setenv("RNNLAB_MAX_TEXT_BYTES", "100")
    archive = _archive(tmp_path / "a.tar.gz", {"train/pos/1_9.txt": "good " * 40, "test/neg/2_1.txt": "bad"})
    with pytest.raises(InputError) as exc:
        import_imdb(archive, cache_root=tmp_path / "cache", progress=False)
    assert str(exc.value) == (f"{archive}:aclImdb/train/pos/1_9.txt: review of 200 bytes exceeds the limit of 100 "
                              "(raise $RNNLAB_MAX_TEXT_BYTES if it is genuine)")
    assert not list((tmp_path / "cache").rglob("*.tsv"))


def test_the_total_read_from_an_archive_is_capped(tmp_path, monkeypatch):
    from rnnlab.data.imdb import import_imdb

    monkeypatch.setenv("RNNLAB_MAX_ARCHIVE_BYTES", "150")
    archive = _archive(tmp_path / "a.tar.gz", {f"train/pos/{i}_9.txt": "good film " * 5 for i in range(5)})
    with pytest.raises(InputError, match=r"reviews exceed 150 bytes uncompressed; refusing to read more"):
        import_imdb(archive, cache_root=tmp_path / "cache", progress=False)


def test_a_huge_line_in_a_data_file_is_refused(tmp_path, monkeypatch):
    from rnnlab.data.tsv import read_tsv

    monkeypatch.setenv("RNNLAB_MAX_TEXT_BYTES", "50")
    path = tmp_path / "t.tsv"
    path.write_text("pos\tshort and good\nneg\t" + "bad " * 20 + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_tsv(path)
    assert str(exc.value) == f"{path}:2: line of 84 bytes exceeds the limit of 50 per text (raise $RNNLAB_MAX_TEXT_BYTES if it is genuine)"


def test_sigterm_handler_does_not_trap_forked_workers():
    """A worker forked inside fit (the tokenizer's pool) must die on SIGTERM, not raise into its task loop.

    Before this was handled, Pool.terminate() hung on such a worker for good.
    """
    import time

    read, write = os.pipe()
    with training._sigterm_as_interrupt():
        child = os.fork()
        if child == 0:  # pragma: no cover - the child: say it is ready, then wait to be terminated
            os.write(write, b"x")
            time.sleep(30)
            os._exit(3)
        os.read(read, 1)
        os.kill(child, signal.SIGTERM)
        _, status = os.waitpid(child, 0)
    os.close(read)
    os.close(write)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
