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
    # True: the pooling works on each direction's H columns on their own and over a text's steps in any
    # order (final state, max, mean), so a one-layer model may pool each direction as it read it
    # (:meth:`rnnlab.models.recurrent.RecurrentClassifier.document_by_direction`)
    per_direction = False

    def dim(self, layers: int, directions: int, hidden: int) -> int:
        raise NotImplementedError

    def __call__(self, final: torch.Tensor, top: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def spliced(self, final: torch.Tensor, top: torch.Tensor, stretches) -> torch.Tensor:
        """Pool B texts whose top outputs are one text's ``top`` (T, D*H) with a stretch replaced per direction.

        ``stretches`` holds one ``(starts, window, widths, resumes)`` per direction d (its H columns of
        ``top``): text b's outputs there are ``top[:starts[b]]``, then its ``widths[b]`` rows of ``window``
        (sum of widths, H: the texts' stretches one after another), then ``top[resumes[b]:]``; every
        direction gives the same length. ``rnnlab.trace`` pools leave-one-out variants this way. The
        default writes the texts out (a few at a time) and calls the pooling; override it only for
        speed (as the built-in poolings do).
        """
        T = top.shape[0]
        starts, _, widths, resumes = stretches[0]
        lengths = starts + widths + (T - resumes)                               # (B,)
        out = []
        for lo in range(0, len(starts), 64):
            steps = torch.arange(int(lengths[lo:lo + 64].max()), device=top.device)[None, :]   # (1, T')
            columns = []
            for d, (s, window, w, r) in enumerate(stretches):
                H = window.shape[1]
                o = (torch.cumsum(w, 0) - w)[lo:lo + 64, None]
                s, w, r = s[lo:lo + 64, None], w[lo:lo + 64, None], r[lo:lo + 64, None]
                index = torch.where(steps < s, steps, torch.where(steps < s + w, T + o + steps - s,
                                                                  steps - s - w + r))
                source = torch.cat([top[:, d * H:(d + 1) * H], window])          # window rows from T on
                columns.append(source[index.clamp(max=len(source) - 1)])        # (b, T', H); past a length: any
            out.append(self(final[lo:lo + 64], torch.cat(columns, dim=2), lengths[lo:lo + 64]))
        return torch.cat(out)

    def accumulator(self, B: int, H: int, like: torch.Tensor):
        """Something :meth:`spliced` takes in place of one direction's ``window``: B stretches' outputs (H
        columns each) summed up chunk by chunk with :meth:`accumulate`, so that a reader need not keep
        them. None (the default): the pooling needs the outputs themselves, in order."""
        return None

    def accumulate(self, acc, rows: torch.Tensor, out: torch.Tensor, inside: torch.Tensor | None = None) -> None:
        """Add a chunk of outputs (A, C, H) to stretches ``rows`` (A,) of ``acc``; ``inside`` (A,): only each
        row's first ``inside[a]`` steps belong to its stretch (None: all C)."""
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

    name, uses_top, per_direction = "final", False, True

    def dim(self, layers, directions, hidden):
        return layers * directions * hidden

    def __call__(self, final, top, lengths):
        return final

    def spliced(self, final, top, stretches):
        return final

    def prefixes(self, finals, top):
        return finals


class StretchSums:
    """The sum (float64) and the maximum of each of B stretches' outputs, (B, H) each (empty: 0 and -inf)."""

    def __init__(self, B: int, H: int, like: torch.Tensor):
        self.sum = like.new_zeros(B, H, dtype=torch.float64)
        self.max = like.new_full((B, H), float("-inf"))


class FinalMaxMeanPooling(Pooling):
    """Final states, plus the maximum and the mean over time of the top layer's outputs."""

    name, per_direction = "final+max+mean", True

    def dim(self, layers, directions, hidden):
        return layers * directions * hidden + 2 * directions * hidden

    def __call__(self, final, top, lengths):
        # Nothing past a text's end counts. A 0/1 weight per step, so that the mean is one product and
        # the maximum one addition (log 0 = -inf) with no masked copies to undo in the backward pass:
        # training pays a third of what two masked_fill copies and amax's tie-splitting backward cost.
        lengths = lengths.to(top.device)
        keep = (torch.arange(top.shape[1], device=top.device)[None, :] < lengths[:, None]).to(top.dtype)  # (B, T)
        mean = torch.bmm(keep[:, None, :], top).squeeze(1) / lengths[:, None].to(top.dtype)  # (B, D*H)
        maxed = (top + torch.log(keep)[:, :, None]).max(1).values              # (B, D*H)
        return torch.cat([final, maxed, mean], dim=1)

    def accumulator(self, B, H, like):
        return StretchSums(B, H, like)

    def accumulate(self, acc, rows, out, inside=None):
        total, maxed = out.sum(1), out.amax(1)                                  # (A, H)
        short = None if inside is None else (inside < out.shape[1]).nonzero()[:, 0]
        if short is not None and len(short):                                    # rows whose stretch ends inside
            part = out.index_select(0, short)
            past = (torch.arange(out.shape[1], device=out.device)[None, :] >= inside[short, None])[:, :, None]
            total[short] = part.masked_fill(past, 0.0).sum(1)
            maxed[short] = part.masked_fill(past, float("-inf")).amax(1)
        acc.sum.index_add_(0, rows, total.double())
        acc.max.index_copy_(0, rows, torch.maximum(acc.max.index_select(0, rows), maxed))

    def spliced(self, final, top, stretches):
        # per direction: sums and maxima of every prefix and suffix of ``top`` once; each stretch's in one pass
        # (or from its accumulator)
        maxima, means = [], []
        for d, (starts, window, widths, resumes) in enumerate(stretches):
            T, H = top.shape[0], top.shape[1] // len(stretches)
            part = top[:, d * H:(d + 1) * H]                                    # (T, H)
            low = part.new_full((1, H), float("-inf"))
            zero = part.new_zeros(1, H, dtype=torch.float64)
            prefix_sum = torch.cat([zero, part.double().cumsum(0)])             # (T+1, H): sum of part[:j]
            suffix_sum = torch.cat([part.double().flip(0).cumsum(0).flip(0), zero])  # sum of part[j:]
            prefix_max = torch.cat([low, torch.cummax(part, 0).values])         # max of part[:j]
            suffix_max = torch.cat([torch.cummax(part.flip(0), 0).values.flip(0), low])  # max of part[j:]
            maxed = torch.maximum(prefix_max[starts], suffix_max[resumes])
            if isinstance(window, StretchSums):
                inside = window.sum                                             # (B, H), float64
                maxed = torch.maximum(maxed, window.max)
            else:
                text = torch.repeat_interleave(torch.arange(len(starts), device=top.device), widths)  # row -> text
                inside = part.new_zeros(len(starts), H).index_add_(0, text, window).double()  # each stretch's sum
                maxed = maxed.scatter_reduce_(0, text[:, None].expand(-1, H), window, "amax")
            total = prefix_sum[starts] + suffix_sum[resumes] + inside
            maxima.append(maxed)                                                # (B, H)
            means.append((total / (starts + widths + T - resumes)[:, None].double()).to(top.dtype))
        return torch.cat([final] + maxima + means, dim=1)

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


__all__ = ["Pooling", "StretchSums", "FinalPooling", "FinalMaxMeanPooling", "POOLERS", "pooler"]
