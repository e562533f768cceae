import numpy as np

from rnnlab.data.tokenize import Tokenizer, corpus_key, tokenize, tokenize_cached, tokenize_corpus
from rnnlab.data.vocab import build_vocab, build_vocab_from_corpus


def test_spacy_rules_lower_cased_without_whitespace_tokens():
    assert tokenize("I didn't LIKE it,  really!") == ["i", "did", "n't", "like", "it", ",", "really", "!"]
    assert Tokenizer(lowercase=False)("Don't") == ["Do", "n't"]


def test_parallel_corpus_equals_serial_tokenization(sample_test):
    from rnnlab.data.tsv import read_tsv

    texts = [e.text for e in read_tsv(sample_test)][:600]
    corpus = tokenize_corpus(texts, n_process=2)
    assert len(corpus) == 600
    serial = tokenize(texts)
    for i in (0, 1, 299, 599):
        assert corpus.tokens(i) == serial[i]
    # the table is in first-occurrence order, so vocabularies agree with the token-list builder
    assert build_vocab_from_corpus(corpus) == build_vocab(serial)


def test_cache_is_written_once_and_reused(tmp_path):
    texts = ["A good film.", "A bad film!", "good good"]
    c1, cached1 = tokenize_cached(texts, cache_root=tmp_path)
    c2, cached2 = tokenize_cached(texts, cache_root=tmp_path)
    assert (cached1, cached2) == (False, True)
    assert c1.table == c2.table and np.array_equal(c1.ids, c2.ids) and np.array_equal(c1.offsets, c2.offsets)
    _, cached3 = tokenize_cached(texts + ["new"], cache_root=tmp_path)
    assert cached3 is False


def test_key_depends_on_content_and_settings():
    t = Tokenizer()
    assert corpus_key(["ab", "c"], t) != corpus_key(["a", "bc"], t)
    assert corpus_key(["ab"], t) != corpus_key(["ab"], Tokenizer(lowercase=False))


def test_damaged_cache_entry_is_rebuilt(tmp_path):
    texts = ["one two", "three"]
    c1, _ = tokenize_cached(texts, cache_root=tmp_path)
    entry = next(p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith("."))
    (entry / "ids.npy").write_bytes(b"garbage")
    c2, cached = tokenize_cached(texts, cache_root=tmp_path)
    assert cached is False and c2.tokens(0) == ["one", "two"]


def test_encode_maps_unknowns_to_unk():
    corpus = tokenize_corpus(["a b c", "c d"], n_process=1)
    vocab = build_vocab([["a", "c"]])
    ids = corpus.encode(vocab)
    assert [a.tolist() for a in ids] == [[vocab["a"], 0, vocab["c"]], [vocab["c"], 0]]
