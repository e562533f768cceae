"""Per-token traces: how a model's probabilities move as it reads, and which tokens mattered.

Everything here reads the model through its reading API (``embed``,
``direction_states``, ``direction_run``, ``direction_backward``, ``layer_states``,
``finals``, ``pool``, ``pool_prefixes``, ``pool_spliced``, ``pool_accumulator``,
``pool_accumulate``, ``document``, ``head``, ``num_layers``, ``num_directions``; see
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

Leave-one-out without reading every variant in full (recurrent models): a variant
changed at position i has the original's forward states before i and backward states
after it, and its changed states come back onto the original's some steps later (a
state forgets). All variants read together, in fused calls of ``CHUNK`` steps, only
until each one's full state (h, and c for an LSTM) is within ``CONVERGED`` of the
original's at the same place (the first call reads as many steps as the quickest variant
of the direction read before needed); from there the original's states are spliced in,
layer by layer (a stacked layer's input differs only where the layer below did), and the
pooling adds each variant's stretch to the original's prefix and suffix
(``model.pool_spliced``; a pooling with an accumulator, ``model.pool_accumulator``, sums
the top layer's stretches up as they are read instead of keeping them). A variant whose
state never comes back reads to its end.
Results equal classifying every variant from scratch (tests/test_trace.py).
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


# ---------------------------------------------------------------------------- leave-one-out

# A variant's state counts as back on the original's when every number of it (h, and c for an LSTM)
# is within this of the original's at the same place: |variant - original| <= tol * max(1, |original|).
# From there on it reads what the original read, so its states are taken from the original's.
CONVERGED = 1e-6
# Steps per fused-kernel call while variants converge (convergence is checked after each call).
CHUNK = 8
# The most steps a direction's first call reads (as many as its quickest variant needed before): bounds the
# inputs one call gathers (variants x steps x input size).
FIRST_MAX = 64
# Variants per batch: at most this many states (floats) if none came back before its text's end.
VARIANT_FLOATS = 1 << 26


class _Original:
    """One text read once by a recurrent model, kept for its leave-one-out variants: each layer's input
    (T, In); every direction's full state after every step (h, and c for an LSTM) in its reading order
    (``states``), and its outputs h in text order (``outputs``)."""

    @torch.no_grad()
    def __init__(self, model, ids: np.ndarray):
        self.n = len(ids)
        x = model.embed(torch.as_tensor(ids, device=_device(model)))          # (T, E)
        self.inputs, self.states, self.outputs = [], [], []
        for layer in range(model.num_layers):
            self.inputs.append(x)
            directions, outs = [], []
            for d in range(model.num_directions):
                h, c = model.direction_states((x if d == 0 else x.flip(0))[None], layer, d, cells=True)
                directions.append((h[0],) if c is None else (h[0], c[0]))     # (T, H) each, reading order
                outs.append(h[0] if d == 0 else h[0].flip(0))                  # text order
            self.states.append(directions)
            self.outputs.append(outs)
            x = torch.cat(outs, dim=1)                                         # (T, D*H): the next layer's input
        self.top = x                                                           # (T, D*H)


def _as_start(parts):
    return parts[0] if len(parts) == 1 else tuple(parts)


def _as_parts(state):
    return (state,) if isinstance(state, torch.Tensor) else tuple(state)


def _read_until_back(model, layer: int, d: int, source: torch.Tensor, original, outputs, n: int, lo, hi, shift,
                     m, win_base, win_step, tol: float, first: int = CHUNK, keep: bool = True, accumulator=None):
    """One direction of one layer for B variants, in its reading order: variant b reads the original's
    input before ``lo[b]``, its own stretch (rows of ``source`` from ``n + win_base[b]`` in steps of
    ``win_step[b]``) up to ``hi[b]``, then the original's from ``hi[b] + shift[b]`` on, ``m[b]`` steps in all.
    ``source``: the original's input (n, In) in text order, then the stretches; the backward direction
    (``d = 1``) reads the original's from the end.

    Every variant starts from the original's state before ``lo`` and reads, ``first`` steps in the first
    fused call and ``CHUNK`` in each later one, until its state is back on the original's (after its
    stretch) or its text ends. Returns ``end`` (B,), ``last`` (B, H): each variant's own h at its reading's
    last step where it read to its text's end (``end == m``; elsewhere anything), and ``states``: with
    ``keep``, ``outputs`` (the original's h (n, H) in text order), then the variants' own h at
    ``[lo, end)`` (sum of end - lo, H), variant after variant, in text order (reversed for the backward
    direction); else None. ``accumulator`` (the pooling's, if given) takes every chunk of own h read.
    Before ``lo`` a variant's states are the original's, and from ``end`` on the original's at ``+ shift``.
    """
    device = source.device
    B, H = len(lo), original[0].shape[1]
    end, last_h = lo.clone(), original[0].new_zeros(B, H)
    limits = [tol * part.abs().clamp(min=1.0) for part in original]           # back when |mine - theirs| <= this
    rows = (lo < m).nonzero()[:, 0]                                            # variants with anything to read
    before = (lo[rows] - 1).clamp(min=0)
    state = [torch.where((lo[rows] > 0)[:, None], part.index_select(0, before), part.new_zeros(()))
             for part in original]
    pos, calls, C = lo.clone(), [], max(1, int(first))
    while len(rows):
        r_lo, r_hi, r_s, r_m, p0 = lo[rows], hi[rows], shift[rows], m[rows], pos[rows]
        steps = torch.arange(C, device=device)
        p = p0[:, None] + steps                                                # (A, C): positions read now
        own = (n + win_base[rows] + win_step[rows] * (p0 - r_lo))[:, None] + win_step[rows][:, None] * steps
        theirs = (p + r_s[:, None]).clamp(max=n - 1)                           # past the end: any row, unused
        index = torch.where(p < r_hi[:, None], own, theirs if d == 0 else n - 1 - theirs)
        x = source.index_select(0, index.view(-1)).view(len(rows), C, -1)     # (A, C, In); index_select: a
        out, last = model.direction_run(x, layer, d, start=_as_start(state))  # few times faster than x[index]
        last = _as_parts(last)
        p_end = p0 + (C - 1)
        done = p_end >= r_m - 1                                                # read to the text's end
        inside = None                                                          # steps before the end, where not all
        if bool(done.any()):
            k = done.nonzero()[:, 0]
            last_h[rows[k]] = out[k, r_m[k] - 1 - p0[k]]
            inside = (r_m - p0).clamp(max=C)
        if keep:
            calls.append((rows, p0, out))
        if accumulator is not None:
            model.pool_accumulate(accumulator, rows, out, inside)
        q = (p_end + r_s).clamp(max=n - 1)                                     # the original's same place
        back = ~done & (p_end >= r_hi - 1)
        for mine, theirs, limit in zip(last, original, limits):
            # (amax of the excess: a few times faster than comparing and calling all())
            back &= (mine - theirs.index_select(0, q)).abs_().sub_(limit.index_select(0, q)).amax(1) <= 0
        end[rows[done]] = r_m[done]
        end[rows[back]] = p_end[back] + 1
        pos[rows] = p_end + 1
        going = (~(done | back)).nonzero()[:, 0]
        rows, state, C = rows[going], [part.index_select(0, going) for part in last], CHUNK
    if not keep:
        return end, last_h, None
    # each variant's states at [lo, end), copied out of the calls' outputs, in text order
    widths = end - lo
    offsets = torch.cumsum(widths, 0) - widths
    states = torch.empty(n + int(widths.sum()), H, dtype=outputs.dtype, device=device)
    states[:n] = outputs                                                       # the original's, text order
    for rows, p0, out in calls:
        rel = p0[:, None] - lo[rows][:, None] + torch.arange(out.shape[1], device=device)   # (A, C): reading order
        w = widths[rows][:, None]
        dest = (n + offsets[rows][:, None] + (rel if d == 0 else w - 1 - rel)).view(-1)
        flat = out.reshape(-1, H)
        ok = (rel < w).view(-1)
        if not bool(ok.all()):                                                 # steps past a variant's end
            keep_rows = ok.nonzero()[:, 0]
            dest, flat = dest.index_select(0, keep_rows), flat.index_select(0, keep_rows)
        states.index_copy_(0, dest, flat)
    return end, last_h, states


def _spliced_at(states: torch.Tensor, n: int, stretch, rows, t):
    """A direction's h at text position ``t`` of variants ``rows`` (flat, aligned): the variant's own on its
    ``stretch`` (starts, window, widths, resumes), else the original's at the same place. ``states``: the
    original's h (n, H) in text order, then the stretch's window."""
    starts, _, widths, resumes = stretch
    offsets = torch.cumsum(widths, 0) - widths
    s, w, r = starts[rows], widths[rows], resumes[rows]
    index = torch.where(t < s, t, torch.where(t < s + w, n + offsets[rows] + t - s,
                                              (t - s - w + r).clamp(max=n - 1)))
    return states.index_select(0, index)


@torch.no_grad()
def _variant_probabilities(model, original: _Original, starts, middles: list[np.ndarray], resumes,
                           tol: float | None = None) -> np.ndarray:
    """Probabilities (N, k) of the variants ``ids[:starts[b]] + middles[b] + ids[resumes[b]:]`` of the text
    ``original`` has read, each non-empty, equal to classifying them from scratch.

    Layer by layer, each variant's states differ from the original's only on a stretch: in its forward
    direction it starts where the input starts to differ and ends where the variant's state is back on
    the original's; in its backward direction the other way round. Only that stretch is read, for all
    variants at once in fused calls; the union of the directions' stretches is the next layer's
    differing input. The pooling sees the original's top outputs with each direction's stretch
    spliced in (``model.pool_spliced``).
    """
    tol = CONVERGED if tol is None else tol
    device = original.top.device
    n = original.n
    lo = torch.as_tensor(np.asarray(starts), dtype=torch.int64, device=device)
    widths = torch.as_tensor([len(mid) for mid in middles], dtype=torch.int64, device=device)
    shift = torch.as_tensor(np.asarray(resumes), dtype=torch.int64, device=device) - lo - widths
    hi, m = lo + widths, n - shift                                             # (B,): stretch end, variant length
    flat = np.concatenate([np.asarray(mid, dtype=np.int64) for mid in middles] + [np.zeros(0, np.int64)])
    window = model.embed(torch.as_tensor(flat, device=device))                 # (sum of widths, E)
    B = len(lo)
    everyone = torch.arange(B, device=device)
    H = original.outputs[0][0].shape[1]
    learned = {}                                                               # (layer, d) -> first call's steps
    finals = []
    for layer in range(model.num_layers):
        last_layer = layer == model.num_layers - 1
        pooled = last_layer and model.pool_uses_outputs
        offsets = torch.cumsum(widths, 0) - widths
        if layer == 0:
            source = torch.cat([original.inputs[0], window])                  # (n + sum of widths, E)
        stretches, states = [], []                                             # per direction, text order
        for d in range(model.num_directions):
            if d == 0:
                r_lo, r_hi, base, step = lo, hi, offsets, torch.ones_like(lo)
            else:   # read from the end: the stretch comes reversed
                r_lo, r_hi, base, step = m - hi, m - lo, offsets + widths - 1, -torch.ones_like(lo)
            # the top layer's stretches go straight into the pooling's accumulator where it has one; the
            # layers below keep theirs (the next layer's input), and so does a pooling without one
            acc = _pool_accumulator(model, B, H, original.top) if pooled else None
            keep = not last_layer or (pooled and acc is None)
            first = learned.get((layer, d), learned.get((layer, 0), CHUNK))
            end, last_h, h = _read_until_back(model, layer, d, source, original.states[layer][d],
                                              original.outputs[layer][d], n, r_lo, r_hi, shift, m, base, step,
                                              tol, first, keep, acc)
            # no variant came back in fewer steps than the quickest one here: read that many at once next time
            came_back = end < m
            if bool(came_back.any()):
                learned[(layer, d)] = min(FIRST_MAX, max(CHUNK, int((end - r_lo)[came_back].min())))
            start = r_lo if d == 0 else m - end                                # the stretch in text order
            stretch = (start, h[n:] if keep else acc, end - r_lo, start + end - r_lo + shift)
            stretches.append(stretch)
            states.append(h)                                                   # (n + own, H) or None
            finals.append(_final(original.outputs[layer][d], n, stretch, end == m, last_h,
                                 m - 1 if d == 0 else torch.zeros_like(m)))    # forward ends last, backward first
        if last_layer and not pooled:
            break
        if last_layer:
            doc = model.pool_spliced(torch.cat(finals, 1), original.top, stretches)   # (B, doc_dim)
            return _class_probs(model, model.head(doc)).double().cpu().numpy()
        # the next layer's input differs from the original's on the union of the directions' stretches
        lo = torch.stack([s[0] for s in stretches]).amin(0)
        hi = torch.stack([s[0] + s[2] for s in stretches]).amax(0)
        widths = hi - lo
        rows = torch.repeat_interleave(everyone, widths)
        t = lo[rows] + torch.arange(len(rows), device=device) - (torch.cumsum(widths, 0) - widths)[rows]
        # the next layer's source: the original's input (n, D*H), then each variant's differing stretch
        source = torch.empty(n + len(rows), original.top.shape[1], dtype=original.top.dtype, device=device)
        source[:n] = original.inputs[layer + 1]
        for d, (h, stretch) in enumerate(zip(states, stretches)):
            source[n:, d * H:(d + 1) * H] = _spliced_at(h, n, stretch, rows, t)
    doc = model.pool(torch.cat(finals, 1), None, m)                            # final states only
    return _class_probs(model, model.head(doc)).double().cpu().numpy()


def _pool_accumulator(model, B: int, H: int, like: torch.Tensor):
    """The model's pooling accumulator for B stretches of H columns, or None (a model without the method too)."""
    make = getattr(model, "pool_accumulator", None)
    return None if make is None else make(B, H, like)


def _final(outputs: torch.Tensor, n: int, stretch, read_to_end, last_h: torch.Tensor, t: torch.Tensor):
    """A direction's h at its reading's last step, text position ``t`` (B,): the variant's own (``last_h``) where
    it read to its text's end itself, else the original's at the same place (``outputs`` (n, H), text order)."""
    starts, _, widths, resumes = stretch
    own = read_to_end & (widths > 0)
    place = torch.where(t < starts, t, (t - starts - widths + resumes).clamp(min=0, max=n - 1))
    return torch.where(own[:, None], last_h, outputs.index_select(0, place))


def _target(model, base: np.ndarray, target: int | None) -> int:
    """The class a leave-one-out difference follows: ``target``, else labels[1] (two classes) or the predicted one."""
    if target is not None:
        return int(target)
    return 1 if len(base) == 2 else int(np.argmax(base))


def _leave_one_out(model, ids: np.ndarray, methods: Sequence[str], unk_index: int, pad_index: int,
                   base: np.ndarray, c: int, states=None) -> dict[str, np.ndarray]:
    """``base[c]`` minus class ``c``'s probability of every leave-one-out variant, per method ("occlusion":
    token i replaced by ``<unk>``; "removal": token i deleted), every method's variants in one batch."""
    n = len(ids)
    recurrent = getattr(model, "num_layers", 0) > 0
    # a recurrent model reads only where each variant differs; removing the only token leaves the
    # empty text, which reads as <unk> (as in prediction): classified from scratch like a bag's variants
    spliced = [m for m in methods if recurrent and (m == "occlusion" or n > 1)]
    out = {}
    if spliced:
        original = states if isinstance(states, _Original) else _Original(model, ids)
        unk, empty = np.asarray([unk_index], dtype=np.int64), np.zeros(0, dtype=np.int64)
        middles = [unk if m == "occlusion" else empty for m in spliced for _ in range(n)]
        starts = np.tile(np.arange(n), len(spliced))                   # variant = ids[:i] + middle + ids[i+1:]
        # a variant whose state never comes back keeps all its states (below the top layer, and in the top
        # one where the pooling cannot sum them up as they come): bound what one batch may hold
        kept = model.num_layers - 1 + int(model.pool_uses_outputs and _pool_accumulator(
            model, 0, original.top.shape[1], original.top) is None)
        group = max(64, VARIANT_FLOATS // (n * original.top.shape[1] * kept)) if kept else len(starts)
        probs = np.concatenate([_variant_probabilities(model, original, starts[lo:lo + group],
                                                       middles[lo:lo + group], starts[lo:lo + group] + 1)[:, c]
                                for lo in range(0, len(starts), group)])
        out = {m: base[c] - probs[j * n:(j + 1) * n] for j, m in enumerate(spliced)}
    for m in methods:
        if m in out:
            continue
        if m == "occlusion":
            variants = np.tile(ids, (n, 1))                              # (n, n)
            variants[np.arange(n), np.arange(n)] = unk_index
        else:
            keep = ~np.eye(n, dtype=bool)                                # row i drops position i
            variants = np.broadcast_to(ids, (n, n))[keep].reshape(n, n - 1)  # (n, n-1)
        out[m] = base[c] - _probabilities(model, list(variants), pad_index)[:, c]
    return out


def occlusion(model, ids: np.ndarray, unk_index: int = 0, pad_index: int = 1,
              base: np.ndarray | None = None, states=None, target: int | None = None) -> np.ndarray:
    """``p(text) - p(text with token i replaced by <unk>)`` of class ``target`` for every ``i``, as one batch.

    ``states``: the text's original reading, shared by the leave-one-out methods (made here when None).
    """
    ids = np.asarray(ids, dtype=np.int64)
    base = _probabilities(model, [ids], pad_index)[0] if base is None else base
    return _leave_one_out(model, ids, ["occlusion"], unk_index, pad_index, base, _target(model, base, target),
                          states)["occlusion"]


def removal(model, ids: np.ndarray, pad_index: int = 1, base: np.ndarray | None = None, states=None,
            target: int | None = None) -> np.ndarray:
    """``p(text) - p(text without token i)`` of class ``target`` for every ``i``, as one batch.

    ``states``: the text's original reading, shared by the leave-one-out methods (made here when None).
    """
    ids = np.asarray(ids, dtype=np.int64)
    base = _probabilities(model, [ids], pad_index)[0] if base is None else base
    return _leave_one_out(model, ids, ["removal"], 0, pad_index, base, _target(model, base, target),
                          states)["removal"]


def gradient_input(model, ids: np.ndarray, target: int | None = None, states=None) -> np.ndarray:
    """Gradient of class ``target``'s logit (two classes: the one logit, towards labels[1]) with respect
    to each token's embedding, dotted with that embedding.

    ``states``: the text's original reading (``_Original``), shared with the leave-one-out methods. Where
    the model has a hand-written backward pass for every layer (``model.direction_backward``) the gradient
    runs back through the layers from it; otherwise through autograd.
    """
    was_training = model.training
    model.eval()
    try:
        if len(ids) and getattr(model, "num_layers", 0) > 0:
            found = _gradient_by_layers(model, np.asarray(ids, dtype=np.int64), target, states)
            if found is not None:
                return found
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


def _gradient_by_layers(model, ids: np.ndarray, target: int | None, states=None) -> np.ndarray | None:
    """Gradient × input through each layer's hand-written backward pass (None if a layer has none): the head
    and the pooling by autograd, then layer by layer down, each direction on the original's states."""
    if getattr(model, "direction_backward", None) is None:
        return None
    if not isinstance(states, _Original):                  # ask with one step before reading the whole text
        with torch.no_grad():
            x = model.embed(torch.as_tensor(ids[:1], device=_device(model)))
            h = model.direction_states(x[None], 0, 0)[0]
        if model.direction_backward(x, 0, 0, h, torch.zeros_like(h)) is None:
            return None
    original = states if isinstance(states, _Original) else _Original(model, ids)
    L, D, n = model.num_layers, model.num_directions, original.n
    with torch.enable_grad():
        top = original.top.detach().clone().requires_grad_(True)                     # (T, D*H)
        ends = [original.states[layer][d][0][-1] for layer in range(L) for d in range(D)]   # as h_n
        final = torch.cat(ends).detach()[None].requires_grad_(True)                  # (1, L*D*H)
        lengths = torch.tensor([n], device=top.device)
        logits = model.head(model.pool(final, top[None], lengths))[0]
        if target is None:
            target = 1 if logits.dim() == 0 else int(logits.argmax())
        d_top, d_final = torch.autograd.grad(_target_logit(model, logits, target), (top, final),
                                             allow_unused=True)
    H = original.outputs[0][0].shape[1]
    d_out = (torch.zeros_like(top) if d_top is None else d_top).double()             # (T, D*H), text order
    d_final = (torch.zeros_like(final) if d_final is None else d_final)[0].double().view(L, D, H)
    for layer in reversed(range(L)):
        d_in = 0.0
        for d in range(D):
            g = d_out[:, d * H:(d + 1) * H]
            g = (g if d == 0 else g.flip(0)).clone()                                 # reading order
            g[-1] += d_final[layer, d]
            x = original.inputs[layer]
            got = model.direction_backward(x if d == 0 else x.flip(0), layer, d, original.states[layer][d][0], g)
            if got is None:
                return None
            d_in = d_in + (got if d == 0 else got.flip(0))                           # text order
        d_out = d_in                                                                 # the layer below's outputs
    return (d_out * original.inputs[0].double()).sum(-1).cpu().numpy()               # (T,)


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
    # the text's own reading, once, for every method of a recurrent model
    original = _Original(model, ids) if getattr(model, "num_layers", 0) > 0 and methods else None
    # occlusion and removal: every variant of both in one batch
    values = _leave_one_out(model, ids, [m for m in methods if m != "gradient_input"], unk, pad, base, target,
                            original)
    for method in methods:
        found = values[method] if method in values else gradient_input(model, ids, target, original)
        importance[method] = [float(v) for v in found]
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
