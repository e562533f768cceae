"""The tokenizer's chunk memo gives exactly spaCy's tokens (a spaCy ``Doc`` of the whole text)."""

import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from rnnlab.data import tokenize as tokenize_mod
from rnnlab.data.tokenize import Tokenizer, _spacy_tokenizer

# Texts where a special case straddles a chunk boundary and blocks one inside a chunk: spaCy's
# tokens differ from its tokens of each chunk on its own (found by the fuzz below, then shrunk).
STRADDLED = ["' ''Ms.", "must've:o )", "( :3pm", "' 'd!!", "2) :O((("]


def reference(tokenizer: Tokenizer, texts):
    """spaCy's own tokens: a Doc of each whole text."""
    return [tokenizer.doc_tokens(_spacy_tokenizer()(t)) for t in texts]


def per_chunk(tokenizer: Tokenizer, text):
    """The tokens of each whitespace-free chunk on its own, joined (what the memo may not assume)."""
    return [x for chunk in text.split() for x in tokenizer.doc_tokens(_spacy_tokenizer()(chunk))]


@pytest.mark.parametrize("lowercase", [True, False])
def test_straddled_special_cases_give_spacys_tokens(lowercase):
    tok = Tokenizer(lowercase=lowercase)
    for text in STRADDLED:
        assert per_chunk(tok, text) != reference(tok, [text])[0], text   # the case is real
        assert tok(text) == reference(tok, [text])[0], text
    assert Tokenizer(lowercase=False)("2) :O(((") == ["2", ")", ":", "O", "(", "(", "("]


def _special_case_texts(n: int, seed: int) -> list[str]:
    """Texts made of spaCy's special cases and tricky words, joined by single spaces, nothing or other whitespace."""
    rng = random.Random(seed)
    rules = sorted(_spacy_tokenizer().rules)
    words = ["movie", "I", "it", "a", "The", "10", "s", "d", "o", "O", "and", "/", "or", "'", "''", '"', "(", ")",
             ":", ".", "-", "e.g.", "U.S.", "ΟΔΟΣ", "İstanbul", "ß", "don't", "'s", "10km", "3pm", "co-op",
             "http://x.org/a?b=c", "x@y.com", "...", "!!"]
    seps = [" "] * 6 + ["", "", "  ", "\n", "\t", "\xa0", " \n "]
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 10)):
            parts += [rng.choice(rules) if rng.random() < 0.5 else rng.choice(words), rng.choice(seps)]
        texts.append("".join(parts[:-1]) if rng.random() < 0.8 else " " + "".join(parts))
    return texts


@pytest.mark.parametrize("lowercase", [True, False])
def test_texts_made_of_special_cases_give_spacys_tokens(lowercase):
    texts = _special_case_texts(4000, seed=lowercase)
    tok = Tokenizer(lowercase=lowercase)
    assert list(tok.pipe(texts)) == reference(tok, texts)
    assert tok.pipe(texts[:1]) is not None and tokenize_mod._memo(lowercase).whole > 0   # the fallback ran


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aAoOdDsSΣς:;()'\"./-_!?3 \n\t")) | st.characters(exclude_categories=("Cs",)),
                        max_size=30), min_size=1, max_size=5))
def test_any_text_gives_spacys_tokens(texts):
    for lowercase in (True, False):
        tok = Tokenizer(lowercase=lowercase)
        assert list(tok.pipe(texts)) == reference(tok, texts)


def test_real_texts_give_spacys_tokens(sample_train, sample_test):
    from rnnlab.data.tsv import read_tsv

    texts = [e.text for path in (sample_train, sample_test) for e in read_tsv(path)]
    sst = sample_train.parent.parent / "sst5" / "train.jsonl"
    if sst.exists():
        texts += [json.loads(line)["text"] for line in sst.read_text(encoding="utf-8").splitlines()[:3000]]
    tok = Tokenizer()
    assert list(tok.pipe(texts)) == reference(tok, texts)


def test_the_memo_starts_afresh_at_its_cap(monkeypatch, sample_test):
    from rnnlab.data.tsv import read_tsv

    memo = tokenize_mod.ChunkMemo(lowercase=True)
    monkeypatch.setattr(tokenize_mod, "_MEMOS", {True: memo})
    monkeypatch.setattr(tokenize_mod, "MEMO_MAX_CHUNKS", 3000)
    texts = [e.text for e in read_tsv(sample_test)][:300]
    tok = Tokenizer()
    assert list(tok.pipe(texts, batch_size=20)) == reference(tok, texts)
    assert 0 < len(memo.chunks) <= 3000
    assert set(memo.open_ends) <= set(memo.chunks) and set(memo.open_starts) <= set(memo.chunks)


@pytest.mark.slow
def test_every_imdb_review_gives_spacys_tokens(imdb_archive, tmp_path):
    from rnnlab.data.imdb import import_imdb
    from rnnlab.data.tsv import read_tsv

    splits = import_imdb(imdb_archive, cache_root=tmp_path, progress=False)
    texts = [e.text for path in (splits.train, splits.test) for e in read_tsv(path)]
    tok = Tokenizer()
    assert list(tok.pipe(texts)) == reference(tok, texts)


def test_threads_share_the_memo_safely(monkeypatch, sample_test):
    """Several threads tokenizing at once (a server), the memo starting afresh meanwhile: spaCy's tokens."""
    from concurrent.futures import ThreadPoolExecutor

    from rnnlab.data.tsv import read_tsv

    monkeypatch.setattr(tokenize_mod, "_MEMOS", {True: tokenize_mod.ChunkMemo(lowercase=True)})
    monkeypatch.setattr(tokenize_mod, "MEMO_MAX_CHUNKS", 2000)
    texts = [e.text for e in read_tsv(sample_test)][:240]
    tok = Tokenizer()
    expected = reference(tok, texts)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: list(tok.pipe(texts[i::6], batch_size=5)), range(6)))
    for i, got in enumerate(results):
        assert got == expected[i::6]


def test_a_process_forked_while_a_thread_holds_the_lock_can_tokenize():
    import multiprocessing as mp

    with tokenize_mod._MEMO_LOCK:   # as if another thread were tokenizing at the fork
        ctx = mp.get_context("fork")
        with ctx.Pool(1) as pool:
            assert pool.apply_async(Tokenizer(), ("Forked: fine!",)).get(timeout=20) == ["forked", ":", "fine", "!"]
