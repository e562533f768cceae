"""Looking inside models: prediction tables and weight listings.

(Similarity, gradient probes and per-token traces build on these in
``rnnlab.probes`` and ``rnnlab.trace``.)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from rnnlab.data.batching import DEFAULT_LABELS
from rnnlab.training import _logits
from rnnlab.data.batching import encoded_collate, family_of
from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.tokenize import Tokenizer
from rnnlab.training import model_task


@torch.no_grad()
def predict_multiple(model, texts: Sequence[str], collate_fn: Callable, labels: Sequence[str] = DEFAULT_LABELS):
    """Classic API: a DataFrame of text, probability of ``labels[1]`` and predicted label."""
    import pandas as pd  # deferred: pandas only for result tables

    model.eval()
    _, text, extra = collate_fn([(labels[0], t) for t in texts])
    out = model(text, extra)
    if out.dim() > 1:  # k classes: the probability of the predicted class
        p, idx = out.max(dim=-1)
        return pd.DataFrame({"text": list(texts), "prob": p.tolist(), "label": [labels[i] for i in idx.tolist()]})
    probs = out.reshape(-1).tolist()
    return pd.DataFrame({"text": list(texts), "prob": probs,
                         "label": [labels[int(p > 0.5)] for p in probs]})


@torch.no_grad()
def class_probabilities(model, pipeline, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """(N, k) probabilities of every class for many texts, rows summing to 1, in the order of ``texts``.

    Texts are encoded by ``pipeline`` (:class:`~rnnlab.data.pipeline.TextPipeline`: the run's
    tokenizer, vocabulary and ``max_length``) and batched by length.
    """
    model.eval()
    collate = encoded_collate(family_of(getattr(model, "family", "recurrent")), pipeline.vocab.pad_index)
    ids = [np.asarray(pipeline.encode(t), dtype=np.int64) for t in texts]
    order = np.argsort([len(a) for a in ids], kind="stable")
    out = np.zeros((len(texts), pipeline.task.k), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        _, text, extra = collate([(ids[i], 0) for i in chunk])
        out[chunk] = pipeline.task.probabilities(_logits(model, text, extra)).double().numpy()  # float32, as forward()
    return out


def predict_proba(model, vocab, texts: Sequence[str], tokenizer=None, max_length: int | None = None,
                  batch_size: int = 256) -> np.ndarray:
    """Two classes: probability of the positive class (N,); k classes: (N, k). See :func:`class_probabilities`."""

    pipeline = TextPipeline(vocab, model_task(model), max_length, tokenizer or Tokenizer())
    p = class_probabilities(model, pipeline, texts, batch_size)
    return p[:, 1] if pipeline.task.binary else p


def predict_run(run, texts: Sequence[str], batch_size: int = 256):
    """A DataFrame of text, predicted label and each class's probability (columns ``p(label)``).

    The column order: ``text``, ``p(...)`` for two classes (the positive class, as the
    classic table showed) then ``label``; for k classes ``text``, ``label``, then one
    ``p(...)`` column per class.
    """
    import pandas as pd  # deferred: pandas only for result tables

    pipeline = run.pipeline
    probs = class_probabilities(run.model, pipeline, texts, batch_size)
    labels = list(pipeline.labels)
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    if pipeline.task.binary:
        return pd.DataFrame({"text": list(texts), f"p({labels[1]})": probs[:, 1], "label": predicted})
    return pd.DataFrame({"text": list(texts), "label": predicted,
                         **{f"p({name})": probs[:, i] for i, name in enumerate(labels)}})


def weights_table(model):
    """One row per parameter: name, shape, trainable, mean, std, min, max, L2 norm."""
    import pandas as pd  # deferred: pandas only for result tables

    rows = []
    for name, p in model.named_parameters():
        v = p.detach().double()
        rows.append({"name": name, "shape": tuple(p.shape), "trainable": p.requires_grad,
                     "numel": p.numel(), "mean": float(v.mean()),
                     "std": float(v.std()) if p.numel() > 1 else 0.0,
                     "min": float(v.min()), "max": float(v.max()), "norm": float(v.norm())})
    return pd.DataFrame(rows)


def display_weights(model, full: bool = False, print_fn: Callable[[str], None] = print) -> None:
    """Classic API: every parameter's name and shape, with summary statistics (all values if ``full``)."""
    for _, r in weights_table(model).iterrows():
        print_fn(f"{r['name']}  shape={tuple(r['shape'])}  trainable={r['trainable']}  mean={r['mean']:.4g}  "
                 f"std={r['std']:.4g}  min={r['min']:.4g}  max={r['max']:.4g}")
        if full:
            with np.printoptions(threshold=np.inf, linewidth=120, precision=4, suppress=True):
                print_fn(str(dict(model.named_parameters())[r["name"]].detach().numpy()))
