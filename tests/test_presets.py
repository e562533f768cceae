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
