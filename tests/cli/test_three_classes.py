"""Three classes end to end through the CLI, from the same small data set in four formats."""

import csv
import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.inspect import class_probabilities
from rnnlab.runs import load_run

runner = CliRunner()
CUES = {"neg": ["awful", "bad", "terrible", "boring"], "neu": ["okay", "average", "fine", "plain"],
        "pos": ["great", "good", "wonderful", "superb"]}
FILLER = ["the", "film", "was", "really", "a", "movie", "and", "it", "plot", "story"]


def rows(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        y = ["neg", "neu", "pos"][i % 3]
        words = rng.sample(FILLER, 4) + [rng.choice(CUES[y]), rng.choice(CUES[y])] + rng.sample(FILLER, 2)
        out.append((y, " ".join(words)))
    return out


def write(fmt, path, data):
    """TSV positional; the others with their own column names ``sentence`` / ``sentiment``."""
    if fmt == "tsv":
        path.write_text("".join(f"{y}\t{t}\n" for y, t in data), encoding="utf-8")
    elif fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["sentiment", "sentence"])
            w.writerows(data)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"sentence": t, "sentiment": y}) + "\n" for y, t in data))
    else:
        pq.write_table(pa.table({"sentence": [t for _, t in data], "sentiment": [y for y, _ in data]}), path)
    return path


def invoke(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl", "parquet"])
def test_three_classes_train_evaluate_predict(tmp_path, fmt):
    train = write(fmt, tmp_path / f"train.{fmt}", rows(120, 1))
    valid = write(fmt, tmp_path / f"valid.{fmt}", rows(30, 2))
    test = write(fmt, tmp_path / f"test.{fmt}", rows(30, 3))
    fields = [] if fmt == "tsv" else ["--text-field", "sentence", "--label-field", "sentiment"]
    run = tmp_path / "run"
    out = invoke("train", "--train", train, "--valid", valid, "--test", test, "--model", "boe", "--fine-tune",
                 "--hidden-dim", "16", "--optimizer", "adam", "--lr", "0.05", "--epochs", "8", "--batch-size", "8",
                 "--out", run, *fields)
    assert "| epoch | train acc | train loss | train macro-F1 | valid acc | valid loss | valid macro-F1 |" in out
    assert "3 classes (neg, neu, pos)" in out
    r = load_run(run)
    assert r.labels == ["neg", "neu", "pos"] and r.task.k == 3 and r.model_config.num_classes == 3
    assert r.pipeline.to_dict()["labels"] == ["neg", "neu", "pos"]

    m = json.loads(invoke("evaluate", run, "--data", test, "--json", *fields))
    assert np.array(m["confusion"]).shape == (3, 3) and np.sum(m["confusion"]) == 30
    assert set(m["per_class"]) == {"neg", "neu", "pos"} and m["acc"] > 0.6  # the cue words are learnable
    text = invoke("evaluate", run, "--data", test, *fields)
    assert "confusion matrix (rows: true, columns: predicted)" in text and "macro-F1" in text

    lines = invoke("predict", run, "a wonderful and great film", "--json").strip().splitlines()
    got = json.loads(lines[0])
    assert set(got["probabilities"]) == {"neg", "neu", "pos"}
    assert sum(got["probabilities"].values()) == pytest.approx(1.0)
    table = invoke("predict", run, "--file", test, *fields[:2])
    assert table.splitlines()[0].split() == ["text", "label", "p(neg)", "p(neu)", "p(pos)"]
    assert len(table.strip().splitlines()) == 31  # the label column was not read as a text

    probs = class_probabilities(r.model, r.pipeline, ["great", "awful plot", "", "okay fine " * 50])
    assert probs.shape == (4, 3) and np.allclose(probs.sum(axis=1), 1.0) and (probs >= 0).all()

    # trace: every class's running probability, in the terminal and as JSON
    traced = json.loads(invoke("trace", run, "the film was awful and boring", "--json", "--all-classes"))
    assert set(traced["probabilities"]) == {"neg", "neu", "pos"}
    assert sum(traced["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
    assert traced["label"] == "neg" and traced["target"] == "neg" and len(traced["tokens"]) == 6

    # serve: /predict and /trace answer the same probabilities as predict
    from fastapi.testclient import TestClient

    from rnnlab.serve import create_app

    with TestClient(create_app([run])) as client:
        body = client.post("/predict", json={"texts": ["a wonderful and great film"]}).json()
        served = body["predictions"][0]
        assert served["probabilities"] == pytest.approx(got["probabilities"], abs=1e-6)
        assert served["label"] == got["label"] and body["labels"] == ["neg", "neu", "pos"]
        t = client.post("/trace", json={"text": "the film was awful and boring"})
        assert t.status_code == 200 and t.json()["probabilities"] == pytest.approx(traced["probabilities"], abs=1e-6)
        models = client.get("/models").json()
        assert models[0]["labels"] == ["neg", "neu", "pos"]


def test_a_single_class_and_an_unseen_label_are_one_line_errors(tmp_path):
    import subprocess
    import sys

    one = write("tsv", tmp_path / "one.tsv", [("pos", "fine")] * 10)
    r = subprocess.run([sys.executable, "-m", "rnnlab", "train", "--train", str(one), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "holds a single class (pos)" in r.stderr
    good = write("tsv", tmp_path / "good.tsv", rows(30, 1))
    unseen = write("tsv", tmp_path / "unseen.tsv", [("neg", "bad"), ("meh", "so so")])
    r = subprocess.run([sys.executable, "-m", "rnnlab", "train", "--train", str(good), "--test", str(unseen),
                        "--epochs", "1", "--out", str(tmp_path / "r2")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip().startswith(f"error: {unseen}:2: unknown label 'meh'")
    r = runner.invoke(app, ["train", "--train", str(good), "--labels", "neg,pos,neg"])
    assert r.exit_code != 0 and "'neg' is listed twice" in (r.output + str(r.exception))


def test_binary_predict_keeps_its_table_with_the_column_named(trained_runs):
    r = load_run(trained_runs["boe"])
    probs = class_probabilities(r.model, r.pipeline, ["a fine film", "dull"])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0)
    out = invoke("predict", trained_runs["boe"], "a fine film")
    assert out.splitlines()[0].split() == ["text", "p(pos)", "label"]


def test_predict_says_when_a_text_is_cut_at_max_length(trained_runs):
    from rnnlab.cli.predict_cmd import run_predict

    df = run_predict(run=trained_runs["lstm"], texts=["fine " * 250, "short"])  # the runs keep 200 tokens
    assert df.attrs["cut"] == 1 and df.attrs["max_length"] == 200
    r = runner.invoke(app, ["predict", str(trained_runs["lstm"]), "fine " * 250])
    assert r.exit_code == 0 and "note: 1 text(s) longer than max_length 200 tokens were cut" in r.output


def test_evaluate_and_predict_read_standard_input(trained_runs, small_tsv):
    """`evaluate --data -` and `predict RUN -` read what is piped in (a real process, a real pipe)."""
    import subprocess
    import sys

    lines = small_tsv.read_text(encoding="utf-8").splitlines()[:20]
    run = str(trained_runs["lstm"])
    r = subprocess.run([sys.executable, "-m", "rnnlab", "evaluate", run, "--data", "-", "--format", "tsv", "--json"],
                       input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 20
    r = subprocess.run([sys.executable, "-m", "rnnlab", "predict", run, "-", "--json"],
                       input="a fine film\na dull film\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["text"] for x in r.stdout.splitlines()] == ["a fine film", "a dull film"]
