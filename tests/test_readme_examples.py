"""The README's Python examples that are not output blocks run as written."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _example(name: str) -> str:
    m = re.search(rf"<!-- example:{name} -->\n```python\n(.*?)```\n<!-- /example:{name} -->", README, re.S)
    assert m, f"README has no example {name!r}"
    return m.group(1)


def _write_csv(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    words = {"neg": ["awful", "dull", "boring", "bad"], "neu": ["fine", "okay", "average", "plain"],
             "pos": ["great", "superb", "lovely", "good"]}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i in range(n):
            label = ["neg", "neu", "pos"][i % 3]
            w.writerow([label, f"the film was {rng.choice(words[label])} and {rng.choice(words[label])}"])


def test_any_labels_example_runs(tmp_path, capsys):
    _write_csv(tmp_path / "reviews.csv", 60, 1)
    _write_csv(tmp_path / "reviews-dev.csv", 30, 2)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(_example("any-labels"), "README:any-labels", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "('neg', 'neu', 'pos')" in out
    assert "(2, 3)" in out
    assert "p_neu" in out and (tmp_path / "runs" / "reviews-lstm" / "config.json").exists()
