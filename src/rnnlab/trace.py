"""Per-token traces: how a model's probabilities move as it reads, and which tokens mattered.

Everything here reads the model through its reading API (``embed``,
``direction_states``, ``layer_states``, ``finals``, ``pool``, ``pool_prefixes``,
``document``, ``head``, ``num_layers``, ``num_directions``; see
:mod:`rnnlab.models`), never through its modules, so a new cell or pooling gives
the same trace as classifying each prefix. Every class has a probability; a trace
follows one *target* class (by default ``labels[1]`` for two classes, as always,
and the predicted class for more) and keeps every class's running probability.

Two views of one text:

- **Running probabilities** (unidirectional recurrent models only). The document
  embedding is pooled from every layer's state, so the head can be applied after
  every token: at step ``t`` the state of each layer is exactly what it would be if
  the text ended there. One pass gives all prefixes at once. A bidirectional model
  reads the end before the start, so it has no running probability.
- **Token importance** (every model): *occlusion* (probability of the target minus
  the probability with the token replaced by ``<unk>``), *removal* (minus the
  probability with the token deleted), both as one batch of variants, and
  *gradient × input* (the gradient of the target's logit with respect to each
  token's embedding, dotted with that embedding). Positive values pushed the text
  towards the target class.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace
from typing import Sequence

import numpy as np
import torch

from rnnlab.data.batching import encoded_collate
from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.task import Task
from rnnlab.data.tokenize import Tokenizer
from rnnlab.data.tsv import DEFAULT_LABELS
from rnnlab.errors import RnnlabError
from rnnlab.inspect import class_probabilities

METHODS = ("occlusion", "removal", "gradient_input")


@dataclass
class Trace:
    """One text read by one model. Lists are aligned with ``tokens``."""

    text: str
    tokens: list[str]
    ids: list[int]
    known: list[bool]                    # False where the token is not in the vocabulary (<unk>)
    probability: float                   # of ``target`` for the whole (possibly truncated) text
    label: str                           # the predicted class
    labels: list[str]
    running: list[float] | None          # p(target) after each prefix; None for bag/bidirectional
    importance: dict[str, list[float]] = field(default_factory=dict)  # method -> one value per token
    truncated: bool = False              # the text had more than ``max_length`` tokens
    target: str = ""                     # the class ``probability``, ``running`` and ``importance`` follow
    probabilities: dict[str, float] = field(default_factory=dict)              # every class, whole text
    running_by_class: dict[str, list[float]] | None = None                     # every class after each prefix

    @property
    def deltas(self) -> list[float] | None:
        """How much each token moved the running probability (the first against 1/k, no evidence)."""
        if self.running is None:
            return None
        prev = [1.0 / len(self.labels)] + self.running[:-1]
        return [r - p for r, p in zip(self.running, prev)]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["deltas"] = self.deltas
        return d


# ---------------------------------------------------------------------------- text -> ids

def _encode(run, text: str, max_length: int | None = None):
    """THE one place trace, serve and probes turn a run's text into ids: ``(tokens, ids, truncated)``.

    Goes through the run's text pipeline (its tokenizer settings, vocabulary and ``max_length``,
    whose ``truncate`` is the only truncation); ``max_length`` may only lower the run's own limit.
    """
    pipeline = run.pipeline
    if max_length is not None and (pipeline.max_length is None or max_length < pipeline.max_length):
        pipeline = dataclasses.replace(pipeline, max_length=max_length)
    all_tokens = pipeline.tokenizer(text)
    tokens = list(pipeline.truncate(all_tokens))
    ids = np.asarray(pipeline.vocab.lookup_indices(tokens), dtype=np.int64)
    return tokens, ids, len(tokens) < len(all_tokens)


# ---------------------------------------------------------------------------- the model's outputs

def _class_probs(model, logits: torch.Tensor) -> torch.Tensor:
    """Logits of any leading shape -> probabilities (..., k), one column per class (rows sum to 1)."""
    k = getattr(model, "num_classes", 2)
    task = Task(tuple(str(i) for i in range(k)))
    if k == 2:
        return task.probabilities(logits.reshape(-1)).reshape(*logits.shape, 2)
    return task.probabilities(logits.reshape(-1, k)).reshape(*logits.shape)


def _target_logit(model, logits: torch.Tensor, target: int) -> torch.Tensor:
    """The logit pushing towards class ``target``: for two classes, the one logit (towards labels[1]) or minus it."""
    if getattr(model, "num_classes", 2) == 2:
        return logits if target == 1 else -logits
    return logits[..., target]


def _device(model):
    return next(model.parameters()).device


def supports_running(model) -> bool:
    """Whether the model has a running probability: a unidirectional recurrent classifier."""
    return getattr(model, "num_layers", 0) > 0 and model.num_directions == 1


def _prefix_logits(model, padded: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> logits of the head after every step, (B, T) or (B, T, k), in one pass.

    Padding goes after each text and a unidirectional state never looks ahead, so the states at
    steps before a text's end are exact.
    """
    x = model.embed(padded)                                      # (B, T, E)
    states = []
    for layer in range(model.num_layers):
        x = model.direction_states(x, layer, 0)                  # (B, T, H): this layer's state at every step
        states.append(x)
    finals = torch.cat(states, dim=-1)                           # (B, T, L*H): layer 0, layer 1, ... as h_n
    return model.head(model.pool_prefixes(finals, states[-1]))


@torch.no_grad()
def running_probabilities(model, ids: Sequence[Sequence[int]], pad_index: int = 1) -> list[np.ndarray]:
    """Every class's probability after every prefix of each id sequence: one (T, k) array per sequence."""
    if not supports_running(model):
        raise ValueError("running probabilities need a unidirectional recurrent model "
                         "(a bidirectional or bag-of-embeddings model sees the whole text at once)")
    if not ids:
        return []
    was_training = model.training
    model.eval()
    try:
        lengths = [len(a) for a in ids]
        if min(lengths) < 1:
            raise ValueError("every sequence needs at least one token")
        padded = torch.full((len(ids), max(lengths)), pad_index, dtype=torch.int64)
        for i, a in enumerate(ids):
            padded[i, : len(a)] = torch.as_tensor(np.asarray(a, dtype=np.int64))
        probs = _class_probs(model, _prefix_logits(model, padded.to(_device(model)))).double().cpu().numpy()
        return [probs[i, :n] for i, n in enumerate(lengths)]
    finally:
        model.train(was_training)


@torch.no_grad()
def _probabilities(model, ids: Sequence[np.ndarray], pad_index: int = 1, batch_size: int = 128) -> np.ndarray:
    """Every class's probability for each id sequence, (N, k) (empty ones read as ``[<unk>]``, as in prediction)."""
    family = "boe" if getattr(model, "family", "") == "boe" else "recurrent"
    collate = encoded_collate(family, pad_index)
    device = _device(model)
    empty = np.zeros(1, dtype=np.int64)  # <unk>
    out = np.zeros((len(ids), getattr(model, "num_classes", 2)), dtype=np.float64)
    for start in range(0, len(ids), batch_size):
        chunk = [(a if len(a) else empty, 0) for a in ids[start:start + batch_size]]
        _, text, extra = collate(chunk)
        logits = model.forward_logits(text.to(device), extra.to(device))
        out[start:start + len(chunk)] = _class_probs(model, logits).double().cpu().numpy()
    return out


def _step_states(model, ids: torch.Tensor):
    """Every layer's state after every step of one sequence: h (L, T, H), and c (L, T, H) for an LSTM."""
    x = model.embed(ids[None])                                   # (1, T, E)
    hs, cs = [], []
    for layer in range(model.num_layers):
        h, c = model.direction_states(x, layer, 0, cells=True)   # (1, T, H) each; c None unless LSTM
        hs.append(h[0])
        cs.append(c[0] if c is not None else None)
        x = h
    return torch.stack(hs), (torch.stack(cs) if cs[0] is not None else None)


def _shares_prefix(model) -> bool:
    """Leave-one-out variants can start from the shared prefix's state: a unidirectional model whose
    pooling needs only the final states (pooling over time would need the prefix's outputs too)."""
    return supports_running(model) and not model.pool_uses_outputs


@torch.no_grad()
def _suffix_probabilities(model, ids: np.ndarray, starts: np.ndarray, suffixes: list[np.ndarray],
                          pad_index: int = 1, batch_size: int = 128, states=None) -> np.ndarray:
    """Probabilities (N, k) of ``ids[:start] + suffix`` for each pair, reusing the shared prefix's state.

    A unidirectional model's state after ``ids[:start]`` is the same for every variant that
    keeps that prefix, so each variant only runs its suffix, from that state: leave-one-out
    costs about half of classifying every variant from scratch. Suffixes must be non-empty.
    """
    device = _device(model)
    h, c = states if states is not None else _step_states(model, torch.as_tensor(ids, device=device))  # (L, T, H)
    L, _, H = h.shape
    zeros = torch.zeros(L, 1, H, device=device)
    out = np.zeros((len(suffixes), getattr(model, "num_classes", 2)), dtype=np.float64)
    for lo in range(0, len(suffixes), batch_size):
        rows = range(lo, min(lo + batch_size, len(suffixes)))
        lengths = torch.tensor([len(suffixes[i]) for i in rows], dtype=torch.int64)
        padded = torch.full((len(rows), int(lengths.max())), pad_index, dtype=torch.int64)
        for k, i in enumerate(rows):
            padded[k, : len(suffixes[i])] = torch.as_tensor(suffixes[i])
        # The state after the prefix: step start-1 of every layer; zeros for an empty prefix.
        pick = lambda states: torch.cat([states[:, starts[i] - 1: starts[i]] if starts[i] > 0 else zeros  # noqa
                                         for i in rows], dim=1)  # (L, B, H)
        h0, c0 = pick(h), (pick(c) if c is not None else None)
        # Padded: padding sits after each suffix's end and a unidirectional state never looks
        # ahead, so each layer's state at the suffix's last step is exact.
        x = model.embed(padded.to(device))                               # (B, S, E)
        rows_t, last = torch.arange(len(rows), device=device), (lengths - 1).to(device)
        finals = []
        for layer in range(L):
            start = (h0[layer], c0[layer]) if c0 is not None else h0[layer]  # (B, H)
            x = model.direction_states(x, layer, 0, start=start)         # (B, S, H)
            finals.append(x[rows_t, last])                               # (B, H)
        doc = model.pool(torch.cat(finals, dim=1), None, lengths)        # (B, doc_dim)
        out[lo:lo + len(rows)] = _class_probs(model, model.head(doc)).double().cpu().numpy()
    return out


def _shares_both_ends(model) -> bool:
    """A one-layer bidirectional model pooling final states only: a leave-one-out variant keeps the
    forward state of the prefix before the change and the backward state of the suffix after it."""
    return (getattr(model, "num_layers", 0) == 1 and model.num_directions == 2 and not model.pool_uses_outputs)


def _finals_from(model, direction: int, states, shared: np.ndarray, suffixes: list[np.ndarray], pad_index: int):
    """Final state of one direction for each variant: start from the state after ``shared[k]`` steps of
    ``states`` (zeros for none) and read ``suffixes[k]`` (may be empty: the start state is final)."""
    h_all, c_all = states                                         # (T, H) each (c None unless LSTM)
    H = h_all.shape[1]
    zero = h_all.new_zeros(H)
    pick = lambda all_, k: all_[shared[k] - 1] if shared[k] > 0 else zero  # noqa: E731
    h0 = torch.stack([pick(h_all, k) for k in range(len(suffixes))])       # (B, H)
    c0 = torch.stack([pick(c_all, k) for k in range(len(suffixes))]) if c_all is not None else None
    finals = h0.clone()
    rows = [k for k, sfx in enumerate(suffixes) if len(sfx)]
    if rows:
        lengths = torch.tensor([len(suffixes[k]) for k in rows])
        padded = torch.full((len(rows), int(lengths.max())), pad_index, dtype=torch.int64)
        for j, k in enumerate(rows):
            padded[j, : len(suffixes[k])] = torch.as_tensor(suffixes[k])
        start = h0[rows] if c0 is None else (h0[rows], c0[rows])
        # Padding sits after each suffix's end and one direction never looks ahead: exact finals.
        out = model.direction_states(model.embed(padded.to(h0.device)), 0, direction, start=start)  # (B, S, H)
        finals[rows] = out[torch.arange(len(rows)), lengths - 1]
    return finals


@torch.no_grad()
def _both_ends_probabilities(model, ids: np.ndarray, changes: list[np.ndarray],
                             pad_index: int = 1, batch_size: int = 128) -> np.ndarray:
    """Probabilities (N, k) of variants of ``ids`` that change position ``i`` only, for a one-layer
    bidirectional model: the forward direction starts from the state after ``ids[:i]`` and reads the
    new middle plus ``ids[i+1:]``; the backward direction starts from its state after reading
    ``ids[i+1:]`` (from the end) and reads the new middle plus ``ids[:i]`` reversed. Each variant
    costs n + 1 steps instead of 2n. ``changes[i]`` is the middle that replaces token ``i`` (empty: removal).
    """
    n = len(ids)
    x = model.embed(torch.as_tensor(ids, device=_device(model))[None])       # (1, n, E)
    f_h, f_c = model.direction_states(x, 0, 0, cells=True)                   # after ids[:t+1]
    b_h, b_c = model.direction_states(x.flip(1), 0, 1, cells=True)           # after ids[n-1-t:] (from the end)
    f_states = (f_h[0], f_c[0] if f_c is not None else None)
    b_states = (b_h[0], b_c[0] if b_c is not None else None)
    out = np.zeros((len(changes), getattr(model, "num_classes", 2)), dtype=np.float64)
    for lo in range(0, len(changes), batch_size):
        idx = np.arange(lo, min(lo + batch_size, len(changes)))
        f_suffix = [np.concatenate([changes[i], ids[i + 1:]]).astype(np.int64) for i in idx]
        b_suffix = [np.concatenate([changes[i][::-1], ids[:i][::-1]]).astype(np.int64) for i in idx]
        h_f = _finals_from(model, 0, f_states, idx, f_suffix, pad_index)            # (B, H)
        h_b = _finals_from(model, 1, b_states, n - 1 - idx, b_suffix, pad_index)    # (B, H)
        doc = model.pool(torch.cat([h_f, h_b], dim=1), None, torch.full((len(idx),), n))  # forward, backward
        out[idx] = _class_probs(model, model.head(doc)).double().cpu().numpy()
    return out


def _target(model, base: np.ndarray, target: int | None) -> int:
    """The class a leave-one-out difference follows: ``target``, else labels[1] (two classes) or the predicted one."""
    if target is not None:
        return int(target)
    return 1 if len(base) == 2 else int(np.argmax(base))


def occlusion(model, ids: np.ndarray, unk_index: int = 0, pad_index: int = 1,
              base: np.ndarray | None = None, states=None, target: int | None = None) -> np.ndarray:
    """``p(text) - p(text with token i replaced by <unk>)`` of class ``target`` for every ``i``, as one batch."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    base = _probabilities(model, [ids], pad_index)[0] if base is None else base
    c = _target(model, base, target)
    if _shares_prefix(model):  # variant i = prefix ids[:i] (shared state) + [<unk>] + ids[i+1:]
        suffixes = [np.concatenate([[unk_index], ids[i + 1:]]) for i in range(n)]
        return base[c] - _suffix_probabilities(model, ids, np.arange(n), suffixes, pad_index, states=states)[:, c]
    if _shares_both_ends(model):
        unk = np.asarray([unk_index], dtype=np.int64)
        return base[c] - _both_ends_probabilities(model, ids, [unk] * n, pad_index)[:, c]
    variants = np.tile(ids, (n, 1))                              # (n, n)
    variants[np.arange(n), np.arange(n)] = unk_index
    return base[c] - _probabilities(model, list(variants), pad_index)[:, c]


def removal(model, ids: np.ndarray, pad_index: int = 1, base: np.ndarray | None = None, states=None,
            target: int | None = None) -> np.ndarray:
    """``p(text) - p(text without token i)`` of class ``target`` for every ``i``, as one batch."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    base = _probabilities(model, [ids], pad_index)[0] if base is None else base
    c = _target(model, base, target)
    if _shares_prefix(model) and n > 1:
        # Variant i = prefix ids[:i] (shared state) + ids[i+1:]. Removing the last token leaves the
        # prefix alone, whose probability is the running probability one step earlier.
        probs = np.empty(n)
        probs[:-1] = _suffix_probabilities(model, ids, np.arange(n - 1), [ids[i + 1:] for i in range(n - 1)],
                                           pad_index, states=states)[:, c]
        probs[-1] = running_probabilities(model, [ids[:-1]], pad_index)[0][-1, c]
        return base[c] - probs
    if _shares_both_ends(model) and n > 1:
        return base[c] - _both_ends_probabilities(model, ids, [np.zeros(0, dtype=np.int64)] * n, pad_index)[:, c]
    keep = ~np.eye(n, dtype=bool)                                # row i drops position i
    variants = np.broadcast_to(ids, (n, n))[keep].reshape(n, n - 1)  # (n, n-1)
    return base[c] - _probabilities(model, list(variants), pad_index)[:, c]


def gradient_input(model, ids: np.ndarray, target: int | None = None) -> np.ndarray:
    """Gradient of class ``target``'s logit (two classes: the one logit, towards labels[1]) with respect
    to each token's embedding, dotted with that embedding."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            ids_t = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=_device(model))
            emb = model.embed(ids_t).detach().requires_grad_(True)              # (T, E)
            logits = model.head(model.document(emb[None], torch.tensor([len(ids_t)])))[0]  # () or (k,)
            if target is None:
                target = 1 if logits.dim() == 0 else int(logits.argmax())
            (grad,) = torch.autograd.grad(_target_logit(model, logits, target), emb)  # (T, E)
        return (grad * emb).sum(-1).detach().double().cpu().numpy()             # (T,)
    finally:
        model.train(was_training)


def _read(model, vocab, ids: np.ndarray, methods: Sequence[str], target: int | None):
    """Probabilities (k,), target, running probabilities (T, k) and importances of one id sequence."""
    pad, unk = vocab.pad_index, vocab.unk_index
    model_ids = ids if len(ids) else np.asarray([unk], dtype=np.int64)   # an empty text reads as one <unk>
    base = _probabilities(model, [model_ids], pad)[0]                    # (k,)
    target = _target(model, base, target)
    running = None
    if supports_running(model) and len(ids):
        running = running_probabilities(model, [ids], pad)[0]             # (T, k)
    importance: dict[str, list[float]] = {m: [] for m in methods}
    if not len(ids):
        return base, target, running, importance
    states = None
    if _shares_prefix(model) and {"occlusion", "removal"} & set(methods):
        with torch.no_grad():  # every layer's state at every step, shared by both leave-one-out methods
            states = _step_states(model, torch.as_tensor(ids, device=_device(model)))
    for method in methods:
        if method == "occlusion":
            values = occlusion(model, ids, unk, pad, base, states, target)
        elif method == "removal":
            values = removal(model, ids, pad, base, states, target)
        else:
            values = gradient_input(model, ids, target)
        importance[method] = [float(v) for v in values]
    return base, target, running, importance


def _target_index(labels: Sequence[str], target: str | None) -> int | None:
    if target is None:
        return None
    if target not in labels:
        raise RnnlabError(f"unknown class {target!r}; this run's classes are {', '.join(labels)}")
    return list(labels).index(target)


def trace_ids(model, vocab, text: str, tokens: Sequence[str], ids: np.ndarray, *, truncated: bool = False,
              labels: Sequence[str] | None = None, methods: Sequence[str] = METHODS,
              target: str | None = None) -> Trace:
    """Read already-encoded ``tokens``/``ids`` of ``text``: probabilities, running probabilities, importances.

    ``target`` names the class to follow (default: ``labels[1]`` for two classes, else the predicted one).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown importance method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    k = getattr(model, "num_classes", 2)
    labels = list(labels) if labels is not None else (list(DEFAULT_LABELS) if k == 2 else [str(i) for i in range(k)])
    if len(labels) != k:
        raise RnnlabError(f"{len(labels)} labels ({', '.join(labels)}) for a model with {k} classes")
    ids = np.asarray(ids, dtype=np.int64)
    was_training = model.training
    model.eval()  # no dropout while reading; the caller's mode comes back afterwards
    try:
        base, c, running, importance = _read(model, vocab, ids, methods, _target_index(labels, target))
    finally:
        model.train(was_training)
    return Trace(text=text, tokens=list(tokens), ids=[int(i) for i in ids],
                 known=[bool(i != vocab.unk_index) for i in ids], probability=float(base[c]),
                 label=labels[int(np.argmax(base))] if k > 2 else labels[int(base[1] > 0.5)], labels=labels,
                 running=None if running is None else [float(p) for p in running[:, c]],
                 importance=importance, truncated=truncated, target=labels[c],
                 probabilities={name: float(p) for name, p in zip(labels, base)},
                 running_by_class=None if running is None else {name: [float(p) for p in running[:, j]]
                                                                for j, name in enumerate(labels)})


def trace(model, vocab, text: str, *, tokenizer=None, max_length: int | None = None,
          labels: Sequence[str] | None = None, methods: Sequence[str] = METHODS,
          target: str | None = None) -> Trace:
    """Read ``text`` with ``model``: its probabilities, running probabilities and token importances."""
    k = getattr(model, "num_classes", 2)
    names = tuple(labels) if labels else (DEFAULT_LABELS if k == 2 else tuple(str(i) for i in range(k)))
    pipeline = TextPipeline(vocab, Task(names), max_length, tokenizer or Tokenizer())
    tokens, ids, truncated = _encode(SimpleNamespace(pipeline=pipeline), text)
    return trace_ids(model, vocab, text, tokens, ids, truncated=truncated, labels=labels, methods=methods,
                     target=target)


def _run_labels(run) -> list[str]:
    return list(run.labels or DEFAULT_LABELS)


def trace_run(run, text: str, methods: Sequence[str] = METHODS, *, target: str | None = None,
              max_length: int | None = None) -> Trace:
    """:func:`trace` with a loaded run's model, text encoding and labels (``max_length`` may only lower the run's)."""
    tokens, ids, truncated = _encode(run, text, max_length)
    return trace_ids(run.model, run.vocab, text, tokens, ids, truncated=truncated, labels=_run_labels(run),
                     methods=methods, target=target)


def run_probabilities(run, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """Every class's probability for each text, (N, k), with the run's own text pipeline (what ``predict`` shows)."""
    return class_probabilities(run.model, run.pipeline, texts, batch_size)


__all__ = ["Trace", "METHODS", "trace", "trace_ids", "trace_run", "run_probabilities", "running_probabilities",
           "supports_running", "occlusion", "removal", "gradient_input"]
