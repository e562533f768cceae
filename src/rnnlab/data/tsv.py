"""Labelled text as TSV: ``<label>\\t<text>``, one example a line.

The label is everything before the FIRST tab (27 IMDB reviews contain tabs).
Malformed input raises :class:`~rnnlab.errors.InputError` naming the file, the
line and what was expected. CRLF line endings and a UTF-8 BOM are accepted;
blank lines are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from rnnlab.data.limits import TEXT_ENV, max_text_bytes
from rnnlab.errors import InputError

DEFAULT_LABELS: tuple[str, ...] = ("neg", "pos")  # index = class id
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def clean_text(text: str) -> str:
    """Replace HTML line breaks (``<br />``) by spaces; everything else is kept."""
    return _BR.sub(" ", text)


@dataclass(frozen=True)
class Example:
    """One labelled text: ``label`` is the class id (index into the label names)."""

    label: int
    text: str


def read_tsv(
    path: str | Path,
    labels: Sequence[str] = DEFAULT_LABELS,
    clean: bool = True,
) -> list[Example]:
    """Read a labelled TSV file into examples.

    Args:
        path: the file.
        labels: label names; the position of a name is its class id.
        clean: turn ``<br />`` into spaces (``False`` keeps the text exactly as given).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, expected a TSV file")
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise InputError(path, "the file is empty, expected lines of <label>\\t<text>")
    label_ids = {name: i for i, name in enumerate(labels)}
    expected = "|".join(labels)
    examples: list[Example] = []
    cap = max_text_bytes()
    for number, line in enumerate(_split_lines(raw), start=1):
        if not line.strip():
            continue
        if len(line) > cap:
            raise InputError(path, f"line of {len(line):,} bytes exceeds the limit of {cap:,} per text "
                                   f"(raise ${TEXT_ENV} if it is genuine)", number)
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                path, f"invalid UTF-8 at byte {exc.start} of the line; re-encode the file as UTF-8", number
            ) from None
        label, sep, text = decoded.partition("\t")
        if not sep:
            raise InputError(path, f"no TAB found, expected <label>\\t<text> with label {expected}", number)
        if label not in label_ids:
            shown = label if len(label) <= 40 else label[:40] + "..."
            raise InputError(path, f"unknown label {shown!r}, expected one of {expected}", number)
        if not text.strip():
            raise InputError(path, "empty text after the label, expected <label>\\t<text>", number)
        examples.append(Example(label_ids[label], clean_text(text) if clean else text))
    return examples


def _split_lines(raw: bytes) -> Iterator[bytes]:
    """Lines without their ending; ``\\r\\n`` and ``\\n`` both end a line."""
    for line in raw.split(b"\n"):
        yield line[:-1] if line.endswith(b"\r") else line


def write_tsv(path: str | Path, examples: Sequence[Example], labels: Sequence[str] = DEFAULT_LABELS) -> None:
    """Write examples as TSV (text newlines become spaces so that one line stays one example)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for ex in examples:
            f.write(f"{labels[ex.label]}\t{ex.text.replace(chr(13), ' ').replace(chr(10), ' ')}\n")


class TSVDataset:
    """A labelled TSV file as a map-style dataset of ``(label_name, text)`` items.

    The classic notebook API: ``DataLoader(TSVDataset(path), collate_fn=...)``.
    """

    def __init__(self, filepath: str | Path, labels: Sequence[str] = DEFAULT_LABELS, clean: bool = True):
        self.path = Path(filepath)
        self.labels = tuple(labels)
        self.examples = read_tsv(filepath, labels=labels, clean=clean)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, idx: int) -> tuple[str, str]:
        ex = self.examples[idx]
        return self.labels[ex.label], ex.text

    @property
    def texts(self) -> list[str]:
        return [ex.text for ex in self.examples]

    @property
    def targets(self) -> list[int]:
        return [ex.label for ex in self.examples]
