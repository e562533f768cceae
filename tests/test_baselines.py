"""NBSVM baseline: learns the sample data well above chance; bigrams are features; CLI prints the accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from rnnlab.baselines import fit_nbsvm


def test_bigram_features_separate_what_unigrams_cannot():
    # "not good" is negative, "good" alone positive: only bigrams see the difference
    texts = [["not", "good"], ["good"], ["not", "good", "film"], ["good", "film"]] * 5
    labels = [0, 1, 0, 1] * 5
    assert (fit_nbsvm(texts, labels).predict(texts) == np.asarray(labels)).all()
    model = fit_nbsvm(texts, labels, ngram=2)
    assert "not good" in model.vectorizer.vocabulary_


def test_refuses_one_class_and_bad_ngram():
    with pytest.raises(ValueError, match="both labels"):
        fit_nbsvm([["a"], ["b"]], [1, 1])
    with pytest.raises(ValueError, match="ngram"):
        fit_nbsvm([["a"], ["b"]], [0, 1], ngram=3)


def test_cli_nbsvm_on_sample(sample_train, sample_test, tmp_path):
    import json

    from typer.testing import CliRunner

    from rnnlab.cli import app

    result = CliRunner().invoke(app, ["baseline", "nbsvm", "--train", str(sample_train), "--test", str(sample_test),
                                      "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "NBSVM (uni+bigrams" in result.output and "test accuracy" in result.output
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["n"] == 1000 and r["acc"] > 0.75  # 2,000 training reviews; chance is 0.5
