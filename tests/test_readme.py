"""The README's Python example runs as written (with one epoch instead of three)."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(sample_train, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    block = next(b for b in blocks if "TSVDataset(" in b)  # the notebook-API example
    assert "epochs=3" in block
    monkeypatch.chdir(ROOT)
    exec(compile(block.replace("epochs=3", "epochs=1"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "| epoch | train acc | train loss | valid acc | valid loss |" in out
    assert "I loved it at first, but by the end I hated it" in out
    assert "embedding.weight  shape=(" in out
