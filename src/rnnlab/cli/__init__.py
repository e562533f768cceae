"""Command-line interface: one module per command on one shared typer app.

Each command is a thin typed wrapper over a keyword-only function that the tests
call directly. User errors (:class:`rnnlab.errors.RnnlabError`) print one line on
stderr and exit with status 1, never a traceback.

Command modules import the torch- and spaCy-heavy library code inside the command
functions, on purpose, so that ``rnnlab --help`` and ``--version`` start fast.
"""

from __future__ import annotations

import sys

from rnnlab.cli.app import app
from rnnlab.errors import RnnlabError

# Importing a command module registers its commands on ``app``.
from rnnlab.cli import (  # noqa: E402,F401
    data_cmd,
    train_cmd,
    evaluate_cmd,
    predict_cmd,
    weights_cmd,
    quickstart_cmd,
    trace_cmd,
    serve_cmd,
    baseline_cmd,
    demo_cmd,
    study_cmd,
    report_cmd,
    probe_cmd,
    scratch_cmd,
    export_cmd,
)

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become one line on stderr and exit status 1."""
    try:
        app(args=argv, prog_name="rnnlab", standalone_mode=True)
    except RnnlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
