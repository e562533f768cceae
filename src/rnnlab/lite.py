"""A run without torch: the NumPy forward pass of every rnnlab model, for one-text prediction.

``rnnlab predict RUN "text"`` spends most of its start-up importing torch (~2 s) to classify
a handful of texts. This module classifies them with NumPy instead:

- the run is read by :mod:`rnnlab.runs` itself (:func:`~rnnlab.runs.read_run_files`: config,
  vocabulary and pipeline, schema-checked; :func:`~rnnlab.runs.read_weights` with
  ``framework="numpy"``). The weights are ``weights.safetensors``: raw arrays behind a JSON
  header, so nothing is unpickled (no restricted unpickler is needed) and older runs read the
  same way;
- texts become ids through the run's :class:`~rnnlab.data.pipeline.TextPipeline` (the same
  tokenizer, vocabulary and ``max_length`` truncation as every other path);
- :func:`logits` follows the model classes step by step: bag of embeddings (mean) or recurrent
  layers (Elman tanh/ReLU, LSTM, GRU; stacked; bidirectional), the pooling of
  :mod:`rnnlab.models.pooling`, then the head ``output(relu(hidden(doc)))``, with dropout off.
  The arithmetic is float64, so it agrees with the float32 PyTorch model well within 1e-5
  (``tests/test_lite.py`` checks every family, cell, depth, direction, pooling and class count);
- the run's :class:`~rnnlab.data.task.Task` turns logits into probabilities (it takes NumPy).

The rule for falling back: :func:`load_lite` returns None unless :func:`supports` the run (a
family, cell and pooling implemented here, and weights with exactly the model's names and
shapes) and its files read cleanly; the caller then uses the PyTorch model (``load_run``),
which also gives the usual error for a broken run. One text at a time, so there is no padding.
Gate orders are PyTorch's: LSTM (input, forget, cell, output), GRU (reset, update, new).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rnnlab.config import ModelConfig
from rnnlab.data.pipeline import TextPipeline
from rnnlab.errors import RnnlabError
from rnnlab.runs import read_run_files, read_weights


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))                       # 1 / (1 + e^-x), without overflow


def _elman(act: Callable[[np.ndarray], np.ndarray]):
    def run(x, w_ih, w_hh, b_ih, b_hh):
        """x (T, In) -> states (T, H): h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), h_0 = 0."""
        pre = x @ w_ih.T + (b_ih + b_hh)                        # (T, H), input projections hoisted
        h = np.zeros(w_hh.shape[0])
        hs = np.empty_like(pre)
        for t in range(len(x)):
            h = hs[t] = act(pre[t] + w_hh @ h)                  # (H,)
        return hs
    return run


def _lstm(x, w_ih, w_hh, b_ih, b_hh):
    """x (T, In) -> hidden states (T, H); c_t = f*c_{t-1} + i*g, h_t = o*tanh(c_t)."""
    gates_x = x @ w_ih.T + b_ih                                 # (T, 4H)
    H = w_hh.shape[1]
    h, c = np.zeros(H), np.zeros(H)
    hs = np.empty((len(x), H))
    for t in range(len(x)):
        gates = gates_x[t] + w_hh @ h + b_hh                    # (4H,)
        i, f, o = _sigmoid(gates[:H]), _sigmoid(gates[H:2 * H]), _sigmoid(gates[3 * H:])
        c = f * c + i * np.tanh(gates[2 * H:3 * H])
        h = hs[t] = o * np.tanh(c)
    return hs


def _gru(x, w_ih, w_hh, b_ih, b_hh):
    """x (T, In) -> states (T, H); n = tanh(x_n + r*(W_hn h + b_hn)), h_t = (1-z)*n + z*h_{t-1}."""
    gates_x = x @ w_ih.T + b_ih                                 # (T, 3H)
    H = w_hh.shape[1]
    h = np.zeros(H)
    hs = np.empty((len(x), H))
    for t in range(len(x)):
        gates_h = w_hh @ h + b_hh                               # (3H,)
        r = _sigmoid(gates_x[t, :H] + gates_h[:H])
        z = _sigmoid(gates_x[t, H:2 * H] + gates_h[H:2 * H])
        n = np.tanh(gates_x[t, 2 * H:] + r * gates_h[2 * H:])
        h = hs[t] = (1 - z) * n + z * h
    return hs


# (config.model, config.activation) -> one direction of one layer; the gate count sizes the weights
CELLS = {("rnn", "tanh"): (_elman(np.tanh), 1), ("rnn", "relu"): (_elman(lambda a: np.maximum(a, 0.0)), 1),
         ("lstm", "tanh"): (_lstm, 4), ("gru", "tanh"): (_gru, 3)}


def _final_pooling(final: np.ndarray, top: np.ndarray) -> np.ndarray:
    return final                                                # (L*D*H,)


def _final_max_mean_pooling(final: np.ndarray, top: np.ndarray) -> np.ndarray:
    return np.concatenate([final, top.max(0), top.mean(0)])     # (L*D*H + 2*D*H,)


# config.pooling -> (final (L*D*H,), top (T, D*H)) -> document embedding, as models/pooling.py
POOLINGS = {"final": _final_pooling, "final+max+mean": _final_max_mean_pooling}


def _cell_key(config: ModelConfig) -> tuple[str, str]:
    return (config.model, config.activation if config.model == "rnn" else "tanh")


def expected_shapes(config: ModelConfig, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """The weight names and shapes the PyTorch model of ``config`` has (its ``state_dict``)."""
    E, O = config.embedding_dim, config.num_outputs
    shapes = {"embedding.weight": (vocab_size, E)}
    if config.model == "boe":
        doc = E
    else:
        H, D = config.recurrent_dim, 2 if config.bidirectional else 1
        G = CELLS[_cell_key(config)][1]
        for layer in range(config.layers):
            for suffix in [f"_l{layer}", f"_l{layer}_reverse"][:D]:
                shapes.update({f"rnn.weight_ih{suffix}": (G * H, E if layer == 0 else D * H),
                               f"rnn.weight_hh{suffix}": (G * H, H),
                               f"rnn.bias_ih{suffix}": (G * H,), f"rnn.bias_hh{suffix}": (G * H,)})
        doc = config.layers * D * H + (2 * D * H if config.pooling == "final+max+mean" else 0)
    shapes.update({"hidden.weight": (config.hidden_dim, doc), "hidden.bias": (config.hidden_dim,),
                   "output.weight": (O, config.hidden_dim), "output.bias": (O,)})
    return shapes


def supports(config: ModelConfig, weights: dict[str, np.ndarray], vocab_size: int) -> bool:
    """Whether :func:`logits` computes this model: a known family, cell and pooling, and weights with
    exactly the names and shapes that model has over a ``vocab_size`` vocabulary (anything else is left
    to the PyTorch model)."""
    if config.model != "boe" and (_cell_key(config) not in CELLS or config.pooling not in POOLINGS):
        return False
    return {name: tuple(w.shape) for name, w in weights.items()} == expected_shapes(config, vocab_size)


def _document(config: ModelConfig, w: dict[str, np.ndarray], ids: np.ndarray) -> np.ndarray:
    """Token ids (T,) -> document embedding (doc_dim,)."""
    x = w["embedding.weight"][ids].astype(np.float64)           # (T, E)
    if config.model == "boe":
        return x.mean(0)                                        # (E,): EmbeddingBag(mode="mean")
    run = CELLS[_cell_key(config)][0]
    finals = []
    for layer in range(config.layers):
        outs = []
        for suffix in [f"_l{layer}", f"_l{layer}_reverse"][: 2 if config.bidirectional else 1]:
            weights = [w[f"rnn.{name}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if suffix.endswith("_reverse"):
                out = run(x[::-1], *weights)[::-1]              # (T, H): read backwards, back in text order
                finals.append(out[0])                           # the backward direction ends at the first token
            else:
                out = run(x, *weights)                          # (T, H)
                finals.append(out[-1])
            outs.append(out)
        x = np.concatenate(outs, axis=1)                        # (T, D*H): the next layer's input
    return POOLINGS[config.pooling](np.concatenate(finals), x)  # layer 0 fwd, layer 0 bwd, layer 1 fwd, ...


def logits(config: ModelConfig, weights: dict[str, np.ndarray], ids_per_text) -> np.ndarray:
    """Each text's token ids (non-empty int arrays) -> float64 logits: (N,) for two classes, (N, k) for k.

    ``weights`` are the model's ``state_dict`` as NumPy arrays (float64 or float32; computed in float64).
    """
    w = {name: a if name == "embedding.weight" else np.asarray(a, dtype=np.float64)  # (V, E) rows cast on use
         for name, a in weights.items()}
    docs = np.stack([_document(config, w, np.asarray(ids, dtype=np.int64)) for ids in ids_per_text])  # (N, doc)
    hidden = np.maximum(docs @ w["hidden.weight"].T + w["hidden.bias"], 0.0)   # (N, hidden): the head
    out = hidden @ w["output.weight"].T + w["output.bias"]                      # (N, O)
    return out[:, 0] if config.num_classes == 2 else out


# -- a run without torch ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LiteRun:
    """A run's model config, pipeline and NumPy weights: enough to classify texts without torch."""

    path: Path
    config: ModelConfig
    pipeline: TextPipeline
    weights: dict

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(N, k) class probabilities, columns in label order, as ``inspect.class_probabilities`` gives
        them: the logits rounded to float32 (the PyTorch model's precision), then the task's sigmoid/softmax."""
        ids = [self.pipeline.encode(t) for t in texts]
        out = logits(self.config, self.weights, ids).astype(np.float32)
        return self.pipeline.task.probabilities(out).astype(np.float64)


def load_lite(path: str | Path) -> LiteRun | None:
    """The run at ``path`` for the NumPy forward pass, or None where it is not covered or does not read
    cleanly (the caller falls back to ``rnnlab.runs.load_run``, which reports any error)."""
    try:
        files = read_run_files(path)
        weights = read_weights(path, "numpy")
    except RnnlabError:
        return None
    if not supports(files.model_config, weights, len(files.vocab)):
        return None
    return LiteRun(Path(path), files.model_config, files.pipeline, weights)


__all__ = ["CELLS", "POOLINGS", "expected_shapes", "supports", "logits", "LiteRun", "load_lite"]
