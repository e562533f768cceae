"""One naming scheme: -h, --version, --json, --list-presets, placeholders, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import rnnlab
from rnnlab.cli import app
from rnnlab.presets import DEFAULT, PRESETS

runner = CliRunner()


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"rnnlab {rnnlab.__version__}"


@pytest.mark.parametrize("argv", [["-h"], ["train", "-h"], ["data", "sample", "-h"], ["predict", "-h"]])
def test_short_help(argv):
    r = runner.invoke(app, argv)
    assert r.exit_code == 0, r.output
    assert "Usage: rnnlab" in r.output and "--help" in r.output


def test_help_placeholders_are_plain():
    r = runner.invoke(app, ["predict", "--help"], terminal_width=120)
    assert "RUN [TEXTS]..." in r.output
    for typer_name in ("<bool>", "<list[str]>", "<path>", "{run}"):
        assert typer_name not in r.output


def test_list_presets_and_preset_help_name_every_preset():
    r = runner.invoke(app, ["train", "--list-presets"])
    assert r.exit_code == 0
    lines = r.output.strip().splitlines()
    assert [l.split()[0] for l in lines] == list(PRESETS)
    assert "default" in PRESETS and "classic" in PRESETS
    help_text = " ".join(runner.invoke(app, ["train", "--help"], terminal_width=200).output.split())
    for name in PRESETS:
        assert name in help_text


def test_default_recipe_is_not_the_course_settings():
    m, t = DEFAULT.model, DEFAULT.train
    assert (m.model, m.freeze_embeddings, t.optimizer) == ("lstm", False, "adam")
    assert 32 <= t.batch_size <= 64
    classic = PRESETS["classic"]
    assert (classic.model.model, classic.train.optimizer, classic.train.batch_size) == ("rnn", "sgd", 8)


def test_no_preset_points_outside_the_package_or_cache():
    for p in PRESETS.values():
        for key in ("train", "test"):
            spec = p.data.get(key)
            assert spec is None or spec.split(":")[0] in ("imdb", "sample"), (p.name, spec)


def test_study_list_json():
    r = runner.invoke(app, ["study", "list", "--json"])
    assert r.exit_code == 0
    rows = json.loads(r.output)
    assert rows and {"name", "runs", "question"} <= set(rows[0])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, small_tsv):
    out = tmp_path_factory.mktemp("naming") / "run"
    r = runner.invoke(app, ["train", "--train", str(small_tsv), "--epochs", "1", "--max-length", "20",
                            "--recurrent-dim", "4", "--hidden-dim", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_weights_json_and_unknown_name(tiny_run):
    r = runner.invoke(app, ["weights", str(tiny_run), "--json", "--name", "output"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["name"] for x in rows] == ["output.weight", "output.bias"] and rows[0]["shape"] == [1, 3]
    r = runner.invoke(app, ["weights", str(tiny_run), "--name", "nothing"])
    assert r.exit_code == 1
    assert "--name 'nothing' matches no parameter" in str(r.exception) or "matches no parameter" in r.output


def test_one_class_warning(tiny_run, small_tsv):
    import torch

    from rnnlab.cli.train_cmd import warn_if_one_class
    from rnnlab.config import TrainConfig
    from rnnlab.data.tsv import read_tsv
    from rnnlab.runs import load_run

    run = load_run(tiny_run)
    model = run.model
    with torch.no_grad():
        model.output.bias.fill_(-50.0)  # every text: neg
    lines = []
    history = [{"epoch": 1, "valid": {"acc": 0.5, "loss": 0.7, "precision": 0.0, "recall": 0.0, "f1": 0.0}}]
    prepared = type("P", (), {"pipeline": run.pipeline, "labels": ("neg", "pos")})()
    line = warn_if_one_class(model, prepared, history, read_tsv(small_tsv)[:40], TrainConfig(), lines.append)
    assert line and "predicts 'neg' for every validation text" in line and lines == [line]
    with torch.no_grad():
        model.output.bias.fill_(0.0)
        model.output.weight.zero_()
        model.output.bias.fill_(50.0)  # every text: pos
    history[0]["valid"]["recall"] = 1.0
    line = warn_if_one_class(model, prepared, history, read_tsv(small_tsv)[:40], TrainConfig(), lines.append)
    assert line and "'pos'" in line


def test_probe_similarity_without_pairs_is_one_line(tiny_run):
    r = runner.invoke(app, ["probe", "similarity", str(tiny_run)])
    assert r.exit_code == 1 and "give pairs with --pair a:b" in str(r.exception)
    r = runner.invoke(app, ["probe", "similarity", str(tiny_run), "--pair", "good:great"])
    assert r.exit_code == 0, r.output


def test_curve_ticks_are_whole_epochs():
    import matplotlib.pyplot as plt

    from rnnlab.plots import curves_figure

    m = {"acc": 0.5, "loss": 0.7}
    fig = curves_figure([{"epoch": e, "train": m, "valid": m} for e in range(3)])
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if 0 <= t <= 2]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_report_of_runs_shows_test_metrics(tmp_path, small_tsv):
    runs = tmp_path / "runs"
    r = runner.invoke(app, ["train", "--train", str(small_tsv), "--test", str(small_tsv), "--epochs", "1",
                            "--max-length", "20", "--recurrent-dim", "4", "--hidden-dim", "3",
                            "--out", str(runs / "a")])
    assert r.exit_code == 0, r.output
    test_acc = json.loads((runs / "a" / "config.json").read_text())["meta"]["test"]["acc"]
    r = runner.invoke(app, ["report", str(runs)])
    assert r.exit_code == 0, r.output
    md = (runs / "report.md").read_text()
    assert "| run | test acc | test F1 | test loss | test texts |" in md
    assert f"| a | {test_acc:.4f} |" in md


def test_data_command_url_is_the_importer_s():
    from rnnlab.cli.data_cmd import OFFICIAL_URL
    from rnnlab.data.imdb import OFFICIAL_URL as IMPORTER_URL

    assert OFFICIAL_URL == IMPORTER_URL
