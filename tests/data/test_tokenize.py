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


# -- the chunked tokenizer and its worker pool -------------------------------------------------
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import given, settings, strategies as st

from rnnlab.data import tokenize as tokenize_mod
from rnnlab.data.tokenize import tokenize_chunks
from rnnlab.errors import RnnlabError

TRICKY = ["", "   ", "\n\n", "Hello  World\n ok", "I didn't LIKE it,  really!", "ÉCOLE café naïve ÆØÅ",
          "emoji 🎬🍿 and <br /><br /> tags", "U.S.A. e-mail: a@b.com http://x.org/?q=1 (wow)...", "tab\tsep",
          "İstanbul ΣΊΣΥΦΟΣ ß"]


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("drop_space", [True, False])
def test_chunks_hold_exactly_the_tokenizers_tokens(lowercase, drop_space):
    tok = Tokenizer(lowercase=lowercase, drop_space=drop_space)
    chunks = list(tokenize_chunks(TRICKY, tok, n_process=1, chunk_size=3))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    got = [c.tokens(i) for c in chunks for i in range(len(c))]
    assert got == [tok(t) for t in TRICKY]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=6))
def test_corpus_tokens_equal_the_tokenizer_on_any_text(texts):
    corpus = tokenize_corpus(texts, n_process=1)
    assert [corpus.tokens(i) for i in range(len(texts))] == tokenize(texts)


def _die_on_second_chunk(args):
    texts, settings = args
    if texts and texts[0].startswith("chunk 1 "):
        # a worker killed mid-chunk (out of memory, kill -9), once chunk 0 is back: a dead worker
        # breaks every chunk still in flight, so without the pause chunk 0 may be lost with it
        time.sleep(1.0)
        os._exit(3)
    return _REAL_CHUNK(args)


def _fail_on_second_chunk(args):
    texts, _ = args
    if texts and texts[0].startswith("chunk 1 "):
        raise ValueError("bad text in chunk 1")
    return _REAL_CHUNK(args)


_REAL_CHUNK = tokenize_mod._tokenize_chunk


def _chunked_texts(n_chunks=6, size=4):
    return [f"chunk {c} text {i} words" for c in range(n_chunks) for i in range(size)]


@pytest.mark.parametrize("worker, error", [(_fail_on_second_chunk, ValueError),
                                           (_die_on_second_chunk, RnnlabError)])
def test_a_worker_error_is_raised_here_and_no_worker_is_left(monkeypatch, worker, error):
    monkeypatch.setattr(tokenize_mod, "POOL_MIN_CHARS", 0)
    monkeypatch.setattr(tokenize_mod, "_tokenize_chunk", worker)
    got = []
    start = time.monotonic()
    with pytest.raises(error, match="chunk 1|worker process died"):
        for chunk in tokenize_chunks(_chunked_texts(), n_process=2, chunk_size=4):
            got.append(chunk.tokens(0))
    assert got == [["chunk", "0", "text", "0", "words"]]  # chunks before the failing one arrived, in order
    assert multiprocessing.active_children() == []
    assert time.monotonic() - start < 30


def test_stopping_early_shuts_the_workers_down(monkeypatch):
    monkeypatch.setattr(tokenize_mod, "POOL_MIN_CHARS", 0)
    stream = tokenize_chunks(_chunked_texts(40), n_process=2, chunk_size=4)
    with pytest.raises(KeyboardInterrupt):
        for i, _ in enumerate(stream):
            if i == 2:
                raise KeyboardInterrupt  # Ctrl-C while the caller works on a chunk
    stream.close()
    assert multiprocessing.active_children() == []


def _hang_in_a_worker_on_second_chunk(args):
    texts, _ = args
    if texts and texts[0].startswith("chunk 1 ") and multiprocessing.parent_process() is not None:
        time.sleep(3600)  # a worker blocked for good (e.g. on a lock another thread held at fork time)
    return _REAL_CHUNK(args)


def test_stuck_workers_are_stopped_and_the_rest_is_tokenized_here(monkeypatch, capsys):
    monkeypatch.setattr(tokenize_mod, "POOL_MIN_CHARS", 0)
    monkeypatch.setattr(tokenize_mod, "STALL_SECONDS", 2.0)
    monkeypatch.setattr(tokenize_mod, "_tokenize_chunk", _hang_in_a_worker_on_second_chunk)
    texts = _chunked_texts()
    start = time.monotonic()
    got = [c.tokens(i) for c in tokenize_chunks(texts, n_process=2, chunk_size=4) for i in range(len(c))]
    assert got == [t.split() for t in texts]               # every text, in order, nothing lost
    assert time.monotonic() - start < 30
    assert "warning: the tokenizer worker processes stopped answering" in capsys.readouterr().err
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert multiprocessing.active_children() == []        # the stuck workers were stopped, not left behind


def test_small_inputs_start_no_process(monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("a worker pool was started for a small input")

    monkeypatch.setattr(tokenize_mod, "ProcessPoolExecutor", no_pool)
    chunks = list(tokenize_chunks(_chunked_texts(), n_process=2, chunk_size=4))
    assert sum(len(c) for c in chunks) == 24


def test_ctrl_c_in_a_terminal_stops_parent_and_workers(tmp_path):
    """SIGINT to the whole process group (what a terminal sends): the parent exits, workers are gone."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing, sys, time
        from rnnlab.data.tokenize import tokenize_chunks
        texts = ["some words to tokenize here, again and again. " * 40] * 4000  # ~7 MB: the pool starts
        for i, chunk in enumerate(tokenize_chunks(texts, n_process=2, chunk_size=16)):
            if i == 0:
                print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
            time.sleep(0.05)
        print("finished", flush=True)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    # Ctrl-C's default action, as in a terminal's foreground job: a suite started in the background
    # by a non-interactive shell inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("the parent hung after Ctrl-C")
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert err.count("Traceback") == 1  # the parent's only: workers ignore SIGINT and exit quietly
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as gone)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
