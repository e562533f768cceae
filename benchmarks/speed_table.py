"""The before / after table of issue 13 ("faster wherever a user waits"), from the benchmarks' own records.

Each benchmark script writes one JSON file per row it measures to ``benchmarks/results/speed13/``
(``row``, ``order``, ``before``, ``after``, ``goal``, ``met``, ``command``, ``measured``). This script
only renders them, so the table in the README and in ``benchmarks/speed.md`` is never typed by hand::

    python benchmarks/speed_table.py            # print the table (the README block `speed`)
    python benchmarks/speed_table.py --write    # also replace the table in benchmarks/speed.md

A row no benchmark has recorded yet is listed with the figure the issue started from and "not measured".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "speed13"
SPEED_MD = HERE / "speed.md"
MARK = re.compile(r"(<!-- speed-table -->\n).*?(<!-- /speed-table -->\n)", re.S)

# The issue's rows: where a user waits, what the issue measured before the work, and the goal.
ROWS = [
    (1, '`rnnlab predict RUN "one text"`, whole process', "~7 s wall under load", "≤ 1.5 s on an idle machine"),
    (2, "`rnnlab predict RUN --file F`, 5,000 IMDB reviews, main job's LSTM", "1,328 reviews/s",
     "≥ 4,000 reviews/s; ≤ 0.6 × single-process tokenize time"),
    (3, "batch inference, `imdb-best`", "1,249 reviews per CPU-second", "≥ 2,500 reviews per CPU-second"),
    (4, "`rnnlab train --preset imdb-best`, one run", "420–500 s", "≤ 240 s at ≥ 90.0% (mean of 3 seeds)"),
    (5, "`make demo`, empty cache", "146–196 s", "≤ 60 s, test accuracies not lower"),
    (6, "`/trace` of a 541-token review, in the running server", "imdb-best 6.2 s", "≤ 0.3 s for every model"),
    (7, "`/predict`, one short review, 32 concurrent clients", "p50 123 ms, p95 141 ms, 265 req/s",
     "≤ 50 ms p50, ≤ 150 ms p95, ≥ 800 req/s"),
]
KEYS = ("row", "order", "before", "after", "goal", "met", "command", "measured")


def records() -> dict[int, dict]:
    """order -> the benchmark's record (a malformed file is an error naming it)."""
    out = {}
    for path in sorted(RESULTS.glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        missing = [k for k in KEYS if k not in rec]
        if missing:
            raise SystemExit(f"{path}: missing {', '.join(missing)}")
        if rec["order"] in out:
            raise SystemExit(f"{path}: row {rec['order']} is recorded twice")
        out[rec["order"]] = rec
    return out


def table() -> str:
    recs = records()
    lines = ["| # | where a user waits | before | after | goal | met? | measured with |",
             "|---:|---|---|---|---|---|---|"]
    notes = []
    for order, where, issue_before, goal in ROWS:
        r = recs.get(order)
        if r is None:
            lines.append(f"| {order} | {where} | {issue_before} (issue) | not measured | {goal} | no | — |")
            continue
        met = "**yes**" if r["met"] else "no"
        lines.append(f"| {order} | {where} | {r['before']} | **{r['after']}** | {r['goal']} | {met} | "
                     f"`{r['command']}` |")
        notes.append(f"{order}: {r['measured']}")
    text = "\n".join(lines) + "\n"
    if notes:
        text += "\nWhen and under what load each row was measured:\n\n" + "".join(f"- row {n}\n" for n in notes)
    return text


def main(argv: list[str]) -> int:
    text = table()
    print(text, end="")
    if "--write" in argv:
        md = SPEED_MD.read_text(encoding="utf-8")
        if not MARK.search(md):
            raise SystemExit(f"{SPEED_MD} has no <!-- speed-table --> ... <!-- /speed-table --> section")
        SPEED_MD.write_text(MARK.sub(lambda m: m.group(1) + text + m.group(2), md), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
