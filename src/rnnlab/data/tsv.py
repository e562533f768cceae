"""The classic TSV API: ``read_tsv`` and ``TSVDataset`` (``<label>\\t<text>``, one example a line).

Both are thin layers over :func:`rnnlab.data.readers.read_examples`, which reads
every format; they keep the teaching code's names and the binary default labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rnnlab.data.readers import Example, Examples, clean_text, read_examples
from rnnlab.data.task import binary_task

DEFAULT_LABELS: tuple[str, ...] = binary_task().labels  # index = class id


def read_tsv(path: str | Path, labels: Sequence[str] | None = DEFAULT_LABELS, clean: bool = True) -> Examples:
    """Read a labelled TSV file into examples (``labels=None``: the sorted set of labels in the file)."""
    return read_examples(path, format="tsv", labels=labels, clean=clean)


class TSVDataset:
    """A labelled file as a map-style dataset of ``(label_name, text)`` items.

    The classic notebook API: ``DataLoader(TSVDataset(path), collate_fn=...)``.
    Any format :func:`~rnnlab.data.readers.read_examples` reads works (by extension).
    """

    def __init__(self, filepath: str | Path, labels: Sequence[str] | None = DEFAULT_LABELS, clean: bool = True):
        self.path = Path(filepath)
        self.examples = read_examples(filepath, labels=labels, clean=clean)
        self.labels = self.examples.labels

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


__all__ = ["DEFAULT_LABELS", "Example", "TSVDataset", "clean_text", "read_tsv"]
