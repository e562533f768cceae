"""The one typer app every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="rnnlab",
    help="Train, compare and look inside recurrent and bag-of-embeddings text classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
