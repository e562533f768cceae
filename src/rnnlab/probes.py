"""Probes inside trained (or untrained) models.

- :func:`contrastive_predictions`: the same hand-written sentences through several
  models side by side; :func:`permutation_check` shows that a bag-of-embeddings
  model gives the same probability to any reordering of the same words.
- Tell-tale tokens: :func:`telltale_dataset` inserts ``<newneg>`` into every negative
  and ``<newpos>`` into every positive text at the start, the middle
  (``len(tokens) // 2``) or the end; :func:`prepare_telltale` builds the data with both
  tokens appended to the vocabulary (all-zero embeddings).
- :func:`similarity_table`: cosine similarity of embedding rows (any token pairs).
- :func:`gradient_report`: for an untrained model with fine-tunable embeddings, the
  gradient of the loss with respect to the ``<newneg>`` / ``<newpos>`` rows summed over
  every validation mini-batch, for each insertion position.
"""

from __future__ import annotations

import copy
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch

from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.task import Task
from rnnlab.data.tokenize import Tokenizer
from rnnlab.data.tsv import DEFAULT_LABELS
from rnnlab.errors import RnnlabError
from rnnlab.trace import run_probabilities
from rnnlab.data.batching import EncodedDataset, family_of, make_loader
from rnnlab.training import prepare_data, _logits, configure_threads
from rnnlab.config import replace
from rnnlab.models import build_model

NEWNEG, NEWPOS = "<newneg>", "<newpos>"
TELLTALE_TOKENS = (NEWNEG, NEWPOS)
POSITIONS = ("start", "middle", "end")

# (group, text): texts in one group that use the same words are permutations of each other.
CONTRAST_TEXTS: tuple[tuple[str, str], ...] = (
    ("order", "I loved it at first, but by the end I hated it"),
    ("order", "I hated it at first, but by the end I loved it"),
    ("intensifier", "I really loved it at first, but by the end I hated it"),
    ("intensifier", "I loved it at first, but by the end I really hated it"),
    ("reordered clause", "I hated it in the end, even though I loved it at first"),
)

SIMILARITY_PAIRS: tuple[tuple[str, str], ...] = (
    (NEWNEG, NEWPOS), (NEWNEG, "boring"), (NEWNEG, "outstanding"),
    (NEWPOS, "boring"), (NEWPOS, "outstanding"),
)


def refuse_more_than_two(labels: Sequence[str], probe: str) -> None:
    """One line for a probe that only means something with two classes."""
    if len(labels) > 2:
        raise RnnlabError(f"{probe} needs two classes; this has {len(labels)} ({', '.join(labels)})")


# -- contrastive predictions ------------------------------------------------------------
class _PairRun:
    """A ``(model, vocab)`` pair seen as a run: default tokenizer, no length limit, labels by class count."""

    def __init__(self, model, vocab):
        self.model, self.vocab, self.max_length, self._tokenizer = model, vocab, None, Tokenizer()
        k = getattr(model, "num_classes", 2)
        self.labels = list(DEFAULT_LABELS) if k == 2 else [str(i) for i in range(k)]

    def tokenizer(self):
        return self._tokenizer

    @property
    def pipeline(self):
        return TextPipeline(self.vocab, Task(tuple(self.labels)), None, self._tokenizer)


def _as_run(item):
    """A loaded :class:`~rnnlab.runs.Run`, or a ``(model, vocab)`` pair."""
    if hasattr(item, "model") and hasattr(item, "vocab"):
        return item
    return _PairRun(*item)


def contrastive_predictions(models: Mapping[str, object], texts: Sequence[tuple[str, str]] = CONTRAST_TEXTS):
    """A DataFrame: group, text, then per model (runs or ``(model, vocab)``) the probability of its second
    class (two classes: one column named after the model) or one column ``NAME p(LABEL)`` per class (k > 2).
    Each run reads the texts with its own tokenizer settings and length limit."""
    import pandas as pd  # deferred: pandas only for result tables

    df = pd.DataFrame({"group": [g for g, _ in texts], "text": [t for _, t in texts]})
    for name, item in models.items():
        run = _as_run(item)
        probs = run_probabilities(run, list(df["text"]))                 # (N, k)
        labels = list(run.labels or DEFAULT_LABELS)
        if probs.shape[1] == 2:
            df[name] = probs[:, 1]
        else:
            for j, label in enumerate(labels):
                df[f"{name} p({label})"] = probs[:, j]
    return df


def permutation_check(predictions, tokenizer=None):
    """For every pair of texts made of the same tokens (a permutation): |P(a) - P(b)| for each model.

    A bag-of-embeddings model averages the word vectors, so its column is 0 up to
    floating-point summation order (< 1e-6); a recurrent model reads the order.
    """
    import pandas as pd  # deferred: pandas only for result tables

    tokenizer = tokenizer or Tokenizer()
    models = [c for c in predictions.columns if c not in ("group", "text")]
    bags = [tuple(sorted(tokenizer(t))) for t in predictions["text"]]
    rows = []
    for i in range(len(bags)):
        for j in range(i + 1, len(bags)):
            if bags[i] == bags[j]:
                row = {"text a": predictions["text"].iloc[i], "text b": predictions["text"].iloc[j]}
                for m in models:
                    row[m] = abs(float(predictions[m].iloc[i]) - float(predictions[m].iloc[j]))
                rows.append(row)
    return pd.DataFrame(rows, columns=["text a", "text b", *models])


# -- tell-tale tokens ----------------------------------------------------------------------
def insert_position(n_tokens: int, position: str) -> int:
    """Where the token goes in a sequence of ``n_tokens``: 0, ``n_tokens // 2`` or ``n_tokens``."""
    if position == "start":
        return 0
    if position == "middle":
        return n_tokens // 2
    if position == "end":
        return n_tokens
    raise ValueError(f"unknown position {position!r}; choose one of {', '.join(POSITIONS)}")


def insert_telltale_ids(ids: np.ndarray, token_id: int, position: str, max_length: int | None = None) -> np.ndarray:
    """``ids`` with ``token_id`` inserted at ``position``.

    Insertion happens *after* truncation: a text already cut to ``max_length`` is cut
    to ``max_length - 1`` first, so the token is always present and the result still
    fits ``max_length``. ``middle`` and ``end`` refer to the sequence the model sees.
    """
    if max_length is not None and len(ids) >= max_length:
        ids = ids[: max_length - 1]
    k = insert_position(len(ids), position)
    return np.concatenate([ids[:k], np.asarray([token_id], dtype=ids.dtype), ids[k:]])


def telltale_dataset(dataset, position: str, neg_id: int, pos_id: int, max_length: int | None = None):
    """A new :class:`~rnnlab.data.batching.EncodedDataset`: ``neg_id`` in every label-0 text, ``pos_id`` in every label-1 text."""
    ids = [insert_telltale_ids(a, pos_id if y == 1 else neg_id, position, max_length)
           for a, y in zip(dataset.ids, dataset.labels)]
    return EncodedDataset(ids, dataset.labels)


def telltale_prepared(prepared, position: str, tokens: Sequence[str] = TELLTALE_TOKENS,
                      max_length: int | None = None):
    """A copy of ``prepared`` (whose vocabulary already holds ``tokens``) with the train and validation texts marked."""
    refuse_more_than_two(list(prepared.labels), f"the tell-tale probe ({' / '.join(tokens)})")
    neg, pos = tokens
    if neg not in prepared.vocab or pos not in prepared.vocab:
        raise ValueError(f"the vocabulary lacks {neg!r} / {pos!r}: prepare the data with extra_tokens={list(tokens)}")
    neg_id, pos_id = prepared.vocab.stoi[neg], prepared.vocab.stoi[pos]
    out = copy.copy(prepared)
    out.train = telltale_dataset(prepared.train, position, neg_id, pos_id, max_length)
    out.valid = (telltale_dataset(prepared.valid, position, neg_id, pos_id, max_length)
                 if prepared.valid is not None else None)
    out.info = {**prepared.info, "telltale": {"position": position, "tokens": list(tokens),
                                              "ids": [neg_id, pos_id]}}
    return out


def prepare_telltale(train_examples, valid_examples=None, *, position: str | None = None,
                     tokens: Sequence[str] = TELLTALE_TOKENS, max_length: int | None = None, **kwargs):
    """:func:`~rnnlab.training.prepare_data` with ``tokens`` appended to the vocabulary (zero
    embeddings), and, when ``position`` is given, inserted into every text."""
    prepared = prepare_data(train_examples, valid_examples, extra_tokens=list(tokens), max_length=max_length,
                            **kwargs)
    for t in tokens:  # zero rows: pretrained vectors never cover these made-up tokens, but make sure
        prepared.embeddings[prepared.vocab.stoi[t]] = 0.0
    return telltale_prepared(prepared, position, tokens, max_length) if position else prepared


# -- similarity ------------------------------------------------------------------------------
def embedding_weights(model) -> torch.Tensor:
    return model.embedding.weight.detach()


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity; NaN when either vector is all zeros (the angle is undefined)."""
    a, b = a.double(), b.double()
    na, nb = float(a.norm()), float(b.norm())
    if na == 0.0 or nb == 0.0:
        return float("nan")
    return float(a @ b) / (na * nb)


def similarity_table(model, vocab, pairs: Iterable[tuple[str, str]] = SIMILARITY_PAIRS):
    """A DataFrame: token a, token b, cosine similarity of their embedding rows, and both norms."""
    import pandas as pd  # deferred: pandas only for result tables

    w = embedding_weights(model)
    rows = []
    for a, b in pairs:
        missing = [t for t in (a, b) if t not in vocab]
        if missing:
            rows.append({"token a": a, "token b": b, "cosine": float("nan"), "norm a": float("nan"),
                         "norm b": float("nan"), "note": f"not in vocabulary: {', '.join(missing)}"})
            continue
        va, vb = w[vocab.stoi[a]], w[vocab.stoi[b]]
        rows.append({"token a": a, "token b": b, "cosine": cosine(va, vb), "norm a": float(va.norm()),
                     "norm b": float(vb.norm()), "note": ""})
    return pd.DataFrame(rows)


# -- gradients ---------------------------------------------------------------------------------
def embedding_gradients(model, loader, token_ids: Sequence[int]) -> torch.Tensor:
    """Gradient of the loss w.r.t. the embedding rows ``token_ids``, summed over every batch of ``loader``.

    Each batch contributes the gradient of its mean loss (what one SGD step would
    use), so the sum is the total push those rows would get in one epoch at the
    current weights. Returns (len(token_ids), E).
    """
    model.train()
    model.zero_grad(set_to_none=True)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for labels, text, extra in loader:
        loss_fn(_logits(model, text, extra), labels).backward()   # accumulates into .grad
    grad = model.embedding.weight.grad
    if grad is None:
        raise ValueError("the embedding received no gradient: are the embeddings frozen?")
    out = grad[list(token_ids)].detach().clone()                  # (K, E)
    model.zero_grad(set_to_none=True)
    model.eval()
    return out


def gradient_report(prepared, model_config, positions: Sequence[str] = POSITIONS, *, seed: int = 1,
                    batch_size: int = 8, tokens: Sequence[str] = TELLTALE_TOKENS, max_length: int | None = None):
    """Untrained model (``seed``), fine-tunable embeddings: the tell-tale rows' gradient for each position.

    ``prepared`` holds the unmarked data with ``tokens`` in its vocabulary. The same
    initial weights are used for every position (the seed is reset), so the rows
    differ only through where the token sits. Returns ``(table, vectors)``: a
    DataFrame (position, ‖∇ <newneg>‖, ‖∇ <newpos>‖, ratio to the start position) and
    ``{position: (2, E) tensor}``.
    """
    import pandas as pd  # deferred: pandas only for result tables


    configure_threads()   # one thread unless $RNNLAB_THREADS: two OpenMP threads stall on a busy 2-core machine
    refuse_more_than_two(list(prepared.labels), f"the tell-tale gradient report ({' / '.join(tokens)})")
    if prepared.valid is None:
        raise ValueError("the gradient report needs validation data")
    cfg = replace(model_config, vocab_size=len(prepared.vocab), embedding_dim=int(prepared.embeddings.shape[1]),
                  freeze_embeddings=False, dropout=0.0)
    ids = [prepared.vocab.stoi[t] for t in tokens]
    rows, vectors = [], {}
    for position in positions:
        marked = telltale_prepared(prepared, position, tokens, max_length)
        torch.manual_seed(seed)
        model = build_model(cfg, prepared.vocab, prepared.embeddings)
        loader = make_loader(marked.valid, family_of(cfg.model), batch_size, shuffle=False,
                             pad_index=prepared.vocab.pad_index)
        g = embedding_gradients(model, loader, ids)                       # (2, E)
        vectors[position] = g
        rows.append({"position": position, f"|grad {tokens[0]}|": float(g[0].norm()),
                     f"|grad {tokens[1]}|": float(g[1].norm())})
    df = pd.DataFrame(rows)
    for t in tokens:
        col = f"|grad {t}|"
        base = df[col].iloc[0]
        df[f"{col} / {positions[0]}"] = df[col] / base if base else float("nan")
    return df, vectors
