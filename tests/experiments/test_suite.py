"""Studies end to end on tiny data: run dirs, study.json, the probes and the report sections."""

import json

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.data.tsv import read_tsv
from rnnlab.experiments.report import write_report
from rnnlab.experiments.runner import DataSource, run_studies
from rnnlab.runs import load_run


@pytest.fixture(scope="module")
def tiny_source(small_tsv):
    ex = read_tsv(small_tsv)
    # 60 short-ish training texts and 30 validation texts keep every run well under a second per epoch
    return DataSource(train_examples=ex[:60], valid_examples=ex[60:90], log=lambda *_: None)


@pytest.fixture(scope="module")
def suite(tmp_path_factory, tiny_source):
    out = tmp_path_factory.mktemp("studies")
    records = run_studies(["4", "9"], out=out, source=tiny_source, epochs=1, log=None)
    return out, records


def test_runs_are_normal_run_directories(suite):
    out, records = suite
    for name, runs in (("04-telltale-positions", ["start", "end", "middle"]), ("01-rnn-vs-boe", ["rnn", "boe"]),
                       ("02-fine-tuning", ["rnn-fine-tuned"])):
        for r in runs:
            run = load_run(out / name / r / "seed-1")
            assert run.train_config.epochs == 1 and run.train_config.batch_size == 8
    run = load_run(out / "04-telltale-positions" / "end" / "seed-1")
    assert run.vocab.itos[-2:] == ["<newneg>", "<newpos>"]
    assert not run.model_config.freeze_embeddings


def test_study_json_holds_the_probes(suite):
    out, records = suite
    rec4 = json.loads((out / "04-telltale-positions" / "study.json").read_text())
    assert [r["name"] for r in rec4["runs"]] == ["start", "end", "middle"]
    assert [row["position"] for row in rec4["gradients"]["rows"]] == ["start", "middle", "end"]
    assert {s["run"] for s in rec4["similarity"]} == {"start", "end", "middle"}
    assert [r["token a"] for r in rec4["similarity"][0]["rows"]][:2] == ["<newneg>", "<newneg>"]
    rec9 = json.loads((out / "09-contrastive-probes" / "study.json").read_text())
    perms = rec9["probes"]["permutations"]
    assert len(perms) == 2 and all(p["boe (study 1)"] < 1e-6 for p in perms)
    assert len(rec9["probes"]["predictions"]) == 5


def test_report_has_every_section(suite):
    out, _ = suite
    md, page = out / "report.md", out / "report.html"
    assert md.exists() and page.exists()
    text = md.read_text()
    for needle in ("## Overview", "## 1. RNN vs bag of embeddings", "## 4. Tell-tale tokens", "**Question:**",
                   "Why does a token at the end get learned faster", "trainable / total params", "training time (s)",
                   "Epoch by epoch, side by side", "Cosine similarity of the tell-tale tokens",
                   "Gradient report (untrained model)", "Contrastive predictions", "Permutations of the same words",
                   "figures/04-telltale-positions.png", "rnn (study 1)"):
        assert needle in text, needle
    for png in ("01-rnn-vs-boe", "02-fine-tuning", "04-telltale-positions"):
        assert (out / "figures" / f"{png}.png").stat().st_size > 1000
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html and "<table>" in html


def test_report_command_into_another_folder(suite, tmp_path):
    out, _ = suite
    r = CliRunner().invoke(app, ["report", str(out), "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "report.md").exists() and (tmp_path / "rep" / "figures").is_dir()
    # one study folder on its own, and a plain folder of runs
    write_report(out / "04-telltale-positions", tmp_path / "one")
    assert "## 4." in (tmp_path / "one" / "report.md").read_text()
    write_report(out / "01-rnn-vs-boe" / "rnn", tmp_path / "runs")
    assert "## Runs" in (tmp_path / "runs" / "report.md").read_text()


def test_report_summary_prints_a_row_per_run_and_needs_studies(suite, tmp_path):
    import shutil

    out, _ = suite
    r = CliRunner().invoke(app, ["report", str(out), "--summary"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("| # | run | epochs | train acc | valid acc |")
    rows = [l.split(" | ")[:2] for l in lines if l.startswith("| ") and l.split(" | ")[0][2:].isdigit()]
    # study 4's three runs, and those of studies 1 and 2, which study 9 needed (run first)
    assert rows == [["| 1", "rnn"], ["| 1", "boe"], ["| 2", "rnn-fine-tuned"], ["| 4", "start"], ["| 4", "end"],
                    ["| 4", "middle"]]
    assert "**Study 4, gradient report (untrained model)**" in r.output
    assert "**Study 9, contrastive predictions: P(positive)**" in r.output
    # only the metrics are needed: a copy without weights, vocabularies or checkpoints gives the same summary
    slim = tmp_path / "slim"
    shutil.copytree(out, slim, ignore=shutil.ignore_patterns("*.safetensors", "vocab.json", "*.png", "report.*"))
    assert CliRunner().invoke(app, ["report", str(slim), "--summary"]).output == r.output
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nothing"), "--summary"])
    assert bad.exit_code != 0 and "no studies (study.json) found" in str(bad.exception or bad.output)


def test_study_run_command_with_two_seeds(small_tsv, tmp_path):
    lines = small_tsv.read_text().splitlines()
    train, valid = tmp_path / "t.tsv", tmp_path / "v.tsv"
    train.write_text("\n".join(lines[:40]) + "\n")
    valid.write_text("\n".join(lines[40:60]) + "\n")
    r = CliRunner().invoke(app, ["study", "run", "3", "--data", str(train), "--valid", str(valid), "--epochs", "1",
                                 "--seeds", "1,2", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s" / "03-telltale-frozen" / "start" / "seed-2" / "config.json").exists()
    text = (tmp_path / "s" / "report.md").read_text()
    assert "±" in text and "n/a (zero vector)" in text    # frozen: the tell-tale rows stay zero


def test_study_run_needs_names_or_all():
    r = CliRunner().invoke(app, ["study", "run"])
    assert r.exit_code != 0


@pytest.mark.slow
def test_quick_mode_all_studies_on_the_sample(sample_train, tmp_path):
    run_studies(None, out=tmp_path, data=str(sample_train), epochs_scale=0.1, log=None)
    text = (tmp_path / "report.md").read_text()
    assert all(f"## {n}." in text for n in range(1, 10))


def test_an_interrupted_run_is_resumed_or_reported_as_stopped(tiny_source, tmp_path):
    from rnnlab.experiments.runner import run_dir, snapshot_interrupted, train_run
    from rnnlab.experiments.specs import get_study

    study = get_study(3)
    spec = study.runs[0]
    rdir = run_dir(tmp_path, study.name, spec.name, 1)
    train_run(study, spec, 1, root=tmp_path, source=tiny_source, epochs=2, log=lambda *_: None)
    (rdir / "config.json").unlink()                      # as if killed after epoch 2 of the planned 10
    assert snapshot_interrupted(study, spec, 1, root=tmp_path, source=tiny_source, epochs=10) == rdir
    run = load_run(rdir)
    assert run.meta["stopped_at_epoch"] == 2 and run.train_config.epochs == 10 and len(run.metrics) == 3
    entry = train_run(study, spec, 1, root=tmp_path, source=tiny_source, epochs=2, log=lambda *_: None,
                      skip_existing=True)                # kept: its checkpoint is finished, nothing to resume
    assert "seconds" not in entry
    from rnnlab.experiments.runner import run_study

    run_study(study, out=tmp_path, source=tiny_source, epochs=2, log=None, skip_existing=True)
    write_report(tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "2 of 10 (stopped)" in text and "**Incomplete:**" in text


def test_probe_commands_on_study_runs(suite):
    out, _ = suite
    rnn, boe = out / "01-rnn-vs-boe" / "rnn" / "seed-1", out / "01-rnn-vs-boe" / "boe" / "seed-1"
    r = CliRunner().invoke(app, ["probe", "contrast", str(rnn), str(boe)])
    assert r.exit_code == 0, r.output
    assert "rnn/seed-1" in r.output and "boe/seed-1" in r.output and "0.00e+00" in r.output
    end = out / "04-telltale-positions" / "end" / "seed-1"
    r = CliRunner().invoke(app, ["probe", "similarity", str(end), "--pair", "good:bad", "--pair", "<newpos>:boring"])
    assert r.exit_code == 0, r.output
    assert "good" in r.output and "<newpos>" in r.output
    r = CliRunner().invoke(app, ["probe", "similarity", str(end), "--pair", "good-bad"])
    assert r.exit_code != 0
