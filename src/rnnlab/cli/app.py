"""The one typer app every command module registers on.

Help conventions: ``-h`` and ``--help``; ``rnnlab --version``; arguments shown as ``RUN`` /
``[TEXTS]...`` and option values as ``PATH`` / ``INTEGER`` (typer's own help prints type names
such as ``<path>``, ``<list[str]>`` and ``<bool>`` for flags, see :func:`_plain_placeholders`).
"""

from __future__ import annotations

from typing import Optional

import typer

import rnnlab

CONTEXT = {"help_option_names": ["-h", "--help"]}

_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "file": "PATH",
               "directory": "PATH"}


def _plain_placeholders() -> None:
    """Click-style placeholders in typer's help: ``RUN``, ``[TEXTS]...``, ``PATH``; no type for flags."""
    try:
        from typer.core import TyperArgument, TyperOption, _TyperParameter
    except ImportError:  # another typer layout: keep its own help
        return
    if not all(hasattr(cls, attr) for cls, attr in ((_TyperParameter, "display_type_rich"),
                                                     (TyperArgument, "_usage_display_name"))):
        return

    def display_type_rich(self, ctx):
        if isinstance(self, TyperArgument):
            return None  # the argument's name already says what it is
        if isinstance(self, TyperOption) and getattr(self, "is_flag", False):
            return None
        if self.metavar:
            return self.metavar
        label = self.display_type(ctx).strip("<>")
        if label.startswith("list[") and label.endswith("]"):
            label = label[5:-1]
        return _TYPE_NAMES.get(label.lower(), label.upper())

    def usage_display_name(self):
        name = self.metavar or self.name.upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    for cls in (_TyperParameter, TyperArgument, TyperOption):
        cls.display_type_rich = display_type_rich
    TyperArgument._usage_display_name = usage_display_name
    TyperArgument.display_name_raw = property(lambda self: self.metavar or self.name.upper())


_plain_placeholders()

app = typer.Typer(
    name="rnnlab",
    help="Train, compare and look inside recurrent and bag-of-embeddings text classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"rnnlab {rnnlab.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Optional[bool] = typer.Option(None, "--version", callback=_show_version, is_eager=True,
                                           help="Print the version and exit."),
) -> None:
    """Train, compare and look inside recurrent and bag-of-embeddings text classifiers."""
