"""Two small demonstrations of what padding does to a recurrent model, and how packing undoes it.

- :func:`padding_demo`: three texts as tokens, as indices in a vocabulary built from
  the training data, and as one padded batch.
- :func:`packing_demo`: an embedding whose vector for index *i* is the number *i*, and
  a one-unit ReLU RNN with input weight 1, recurrent weight 1, input bias 0 and
  recurrent bias 1, so ``h_t = relu(x_t + h_{t-1} + 1) = t + x_1 + ... + x_t``. Run on
  the padded batch with and without packing: without packing the "final" value
  goes on through the padding steps, each adding ``pad_index + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from rnnlab.data.sources import load_examples
from rnnlab.data.tokenize import tokenize_cached, Tokenizer
from rnnlab.data.vocab import build_vocab_from_corpus
from rnnlab.experiments.runner import DEFAULT_DATA
from rnnlab.data.batching import collate_encoded_padded
import numpy as np

DEMO_TEXTS = ("I hated it", "it was quite terrible", "i really REALLY loved it")


@dataclass
class PaddingDemo:
    texts: list[str]
    tokens: list[list[str]]
    ids: list[list[int]]
    padded: torch.Tensor            # (B, T)
    lengths: torch.Tensor           # (B,)
    pad_index: int
    vocab: object
    data: str

    @property
    def pad_counts(self) -> list[int]:
        """How many ``<pad>`` each row got: the longest length minus its own."""
        return [int(self.padded.shape[1] - n) for n in self.lengths]


def demo_vocab(data: str | Path | None = None):
    """The vocabulary of the training data (the sample train TSV by default), built from the token cache."""

    data = str(data or DEFAULT_DATA)
    examples = load_examples(data)
    corpus, _ = tokenize_cached([e.text for e in examples])
    return build_vocab_from_corpus(corpus), data


def padding_demo(data: str | Path | None = None, texts: Sequence[str] = DEMO_TEXTS, vocab=None) -> PaddingDemo:
    """Tokens, indices and the padded batch of ``texts`` (vocabulary from ``data`` unless ``vocab`` is given)."""

    if vocab is None:
        vocab, data = demo_vocab(data)
    tok = Tokenizer()
    tokens = [tok(t) for t in texts]
    ids = [vocab.lookup_indices(t) for t in tokens]

    _, padded, lengths = collate_encoded_padded([(np.asarray(i, dtype=np.int64), 0) for i in ids], vocab.pad_index)
    return PaddingDemo(list(texts), tokens, ids, padded, lengths, vocab.pad_index, vocab, str(data))


def format_padding(d: PaddingDemo) -> str:
    lines = [f"vocabulary: {len(d.vocab):,} entries built from {d.data} (<unk> = {d.vocab.unk_index}, "
             f"<pad> = {d.pad_index})", ""]
    for text, toks, ids in zip(d.texts, d.tokens, d.ids):
        lines += [f"text:    {text!r}", f"tokens:  {toks}", f"indices: {ids}", ""]
    T = d.padded.shape[1]
    lines.append(f"padded batch, shape {tuple(d.padded.shape)} (B texts x T = the longest length, {T}):")
    lines += ["  " + " ".join(f"{int(v):>6}" for v in row) for row in d.padded]
    lines.append("")
    for i, (n, k) in enumerate(zip(d.lengths.tolist(), d.pad_counts)):
        where = f"at positions {n}..{T - 1}" if k > 1 else (f"at position {n}" if k == 1 else "(the longest text)")
        lines.append(f"row {i}: {n} tokens + {k} x <pad> ({d.pad_index}) {where}")
    lines.append(f"Every row is filled up to the longest text ({T} tokens) with the <pad> index {d.pad_index}, at the "
                 f"end; a row gets as many as it is shorter than the longest: {sum(d.pad_counts)} in all.")
    return "\n".join(lines)


@dataclass
class PackingDemo:
    padded: torch.Tensor            # (B, T) indices
    lengths: torch.Tensor           # (B,)
    unpacked_outputs: torch.Tensor  # (B, T): activation at every step, padding included
    packed_outputs: torch.Tensor    # (B, T): activation at every real step, 0 after the end
    unpacked_final: torch.Tensor    # (B,): h_n without packing = the value after the last (padding) step
    packed_final: torch.Tensor      # (B,): h_n with packing = the value at each text's own last token
    pad_index: int


def counting_rnn(vocab_size: int) -> tuple[nn.Embedding, nn.RNN]:
    """Embedding ``i -> [i]`` and a 1-unit ReLU RNN with W_ih = 1, W_hh = 1, b_ih = 0, b_hh = 1."""
    emb = nn.Embedding(vocab_size, 1)
    rnn = nn.RNN(1, 1, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        emb.weight.copy_(torch.arange(vocab_size, dtype=torch.float32).unsqueeze(1))   # (V, 1)
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(1.0)
        rnn.bias_ih_l0.fill_(0.0)
        rnn.bias_hh_l0.fill_(1.0)
    return emb, rnn


@torch.no_grad()
def packing_demo(padded: torch.Tensor, lengths: torch.Tensor, pad_index: int = 1) -> PackingDemo:
    """Run the counting RNN over ``padded`` with and without packing."""
    emb, rnn = counting_rnn(int(padded.max()) + 1)
    x = emb(padded)                                                            # (B, T, 1)
    out, h_n = rnn(x)                                                          # (B, T, 1), (1, B, 1)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    p_out, p_h = rnn(packed)
    p_out, _ = pad_packed_sequence(p_out, batch_first=True, total_length=padded.shape[1])  # (B, T, 1), 0 after the end
    return PackingDemo(padded, lengths, out[..., 0], p_out[..., 0], h_n[0, :, 0], p_h[0, :, 0], pad_index)


def expected_finals(d: PackingDemo) -> tuple[list[float], list[float]]:
    """The arithmetic: packed final = n + sum of the n ids; unpacked adds (pad_index + 1) per padding step."""
    packed, unpacked = [], []
    T = d.padded.shape[1]
    for row, n in zip(d.padded.tolist(), d.lengths.tolist()):
        real = n + sum(row[:n])
        packed.append(float(real))
        unpacked.append(float(real + (T - n) * (d.pad_index + 1)))
    return packed, unpacked


def format_packing(d: PackingDemo) -> str:
    T = d.padded.shape[1]
    lines = ["embedding: index i -> [i];  RNN (1 unit, ReLU): h_t = relu(1*x_t + 1*h_(t-1) + 0 + 1), h_0 = 0",
             "so h_t = t + (x_1 + ... + x_t) while the inputs are non-negative", ""]
    for i in range(d.padded.shape[0]):
        n = int(d.lengths[i])
        lines.append(f"sequence {i}: indices {d.padded[i].tolist()} (length {n}, {T - n} x <pad>)")
        lines.append("  step             " + " ".join(f"{t + 1:>8}" for t in range(T)))
        lines.append("  without packing  " + " ".join(f"{v:>8.0f}" for v in d.unpacked_outputs[i].tolist()))
        lines.append("  with packing     " + " ".join(f"{v:>8.0f}" if t < n else f"{'-':>8}"
                                                       for t, v in enumerate(d.packed_outputs[i].tolist())))
        extra = float(d.unpacked_final[i] - d.packed_final[i])
        lines.append(f"  final value: without packing {d.unpacked_final[i]:.0f} (after step {T}), with packing "
                     f"{d.packed_final[i]:.0f} (after step {n}); difference {extra:.0f} = {T - n} padding steps "
                     f"x ({d.pad_index} + 1)")
        lines.append("")
    lines.append("Without packing, h_n is the state after the last column of the batch, so every <pad> step adds "
                 f"its index ({d.pad_index}) plus the bias (1) to a shorter text's final value; with packing, h_n is "
                 "taken at each text's own last token and the padding never reaches the cell.")
    return "\n".join(lines)
