"""``rnnlab demo padding | packing``: what padding puts in a batch, and what packing does about it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console

demo_app = typer.Typer(help="Small demonstrations (padding, packing).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


def run_padding(*, data: Path | None = None) -> str:
    from rnnlab.demos import format_padding, padding_demo

    text = format_padding(padding_demo(data))
    console.print(text, markup=False)
    return text


def run_packing(*, data: Path | None = None) -> str:
    from rnnlab.demos import format_packing, format_padding, packing_demo, padding_demo

    pad = padding_demo(data)
    text = format_padding(pad) + "\n\n" + format_packing(packing_demo(pad.padded, pad.lengths, pad.pad_index))
    console.print(text, markup=False)
    return text


DATA_HELP = "Training data whose vocabulary gives the indices (default: sample:train, the balanced IMDB sample in the cache)."


@demo_app.command("padding")
def padding_command(data: Optional[str] = typer.Option(None, help=DATA_HELP)) -> None:
    """Three texts as tokens, as vocabulary indices and as one padded batch, with the <pad> explained."""
    run_padding(data=data)


@demo_app.command("packing")
def packing_command(data: Optional[str] = typer.Option(None, help=DATA_HELP)) -> None:
    """A counting RNN over the padded batch, with and without packing: where the 'final' value comes from."""
    run_packing(data=data)
