"""Report sections answering the course's questions: padding/packing, gradient cosines, timing, settings."""

import json

import torch

from rnnlab.experiments.report import RunData, padding_packing_blocks, settings_block, timing_sentence
from rnnlab.experiments.runner import DataSource, gradient_correspondence, run_studies
from rnnlab.data.tsv import read_tsv


def test_padding_and_packing_answers_are_computed():
    blocks = padding_packing_blocks()
    table = next(b for b in blocks if b.kind == "table")
    # lengths 2, 5, 6: packed final states count each text's own steps (2 per step), unpacked all reach 6 steps
    assert [r[1] for r in table.rows] == [2, 5, 6]
    assert [r[4] for r in table.rows] == ["4", "10", "12"] and [r[5] for r in table.rows] == ["12", "12", "12"]
    assert table.rows[0][2].endswith("0 0 0 0") and table.rows[0][3] == 4     # <pad> is 0 with these specials
    text = " ".join(b.text for b in blocks)
    assert "1.1.1" in text and "1.1.2" in text


def test_gradient_cosine_and_near_zero_flag():
    g = torch.tensor([[1.0, 0.0], [-2.0, 0.1]])
    out = gradient_correspondence(g, [g])
    assert not out["near_zero"] and out["cosine"] < -0.99
    tiny = torch.tensor([[1e-20, 0.0], [-1e-3, 0.0]])
    flagged = gradient_correspondence(tiny, [g, tiny])
    assert flagged["cosine"] is None and flagged["near_zero"] and flagged["cosine_raw"] == -1.0
    assert gradient_correspondence(torch.tensor([[1e-8, 0.0], [1e-7, 0.0]]))["near_zero"]      # absolute floor
    # relative: a norm a million times below the largest in the report is flagged too
    small = torch.tensor([[1e-7, 0.0], [1.0, 0.0]])
    assert gradient_correspondence(small, [torch.tensor([[1.0, 0.0], [1.0, 0.0]])])["near_zero"]


def _run(name, cell, optimizer, secs, valid_losses, bucket=True):
    metrics = [{"epoch": 0, "valid": {"acc": 0.5, "loss": valid_losses[0]}}]
    metrics += [{"epoch": i, "train_seconds": secs, "valid": {"acc": 0.5, "loss": v}}
                for i, v in enumerate(valid_losses[1:], 1)]
    return RunData(name, 1, None, {"model": {"model": cell}, "train": {"optimizer": optimizer, "bucket": bucket}},
                   metrics)


def test_timing_sentence_compares_lstm_with_the_rnn_of_the_same_optimizer():
    groups = {"lstm": [_run("lstm", "lstm", "adam", 3.0, [0.7, 0.5, 0.4, 0.45])],
              "rnn-sgd": [_run("rnn-sgd", "rnn", "sgd", 1.0, [0.7, 0.69, 0.68, 0.67])],
              "rnn-adam": [_run("rnn-adam", "rnn", "adam", 1.5, [0.7, 0.6, 0.65, 0.7])]}
    text = timing_sentence(groups)
    assert "lstm: 3.0 s per epoch, validation loss lowest at epoch 2 of 3 (then rises)" in text
    assert "rnn-sgd: 1.0 s per epoch, validation loss lowest at epoch 3 of 3 (still falling)" in text
    assert "takes 2.0× the RNN's (rnn-adam) time per epoch" in text and "RNN's at epoch 1 of 3" in text


def test_settings_block_names_the_batching_and_the_switch():
    bucketed = settings_block({"number": 4}, {"a": [_run("a", "rnn", "sgd", 1, [1, 1], bucket=True)]}).text
    assert "length bucketing" in bucketed and "rnnlab study run 4 --no-bucket" in bucketed
    plain = settings_block({"number": 4}, {"a": [_run("a", "rnn", "sgd", 1, [1, 1], bucket=False)]}).text
    assert "random mini-batches, as in the course" in plain


def test_no_bucket_switch_reaches_the_runs_and_the_report(small_tsv, tmp_path):
    ex = read_tsv(small_tsv)
    source = DataSource(train_examples=ex[:40], valid_examples=ex[40:60], log=lambda *_: None)
    records = run_studies(["4"], out=tmp_path, source=source, epochs=1, log=None, bucket=False)
    assert records[0]["batching"] == "random"
    cfg = json.loads((tmp_path / "04-telltale-positions" / "end" / "seed-1" / "config.json").read_text())
    assert cfg["train"]["bucket"] is False
    rows = records[0]["gradients"]["rows"]
    assert all("cosine" in r and "near_zero" in r for r in rows)
    end = next(r for r in rows if r["position"] == "end")
    assert not end["near_zero"] and end["cosine"] < 0        # the two tokens pushed apart
    text = (tmp_path / "report.md").read_text()
    assert "Padding and packing (course questions 1.1.1–1.1.2)" in text
    assert "cosine(grad <newneg>, grad <newpos>)" in text and "random mini-batches, as in the course" in text
    assert "**Time and turning point:**" in text


def test_study_questions_command_writes_the_sections_without_training(small_tsv, tmp_path):
    from typer.testing import CliRunner

    from rnnlab.cli import app

    lines = small_tsv.read_text().splitlines()
    train, valid = tmp_path / "t.tsv", tmp_path / "v.tsv"
    train.write_text("\n".join(lines[:30]) + "\n")
    valid.write_text("\n".join(lines[30:46]) + "\n")
    r = CliRunner().invoke(app, ["study", "questions", "--data", str(train), "--valid", str(valid),
                                 "--out", str(tmp_path / "q")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "q" / "course-questions.md").read_text()
    assert "**1.1.2.**" in text and text.count("cosine(grad <newneg>, grad <newpos>)") == 4   # studies 4, 5, 7, 8
    assert not list((tmp_path / "q").glob("*/seed-*"))                                      # nothing trained


def test_similarity_of_near_zero_vectors_is_flagged_not_printed():
    from rnnlab.experiments.report import similarity_block

    def row(cos, na, nb):
        return {"token a": "<newneg>", "token b": "<newpos>", "cosine": cos, "norm a": na, "norm b": nb}
    record = {"similarity": [{"run": "zero", "seed": 1, "rows": [row(None, 0.0, 0.0)]},
                             {"run": "tiny", "seed": 1, "rows": [row(0.93, 3e-9, 0.5)]},
                             {"run": "moved", "seed": 1, "rows": [row(-0.8, 0.4, 0.5)]}]}
    table = next(b for b in similarity_block(record) if b.kind == "table")
    assert table.rows == [["zero", "n/a (zero vector)"], ["tiny", "n/a (near-zero vector)"], ["moved", "-0.8000"]]
