"""``rnnlab trace RUN "text"``: the tokens coloured by their effect, and the running probability."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console
from rnnlab.errors import RnnlabError, blank_text_message

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    """One block character per value in [0, 1] (probabilities, so the scale is fixed, not min-max)."""
    return "".join(SPARKS[min(len(SPARKS) - 1, max(0, int(v * len(SPARKS))))] for v in values)


def effect_of(t, method: str) -> list[float]:
    """Per-token effect used for colouring: the step change of the running probability, or an importance."""
    if method == "step":
        if t.deltas is None:
            raise RnnlabError("--by step needs a unidirectional recurrent run (this model has no running "
                              "probability); use --by occlusion, removal or gradient_input")
        return t.deltas
    return t.importance[method]


def run_trace(*, run: Path, text: str, by: str = "auto", target: str | None = None):
    """Load ``run`` and trace ``text`` following class ``target`` (default: labels[1] for two classes, else
    the predicted one); returns ``(trace, effect method)``."""
    from rnnlab.runs import load_run
    from rnnlab.trace import METHODS, trace_run

    choices = ("auto", "step") + METHODS
    if by not in choices:
        raise RnnlabError(f"unknown --by {by!r}; choose one of {', '.join(choices)}")
    if not text.strip():
        raise RnnlabError(blank_text_message("trace"))
    loaded = load_run(run)
    if target is not None and target not in loaded.task.labels:
        raise RnnlabError(f"unknown --class {target!r}; this run's classes are "
                          f"{', '.join(loaded.labels or ('neg', 'pos'))}")
    t = trace_run(loaded, text, target=target)
    if by == "auto":
        by = "occlusion"
    return t, by


def _style(value: float, scale: float) -> str:
    """Green background for tokens that pushed towards the target class, red for away from it."""
    strength = min(1.0, abs(value) / scale) if scale > 0 else 0.0
    level = int(round(strength * 4))
    if level == 0:
        return ""
    greens = ["", "on #1f3d2b", "on #256b3f", "on #2e9652", "on #3cc46a"]
    reds = ["", "on #4a2323", "on #7a2b2b", "on #a83232", "on #d43c3c"]
    return (greens if value > 0 else reds)[level]


def _away(t) -> str:
    """What a red token pushed towards: the other class for two, 'away from' the target for more."""
    if len(t.labels) == 2:
        return f"towards {t.labels[1 - t.labels.index(t.target)]}"
    return f"away from {t.target}"


def _running_lines(t, all_classes: bool) -> list[str]:
    if t.running is None:
        return []
    if not all_classes:
        return [f"running p({t.target}): {sparkline(t.running)}"]
    width = max(len(name) for name in t.labels)
    return [f"running p({name}){' ' * (width - len(name))}: {sparkline(t.running_by_class[name])}"
            for name in t.labels]


def print_trace(t, by: str, table: bool = False, all_classes: bool = False) -> None:
    from rich.text import Text

    effect = effect_of(t, by)
    scale = max((abs(v) for v in effect), default=0.0)
    header = f"{t.label}  p({t.target}) = {t.probability:.4f}  ({len(t.tokens)} tokens"
    header += ", truncated to the run's max_length)" if t.truncated else ")"
    if all_classes:
        header += "\n" + "  ".join(f"p({name}) = {p:.4f}" for name, p in t.probabilities.items())
    if console.is_terminal and not table:
        console.print(header, markup=False)
        line = Text()
        for tok, v, known in zip(t.tokens, effect, t.known):
            line.append(tok, style=_style(v, scale) + ("" if known else " italic dim"))
            line.append(" ")
        console.print(line)
        console.print(f"colour: {by} (green pushed towards {t.target}, red {_away(t)}; "
                      f"dim italic = not in the vocabulary)", style="dim", markup=False)
        for line in _running_lines(t, all_classes):
            ends = (f"{t.running[0]:.2f} → {t.running[-1]:.2f}" if not all_classes else "")
            console.print(f"{line}  {ends}".rstrip(), markup=False)
        return
    # Plain text (piped, or --table): one row per token, nothing cut.
    console.print(header, markup=False)
    for line in _running_lines(t, all_classes):
        console.print(line, markup=False)
    running_cols = []
    if t.running is not None:
        running_cols = ([f"p({name})" for name in t.labels] if all_classes else ["running"]) + ["step"]
    cols = ["token"] + running_cols + list(t.importance)
    rows = []
    for i, tok in enumerate(t.tokens):
        cells = [tok if t.known[i] else f"{tok} (unk)"]
        if t.running is not None:
            if all_classes:
                cells += [f"{t.running_by_class[name][i]:.4f}" for name in t.labels]
            else:
                cells.append(f"{t.running[i]:.4f}")
            cells.append(f"{t.deltas[i]:+.4f}")
        cells += [f"{t.importance[m][i]:+.4f}" for m in t.importance]
        rows.append(cells)
    widths = [max([len(c)] + [len(r[j]) for r in rows]) for j, c in enumerate(cols)]
    fmt = lambda cells: "  ".join(c.ljust(w) if j == 0 else c.rjust(w)  # noqa: E731
                                  for j, (c, w) in enumerate(zip(cells, widths))).rstrip()
    console.print(fmt(cols), markup=False)
    for r in rows:
        console.print(fmt(r), markup=False)


@app.command("trace")
def trace_command(
    run: Path = typer.Argument(..., help="Run directory."),
    text: str = typer.Argument(..., help="The text to read."),
    by: str = typer.Option("auto", help="Colour tokens by: occlusion (default), removal, gradient_input, "
                                        "or step (change of the running probability; unidirectional runs)."),
    table: bool = typer.Option(False, help="Print one row per token (the default when output is not a terminal)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole trace as JSON (every class's probabilities)."),
    target: Optional[str] = typer.Option(None, "--class", help="Follow this class (default: the second label for "
                                                               "two classes, the predicted class for more)."),
    all_classes: bool = typer.Option(False, "--all-classes", help="Show every class's (running) probability."),
) -> None:
    """Show how a run reads a text: running probability after every token and each token's effect."""
    t, method = run_trace(run=run, text=text, by=by, target=target)
    if as_json:
        print(json.dumps(t.to_dict(), indent=2))
        return
    print_trace(t, method, table=table, all_classes=all_classes)
