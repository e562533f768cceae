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
POOLINGS = ("final", "final+max+mean")


class RecurrentClassifier(nn.Module):
    """Embedding -> packed recurrent layers -> [h_n of every layer/direction] -> ReLU layer -> sigmoid."""

    family = "recurrent"

    def __init__(self, vocab, embeddings: torch.Tensor, recurrent_dim: int, hidden_dim: int,
                 freeze_embeddings: bool = True, cell: str = "rnn", recurrent_activation: str = "tanh",
                 recurrent_layers: int = 1, recurrent_bidirectional: bool = False, dropout: float = 0.0,
                 pooling: str = "final"):
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
        self.doc_dim = recurrent_dim * recurrent_layers * directions
        if pooling == "final+max+mean":  # + max and mean over time of the last layer's outputs
            self.doc_dim += 2 * recurrent_dim * directions
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(self.doc_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim, 1)
        self.loss_function = nn.BCEWithLogitsLoss()

    def document_embedding(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(padded_text)                                     # (B, T, E)
        packed = pack_padded_sequence(embedded, seq_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)                                                # (L*D, B, H); LSTM: (h, c)
        if isinstance(h_n, tuple):
            h_n = h_n[0]                                                           # the hidden, not the cell state
        # (L*D, B, H) -> (B, L*D*H): layer 0 fwd, layer 0 bwd, layer 1 fwd, ...
        final = h_n.transpose(0, 1).reshape(h_n.shape[1], -1)
        if self.pooling == "final":
            return final
        out, _ = pad_packed_sequence(out, batch_first=True)                        # (B, T', D*H), zeros past the end
        lengths = seq_lengths.to(out.device)
        mask = torch.arange(out.shape[1], device=out.device)[None, :] < lengths[:, None]  # (B, T')
        mean = out.sum(1) / lengths[:, None].to(out.dtype)                         # (B, D*H): padding adds zeros
        maxed = out.masked_fill(~mask[:, :, None], float("-inf")).amax(1)         # (B, D*H)
        return torch.cat([final, maxed, mean], dim=1)                              # (B, L*D*H + 2*D*H)

    def forward_logits(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        doc = self.dropout(self.document_embedding(padded_text, seq_lengths))  # (B, L*D*H)
        hidden = torch.relu(self.hidden(doc))                                   # (B, hidden)
        return self.output(hidden).squeeze(1)                                   # (B,)

    def forward(self, padded_text: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
        """Probability of the positive class for each text: (B,)."""
        return torch.sigmoid(self.forward_logits(padded_text, seq_lengths))


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
