"""spaCy's English tokenizer, lower-cased, and a cache of tokenized corpora.

Tokenizing 50,000 reviews takes tens of seconds, so it happens once: a corpus is
stored as integer ids into a *token table* (every distinct token string, in
order of first occurrence). The cache key is the SHA-256 of the texts and the
tokenizer settings. The table is independent of any vocabulary; mapping it onto
a vocabulary is one NumPy lookup (:meth:`TokenizedCorpus.encode`), so one cached
corpus serves every vocabulary (``min_freq``, ``max_size``, appended tokens).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from rnnlab.errors import RnnlabError
from rnnlab.progress import progress_bar
from rnnlab.paths import cache_dir

# Bump when tokenization output changes, so stale caches are never reused.
TOKENIZER_VERSION = 1


@dataclass(frozen=True)
class Tokenizer:
    """``spacy.blank("en")``'s tokenizer (the rules of ``en_core_web_sm``'s), lower-cased.

    Whitespace tokens (spaCy emits one for each run of extra spaces) are dropped.

    spaCy cuts a text at whitespace first and tokenizes each whitespace-free *chunk* on its
    own (its own cache is keyed by the chunk), so the tokens of a text are its chunks' tokens
    in order. With whitespace tokens dropped this tokenizer uses that directly: it remembers
    each distinct chunk's tokens (:class:`ChunkMemo`) and asks spaCy only about chunks it has
    not seen, many at a time, instead of building a spaCy ``Doc`` of every text. Same tokens
    (tests/data/test_chunk_memo.py compares IMDB, SST-5 and texts built from spaCy's special
    cases with spaCy's own), less CPU: 50,000 IMDB reviews 1.6x cold, 3.3x on a second pass
    (benchmarks/tokenize_memo.md).
    """

    lowercase: bool = True
    drop_space: bool = True

    def settings(self) -> dict:
        import spacy  # deferred: spaCy is slow to import, only for tokenizing

        return {"spacy": spacy.__version__, "lowercase": self.lowercase,
                "drop_space": self.drop_space, "version": TOKENIZER_VERSION}

    def __call__(self, text: str) -> list[str]:
        return next(iter(self.pipe([text])))

    def pipe(self, texts: Iterable[str], batch_size: int = 256) -> Iterable[list[str]]:
        if not self.drop_space:  # whitespace tokens kept: spaCy's own documents
            for doc in _spacy_tokenizer().pipe(texts, batch_size=batch_size):
                yield self.doc_tokens(doc)
            return
        memo = _memo(self.lowercase)
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= batch_size:
                yield from memo.tokens(batch)
                batch = []
        if batch:
            yield from memo.tokens(batch)

    def doc_tokens(self, doc) -> list[str]:
        """The tokens of a spaCy ``Doc`` as this tokenizer gives them (the reference the memo is tested against)."""
        if self.lowercase:
            return [t.lower_ for t in doc if not (self.drop_space and t.is_space)]
        return [t.text for t in doc if not (self.drop_space and t.is_space)]


class ChunkMemo:
    """The tokens of each distinct whitespace-free chunk, as spaCy tokenizes it.

    :meth:`tokens` splits texts at whitespace (``str.split()``: the characters spaCy treats as
    whitespace), tokenizes the chunks it has not met yet with spaCy in one pass, and joins the
    remembered tokens of each text's chunks.

    The one place where spaCy looks across chunks: after cutting, it matches its special cases
    (``:)``, ``''``, ``e.g.``...) as token sequences over the whole text; a sequence that
    straddles two chunks is never applied, but it can block one inside a chunk. So a text in
    which a chunk ending with a token that can come first in such a sequence is followed by a
    chunk starting with a token that can come next (:class:`SpecialCaseSeams`) is tokenized by
    spaCy whole (3.4% of IMDB reviews). The chunks learnt together are joined by line breaks,
    so a whitespace token, which no special case contains, stands between any two of them (a
    second space would do the same, but spaCy matches a lone space as a special case of its own,
    building a span for each).
    Holds at most :data:`MEMO_MAX_CHUNKS` chunks (then it starts afresh), so a long-running
    server does not grow without bound.
    """

    def __init__(self, lowercase: bool):
        self.lowercase = lowercase
        self.chunks: dict[str, tuple[str, ...]] = {}
        self.open_ends: dict[str, str] = {}     # chunk -> its last token, where that can come first in a special case
        self.open_starts: dict[str, str] = {}   # chunk -> its first token, where that can come later in one
        self.whole = 0                       # texts handed to spaCy whole

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens of each text. One thread at a time (a server tokenizes from several; spaCy
        holds the interpreter lock throughout anyway, so nothing runs slower for it)."""
        with _MEMO_LOCK:
            return self._tokens(texts)

    def _tokens(self, texts: Sequence[str]) -> list[list[str]]:
        split = [text.split() for text in texts]
        chunks = self.chunks
        missing = list({c: None for parts in split for c in parts if c not in chunks})
        if missing:
            if len(chunks) + len(missing) > MEMO_MAX_CHUNKS:
                chunks.clear()
                self.open_ends.clear()
                self.open_starts.clear()
                missing = list({c: None for parts in split for c in parts})
            self._learn(missing)
        ends, starts, seams = self.open_ends, self.open_starts, _seams()
        out = []
        for text, parts in zip(texts, split):
            if any(parts[i + 1] in starts and seams.may_join(ends[c], starts[parts[i + 1]])
                   for i, c in enumerate(parts[:-1]) if c in ends):
                self.whole += 1
                out.append(self._whole(text))
                continue
            tokens: list[str] = []
            for c in parts:
                tokens += chunks[c]
            out.append(tokens)
        return out

    def _whole(self, text: str) -> list[str]:
        from spacy.attrs import IDX, LENGTH  # deferred with spaCy itself

        spans = _chunk_tokenizer()(text).to_array([IDX, LENGTH]).tolist()
        pieces = [text[a:a + n] for a, n in spans]
        if self.lowercase:   # spaCy's LOWER: str.lower of each token
            return [p.lower() for p in pieces if not p.isspace()]
        return [p for p in pieces if not p.isspace()]

    def _learn(self, missing: list[str], max_chars: int = 200_000) -> None:
        from spacy.attrs import IDX, LENGTH  # deferred with spaCy itself

        spacy_tokenizer = _chunk_tokenizer()
        seams = _seams()
        start = 0
        while start < len(missing):
            stop, size = start, 0
            while stop < len(missing) and (stop == start or size + len(missing[stop]) < max_chars):
                size += len(missing[stop]) + 1
                stop += 1
            group = missing[start:stop]
            joined = "\n".join(group)
            if self.lowercase:  # spaCy's LOWER attribute is str.lower of the token's text
                joined_lower = joined.lower()
                # position by position, unless a character lowers to several or depends on its
                # neighbours (a final capital sigma): then each token is lowered on its own
                lowered = len(joined_lower) == len(joined) and "\u03a3" not in joined
            starts = np.cumsum([0] + [len(c) + 1 for c in group]).tolist()   # chunk k: [starts[k], starts[k+1] - 1)
            found: list[list[str]] = [[] for _ in group]
            edges: list[list[str]] = [[] for _ in group]   # first and last token, as written
            k = 0
            for a, n in spacy_tokenizer(joined).to_array([IDX, LENGTH]).tolist():
                while a >= starts[k + 1]:
                    k += 1
                if a >= starts[k + 1] - 1:   # the line break between two chunks
                    continue
                text = joined[a:a + n]
                if not self.lowercase:
                    found[k].append(text)
                elif lowered:
                    found[k].append(joined_lower[a:a + n])
                else:
                    found[k].append(text.lower())
                if not edges[k]:
                    edges[k] = [text, text]
                edges[k][1] = text
            for c, tokens, edge in zip(group, found, edges):
                self.chunks[c] = tuple(tokens)
                if edge and edge[1] in seams.lefts:
                    self.open_ends[c] = edge[1]
                if edge and edge[0] in seams.rights:
                    self.open_starts[c] = edge[0]
            start = stop


class SpecialCaseSeams:
    """The tokens that can stand on either side of a chunk boundary inside a special case.

    spaCy matches a special case whose string its prefix, suffix or infix rules would cut
    (``:)`` -> ``:`` ``)``) as that sequence of tokens, over the whole text. For such a match
    to straddle two chunks, the last token spaCy cut from the first chunk must be a non-final
    token of the sequence (:attr:`lefts`) and the first of the next chunk a non-initial one
    (:attr:`rights`). Where a chunk's own tokens are a special case's output, spaCy's cut
    beneath them may differ, so those outputs join both sets. The sequences are the special
    cases cut by the same rules without special cases: a superset of spaCy's own list, which is
    not public.
    """

    def __init__(self, spacy_tokenizer):
        from spacy.tokenizer import Tokenizer as SpacyTokenizer  # deferred with spaCy itself

        t = spacy_tokenizer
        bare = SpacyTokenizer(t.vocab, rules={}, prefix_search=t.prefix_search, suffix_search=t.suffix_search,
                              infix_finditer=t.infix_finditer, token_match=t.token_match, url_match=t.url_match)
        cut = {rule: [x.text for x in bare(rule) if not x.is_space] for rule in t.rules}
        self.pairs = {(a, b) for pieces in cut.values() for a, b in zip(pieces, pieces[1:])}
        # A special case spaCy applied inside a chunk shows its own tokens; beneath its last (first)
        # one the cut had the rule's last (first) piece, which is what a straddling match would see.
        self.under_end: dict[str, set] = {}
        self.under_start: dict[str, set] = {}
        lefts, rights = {a for a, _ in self.pairs}, {b for _, b in self.pairs}
        for rule, pieces in cut.items():
            if len(pieces) > 1 or rule in lefts or rule in rights:   # spaCy may apply it by matching
                outputs = [x.text for x in t(rule) if not x.is_space]
                if outputs and outputs != pieces:
                    self.under_end.setdefault(outputs[-1], set()).add(pieces[-1])
                    self.under_start.setdefault(outputs[0], set()).add(pieces[0])
        self.lefts = lefts | set(self.under_end)
        self.rights = rights | set(self.under_start)
        self._joins: dict[tuple[str, str], bool] = {}   # answers so far (keys are lefts x rights: bounded)

    def may_join(self, last: str, first: str) -> bool:
        """Whether a chunk ending with token ``last`` and the next starting with ``first`` can lie in one match."""
        known = self._joins.get((last, first))
        if known is None:
            known = self._joins[(last, first)] = any(
                (a, b) in self.pairs for a in self.under_end.get(last, set()) | {last}
                for b in self.under_start.get(first, set()) | {first})
        return known


_SEAMS = None


def prepare(tokenizer: Tokenizer) -> None:
    """Build what ``tokenizer`` will use (spaCy's rules, the chunk memo's seams) now, e.g. before forking workers."""
    if tokenizer.drop_space:
        _seams()
    else:
        _spacy_tokenizer()


def _seams() -> SpecialCaseSeams:
    global _SEAMS
    if _SEAMS is None:
        _SEAMS = SpecialCaseSeams(_chunk_tokenizer())
    return _SEAMS


MEMO_MAX_CHUNKS = 1_000_000   # the 50,000 IMDB train and test reviews hold 412,584 distinct chunks
_MEMOS: dict[bool, ChunkMemo] = {}
_MEMO_LOCK = threading.Lock()


def _fresh_lock_in_child() -> None:
    """A process forked while another thread tokenized would inherit the lock held, forever."""
    global _MEMO_LOCK
    _MEMO_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock_in_child)


def _memo(lowercase: bool) -> ChunkMemo:
    memo = _MEMOS.get(lowercase)
    if memo is None:
        memo = _MEMOS[lowercase] = ChunkMemo(lowercase)
    return memo


_SPACY = None


def _spacy_tokenizer():
    global _SPACY  # one tokenizer per process; building it costs ~0.1 s
    if _SPACY is None:
        import spacy  # deferred: spaCy is slow to import, only for tokenizing

        _SPACY = spacy.blank("en").tokenizer
    return _SPACY


_CHUNK_SPACY = None


def _chunk_tokenizer():
    """A second spaCy English tokenizer, for :class:`ChunkMemo`, that computes no lexical attributes.

    spaCy makes a lexeme for every new string and computes its attributes (shape, ``like_num``,
    ``like_url``, ...) in Python: most of its time on new words, for values a tokenizer never
    reads (tokenizing uses the prefix, suffix and infix rules and the special cases only).
    """
    global _CHUNK_SPACY
    if _CHUNK_SPACY is None:
        import spacy  # deferred: spaCy is slow to import, only for tokenizing

        nlp = spacy.blank("en")
        nlp.vocab.lex_attr_getters = {}
        _CHUNK_SPACY = nlp.tokenizer
    return _CHUNK_SPACY


def import_spacy_without_torch() -> None:
    """Import spaCy while ``import torch`` fails, if neither is loaded yet (only ``rnnlab predict``'s
    torch-free path calls this).

    spaCy imports thinc, whose ``thinc.compat`` imports torch when it can, for neural layers a
    tokenizer never uses: that alone costs ~2 s of a one-text prediction's start-up. Hidden from
    it, thinc records that torch is absent (for the rest of this process, which is why a notebook's
    ``import rnnlab`` never does this) and spaCy's tokenizer works exactly the same.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import spacy  # noqa: F401  deferred: this function exists to import it this way
    except ImportError:
        pass  # a spaCy that needs torch after all: the tokenizer imports it the usual way (slower, same tokens)
    finally:
        del sys.modules["torch"]


def tokenize(texts: Sequence[str] | str, tokenizer: Tokenizer | None = None) -> list:
    """Tokens of one text (a list of strings) or of many (a list of lists)."""
    tokenizer = tokenizer or Tokenizer()
    if isinstance(texts, str):
        return tokenizer(texts)
    return list(tokenizer.pipe(texts))


@dataclass
class TokenizedCorpus:
    """Tokenized texts as ids into ``table``: text ``i`` is ``ids[offsets[i]:offsets[i+1]]``."""

    table: list[str]        # distinct tokens, first occurrence first
    ids: np.ndarray         # (N_tokens,) int32, indices into table
    offsets: np.ndarray     # (N_texts + 1,) int64

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def tokens(self, i: int) -> list[str]:
        return [self.table[j] for j in self.ids[self.offsets[i]:self.offsets[i + 1]]]

    def counts(self) -> np.ndarray:
        """Frequency of each table entry over the whole corpus."""
        return np.bincount(self.ids, minlength=len(self.table))

    def encode(self, vocab) -> list[np.ndarray]:
        """Each text as an int64 array of ``vocab`` indices (unknown tokens -> ``<unk>``)."""
        lut = np.array([vocab.stoi.get(t, vocab.unk_index) for t in self.table], dtype=np.int64)
        flat = lut[self.ids] if len(self.ids) else np.zeros(0, dtype=np.int64)
        return np.split(flat, self.offsets[1:-1])


# Below this many characters a corpus is tokenized in this process (~380 IMDB reviews, ~0.4 s of
# spaCy): starting and stopping two workers took 30-50 ms (measured at load 3.6), and each worker
# warms its own spaCy cache (~15% more tokenizing CPU on 5,000 reviews), which small inputs never repay.
POOL_MIN_CHARS = 500_000


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle; a worker finishes its chunk and is shut down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _tokenize_chunk(args: tuple[list[str], dict]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Worker: tokenize a chunk into a local table + ids + lengths (cheap to send back)."""
    texts, settings = args
    tok = Tokenizer(lowercase=settings["lowercase"], drop_space=settings["drop_space"])
    table: dict[str, int] = {}
    ids: list[int] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for i, tokens in enumerate(tok.pipe(texts)):
        for t in tokens:
            ids.append(table.setdefault(t, len(table)))
        lengths[i] = len(tokens)
    return list(table), np.asarray(ids, dtype=np.int32), lengths


def _chunk_corpus(result) -> TokenizedCorpus:
    table, ids, lengths = result
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenizedCorpus(table, ids, offsets)


def tokenize_chunks(
    texts: Sequence[str],
    tokenizer: Tokenizer | None = None,
    n_process: int | None = None,
    chunk_size: int = 256,
) -> Iterator[TokenizedCorpus]:
    """``texts`` tokenized in chunks of ``chunk_size``, yielded in order as soon as each is done.

    Chunk ``i`` covers ``texts[i * chunk_size:(i + 1) * chunk_size]``; its table is its own.
    With ``n_process > 1`` (default: all cores) and at least :data:`POOL_MIN_CHARS` characters,
    worker processes tokenize ahead while the caller works on finished chunks (the overlap
    that batch prediction uses); smaller inputs are tokenized here, with no process started.
    A worker's error is raised here; when the caller stops early (an error, Ctrl-C, ``close()``),
    queued chunks are cancelled and the workers are shut down before this returns (workers
    ignore SIGINT, so a Ctrl-C is handled once, by the caller, and no child is left behind).
    """
    tokenizer = tokenizer or Tokenizer()
    settings = {"lowercase": tokenizer.lowercase, "drop_space": tokenizer.drop_space}
    n_process = n_process or os.cpu_count() or 1
    chunks = [(list(texts[a:a + chunk_size]), settings) for a in range(0, len(texts), chunk_size)]
    if n_process == 1 or len(chunks) < 2 or sum(map(len, texts)) < POOL_MIN_CHARS:
        for chunk in chunks:
            yield _chunk_corpus(_tokenize_chunk(chunk))
        return
    prepare(tokenizer)  # built once here; forked workers inherit it instead of building their own
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    pool = ProcessPoolExecutor(min(n_process, len(chunks)), mp_context=ctx, initializer=_ignore_sigint)
    stalled = False
    try:
        futures = [pool.submit(_tokenize_chunk, chunk) for chunk in chunks]
        for i, future in enumerate(futures):
            try:
                result = future.result(timeout=_stall_seconds(chunks[i][0]))
            except BrokenProcessPool:
                raise RnnlabError("a tokenizer worker process died (out of memory, or killed); "
                                  "try again, or with fewer processes") from None
            except FuturesTimeout:
                # A forked worker can block forever on a lock another thread of this process held
                # when it forked (seen twice, never reproduced): stop the workers, finish here.
                stalled = True
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.kill()
                print(f"warning: the tokenizer worker processes stopped answering (no chunk in "
                      f"{_stall_seconds(chunks[i][0]):.0f} s); tokenizing the rest in this process",
                      file=sys.stderr, flush=True)
                for chunk in chunks[i:]:
                    yield _chunk_corpus(_tokenize_chunk(chunk))
                return
            yield _chunk_corpus(result)
    finally:
        pool.shutdown(wait=not stalled, cancel_futures=True)


STALL_SECONDS = 60.0        # a chunk not back after this long, plus its share below, means the workers hang
STALL_CHARS_PER_SECOND = 100_000   # spaCy tokenizes ~1.3 M characters a second; allow for a very busy machine


def _stall_seconds(texts: Sequence[str]) -> float:
    """How long to wait for one chunk before the workers count as stuck."""
    return STALL_SECONDS + sum(map(len, texts)) / STALL_CHARS_PER_SECOND


def tokenize_corpus(
    texts: Sequence[str],
    tokenizer: Tokenizer | None = None,
    n_process: int | None = None,
    progress: bool = False,
) -> TokenizedCorpus:
    """Tokenize ``texts`` in ``n_process`` processes (default: all cores) into a corpus.

    The chunks of :func:`tokenize_chunks` are merged into one table (first occurrence first).
    """
    n_process = n_process or os.cpu_count() or 1
    chunk_size = max(500, -(-len(texts) // (n_process * 8))) if n_process > 1 else max(1, len(texts))
    table: dict[str, int] = {}
    parts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    with progress_bar("tokenizing", total=len(texts), unit="texts", enabled=progress) as advance:
        for chunk in tokenize_chunks(texts, tokenizer, n_process=n_process, chunk_size=chunk_size):
            lut = np.array([table.setdefault(t, len(table)) for t in chunk.table], dtype=np.int32)
            parts.append(lut[chunk.ids] if len(chunk.ids) else chunk.ids)
            lengths.append(chunk.lengths())
            advance(len(chunk))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=offsets[1:])
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    return TokenizedCorpus(list(table), ids.astype(np.int32), offsets)


def corpus_key(texts: Sequence[str], tokenizer: Tokenizer) -> str:
    """SHA-256 over the tokenizer settings and every text (length-prefixed, so no collisions by joining)."""
    h = hashlib.sha256(json.dumps(tokenizer.settings(), sort_keys=True).encode())
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()[:32]


def tokenize_cached(
    texts: Sequence[str],
    tokenizer: Tokenizer | None = None,
    cache_root: str | Path | None = None,
    n_process: int | None = None,
    progress: bool = False,
) -> tuple[TokenizedCorpus, bool]:
    """Tokenize once, then load from the cache. Returns ``(corpus, was_cached)``."""
    tokenizer = tokenizer or Tokenizer()
    root = Path(cache_root) if cache_root is not None else cache_dir() / "tokens"
    entry = root / corpus_key(texts, tokenizer)
    if (entry / "COMPLETE").exists():
        try:
            return load_corpus(entry), True
        except (OSError, ValueError, KeyError):
            shutil.rmtree(entry, ignore_errors=True)  # damaged entry: rebuild it
    corpus = tokenize_corpus(texts, tokenizer, n_process=n_process, progress=progress)
    try:
        save_corpus(corpus, entry)
    except OSError as exc:  # the cache is an optimisation: a full or read-only cache is a warning, not a failure

        print(f"warning: could not write the token cache {entry.parent} ({exc.strerror or exc}); "
              "continuing without it", file=sys.stderr)
    return corpus, False


def save_corpus(corpus: TokenizedCorpus, entry: Path) -> None:
    """Write atomically: a temporary folder renamed into place, marked COMPLETE last."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
    try:
        from rnnlab.runs import umask_mode  # deferred: rnnlab.runs imports torch, which tokenizing never needs

        os.chmod(tmp, umask_mode(0o777))  # mkdtemp makes 0700: honour the umask like mkdir does
        np.save(tmp / "ids.npy", corpus.ids)
        np.save(tmp / "offsets.npy", corpus.offsets)
        (tmp / "table.json").write_text(json.dumps(corpus.table, ensure_ascii=False), encoding="utf-8")
        (tmp / "COMPLETE").write_text("ok\n")
        if entry.exists():
            shutil.rmtree(entry)
        os.replace(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_corpus(entry: Path) -> TokenizedCorpus:
    if not (entry / "COMPLETE").exists():
        raise RnnlabError(f"{entry}: incomplete token cache entry")
    table = json.loads((entry / "table.json").read_text(encoding="utf-8"))
    ids = np.load(entry / "ids.npy")
    offsets = np.load(entry / "offsets.npy")
    if len(offsets) == 0 or offsets[-1] != len(ids):
        raise ValueError("offsets do not match ids")
    return TokenizedCorpus(table, ids, offsets)
