"""benchmarks/speed_table.py renders issue 13's before/after table from the benchmarks' JSON records."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("speed_table", ROOT / "benchmarks" / "speed_table.py")
speed_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed_table)


def record(order: int, **kw) -> dict:
    rec = {"row": "r", "order": order, "before": "10 s", "after": "2 s", "goal": "≤ 3 s", "met": True,
           "command": "python benchmarks/x.py", "measured": "2026-11-29, load average 0.1 at start, 0.2 at end"}
    rec.update(kw)
    return rec


def test_speed_md_holds_the_rendered_table():
    md = (ROOT / "benchmarks" / "speed.md").read_text(encoding="utf-8")
    section = speed_table.MARK.search(md)
    assert section, "benchmarks/speed.md lost its <!-- speed-table --> section"
    assert md[section.end(1):section.start(2)] == speed_table.table(), \
        "benchmarks/speed.md is stale: run python benchmarks/speed_table.py --write"


def test_records_fill_their_rows_and_missing_rows_say_not_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(speed_table, "RESULTS", tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(record(2, after="5,000 reviews/s", met=False)), encoding="utf-8")
    text = speed_table.table()
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(speed_table.ROWS)
    assert "**5,000 reviews/s**" in rows[1] and "| no |" in rows[1]
    assert "not measured" in rows[0] and "not measured" not in rows[1]
    assert "- row 2: 2026-11-29, load average 0.1" in text


@pytest.mark.parametrize("bad, message", [({"order": 1}, "missing"), (None, "recorded twice")])
def test_bad_records_name_the_file(tmp_path, monkeypatch, bad, message):
    monkeypatch.setattr(speed_table, "RESULTS", tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(record(1)), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(bad or record(1)), encoding="utf-8")
    with pytest.raises(SystemExit, match=rf"b\.json: .*{message}"):
        speed_table.table()
