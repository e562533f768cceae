"""Presets: named recipes; command-line options override their fields."""

from __future__ import annotations

import json

import pytest

from rnnlab.presets import PRESETS, get_preset


def test_imdb_presets_exist_and_train_on_imdb():
    for name in ("imdb-best", "imdb-boe", "imdb-rnn"):
        p = get_preset(name)
        assert p.data["train"] == "imdb:train" and p.data["test"] == "imdb:test"
        assert 0 < p.data["valid_split"] < 1       # model selection on held-out training data
        assert p.train.keep_best
    rnn = get_preset("imdb-rnn").model
    assert (rnn.model, rnn.activation, rnn.layers, rnn.bidirectional) == ("rnn", "tanh", 1, False)
    assert get_preset("imdb-boe").model.model == "boe"


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ValueError, match="imdb-best"):
        get_preset("imdb-nope")


def test_cli_preset_with_overrides(tmp_path, small_tsv):
    from typer.testing import CliRunner

    from rnnlab.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--preset", "imdb-rnn", "--train", str(small_tsv), "--test",
                                      str(small_tsv), "--epochs", "1", "--max-length", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    preset = PRESETS["imdb-rnn"]
    assert config["model"]["pooling"] == preset.model.pooling == "final+max+mean"
    assert config["model"]["recurrent_dim"] == preset.model.recurrent_dim
    assert config["train"]["epochs"] == 1 and config["train"]["max_length"] == 30      # overridden
    assert config["train"]["optimizer"] == "adam" and config["train"]["lr_schedule"] == "linear"  # from the preset
    assert config["meta"]["data"]["train"] == str(small_tsv)
    assert "test" in config["meta"]


def test_cli_unknown_preset_is_one_line_error(small_tsv):
    from typer.testing import CliRunner

    from rnnlab.cli import app

    result = CliRunner().invoke(app, ["train", "--preset", "nope", "--train", str(small_tsv)])
    assert result.exit_code != 0
    assert "unknown preset 'nope'" in result.output


def test_sst5_presets_name_no_data_paths_and_train_on_a_given_file(tmp_path):
    """The SST-5 presets carry no paths (the user passes --train/--valid/--test) and work on any k-class file."""
    import random

    from typer.testing import CliRunner

    from rnnlab.cli import app

    for name in ("sst5-boe", "sst5-best"):
        p = get_preset(name)
        assert p.data == {} and p.train.keep_best and p.train.patience
    rng = random.Random(0)
    names = ["very_negative", "negative", "neutral", "positive", "very_positive"]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": f"{n.replace('_', ' ')} {rng.choice(['film', 'plot'])}", "label": n})
                            + "\n" for n in names * 6))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--preset", "sst5-best", "--train", str(data), "--valid", str(data),
                                      "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["labels"] == sorted(names) and config["model"]["num_classes"] == 5
    assert config["model"]["recurrent_dim"] == 128 and config["model"]["bidirectional"]
