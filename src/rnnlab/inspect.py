"""Looking inside models: prediction tables and weight listings.

(Similarity, gradient probes and per-token traces build on these in
``rnnlab.probes`` and ``rnnlab.trace``.)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from rnnlab.data.batching import DEFAULT_LABELS, encoded_collate, family_of
from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.tokenize import Tokenizer, tokenize_chunks
from rnnlab.models.recurrent import RecurrentClassifier
from rnnlab.training import _logits, model_task


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


# Batch inference, tuned on CPU (benchmarks/batch_predict.md): a batch holds at most about this many
# floats of recurrent state (rows x steps x directions x H, ~4 MB), so it stays in cache. imdb-best
# (2 x 96 units, up to 1,000 steps) then runs ~16 rows a batch, 2-2.5x more reviews per CPU-second
# than 256-row batches; short texts still fill batch_size rows.
STATE_BUDGET = 1 << 20
# Texts are encoded and run in windows of this many, each sorted by length into batches: the model
# works on one window while tokenizer workers prepare the next, and padding stays small.
WINDOW = 1024


def class_probabilities(model, pipeline, texts: Sequence[str], batch_size: int = 256,
                        n_process: int | None = 1) -> np.ndarray:
    """(N, k) probabilities of every class for many texts, rows summing to 1, in the order of ``texts``.

    Texts are encoded by ``pipeline`` (:class:`~rnnlab.data.pipeline.TextPipeline`: the run's
    tokenizer, vocabulary and ``max_length``) and batched by length (at most ``batch_size`` rows).
    ``n_process``: tokenizer processes (None: all cores); the default 1 never starts one, and
    :func:`~rnnlab.data.tokenize.tokenize_chunks` starts none for small inputs either.
    """
    return _probabilities(model, pipeline, texts, batch_size, n_process)[0]


def _probabilities(model, pipeline, texts: Sequence[str], batch_size: int, n_process: int | None):
    """:func:`class_probabilities` and each text's token count before truncation (N,).

    Tokenizing (in worker processes when ``n_process`` allows) overlaps with the model: each
    window of :data:`WINDOW` texts is run as soon as its chunks are tokenized.
    """
    out = np.zeros((len(texts), pipeline.task.k), dtype=np.float64)
    n_tokens = np.zeros(len(texts), dtype=np.int64)
    pending: list[np.ndarray] = []
    done = 0
    for corpus in tokenize_chunks(texts, pipeline.tokenizer, n_process=n_process):
        n_tokens[done:done + len(corpus)] = corpus.lengths()
        pending.extend(pipeline.encode_corpus(corpus))
        done += len(corpus)
        if len(pending) >= WINDOW or done == len(texts):
            out[done - len(pending):done] = encoded_probabilities(model, pipeline, pending, batch_size)
            pending = []
    return out, n_tokens


@torch.inference_mode()
def encoded_probabilities(model, pipeline, ids: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """(N, k) probabilities of texts already encoded by ``pipeline`` (truncated id arrays), in their order.

    Sorted by length into batches of at most ``batch_size`` rows and about :data:`STATE_BUDGET`
    floats of recurrent state.
    """
    model.eval()
    collate = encoded_collate(family_of(getattr(model, "family", "recurrent")), pipeline.vocab.pad_index)
    out = np.zeros((len(ids), pipeline.task.k), dtype=np.float64)
    lengths = np.array([len(a) for a in ids], dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    for rows in _length_batches(lengths[order], batch_size, _state_width(model)):
        chunk = order[rows]
        _, text, extra = collate([(ids[i], 0) for i in chunk])
        out[chunk] = pipeline.task.probabilities(_inference_logits(model, text, extra)).double().numpy()  # float32, as forward()
    return out


def _length_batches(sorted_lengths: np.ndarray, batch_size: int, width: int | None) -> list[slice]:
    """Consecutive batches of length-sorted texts: at most ``batch_size`` rows, and, for a recurrent
    model (``width`` = floats of state per step), at most :data:`STATE_BUDGET` floats of state."""
    batches, start, n = [], 0, len(sorted_lengths)
    while start < n:
        stop = min(n, start + batch_size)
        while width:  # the batch's longest text sets its steps; fewer rows give fewer steps
            fit = max(1, STATE_BUDGET // (int(sorted_lengths[stop - 1]) * width))
            if stop - start <= fit:
                break
            stop = start + fit
        batches.append(slice(start, stop))
        start = stop
    return batches


def _state_width(model) -> int | None:
    """Floats of recurrent state per text per step (None for models that have none)."""
    if not isinstance(model, RecurrentClassifier):
        return None
    return model.num_layers * model.num_directions * model.state_size


def _inference_logits(model, text: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Logits of a padded batch, equal to ``forward_logits`` within float rounding (tests/test_inspect.py).

    A one-layer recurrent model with a per-direction pooling (the built-in ones) is read direction by
    direction (:meth:`~rnnlab.models.recurrent.RecurrentClassifier.document_by_direction`), the
    backward direction from the ids reversed within each length (one integer gather) for any cell;
    anything else goes through the model's own forward pass.
    """
    if isinstance(model, RecurrentClassifier) and model.by_direction:
        return model.head(model.document_by_direction(text, lengths))
    return _logits(model, text, lengths)


def predict_proba(model, vocab, texts: Sequence[str], tokenizer=None, max_length: int | None = None,
                  batch_size: int = 256) -> np.ndarray:
    """Two classes: probability of the positive class (N,); k classes: (N, k). See :func:`class_probabilities`."""

    pipeline = TextPipeline(vocab, model_task(model), max_length, tokenizer or Tokenizer())
    p = class_probabilities(model, pipeline, texts, batch_size)
    return p[:, 1] if pipeline.task.binary else p


def predict_run(run, texts: Sequence[str], batch_size: int = 256, n_process: int | None = None):
    """A DataFrame of text, predicted label and each class's probability (columns ``p(label)``).

    The column order: ``text``, ``p(...)`` for two classes (the positive class, as the
    classic table showed) then ``label``; for k classes ``text``, ``label``, then one
    ``p(...)`` column per class. ``df.attrs["cut"]`` counts the texts longer than ``max_length``.
    Many texts are tokenized in ``n_process`` worker processes (None: all cores; see
    :func:`class_probabilities`).
    """
    import pandas as pd  # deferred: pandas only for result tables

    pipeline = run.pipeline
    probs, n_tokens = _probabilities(run.model, pipeline, texts, batch_size, n_process)
    labels = list(pipeline.labels)
    predicted = [labels[i] for i in probs.argmax(axis=1)]
    if pipeline.task.binary:
        df = pd.DataFrame({"text": list(texts), f"p({labels[1]})": probs[:, 1], "label": predicted})
    else:
        df = pd.DataFrame({"text": list(texts), "label": predicted,
                           **{f"p({name})": probs[:, i] for i, name in enumerate(labels)}})
    df.attrs["cut"] = int((n_tokens > pipeline.max_length).sum()) if pipeline.max_length else 0
    return df


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
