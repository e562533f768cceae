"""The run format: runs written before FORMAT_VERSION (tests/fixtures/run-v1, made by main's code) still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.inspect import predict_run
from rnnlab.runs import load_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1 = FIXTURES / "run-v1"


def test_v1_run_fixture_loads_and_predicts_the_same():
    expected = json.loads((FIXTURES / "run-v1-predictions.json").read_text(encoding="utf-8"))
    run = load_run(V1)
    df = predict_run(run, expected["texts"])
    assert list(df[df.columns[1]]) == pytest.approx(expected["probabilities"], abs=1e-6)
