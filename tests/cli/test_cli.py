"""The command line, end to end: real processes for errors, the typer app for the rest."""

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app

runner = CliRunner()


def rnnlab(*args, env=None):
    return subprocess.run([sys.executable, "-m", "rnnlab", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_help_lists_the_commands():
    out = runner.invoke(app, ["--help"]).output
    for cmd in ("data", "train", "evaluate", "predict", "weights", "quickstart"):
        assert cmd in out


def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("pos\tfine\nmaybe\tunsure\n")
    r = rnnlab("train", "--train", bad, "--labels", "neg,pos", "--out", tmp_path / "run", "--epochs", "1")
    assert r.returncode == 1
    assert r.stderr.strip() == (f"error: {bad}:2: unknown label 'maybe', expected one of neg|pos "
                                "(fix the label, or train on data or --labels that include it)")
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "run" / "config.json").exists()
    r = rnnlab("predict", tmp_path / "no-run", "text")
    assert r.returncode == 1 and "no such run directory" in r.stderr and "Traceback" not in r.stderr


def test_train_evaluate_predict_weights_end_to_end(tmp_path, small_tsv, sample_test):
    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "classic", "--train", str(small_tsv), "--valid", str(sample_test), "--out", str(run),
                            "--model", "lstm", "--epochs", "2", "--batch-size", "16", "--max-length", "60",
                            "--recurrent-dim", "8", "--hidden-dim", "4", "--optimizer", "adam", "--lr", "0.01",
                            "--test", str(sample_test)])
    assert r.exit_code == 0, r.output
    assert "| epoch | train acc | train loss | valid acc | valid loss |" in r.output
    assert "|     2 |" in r.output and "test: accuracy" in r.output
    r = runner.invoke(app, ["evaluate", str(run), "--data", str(sample_test)])
    assert r.exit_code == 0, r.output
    for word in ("accuracy", "precision", "recall", "F1", "confusion matrix"):
        assert word in r.output
    texts = tmp_path / "texts.txt"
    texts.write_text("What a dreadful film\n\nAn absolute joy\n")
    r = runner.invoke(app, ["predict", str(run), "I loved it", "--file", str(texts), "--csv", str(tmp_path / "p.csv")])
    assert r.exit_code == 0, r.output
    assert "I loved it" in r.output and "An absolute joy" in r.output
    import pandas as pd

    df = pd.read_csv(tmp_path / "p.csv")
    assert list(df.columns) == ["text", "p(pos)", "label"] and len(df) == 3
    r = runner.invoke(app, ["weights", str(run)])
    assert r.exit_code == 0 and "rnn.weight_ih_l0" in r.output and "4x8" in r.output
    r = runner.invoke(app, ["weights", str(run), "--name", "output.bias", "--full"])
    assert r.exit_code == 0 and "output.bias" in r.output and "embedding" not in r.output


def test_data_imdb_imports_the_shared_archive(tmp_path, imdb_archive):
    r = rnnlab("data", "imdb", "--archive", imdb_archive, "--cache", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "imported: 25,000/25,000 train/test reviews" in r.stdout
    assert "train: 25,000 reviews (12,500 pos, 12,500 neg)" in r.stdout


def test_train_metrics_option_is_saved_with_the_run_and_the_imdb_presets_use_running(tmp_path, small_tsv):
    import json

    from rnnlab.presets import get_preset
    from rnnlab.training import RUNNING_NOTE

    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--train", str(small_tsv), "--out", str(run), "--model", "boe", "--epochs", "1",
                            "--hidden-dim", "4", "--train-metrics", "running"])
    assert r.exit_code == 0, r.output
    assert RUNNING_NOTE in r.output
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["train_metrics"] == "running" and config["meta"]["train_metrics"] == "running"
    assert [get_preset(p).train.train_metrics for p in ("imdb-best", "imdb-rnn", "imdb-boe", "default")] == \
        ["running", "running", "running", "full"]
    r = rnnlab("train", "--train", small_tsv, "--out", tmp_path / "bad", "--train-metrics", "sometimes")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: --train-metrics: unknown train_metrics 'sometimes'; choose one of full, running"
    assert "Traceback" not in r.stderr and not (tmp_path / "bad").exists()


def test_precision_option_is_saved_with_the_run_and_imdb_best_uses_auto(tmp_path, small_tsv):
    import json

    from rnnlab.presets import get_preset
    from rnnlab.training import cpu_has_bfloat16

    if not cpu_has_bfloat16():
        pytest.skip("this CPU has no native bfloat16 (the refusal is tested in tests/test_training.py)")

    run = tmp_path / "run"
    r = runner.invoke(app, ["train", "--train", str(small_tsv), "--out", str(run), "--model", "lstm", "--epochs", "1",
                            "--recurrent-dim", "4", "--hidden-dim", "4", "--precision", "bfloat16"])
    assert r.exit_code == 0, r.output
    assert "training passes in bfloat16 mixed precision" in r.output
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["precision"] == "bfloat16" and config["meta"]["precision"] == "bfloat16"
    assert [get_preset(p).train.precision for p in ("imdb-best", "imdb-bilstm-64", "default")] == \
        ["auto", "float32", "float32"]
    r = rnnlab("train", "--train", small_tsv, "--out", tmp_path / "bad", "--precision", "half")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: --precision: unknown precision 'half'; choose one of float32, bfloat16, auto"
    assert "Traceback" not in r.stderr and not (tmp_path / "bad").exists()


def test_precision_bfloat16_is_refused_in_one_line_on_a_cpu_without_it(tmp_path, small_tsv, monkeypatch):
    from rnnlab import training
    from rnnlab.errors import RnnlabError

    monkeypatch.setattr(training, "cpu_has_bfloat16", lambda: False)
    r = runner.invoke(app, ["train", "--train", str(small_tsv), "--out", str(tmp_path / "run"), "--device", "cpu",
                            "--precision", "bfloat16"])
    assert r.exit_code != 0 and isinstance(r.exception, RnnlabError)
    assert str(r.exception) == ("--precision: precision 'bfloat16' needs a CPU that computes in bfloat16 natively "
                                "(AVX512-BF16 or AMX), and this one does not; use 'auto' (float32 here) or 'float32'")
    assert not (tmp_path / "run").exists()
