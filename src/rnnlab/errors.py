"""User-facing errors.

Everything a user can cause (bad files, bad options, corrupted runs) raises
:class:`RnnlabError`; the CLI prints its message on one line and exits non-zero.
``assert`` is kept for internal invariants only.
"""

from __future__ import annotations

from pathlib import Path


class RnnlabError(Exception):
    """An error caused by input the user gave; its message says what and how to fix it."""


class InputError(RnnlabError, ValueError):
    """Bad content in a file: names the file and, where it applies, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def blank_text_message(what: str = "trace") -> str:
    """The one message for an empty or whitespace-only text, shared by the CLI and the server."""
    return f"nothing to {what}: give a non-empty text"


class WriteError(RnnlabError, OSError):
    """A file could not be written (a full disk, no permission): one line naming the file and the reason."""
