"""Recurrent classifiers: RNN (tanh or ReLU), LSTM and GRU, stacked and/or bidirectional.

One class serves all cells, chosen through :data:`CELLS`. The document embedding
is the final hidden state of every layer and direction, concatenated, computed on
a packed sequence so padding never reaches the cell: a padded batch gives the
same probabilities as each text run alone.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.models.pooling import pooler

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
        device = inp.device.type
        if torch.is_autocast_enabled(device):  # mixed-precision training: this layer computes in float32
            with torch.autocast(device, enabled=False):
                return (_ElmanLayer.apply(inp.float(), w_ih, w_hh, b_ih, b_hh, relu),)
        return (_ElmanLayer.apply(inp, w_ih, w_hh, b_ih, b_hh, relu),)
    return kernel

# one direction of one layer: (input, hx, [w_ih, w_hh, b_ih, b_hh], has_biases, layers, dropout, train,
# bidirectional, batch_first) -> (output, h_n[, c_n]), the kernels nn.RNN / nn.LSTM / nn.GRU call
# torch._VF is private: where a release lacks a kernel (None here), that cell steps through its
# equations in direction_states and forward takes the public packed path instead
_VF = getattr(torch, "_VF", None)
_KERNELS = {"rnn_tanh": _elman(False), "rnn_relu": _elman(True), "lstm": getattr(_VF, "lstm", None),
            "gru": getattr(_VF, "gru", None)}


def _step_states(cell: str, x: torch.Tensor, weights, start, want_cells: bool):
    """One direction of an LSTM or GRU stepped in Python (PyTorch's gate orders): states (B, T, H), and for an
    LSTM the cell states (B, T, H) too. Used where a fused kernel cannot give what is asked (or is missing)."""
    w_ih, w_hh, b_ih, b_hh = weights
    gates_x = x @ w_ih.T + b_ih                                                     # (B, T, G*H), hoisted
    hs, cs = [], []
    if cell == "lstm":
        h, c = start
        for t in range(x.shape[1]):
            i, f, g, o = (gates_x[:, t] + h @ w_hh.T + b_hh).chunk(4, dim=-1)      # input, forget, cell, output
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), (torch.stack(cs, 1) if want_cells else None)
    h = start
    for t in range(x.shape[1]):
        r_x, z_x, n_x = gates_x[:, t].chunk(3, dim=-1)                              # reset, update, new
        r_h, z_h, n_h = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)
        h = (1 - z) * torch.tanh(n_x + r * n_h) + z * h
        hs.append(h)
    return torch.stack(hs, 1), None


def _reversal(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) index reading each text backwards within its length: position t holds step length-1-t;
    positions past a length hold 0 (anything: padding stays at the end)."""
    steps = torch.arange(T, device=lengths.device)
    return (lengths[:, None] - 1 - steps[None, :]).clamp(min=0)


class RecurrentClassifier(nn.Module):
    """Embedding -> recurrent layers -> pooling (:mod:`rnnlab.models.pooling`) -> ReLU layer -> output.

    The reading API (what :mod:`rnnlab.trace` uses; ``forward`` goes through it too):
    :meth:`embed`, :meth:`direction_states`, :meth:`direction_run`, :meth:`layer_states`, :meth:`finals`,
    :meth:`direction_backward`, :meth:`pool`, :meth:`pool_spliced` (with :meth:`pool_accumulator`,
    :meth:`pool_accumulate`), :meth:`document`, :meth:`head`, :attr:`num_layers`,
    :attr:`num_directions`. A new cell overrides
    :meth:`direction_states` (and sets ``packed_reference = False``); a new pooling is a
    :class:`~rnnlab.models.pooling.Pooling` put in ``self.pooler``.
    """

    family = "recurrent"
    # Whether ``self.rnn`` (an nn.RNNBase) may run a packed sequence as the reference path; a cell
    # that only defines direction_states sets this False so every pass goes through it.
    packed_reference = True

    def __init__(self, vocab, embeddings: torch.Tensor, recurrent_dim: int, hidden_dim: int,
                 freeze_embeddings: bool = True, cell: str = "rnn", recurrent_activation: str = "tanh",
                 recurrent_layers: int = 1, recurrent_bidirectional: bool = False, dropout: float = 0.0,
                 pooling: str = "final", num_classes: int = 2):
        super().__init__()
        self.pooler = pooler(pooling)
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        if cell == "rnn" and recurrent_activation not in ("tanh", "relu"):
            raise ValueError(f"unknown recurrent_activation {recurrent_activation!r}; choose tanh or relu")
        V, E = embeddings.shape
        if vocab is not None and len(vocab) != V:
            raise ValueError(f"vocabulary has {len(vocab)} entries but the embedding matrix has {V} rows")
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
        self.doc_dim = self.pooler.dim(recurrent_layers, directions, recurrent_dim)
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(self.doc_dim, hidden_dim)
        self.num_classes = num_classes
        self.output = nn.Linear(hidden_dim, 1 if num_classes == 2 else num_classes)
        self.loss_function = nn.BCEWithLogitsLoss() if num_classes == 2 else nn.CrossEntropyLoss()

    # -- the reading API -------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return self.rnn.num_layers

    @property
    def num_directions(self) -> int:
        return 2 if self.rnn.bidirectional else 1

    @property
    def state_size(self) -> int:
        """H: the size of one direction's state."""
        return self.rnn.hidden_size

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (..., T) -> embeddings (..., T, E)."""
        return self.embedding(ids)

    def direction_states(self, x: torch.Tensor, layer: int, direction: int = 0, start=None,
                         cells: bool = False):
        """One direction of one layer read over ``x`` (B, T, In) *in the order given* -> states (B, T, H).

        The caller reverses the input for the backward direction (``direction=1`` only picks its
        weights). ``start`` is the state before the first step: h (B, H), or (h, c) for an LSTM;
        zeros when None. With ``cells=True`` returns ``(h, c)``, c the LSTM cell state after every
        step (B, T, H) (None for other cells). Padding after a text's end never reaches its states.
        """
        out, c, _ = self._direction(x, layer, direction, start, cells)
        return (out, c) if cells else out

    def direction_run(self, x: torch.Tensor, layer: int, direction: int = 0, start=None):
        """:meth:`direction_states` (B, T, H) plus the state after the last step, in the form ``start``
        takes (h (B, H), or (h, c) for an LSTM): a reader can stop there and continue later.

        A cell that overrides only :meth:`direction_states` gets this from its ``cells=True`` states.
        """
        if type(self).direction_states is not RecurrentClassifier.direction_states:
            out, c = self.direction_states(x, layer, direction, start, cells=True)
            return out, (out[:, -1] if c is None else (out[:, -1], c[:, -1]))
        out, _, last = self._direction(x, layer, direction, start, False)
        return out, last

    def direction_backward(self, x: torch.Tensor, layer: int, direction: int, states: torch.Tensor,
                           grad: torch.Tensor) -> torch.Tensor | None:
        """For gradients without autograd: one direction of one layer read over ``x`` (T, In) in the order
        given, from zeros, with ``states`` (T, H) its h after every step and ``grad`` (T, H) the gradient of
        some value with respect to each h (directly, not through later steps) -> that value's gradient with
        respect to ``x`` (T, In), through every step, in float64. None where the cell has no hand-written
        backward pass here (a GRU has one: autograd records each of its steps on the CPU, a few dozen nodes
        per step; an LSTM's and an Elman layer's backward passes are fused already), so a reader uses autograd.
        """
        if self.cell != "gru" or type(self).direction_states is not RecurrentClassifier.direction_states:
            return None
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        w_ih, w_hh, b_ih, b_hh = (getattr(self.rnn, f"{name}{suffix}").detach().double()
                                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        T, H = states.shape
        x, h, g = x.double(), states.double(), grad.double()
        h_prev = torch.cat([h.new_zeros(1, H), h[:-1]])                              # (T, H)
        gx, gh = x @ w_ih.T + b_ih, h_prev @ w_hh.T + b_hh                           # (T, 3H): reset, update, new
        r, z = torch.sigmoid(gx[:, :H] + gh[:, :H]), torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = torch.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])                           # h = (1 - z) n + z h_prev
        d_new = (1 - z) * (1 - n * n)                                                # dh / d(new's pre-activation)
        d_gates = torch.cat([d_new * gh[:, 2 * H:] * r * (1 - r),                    # dh / d(reset's)
                             (h_prev - n) * z * (1 - z), d_new], dim=1)              # dh / d(update's), d(new's)
        d_hidden = torch.cat([d_gates[:, :2 * H], d_new * r], dim=1)                 # dh / d(h_prev @ w_hh.T)
        # the one sequential part, dvalue/dh_{t-1} from dvalue/dh_t, in NumPy: a few microseconds a step,
        # where torch's per-call cost is several times that
        total = g.cpu().numpy().copy()                                               # dvalue / dh_t, through all
        gates, keep, w = d_hidden.cpu().numpy(), z.cpu().numpy(), w_hh.cpu().numpy()   # (T, 3H), (T, H), (3H, H)
        for t in range(T - 1, 0, -1):
            total[t - 1] += keep[t] * total[t] + (np.tile(total[t], 3) * gates[t]) @ w
        total = torch.from_numpy(total).to(g.device)
        return (total.repeat(1, 3) * d_gates) @ w_ih                                 # (T, In)

    def _direction(self, x, layer, direction, start, cells):
        """(states (B, T, H), cell states (B, T, H) or None, state after the last step) of one direction."""
        rnn = self.rnn
        B, H = x.shape[0], rnn.hidden_size
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        weights = [getattr(rnn, f"{name}{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        lstm = self.cell == "lstm"
        kernel = _KERNELS[self._kernel_name]
        if self.cell == "rnn" and (start is not None or not torch.is_grad_enabled()):
            # The hand-written Elman kernel starts from zeros and pays off only in the backward pass;
            # PyTorch's takes any start state and loops in C++ (same numbers).
            kernel = torch._VF.rnn_relu if rnn.nonlinearity == "relu" else torch._VF.rnn_tanh
        if start is None:
            h0 = x.new_zeros(B, H)
            start = (h0, h0) if lstm else h0
        if kernel is None:
            # the fused kernel is missing: step through the cell's equations
            out, c = _step_states(self.cell, x, weights, start, True)
            return out, c, ((out[:, -1], c[:, -1]) if lstm else out[:, -1])
        if cells and lstm:
            # The fused kernel keeps the cell state only at the end; every step's follows from the gates,
            # which the states give in one product: c_t = f_t * c_{t-1} + i_t * g_t.
            out, h_n, c_n = kernel(x, (start[0][None], start[1][None]), weights, True, 1, 0.0, self.training,
                                   False, True)                                   # (B, T, H)
            w_ih, w_hh, b_ih, b_hh = weights
            h_prev = torch.cat([start[0][:, None], out[:, :-1]], dim=1)            # (B, T, H)
            i, f, g, _ = (x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh).chunk(4, dim=-1)  # (B, T, H) each
            gain, new = torch.sigmoid(f), torch.sigmoid(i) * torch.tanh(g)
            c, cs = start[1], []
            for t in range(x.shape[1]):
                c = torch.addcmul(new[:, t], gain[:, t], c)                        # (B, H)
                cs.append(c)
            return out, torch.stack(cs, 1), (h_n[0], c_n[0])
        hx = (start[0][None], start[1][None]) if lstm else start[None]             # (1, B, H)
        res = kernel(x, hx, weights, True, 1, 0.0, self.training, False, True)     # (B, T, H), h_n[, c_n]
        out = res[0]
        if lstm:
            return out, None, (res[1][0], res[2][0])
        return out, None, (res[1][0] if len(res) > 1 else out[:, -1])             # hand-written Elman: no h_n

    def layer_states(self, x: torch.Tensor, lengths: torch.Tensor) -> list[list[torch.Tensor]]:
        """Embedded padded batch (B, T, E) -> ``states[layer][direction]`` (B, T, H) in text order.

        The backward direction reads each text reversed *within its length* (padding stays at the
        end), so padding never reaches a text's states; positions past a length hold anything.
        """
        B, T, _ = x.shape
        rnn = self.rnn
        lengths = lengths.to(x.device)
        rev = _reversal(lengths, T)                                                # (B, T)
        states = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                inp = x if direction == 0 else x.gather(1, rev[:, :, None].expand(-1, -1, x.shape[2]))
                out = self.direction_states(inp, layer, direction)                 # (B, T, H)
                if direction:
                    out = out.gather(1, rev[:, :, None].expand(-1, -1, out.shape[2]))  # back to text order
                outs.append(out)
            states.append(outs)
            x = torch.cat(outs, dim=2)                                             # (B, T, D*H)
            if layer < rnn.num_layers - 1 and rnn.dropout and self.training:
                x = torch.nn.functional.dropout(x, rnn.dropout, training=True)
        return states

    def finals(self, states: list[list[torch.Tensor]], lengths: torch.Tensor) -> torch.Tensor:
        """Each layer's and direction's state at each text's end -> (B, L*D*H), ordered as ``h_n``."""
        B = states[0][0].shape[0]
        device = states[0][0].device
        rows, last = torch.arange(B, device=device), (lengths.to(device) - 1).clamp(min=0)
        return torch.cat([s[rows, last] if d == 0 else s[:, 0]                    # backward ends at position 0
                          for layer in states for d, s in enumerate(layer)], dim=1)

    def pool(self, final: torch.Tensor, top: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
        """Final states (B, L*D*H) and the top layer's outputs (B, T, D*H) -> document embedding (B, doc_dim)."""
        return self.pooler(final, top, lengths)

    @property
    def pool_uses_outputs(self) -> bool:
        """Whether the pooling reads the top layer's outputs at every step (not only the final states)."""
        return self.pooler.uses_top

    def pool_spliced(self, final: torch.Tensor, top: torch.Tensor, stretches) -> torch.Tensor:
        """Pool texts whose top outputs are one text's ``top`` (T, D*H) with a stretch of each direction's
        replaced: ``stretches[d] = (starts, window, widths, resumes)``, text b reading ``top[:starts[b]]``,
        its ``widths[b]`` rows of ``window``, then ``top[resumes[b]:]`` (see
        :meth:`rnnlab.models.pooling.Pooling.spliced`). ``final`` (B, L*D*H) as in :meth:`pool`; the same
        document embeddings (B, doc_dim) as :meth:`pool` on the texts written out."""
        return self.pooler.spliced(final, top, stretches)

    def pool_accumulator(self, B: int, H: int, like: torch.Tensor):
        """What :meth:`pool_spliced` takes in place of a direction's window when the pooling can sum B stretches
        up chunk by chunk (:meth:`pool_accumulate`), or None: pass the window (see
        :meth:`rnnlab.models.pooling.Pooling.accumulator`)."""
        return self.pooler.accumulator(B, H, like)

    def pool_accumulate(self, acc, rows: torch.Tensor, out: torch.Tensor, inside: torch.Tensor | None = None):
        """Add a chunk of stretch outputs (A, C, H) of stretches ``rows`` to ``acc`` (``inside``: steps that count)."""
        self.pooler.accumulate(acc, rows, out, inside)

    def pool_prefixes(self, finals: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """Unidirectional: every layer's state after each step (B, T, L*H) and the top layer's outputs
        (B, T, H) -> the document embedding after every prefix (B, T, doc_dim)."""
        return self.pooler.prefixes(finals, top)

    def document(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embedded padded batch (B, T, E) -> document embedding (B, doc_dim), through the reading API."""
        states = self.layer_states(x, lengths)
        return self.pool(self.finals(states, lengths), torch.cat(states[-1], dim=2), lengths)

    @property
    def by_direction(self) -> bool:
        """Whether :meth:`document_by_direction` applies: one layer and a per-direction pooling."""
        return self.num_layers == 1 and self.pooler.per_direction

    def document_by_direction(self, ids: torch.Tensor, lengths: torch.Tensor,
                              embedded: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`document` of a one-layer model whose pooling is per direction (:attr:`by_direction`).

        Each direction is pooled as it was read, the backward one over the text reversed within
        its length (padding stays at the end, so the pooling's mask holds): its states are never
        put back in text order nor joined with the forward ones; the pieces are interleaved as
        :meth:`pool` lays them out (fwd final, bwd final, fwd max, bwd max, ...). Same numbers as
        :meth:`document` (tests/models/test_fast_path.py). ``embedded``: ``self.embed(ids)`` when
        already computed (training: the backward direction gathers its rows, whose gradient is
        cheaper than a second lookup's); without it the reversed ids are looked up (inference).
        """
        B, T = ids.shape
        lengths = lengths.to(ids.device)
        steps = torch.arange(T, device=ids.device)
        rows, last = torch.arange(B, device=ids.device), (lengths - 1).clamp(min=0)
        pooled = []
        for direction in range(self.num_directions):
            if direction == 0:
                x = embedded if embedded is not None else self.embed(ids)
            else:
                rev = _reversal(lengths, T)                                         # (B, T)
                if embedded is not None:
                    x = embedded.gather(1, rev[:, :, None].expand(-1, -1, embedded.shape[2]))
                else:
                    x = self.embed(torch.where(steps[None, :] < lengths[:, None], ids.gather(1, rev), ids))
            states = self.direction_states(x, 0, direction)                          # (B, T, H)
            pooled.append(self.pool(states[rows, last], states if self.pool_uses_outputs else None, lengths))
        if len(pooled) == 1:
            return pooled[0]
        H = self.state_size
        return torch.stack([p.view(B, -1, H) for p in pooled], dim=2).reshape(B, -1)  # (B, pieces * D * H)

    def head(self, doc: torch.Tensor) -> torch.Tensor:
        """Document embeddings (..., doc_dim) -> logits: (...) for two classes, (..., k) for k."""
        hidden = torch.relu(self.hidden(self.dropout(doc)))                     # (..., hidden)
        out = self.output(hidden)                                               # (..., O)
        return out.squeeze(-1) if self.num_classes == 2 else out

    # -- the forward pass ------------------------------------------------------------------
    def document_embedding(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embed(padded_text)                                         # (B, T, E)
        # the faster path per cell (benchmarks/speed.md): padded for training, and for LSTM inference
        padded = (embedded.device.type == "cpu" and self.cpu_padded and _KERNELS[self._kernel_name] is not None
                  and (torch.is_grad_enabled() or self.cell == "lstm"))
        if padded or not self.packed_reference:
            if self.by_direction:
                return self.document_by_direction(padded_text, seq_lengths, embedded)
            return self.document(embedded, seq_lengths)
        final, top = self._run_packed(embedded, seq_lengths)
        return self.pool(final, top, seq_lengths)

    @property
    def _kernel_name(self) -> str:
        return self.cell if self.cell != "rnn" else f"rnn_{self.rnn.nonlinearity}"

    def _run_packed(self, embedded, seq_lengths):
        """The reference: a packed sequence, so padding never reaches the cell."""
        packed = pack_padded_sequence(embedded, seq_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)                                                # (L*D, B, H); LSTM: (h, c)
        if isinstance(h_n, tuple):
            h_n = h_n[0]                                                           # the hidden, not the cell state
        # (L*D, B, H) -> (B, L*D*H): layer 0 fwd, layer 0 bwd, layer 1 fwd, ...
        final = h_n.transpose(0, 1).reshape(h_n.shape[1], -1)
        if not self.pooler.uses_top:
            return final, None
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=embedded.shape[1])  # (B, T, D*H)
        return final, out

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
