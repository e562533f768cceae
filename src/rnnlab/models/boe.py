"""Bag-of-embeddings classifier: the mean word vector through one ReLU layer to a sigmoid.

Word order is invisible to it by construction: any permutation of a text gets
the same probability.
"""

from __future__ import annotations

import torch
from torch import nn


class BagOfEmbeddingsBinaryClassifier(nn.Module):
    """``EmbeddingBag`` (mean) -> Linear(E, hidden) -> ReLU -> Linear(hidden, 1) -> sigmoid."""

    family = "boe"

    def __init__(self, vocab, embeddings: torch.Tensor, hidden_dim: int, freeze_embeddings: bool = True,
                 dropout: float = 0.0, num_classes: int = 2):
        super().__init__()
        V, E = embeddings.shape
        if vocab is not None and len(vocab) != V:
            raise ValueError(f"vocabulary has {len(vocab)} entries but the embedding matrix has {V} rows")
        self.embedding = nn.EmbeddingBag.from_pretrained(embeddings.clone().float(), freeze=freeze_embeddings,
                                                         mode="mean")
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(E, hidden_dim)
        self.num_classes = num_classes
        self.output = nn.Linear(hidden_dim, 1 if num_classes == 2 else num_classes)
        # Trained on logits (numerically stable); forward() still returns probabilities.
        self.loss_function = nn.BCEWithLogitsLoss() if num_classes == 2 else nn.CrossEntropyLoss()

    # -- the reading API (as on RecurrentClassifier; a bag has no recurrent layers) ---------------
    num_layers = 0
    num_directions = 0

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (..., T) -> embeddings (..., T, E)."""
        return nn.functional.embedding(ids, self.embedding.weight)

    def layer_states(self, x: torch.Tensor, lengths: torch.Tensor) -> list:
        """No recurrent layers: an empty list (kept so readers can treat both families alike)."""
        return []

    def pool(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embedded padded batch (B, T, E) -> the mean vector of each text's first ``lengths`` tokens (B, E)."""
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]  # (B, T)
        return (x * mask[:, :, None]).sum(1) / lengths.to(x.device)[:, None].to(x.dtype)

    def document(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embedded padded batch (B, T, E) -> document embedding (B, E), through the reading API."""
        return self.pool(x, lengths)

    def document_embedding(self, text: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        # The fused EmbeddingBag of embed + pool on the flat batch (same numbers, no padding).
        return self.embedding(text, offsets)          # (B, E): the mean vector of each text

    def head(self, doc: torch.Tensor) -> torch.Tensor:
        """Document embeddings (..., E) -> logits: (...) for two classes, (..., k) for k."""
        hidden = torch.relu(self.hidden(self.dropout(doc)))         # (..., hidden)
        out = self.output(hidden)                                    # (..., O)
        return out.squeeze(-1) if self.num_classes == 2 else out

    def forward_logits(self, text: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.head(self.document_embedding(text, offsets))     # (B,) or (B, k)

    def forward(self, text: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Two classes: probability of the positive class (B,); k classes: probabilities (B, k)."""
        logits = self.forward_logits(text, offsets)
        return torch.sigmoid(logits) if self.num_classes == 2 else torch.softmax(logits, dim=-1)
