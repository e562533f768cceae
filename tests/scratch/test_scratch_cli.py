"""``rnnlab scratch classify`` and ``rnnlab scratch lm``: the plain functions and the commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import rnnlab.cli.scratch_cmd  # noqa: F401  (registers the sub-app on the shared app)
from rnnlab.cli import main
from rnnlab.cli.app import app
from rnnlab.errors import RnnlabError
from rnnlab.scratch.charlm import LMConfig, chunk_ids, sample_text, train_char_lm
from rnnlab.scratch.compare import ClassifyConfig, classify_vs_torch

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "imdb-sample"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"sample data not found at {SAMPLE}")


def tiny_classify(**overrides) -> ClassifyConfig:
    settings = dict(
        train_path=SAMPLE / "imdb-train.tsv", test_path=SAMPLE / "imdb-test.tsv",
        train_size=24, test_size=10, max_len=8, hidden=4, epochs=2, learning_rate=0.05,
    )
    return ClassifyConfig(**{**settings, **overrides})


@pytest.fixture
def review_file(tmp_path) -> Path:
    lines = [f"{'pos' if i % 2 else 'neg'}\tthe film was good and the cast was fine. " * 3 for i in range(40)]
    path = tmp_path / "reviews.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_lm(path: Path, **overrides) -> LMConfig:
    settings = dict(text_path=path, chars=1200, seq_len=10, hidden=12, epochs=3, learning_rate=0.2,
                    sample_length=30, prime="the ")
    return LMConfig(**{**settings, **overrides})


# ---------------------------------------------------------------- classify


@needs_sample
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_numpy_and_torch_curves_coincide(activation):
    seen = []
    result = classify_vs_torch(config=tiny_classify(activation=activation), on_epoch=seen.append)
    assert [r.epoch for r in result.rows] == [0, 1, 2] and seen == result.rows
    assert result.n_train == 24 and result.n_test == 10
    for row in result.rows:
        assert row.numpy_loss == pytest.approx(row.torch_loss, abs=1e-10)
        assert row.numpy_train_acc == row.torch_train_acc
        assert row.numpy_test_acc == row.torch_test_acc
        assert row.max_weight_diff < 1e-10
    assert result.rows[-1].numpy_loss != result.rows[0].numpy_loss  # it did train


@needs_sample
def test_vectorized_impl_gives_the_same_curve():
    loop = classify_vs_torch(config=tiny_classify())
    fast = classify_vs_torch(config=tiny_classify(impl="vectorized"))
    for a, b in zip(loop.rows, fast.rows):
        assert a.numpy_loss == pytest.approx(b.numpy_loss, abs=1e-12)


@needs_sample
def test_classify_command_prints_both_curves():
    args = ["scratch", "classify", "--train", str(SAMPLE / "imdb-train.tsv"), "--test", str(SAMPLE / "imdb-test.tsv"),
            "--train-size", "16", "--test-size", "8", "--max-len", "6",
            "--hidden", "3", "--epochs", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "loss torch" in result.output
    assert "curves coincide" in result.output


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(hidden=0), "hidden must be at least 1, got 0"),
        (dict(learning_rate=-1.0), "learning-rate must be positive"),
        (dict(activation="sigmoid"), "torch.nn.RNN offers relu, tanh"),
        (dict(impl="gpu"), "choose one of loop, vectorized"),
    ],
)
def test_classify_config_refuses_bad_settings(overrides, message):
    with pytest.raises(RnnlabError, match=message):
        ClassifyConfig(**overrides)


def test_missing_data_file_is_one_line_and_exit_status_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["scratch", "classify", "--train", str(tmp_path / "nope.tsv"), "--epochs", "1"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'nope.tsv'}: no such file"]


# ---------------------------------------------------------------- lm


def test_chunks_pair_each_character_with_the_next():
    inputs, targets = chunk_ids(np.arange(11), 5)
    np.testing.assert_array_equal(inputs, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
    np.testing.assert_array_equal(targets, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]])


def test_char_lm_learns_and_samples(review_file):
    result = train_char_lm(config=tiny_lm(review_file))
    losses = [r.train_loss for r in result.rows]
    assert losses[0] == pytest.approx(np.log(len(result.alphabet)), rel=0.05)  # untrained ~ uniform
    assert losses[-1] < losses[0] - 0.5
    assert result.sample.startswith("the ") and len(result.sample) == 4 + 30
    assert set(result.sample) <= set(result.alphabet)
    assert result.alphabet == "".join(sorted(result.alphabet))


def test_loop_and_vectorized_lm_give_the_same_losses(review_file):
    loop = train_char_lm(config=tiny_lm(review_file, impl="loop", epochs=1, chars=600))
    fast = train_char_lm(config=tiny_lm(review_file, impl="vectorized", epochs=1, chars=600))
    for a, b in zip(loop.rows, fast.rows):
        assert a.train_loss == pytest.approx(b.train_loss, abs=1e-10)
        assert a.heldout_loss == pytest.approx(b.heldout_loss, abs=1e-10)
    assert loop.sample == fast.sample


def test_low_temperature_sampling_is_nearly_greedy():
    rng = np.random.default_rng(0)
    W, U = np.zeros((2, 3)), np.zeros((2, 2))
    V = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # 'b' a little more likely than 'a'
    cold = sample_text(W, U, V, "ab", prime="a", length=50, temperature=0.01, activation="tanh", rng=rng)
    assert cold == "a" + "b" * 50
    with pytest.raises(RnnlabError, match="never seen in the training text: 'z'"):
        sample_text(W, U, V, "ab", prime="az", length=5, temperature=1.0, activation="tanh", rng=rng)


def test_prime_with_unseen_characters_is_refused_before_training(review_file):
    with pytest.raises(RnnlabError, match="absent from the training text: 'qux'"):
        train_char_lm(config=tiny_lm(review_file, prime="quixote"))


def test_lm_command_prints_losses_and_a_sample(review_file):
    args = ["scratch", "lm", "--text", str(review_file), "--chars", "800", "--seq-len", "10",
            "--hidden", "8", "--epochs", "2", "--sample-length", "20", "--temperature", "0.5", "--prime", "the "]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "held-out loss" in result.output
    assert "sample (temperature 0.5):" in result.output


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(temperature=0.0), "temperature must be positive, got 0.0"),
        (dict(chars=100), "too little text"),
        (dict(impl="loop", batch_size=4), "use --batch-size 1"),
        (dict(activation="gelu"), "choose one of relu, sigmoid, tanh"),
    ],
)
def test_lm_config_refuses_bad_settings(review_file, overrides, message):
    with pytest.raises(RnnlabError, match=message):
        tiny_lm(review_file, **overrides)
