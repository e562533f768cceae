"""A progress bar (rich) with rate and ETA, usable as a no-op when disabled."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator
import time


LOG_EVERY = 10.0  # seconds between progress lines in a plain log


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # deferred: IPython only to detect a notebook
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


@contextlib.contextmanager
def _log_lines(description: str, total: int | None, unit: str) -> Iterator[Callable[[int], None]]:
    """Plain progress for logs: ``epoch 1: 1,200/2,000 reviews (60%), 310 reviews/s`` every LOG_EVERY s."""
    start = last = time.perf_counter()
    done = 0

    def advance(n: int = 1) -> None:
        nonlocal done, last
        done += n
        now = time.perf_counter()
        if now - last >= LOG_EVERY:
            last = now
            share = f" ({done / total:.0%})" if total else ""
            of = f"/{total:,}" if total else ""
            print(f"{description}: {done:,}{of} {unit}{share}, {done / (now - start):,.0f} {unit}/s",
                  file=sys.stderr, flush=True)

    yield advance


@contextlib.contextmanager
def progress_bar(description: str, total: int | None, unit: str = "", enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; when ``enabled``: a transient bar on a terminal or in a notebook, and in a
    plain log (stderr redirected) one line every :data:`LOG_EVERY` seconds for long steps."""
    if not enabled:
        yield lambda n=1: None
        return
    if not (sys.stderr.isatty() or _in_notebook()):
        with _log_lines(description, total, unit) as advance:
            yield advance
        return
    from rich.console import Console  # deferred: rich only when a bar is shown
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn,  # deferred: rich only when a bar is shown
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text  # deferred: rich only when a bar is shown

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} {unit}/s" if task.speed else f"? {unit}/s")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(description, total=total)
        yield lambda n=1: prog.advance(task, n)
