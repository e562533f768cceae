"""Looking inside models: prediction tables and weight listings.

(Similarity, gradient probes and per-token traces build on these in
``rnnlab.probes`` and ``rnnlab.trace``.)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from rnnlab.data.tsv import DEFAULT_LABELS


@torch.no_grad()
def predict_multiple(model, texts: Sequence[str], collate_fn: Callable, labels: Sequence[str] = ("neg", "pos")):
    """Classic API: a DataFrame of text, probability of ``labels[1]`` and predicted label."""
    import pandas as pd

    model.eval()
    _, text, extra = collate_fn([(labels[0], t) for t in texts])
    probs = model(text, extra).reshape(-1).tolist()
    return pd.DataFrame({"text": list(texts), "prob": probs,
                         "label": [labels[int(p > 0.5)] for p in probs]})


@torch.no_grad()
def predict_proba(model, vocab, texts: Sequence[str], tokenizer=None, max_length: int | None = None,
                  batch_size: int = 256) -> np.ndarray:
    """Probabilities for many texts, batched by length; results in the order of ``texts``."""
    from rnnlab.data.batching import encode_text, encoded_collate, family_of
    from rnnlab.data.tokenize import Tokenizer

    tokenizer = tokenizer or Tokenizer()
    model.eval()
    family = "boe" if getattr(model, "family", "") == "boe" else "recurrent"
    collate = encoded_collate(family, vocab.pad_index)
    ids = [encode_text(t, vocab, tokenizer, max_length) for t in texts]
    order = np.argsort([len(a) for a in ids], kind="stable")
    out = np.zeros(len(texts), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        _, text, extra = collate([(ids[i], 0) for i in chunk])
        out[chunk] = model(text, extra).double().numpy()
    return out


def predict_run(run, texts: Sequence[str], batch_size: int = 256):
    """A DataFrame of text, probability and label for a loaded run."""
    import pandas as pd

    probs = predict_proba(run.model, run.vocab, texts, run.tokenizer(), run.max_length, batch_size)
    labels = run.labels or list(DEFAULT_LABELS)
    return pd.DataFrame({"text": list(texts), "prob": probs, "label": [labels[int(p > 0.5)] for p in probs]})


def weights_table(model):
    """One row per parameter: name, shape, trainable, mean, std, min, max, L2 norm."""
    import pandas as pd

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
