"""``rnnlab predict RUN "text" ...`` without torch or pandas: the start-up fast path.

:mod:`rnnlab.cli.predict_cmd` calls :func:`predict_without_torch` first for texts given as
arguments (table or ``--json``); it prints exactly what the PyTorch path prints, with the
probabilities of the NumPy forward pass (:mod:`rnnlab.lite`, equal within 1e-5), and returns
False, having printed nothing, where :func:`rnnlab.lite.load_lite` does not cover the run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rnnlab.cli.common import print_table
from rnnlab.data.tokenize import import_spacy_without_torch
from rnnlab.lite import load_lite


def prediction_rows(run, texts: list[str]) -> tuple[list[str], list[list]]:
    """The columns and rows of :func:`rnnlab.inspect.predict_run`'s table: text, p(positive class),
    label for two classes; text, label, p(each class) for k."""
    probs = run.probabilities(texts)                                            # (N, k)
    labels = list(run.pipeline.labels)
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    if run.pipeline.task.binary:
        return (["text", f"p({labels[1]})", "label"],
                [[t, float(p[1]), y] for t, p, y in zip(texts, probs, predicted)])
    return (["text", "label", *(f"p({name})" for name in labels)],
            [[t, y, *map(float, p)] for t, p, y in zip(texts, probs, predicted)])


def predict_without_torch(run: Path, texts: list[str], as_json: bool) -> bool:
    """Classify ``texts`` with the NumPy forward pass and print them as ``predict`` does; False where the
    run is not covered (nothing printed: the caller takes the PyTorch path)."""
    lite = load_lite(run)
    if lite is None:
        return False
    import_spacy_without_torch()  # before the pipeline's tokenizer loads spaCy (see its docstring)
    pipeline = lite.pipeline
    columns, rows = prediction_rows(lite, texts)
    cut = sum(pipeline.was_cut(t) for t in texts) if pipeline.max_length else 0
    if cut:
        print(f"note: {cut} text(s) longer than max_length {pipeline.max_length} tokens were cut "
              "to their first tokens, as in training", file=sys.stderr)
    numeric = [c.startswith("p(") for c in columns]
    if as_json:
        for row in rows:
            values = dict(zip(columns, row))
            print(json.dumps({"text": values["text"], "label": values["label"],
                              "probabilities": {c[2:-1]: values[c] for c, n in zip(columns, numeric) if n}}))
    else:
        print_table(columns, rows, numeric, max_text=80)
    return True
