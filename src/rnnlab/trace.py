"""Per-token traces: how a model's probability moves as it reads, and which tokens mattered.

Two views of one text:

- **Running probability** (unidirectional recurrent models only). The document
  embedding is the final hidden state of *every* layer, concatenated, so the
  classifier head can be applied after every token: at step ``t`` the state of
  each layer is exactly what the final state would be if the text ended there.
  One forward pass gives all prefixes at once; :func:`running_probabilities`
  runs the stack one layer at a time with the model's own weights so that every
  layer's state at every step is available (``nn.LSTM`` returns only the top
  layer's outputs). A bidirectional model reads the end before the start, so it
  has no running probability.
- **Token importance** (every model, bag-of-embeddings and bidirectional too):
  *occlusion* (probability minus the probability with the token replaced by
  ``<unk>``), *removal* (probability minus the probability with the token
  deleted), both as one batch of variants, and *gradient × input* (the gradient
  of the logit with respect to each token's embedding, dotted with that
  embedding). Positive values pushed the text towards the positive label.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

METHODS = ("occlusion", "removal", "gradient_input")


@dataclass
class Trace:
    """One text read by one model. Lists are aligned with ``tokens``."""

    text: str
    tokens: list[str]
    ids: list[int]
    known: list[bool]                    # False where the token is not in the vocabulary (<unk>)
    probability: float                   # of ``labels[1]`` for the whole (possibly truncated) text
    label: str
    labels: list[str]
    running: list[float] | None          # probability after each prefix; None for bag/bidirectional
    importance: dict[str, list[float]] = field(default_factory=dict)  # method -> one value per token
    truncated: bool = False              # the text had more than ``max_length`` tokens

    @property
    def deltas(self) -> list[float] | None:
        """How much each token moved the running probability (the first against 0.5)."""
        if self.running is None:
            return None
        prev = [0.5] + self.running[:-1]
        return [r - p for r, p in zip(self.running, prev)]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["deltas"] = self.deltas
        return d


def supports_running(model) -> bool:
    """Whether the model has a running probability: a unidirectional recurrent classifier."""
    rnn = getattr(model, "rnn", None)
    return rnn is not None and not rnn.bidirectional


def _pooling(model) -> str:
    return getattr(model, "pooling", "final")


def _with_pooling(model, final: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """The document embedding from the final states (B, L*D*H) and the top layer's outputs (B, T, D*H)."""
    if _pooling(model) == "final":
        return final
    return torch.cat([final, top.amax(1), top.mean(1)], dim=1)                  # as RecurrentClassifier pools


def _single_layers(rnn: nn.RNNBase) -> list[nn.RNNBase]:
    """One single-layer module per layer of ``rnn``, sharing its weights (no copies)."""
    layers = []
    for l in range(rnn.num_layers):
        extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        input_size = rnn.input_size if l == 0 else rnn.hidden_size
        layer = type(rnn)(input_size, rnn.hidden_size, num_layers=1, bias=rnn.bias, batch_first=True, **extra)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            if hasattr(rnn, f"{name}_l{l}"):
                # Assigning the Parameter itself shares it (RNNBase refreshes its flat weight list).
                setattr(layer, f"{name}_l0", getattr(rnn, f"{name}_l{l}"))
        layers.append(layer)
    return layers


def _logits_per_step(model, padded: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, T) logits of the classifier head after every step, in one pass."""
    x = model.embedding(padded)                                  # (B, T, E)
    states = []
    for layer in _single_layers(model.rnn):
        x, _ = layer(x)                                          # (B, T, H): this layer's state at every step
        states.append(x)
    doc = torch.cat(states, dim=-1)                              # (B, T, L*H): layer 0, layer 1, ... as h_n
    if _pooling(model) != "final":  # max and mean of the top layer's outputs over each prefix
        top = states[-1]                                         # (B, T, H)
        steps = torch.arange(1, top.shape[1] + 1, device=top.device, dtype=top.dtype)[None, :, None]
        doc = torch.cat([doc, torch.cummax(top, dim=1).values, top.cumsum(1) / steps], dim=-1)
    hidden = torch.relu(model.hidden(doc))                       # (B, T, hidden)
    return model.output(hidden).squeeze(-1)                      # (B, T)


@torch.no_grad()
def running_probabilities(model, ids: Sequence[Sequence[int]], pad_index: int = 1) -> list[np.ndarray]:
    """Probability after every prefix of each id sequence, for a unidirectional recurrent model.

    Padding goes after each text, and a unidirectional model's state at step ``t``
    depends only on steps ``<= t``, so one padded batch serves texts of any length.
    """
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
        device = next(model.parameters()).device
        probs = torch.sigmoid(_logits_per_step(model, padded.to(device))).double().cpu().numpy()  # (B, T)
        return [probs[i, :n] for i, n in enumerate(lengths)]
    finally:
        model.train(was_training)


@torch.no_grad()
def _probabilities(model, ids: Sequence[np.ndarray], pad_index: int = 1, batch_size: int = 128) -> np.ndarray:
    """Probability of each id sequence (empty ones become ``[<unk>]``, as in prediction)."""
    from rnnlab.data.batching import encoded_collate

    family = "boe" if getattr(model, "family", "") == "boe" else "recurrent"
    collate = encoded_collate(family, pad_index)
    device = next(model.parameters()).device
    empty = np.zeros(1, dtype=np.int64)  # <unk>
    out = np.zeros(len(ids), dtype=np.float64)
    for start in range(0, len(ids), batch_size):
        chunk = [(a if len(a) else empty, 0) for a in ids[start:start + batch_size]]
        _, text, extra = collate(chunk)
        out[start:start + len(chunk)] = model(text.to(device), extra.to(device)).double().cpu().numpy()
    return out


def _step_states(model, ids: torch.Tensor):
    """Every layer's state after every step of one sequence: h (L, T, H), and c (L, T, H) for an LSTM."""
    x = model.embedding(ids[None])                               # (1, T, E)
    lstm = isinstance(model.rnn, nn.LSTM)
    hs, cs = [], []
    for l, layer in enumerate(_single_layers(model.rnn)):
        if not lstm:
            x, _ = layer(x)                                      # (1, T, H): the state is the output
            hs.append(x[0])
            continue
        # nn.LSTM returns the cell state only at the end, so step through the cell here:
        # PyTorch's gate order is input, forget, cell, output.
        rnn = model.rnn
        w_hh = getattr(rnn, f"weight_hh_l{l}")                   # (4H, H)
        gates_x = x[0] @ getattr(rnn, f"weight_ih_l{l}").T       # (T, 4H): every input projection at once
        if rnn.bias:
            gates_x = gates_x + getattr(rnn, f"bias_ih_l{l}") + getattr(rnn, f"bias_hh_l{l}")
        h = c = torch.zeros(rnn.hidden_size, device=x.device)
        h_steps, c_steps = [], []
        for t in range(gates_x.shape[0]):
            i, f, g, o = (gates_x[t] + w_hh @ h).chunk(4)        # (H,) each
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            h_steps.append(h)
            c_steps.append(c)
        hs.append(torch.stack(h_steps))                          # (T, H)
        cs.append(torch.stack(c_steps))
        x = hs[-1][None]
    return torch.stack(hs), (torch.stack(cs) if lstm else None)


def _shares_prefix(model) -> bool:
    """Leave-one-out variants can start from the shared prefix's state: a unidirectional model whose
    document embedding is its final states (pooling over time would need the prefix's outputs too)."""
    return supports_running(model) and _pooling(model) == "final"


@torch.no_grad()
def _suffix_probabilities(model, ids: np.ndarray, starts: np.ndarray, suffixes: list[np.ndarray],
                          pad_index: int = 1, batch_size: int = 128, states=None) -> np.ndarray:
    """Probability of ``ids[:start] + suffix`` for each pair, reusing the shared prefix's state.

    A unidirectional model's state after ``ids[:start]`` is the same for every variant that
    keeps that prefix, so each variant only runs its suffix, from that state: leave-one-out
    costs about half of classifying every variant from scratch. Suffixes must be non-empty.
    """
    device = next(model.parameters()).device
    h, c = states if states is not None else _step_states(model, torch.as_tensor(ids, device=device))  # (L, T, H)
    L, _, H = h.shape
    zeros = torch.zeros(L, 1, H, device=device)
    layers = _single_layers(model.rnn)
    out = np.zeros(len(suffixes), dtype=np.float64)
    for lo in range(0, len(suffixes), batch_size):
        rows = range(lo, min(lo + batch_size, len(suffixes)))
        lengths = torch.tensor([len(suffixes[i]) for i in rows], dtype=torch.int64)
        padded = torch.full((len(rows), int(lengths.max())), pad_index, dtype=torch.int64)
        for k, i in enumerate(rows):
            padded[k, : len(suffixes[i])] = torch.as_tensor(suffixes[i])
        # The state after the prefix: step start-1 of every layer; zeros for an empty prefix.
        pick = lambda states: torch.cat([states[:, starts[i] - 1: starts[i]] if starts[i] > 0 else zeros  # noqa
                                         for i in rows], dim=1)  # (L, B, H)
        hx = (pick(h), pick(c)) if c is not None else pick(h)
        # Padded, not packed (PyTorch's CPU kernels run a packed batch step by step with a shrinking
        # batch, several times slower): padding sits after each suffix's end and a unidirectional
        # state never looks ahead, so each layer's state at the suffix's last step is exact.
        x = model.embedding(padded.to(device))                           # (B, S, E)
        rows_t, last = torch.arange(len(rows), device=device), (lengths - 1).to(device)
        finals = []
        for l, layer in enumerate(layers):
            h0 = hx[0][l:l + 1] if c is not None else hx[l:l + 1]        # (1, B, H)
            x, _ = layer(x, (h0, hx[1][l:l + 1]) if c is not None else h0)  # (B, S, H)
            finals.append(x[rows_t, last])                               # (B, H)
        h_n = torch.stack(finals)                                        # (L, B, H)
        doc = h_n.transpose(0, 1).reshape(len(rows), -1)                 # (B, L*H), as document_embedding
        logits = model.output(torch.relu(model.hidden(doc))).squeeze(1)  # (B,)
        out[lo:lo + len(rows)] = torch.sigmoid(logits).double().cpu().numpy()
    return out


def _shares_both_ends(model) -> bool:
    """A one-layer bidirectional model with final-state pooling: a leave-one-out variant keeps the
    forward state of the prefix before the change and the backward state of the suffix after it."""
    rnn = getattr(model, "rnn", None)
    return (rnn is not None and rnn.bidirectional and rnn.num_layers == 1 and _pooling(model) == "final")


def _direction(rnn: nn.RNNBase, reverse: bool) -> nn.RNNBase:
    """A single-direction module sharing layer 0's forward or backward weights of ``rnn`` (no copies)."""
    extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    module = type(rnn)(rnn.input_size, rnn.hidden_size, num_layers=1, bias=rnn.bias, batch_first=True, **extra)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        source = f"{name}_l0" + ("_reverse" if reverse else "")
        if hasattr(rnn, source):
            setattr(module, f"{name}_l0", getattr(rnn, source))
    return module


def _direction_states(module: nn.RNNBase, x: torch.Tensor):
    """State after every step of one sequence x (1, T, E): h (T, H) and, for an LSTM, c (T, H)."""
    if not isinstance(module, nn.LSTM):
        out, _ = module(x)                                        # (1, T, H): the state is the output
        return out[0], None
    hs, cs, hx = [], [], None
    for t in range(x.shape[1]):                                   # nn.LSTM gives c only at the end
        _, hx = module(x[:, t:t + 1], hx)                         # (1, 1, H) each
        hs.append(hx[0][0, 0])
        cs.append(hx[1][0, 0])
    return torch.stack(hs), torch.stack(cs)


def _finals_from(module, embedding, states, shared: np.ndarray, suffixes: list[np.ndarray], pad_index: int):
    """Final state of ``module`` for each variant: start from the state after ``shared[k]`` steps of
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
        hx = h0[rows][None] if c0 is None else (h0[rows][None], c0[rows][None])  # (1, B, H)
        # Padding sits after each suffix's end and one direction never looks ahead: exact finals.
        out, _ = module(embedding(padded.to(h0.device)), hx)     # (B, S, H)
        finals[rows] = out[torch.arange(len(rows)), lengths - 1]
    return finals


@torch.no_grad()
def _both_ends_probabilities(model, ids: np.ndarray, changes: list[tuple[np.ndarray, np.ndarray]],
                             pad_index: int = 1, batch_size: int = 128) -> np.ndarray:
    """Probabilities of variants of ``ids`` that change position ``i`` only, for a one-layer
    bidirectional model: the forward direction starts from the state after ``ids[:i]`` and reads the
    new middle plus ``ids[i+1:]``; the backward direction starts from its state after reading
    ``ids[i+1:]`` (from the end) and reads the new middle plus ``ids[:i]`` reversed. Each variant
    costs n + 1 steps instead of 2n. ``changes[i]`` is the middle that replaces token ``i`` (empty: removal).
    """
    n = len(ids)
    device = next(model.parameters()).device
    fwd, bwd = _direction(model.rnn, False), _direction(model.rnn, True)
    x = model.embedding(torch.as_tensor(ids, device=device)[None])           # (1, n, E)
    f_states = _direction_states(fwd, x)                                      # after ids[:t+1]
    b_states = _direction_states(bwd, x.flip(1))                              # after ids[n-1-t:] (from the end)
    out = np.zeros(len(changes), dtype=np.float64)
    for lo in range(0, len(changes), batch_size):
        idx = np.arange(lo, min(lo + batch_size, len(changes)))
        f_suffix = [np.concatenate([changes[i], ids[i + 1:]]).astype(np.int64) for i in idx]
        b_suffix = [np.concatenate([changes[i][::-1], ids[:i][::-1]]).astype(np.int64) for i in idx]
        h_f = _finals_from(fwd, model.embedding, f_states, idx, f_suffix, pad_index)          # (B, H)
        h_b = _finals_from(bwd, model.embedding, b_states, n - 1 - idx, b_suffix, pad_index)  # (B, H)
        doc = torch.cat([h_f, h_b], dim=1)                       # (B, 2H): forward, backward, as h_n
        logits = model.output(torch.relu(model.hidden(doc))).squeeze(1)
        out[idx] = torch.sigmoid(logits).double().cpu().numpy()
    return out


def occlusion(model, ids: np.ndarray, unk_index: int = 0, pad_index: int = 1,
              base: float | None = None, states=None) -> np.ndarray:
    """``p(text) - p(text with token i replaced by <unk>)`` for every ``i``, as one batch."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    base = _probabilities(model, [ids], pad_index)[0] if base is None else base
    if _shares_prefix(model):  # variant i = prefix ids[:i] (shared state) + [<unk>] + ids[i+1:]
        suffixes = [np.concatenate([[unk_index], ids[i + 1:]]) for i in range(n)]
        return base - _suffix_probabilities(model, ids, np.arange(n), suffixes, pad_index, states=states)
    if _shares_both_ends(model):
        unk = np.asarray([unk_index], dtype=np.int64)
        return base - _both_ends_probabilities(model, ids, [unk] * n, pad_index)
    variants = np.tile(ids, (n, 1))                              # (n, n)
    variants[np.arange(n), np.arange(n)] = unk_index
    return base - _probabilities(model, list(variants), pad_index)


def removal(model, ids: np.ndarray, pad_index: int = 1, base: float | None = None, states=None) -> np.ndarray:
    """``p(text) - p(text without token i)`` for every ``i``, as one batch."""
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids)
    base = _probabilities(model, [ids], pad_index)[0] if base is None else base
    if _shares_prefix(model) and n > 1:
        # Variant i = prefix ids[:i] (shared state) + ids[i+1:]. Removing the last token leaves the
        # prefix alone, whose probability is the running probability one step earlier.
        probs = np.empty(n)
        probs[:-1] = _suffix_probabilities(model, ids, np.arange(n - 1), [ids[i + 1:] for i in range(n - 1)],
                                           pad_index, states=states)
        probs[-1] = running_probabilities(model, [ids[:-1]], pad_index)[0][-1]
        return base - probs
    if _shares_both_ends(model) and n > 1:
        return base - _both_ends_probabilities(model, ids, [np.zeros(0, dtype=np.int64)] * n, pad_index)
    keep = ~np.eye(n, dtype=bool)                                # row i drops position i
    variants = np.broadcast_to(ids, (n, n))[keep].reshape(n, n - 1)  # (n, n-1)
    return base - _probabilities(model, list(variants), pad_index)


def gradient_input(model, ids: np.ndarray) -> np.ndarray:
    """Gradient of the logit with respect to each token's embedding, dotted with that embedding."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            device = next(model.parameters()).device
            ids_t = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)
            emb = model.embedding.weight[ids_t].detach().requires_grad_(True)   # (T, E)
            if getattr(model, "family", "") == "boe":
                doc = emb.mean(0, keepdim=True)                                 # (1, E): EmbeddingBag's mean
            else:
                # One unpadded sequence: the unpacked pass equals the packed one the model runs.
                out, h_n = model.rnn(emb.unsqueeze(0))                          # (1, T, D*H), (L*D, 1, H)
                if isinstance(h_n, tuple):
                    h_n = h_n[0]
                doc = _with_pooling(model, h_n.transpose(0, 1).reshape(1, -1), out)  # (1, doc_dim)
            logit = model.output(torch.relu(model.hidden(doc))).squeeze()       # ()
            (grad,) = torch.autograd.grad(logit, emb)                           # (T, E)
        return (grad * emb).sum(-1).detach().double().cpu().numpy()             # (T,)
    finally:
        model.train(was_training)


def _read(model, vocab, ids: np.ndarray, methods: Sequence[str]):
    """Probability, running probability and importances of one id sequence (model in eval mode)."""
    pad, unk = vocab.pad_index, vocab.unk_index
    model_ids = ids if len(ids) else np.asarray([unk], dtype=np.int64)   # an empty text reads as one <unk>
    base = float(_probabilities(model, [model_ids], pad)[0])
    running = None
    if supports_running(model) and len(ids):
        running = [float(p) for p in running_probabilities(model, [ids], pad)[0]]
    importance: dict[str, list[float]] = {m: [] for m in methods}
    if not len(ids):
        return base, running, importance
    states = None
    if _shares_prefix(model) and {"occlusion", "removal"} & set(methods):
        with torch.no_grad():  # every layer's state at every step, shared by both leave-one-out methods
            states = _step_states(model, torch.as_tensor(ids, device=next(model.parameters()).device))
    for method in methods:
        if method == "occlusion":
            values = occlusion(model, ids, unk, pad, base, states)
        elif method == "removal":
            values = removal(model, ids, pad, base, states)
        else:
            values = gradient_input(model, ids)
        importance[method] = [float(v) for v in values]
    return base, running, importance


def trace(model, vocab, text: str, *, tokenizer=None, max_length: int | None = None,
          labels: Sequence[str] = ("neg", "pos"), methods: Sequence[str] = METHODS) -> Trace:
    """Read ``text`` with ``model``: its probability, running probability and token importances."""
    from rnnlab.data.tokenize import Tokenizer

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown importance method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    tokenizer = tokenizer or Tokenizer()
    tokens = tokenizer(text)
    truncated = max_length is not None and len(tokens) > max_length
    tokens = tokens[:max_length]
    ids = np.asarray(vocab.lookup_indices(tokens), dtype=np.int64)
    was_training = model.training
    model.eval()  # no dropout while reading; the caller's mode comes back afterwards
    try:
        base, running, importance = _read(model, vocab, ids, methods)
    finally:
        model.train(was_training)
    labels = list(labels)
    return Trace(text=text, tokens=list(tokens), ids=[int(i) for i in ids], known=[bool(i != vocab.unk_index) for i in ids],
                 probability=base, label=labels[int(base > 0.5)], labels=labels, running=running,
                 importance=importance, truncated=truncated)


def trace_run(run, text: str, methods: Sequence[str] = METHODS) -> Trace:
    """:func:`trace` with a loaded run's model, vocabulary, tokenizer, length limit and labels."""
    from rnnlab.data.tsv import DEFAULT_LABELS

    return trace(run.model, run.vocab, text, tokenizer=run.tokenizer(), max_length=run.max_length,
                 labels=run.labels or list(DEFAULT_LABELS), methods=methods)


__all__ = ["Trace", "METHODS", "trace", "trace_run", "running_probabilities", "supports_running",
           "occlusion", "removal", "gradient_input"]
