"""Poolings: how a recurrent model turns its states into one document embedding.

A pooling sees the state of every layer and direction *at each text's end*
(``final``, (B, L*D*H): layer 0 forward, layer 0 backward, layer 1 forward, ...)
and the top layer's outputs at every step (``top``, (B, T, D*H); positions past a
text's length hold anything and must be ignored). :meth:`Pooling.prefixes` gives
the document embedding after every prefix of a unidirectional model's text, which
is what ``rnnlab.trace`` applies the head to; its default calls the pooling once
per prefix, so a new pooling is correct in the trace without writing anything
else (override it only for speed, as the two built-in poolings do).
"""

from __future__ import annotations

import torch

from rnnlab.config import POOLINGS


class Pooling:
    """Base class: subclasses set ``name`` and ``uses_top`` and define :meth:`dim` and :meth:`__call__`."""

    name = ""
    uses_top = True    # False: the pooling needs only ``final`` (the packed path then skips unpacking)

    def dim(self, layers: int, directions: int, hidden: int) -> int:
        raise NotImplementedError

    def __call__(self, final: torch.Tensor, top: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def prefixes(self, finals: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """(B, T, L*H) states of every layer after each step and (B, T, H) top outputs -> (B, T, doc_dim)."""
        B, T = finals.shape[:2]
        out = []
        for t in range(T):
            lengths = torch.full((B,), t + 1, dtype=torch.int64, device=finals.device)
            out.append(self(finals[:, t], top[:, : t + 1], lengths))
        return torch.stack(out, dim=1)


class FinalPooling(Pooling):
    """The final state of every layer and direction, concatenated."""

    name, uses_top = "final", False

    def dim(self, layers, directions, hidden):
        return layers * directions * hidden

    def __call__(self, final, top, lengths):
        return final

    def prefixes(self, finals, top):
        return finals


class FinalMaxMeanPooling(Pooling):
    """Final states, plus the maximum and the mean over time of the top layer's outputs."""

    name = "final+max+mean"

    def dim(self, layers, directions, hidden):
        return layers * directions * hidden + 2 * directions * hidden

    def __call__(self, final, top, lengths):
        lengths = lengths.to(top.device)
        mask = torch.arange(top.shape[1], device=top.device)[None, :] < lengths[:, None]  # (B, T)
        top = top.masked_fill(~mask[:, :, None], 0.0)                          # nothing past a text's end counts
        mean = top.sum(1) / lengths[:, None].to(top.dtype)                     # (B, D*H)
        maxed = top.masked_fill(~mask[:, :, None], float("-inf")).amax(1)     # (B, D*H)
        return torch.cat([final, maxed, mean], dim=1)

    def prefixes(self, finals, top):
        steps = torch.arange(1, top.shape[1] + 1, device=top.device, dtype=top.dtype)[None, :, None]
        return torch.cat([finals, torch.cummax(top, dim=1).values, top.cumsum(1) / steps], dim=-1)


POOLERS = {p.name: p for p in (FinalPooling, FinalMaxMeanPooling)}
assert tuple(POOLERS) == tuple(POOLINGS), "config.POOLINGS names the poolings defined here"


def pooler(name: str) -> Pooling:
    try:
        return POOLERS[name]()
    except KeyError:
        raise ValueError(f"unknown pooling {name!r}; choose one of {', '.join(POOLERS)}") from None


__all__ = ["Pooling", "FinalPooling", "FinalMaxMeanPooling", "POOLERS", "pooler"]
