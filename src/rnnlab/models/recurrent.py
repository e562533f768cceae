"""Recurrent classifiers: RNN (tanh or ReLU), LSTM and GRU, stacked and/or bidirectional.

One class serves all cells, chosen through :data:`CELLS`. The document embedding
is the final hidden state of every layer and direction, concatenated, computed on
a packed sequence so padding never reaches the cell: a padded batch gives the
same probabilities as each text run alone.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class _ElmanLayer(torch.autograd.Function):
    """One direction of one Elman layer, ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, h_0 = 0.

    Same numbers as ``torch._VF.rnn_tanh/rnn_relu``, with a hand-written backward
    pass through time: autograd would record several nodes per time step, which
    made the backward pass 4x the forward on CPU. Input projections and the weight
    gradients are each one matrix product over all steps, outside the time loop.
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, relu: bool):
        B, T, E = x.shape
        x_tm = x.transpose(0, 1).reshape(T * B, E)                                  # time-major: (T*B, E)
        pre = torch.addmm(b_ih + b_hh, x_tm, w_ih.t()).view(T, B, -1)               # (T, B, H), hoisted
        hs = torch.empty_like(pre)                                                  # (T, B, H)
        h = x.new_zeros(B, w_hh.shape[0])                                           # (B, H)
        w_hh_t = w_hh.t()
        for t in range(T):
            if relu:
                h = torch.clamp_min(torch.addmm(pre[t], h, w_hh_t), 0, out=hs[t])   # (B, H)
            else:
                h = torch.tanh(torch.addmm(pre[t], h, w_hh_t), out=hs[t])           # (B, H)
        ctx.save_for_backward(x_tm, w_ih, w_hh, hs)
        ctx.relu, ctx.shape = relu, (B, T, E)
        return hs.transpose(0, 1)                                                   # (B, T, H)

    @staticmethod
    def backward(ctx, d_hs):
        x_tm, w_ih, w_hh, hs = ctx.saved_tensors
        B, T, E = ctx.shape
        H = hs.shape[2]
        d_hs = d_hs.transpose(0, 1).contiguous()                                    # (T, B, H)
        gate = (hs > 0).to(hs.dtype) if ctx.relu else 1 - hs * hs                   # activation's slope, (T, B, H)
        d_pre = torch.empty_like(hs)                                                # dL/d(pre-activation)
        dh = d_hs[T - 1]                                                            # total gradient into h_t
        for t in range(T - 1, -1, -1):
            da = torch.mul(dh, gate[t], out=d_pre[t])                               # (B, H)
            if t:
                dh = torch.addmm(d_hs[t - 1], da, w_hh)                             # into h_{t-1}
        d_flat = d_pre.view(T * B, H)
        h_prev = torch.cat([hs.new_zeros(1, B, H), hs[:-1]], dim=0).view(T * B, H)
        d_w_hh = d_flat.t() @ h_prev                                                # (H, H)
        d_w_ih = d_flat.t() @ x_tm                                                  # (H, E)
        d_b = d_flat.sum(0)                                                         # (H,)
        d_x = (d_flat @ w_ih).view(T, B, E).transpose(0, 1) if ctx.needs_input_grad[0] else None  # (B, T, E)
        return d_x, d_w_ih, d_w_hh, d_b, d_b, None


def _elman(relu: bool):
    def kernel(inp, hx, weights, *_):
        w_ih, w_hh, b_ih, b_hh = weights
        return (_ElmanLayer.apply(inp, w_ih, w_hh, b_ih, b_hh, relu),)
    return kernel

# one direction of one layer: (input, hx, [w_ih, w_hh, b_ih, b_hh], has_biases, layers, dropout, train,
# bidirectional, batch_first) -> (output, h_n[, c_n]), the kernels nn.RNN / nn.LSTM / nn.GRU call
# torch._VF is private: where a release lacks a kernel, that cell takes the public packed path instead
_VF = getattr(torch, "_VF", None)
_KERNELS = {"rnn_tanh": _elman(False), "rnn_relu": _elman(True), "lstm": getattr(_VF, "lstm", None),
            "gru": getattr(_VF, "gru", None)}
POOLINGS = ("final", "final+max+mean")


class RecurrentClassifier(nn.Module):
    """Embedding -> packed recurrent layers -> [h_n of every layer/direction] -> ReLU layer -> sigmoid."""

    family = "recurrent"

    def __init__(self, vocab, embeddings: torch.Tensor, recurrent_dim: int, hidden_dim: int,
                 freeze_embeddings: bool = True, cell: str = "rnn", recurrent_activation: str = "tanh",
                 recurrent_layers: int = 1, recurrent_bidirectional: bool = False, dropout: float = 0.0,
                 pooling: str = "final", num_classes: int = 2):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        if cell == "rnn" and recurrent_activation not in ("tanh", "relu"):
            raise ValueError(f"unknown recurrent_activation {recurrent_activation!r}; choose tanh or relu")
        V, E = embeddings.shape
        if vocab is not None and len(vocab) != V:
            raise ValueError(f"vocabulary has {len(vocab)} entries but the embedding matrix has {V} rows")
        self.vocab = vocab
        self.cell = cell
        pad = vocab.pad_index if vocab is not None else 1
        self.embedding = nn.Embedding.from_pretrained(embeddings.clone().float(), freeze=freeze_embeddings,
                                                      padding_idx=pad)
        extra = {"nonlinearity": recurrent_activation} if cell == "rnn" else {}
        self.rnn = CELLS[cell](E, recurrent_dim, num_layers=recurrent_layers, batch_first=True,
                               bidirectional=recurrent_bidirectional,
                               dropout=dropout if recurrent_layers > 1 else 0.0, **extra)
        directions = 2 if recurrent_bidirectional else 1
        self.pooling = pooling
        # On CPU run the padded batch through the cell kernels (same outputs as packing, faster);
        # set False to use the packed reference path everywhere.
        self.cpu_padded = True
        self.doc_dim = recurrent_dim * recurrent_layers * directions
        if pooling == "final+max+mean":  # + max and mean over time of the last layer's outputs
            self.doc_dim += 2 * recurrent_dim * directions
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(self.doc_dim, hidden_dim)
        self.num_classes = num_classes
        self.output = nn.Linear(hidden_dim, 1 if num_classes == 2 else num_classes)
        self.loss_function = nn.BCEWithLogitsLoss() if num_classes == 2 else nn.CrossEntropyLoss()

    def document_embedding(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(padded_text)                                     # (B, T, E)
        # the faster path per cell (benchmarks/speed.md): padded for training, and for LSTM inference
        if (embedded.device.type == "cpu" and self.cpu_padded and (torch.is_grad_enabled() or self.cell == "lstm")
                and _KERNELS[self._kernel_name] is not None):
            final, out = self._run_padded(embedded, seq_lengths)                   # (B, L*D*H), (B, T, D*H)
        else:
            final, out = self._run_packed(embedded, seq_lengths)
        if self.pooling == "final":
            return final
        lengths = seq_lengths.to(out.device)
        mask = torch.arange(out.shape[1], device=out.device)[None, :] < lengths[:, None]  # (B, T)
        out = out.masked_fill(~mask[:, :, None], 0.0)                             # nothing past a text's end counts
        mean = out.sum(1) / lengths[:, None].to(out.dtype)                         # (B, D*H)
        maxed = out.masked_fill(~mask[:, :, None], float("-inf")).amax(1)         # (B, D*H)
        return torch.cat([final, maxed, mean], dim=1)                              # (B, L*D*H + 2*D*H)

    def _run_packed(self, embedded, seq_lengths):
        """The reference: a packed sequence, so padding never reaches the cell."""
        packed = pack_padded_sequence(embedded, seq_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)                                                # (L*D, B, H); LSTM: (h, c)
        if isinstance(h_n, tuple):
            h_n = h_n[0]                                                           # the hidden, not the cell state
        # (L*D, B, H) -> (B, L*D*H): layer 0 fwd, layer 0 bwd, layer 1 fwd, ...
        final = h_n.transpose(0, 1).reshape(h_n.shape[1], -1)
        if self.pooling == "final":
            return final, None
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=embedded.shape[1])  # (B, T, D*H)
        return final, out

    def _run_padded(self, embedded, seq_lengths):
        """Same result as :meth:`_run_packed`, computed on the padded batch (faster on CPU).

        PyTorch's CPU kernels run a packed sequence step by step with a shrinking
        batch, which costs 2-5x more than the padded batch (``benchmarks/speed.md``);
        with length bucketing there is little padding to waste work on. Outputs
        past a text's end never feed back into earlier steps, so the forward
        direction's state at ``length - 1`` is exact. The backward direction runs
        on each text reversed *within its length* (padding stays at the end), then
        is flipped back. Each direction is one call of the cell's fused kernel with
        that direction's weights.
        """
        B, T, _ = embedded.shape
        rnn = self.rnn
        lengths = seq_lengths.to(embedded.device)
        steps = torch.arange(T, device=embedded.device)
        rev = (lengths[:, None] - 1 - steps[None, :]).clamp(min=0)                 # (B, T): reversal within length
        last = (lengths - 1).clamp(min=0)                                          # (B,)
        rows = torch.arange(B, device=embedded.device)
        kernel = _KERNELS[self._kernel_name]
        x, finals = embedded, []
        for layer in range(rnn.num_layers):
            outs = []
            for direction in range(2 if rnn.bidirectional else 1):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                weights = [getattr(rnn, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                inp = x if direction == 0 else x.gather(1, rev[:, :, None].expand(-1, -1, x.shape[2]))
                h0 = x.new_zeros(1, B, rnn.hidden_size)
                hx = (h0, h0) if self.cell == "lstm" else h0
                out = kernel(inp, hx, weights, True, 1, 0.0, self.training, False, True)[0]  # (B, T, H)
                finals.append(out[rows, last])                                     # (B, H): state at the true end
                if direction:
                    out = out.gather(1, rev[:, :, None].expand(-1, -1, out.shape[2]))  # back to text order
                outs.append(out)
            x = torch.cat(outs, dim=2)                                             # (B, T, D*H)
            if layer < rnn.num_layers - 1 and rnn.dropout and self.training:
                x = torch.nn.functional.dropout(x, rnn.dropout, training=True)
        return torch.cat(finals, dim=1), x                                         # (B, L*D*H), (B, T, D*H)

    @property
    def _kernel_name(self) -> str:
        return self.cell if self.cell != "rnn" else f"rnn_{self.rnn.nonlinearity}"

    def head(self, doc: torch.Tensor) -> torch.Tensor:
        """Document embeddings (..., doc_dim) -> logits: (...) for two classes, (..., k) for k."""
        hidden = torch.relu(self.hidden(self.dropout(doc)))                     # (..., hidden)
        out = self.output(hidden)                                               # (..., O)
        return out.squeeze(-1) if self.num_classes == 2 else out

    def forward_logits(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.document_embedding(padded_text, seq_lengths))    # (B,) or (B, k)

    def forward(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        """Two classes: probability of the positive class (B,); k classes: probabilities (B, k)."""
        logits = self.forward_logits(padded_text, seq_lengths)
        return torch.sigmoid(logits) if self.num_classes == 2 else torch.softmax(logits, dim=-1)


class RNNClassifier(RecurrentClassifier):
    """Elman RNN classifier (``recurrent_activation`` tanh or relu)."""

    def __init__(self, vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings=True,
                 recurrent_activation="tanh", recurrent_layers=1, recurrent_bidirectional=False, dropout=0.0):
        super().__init__(vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings, "rnn",
                         recurrent_activation, recurrent_layers, recurrent_bidirectional, dropout)


class LSTMClassifier(RecurrentClassifier):
    def __init__(self, vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings=True,
                 recurrent_layers=1, recurrent_bidirectional=False, dropout=0.0):
        super().__init__(vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings, "lstm",
                         "tanh", recurrent_layers, recurrent_bidirectional, dropout)


class GRUClassifier(RecurrentClassifier):
    def __init__(self, vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings=True,
                 recurrent_layers=1, recurrent_bidirectional=False, dropout=0.0):
        super().__init__(vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings, "gru",
                         "tanh", recurrent_layers, recurrent_bidirectional, dropout)
