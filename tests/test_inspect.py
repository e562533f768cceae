"""Batch prediction (inspect.class_probabilities / predict_run): the fast path against the reference.

The reference is each text encoded alone and run alone through the model's packed path; the fast
path tokenizes in chunks (optionally in worker processes), sorts windows of texts by length into
state-budgeted batches and reads one-layer models direction by direction. Same numbers within 1e-5,
in the input order.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab import inspect
from rnnlab.config import ModelConfig
from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.task import Task
from rnnlab.data.tokenize import tokenize
from rnnlab.data.vocab import build_vocab
from rnnlab.models import build_model

WORDS = "the a film plot actor good bad awful great dull fine , . ! ? movie story scene end".split()


def make_texts(n: int, seed: int = 0, max_words: int = 60) -> list[str]:
    """Varied lengths (1..max_words words), a few longer than any max_length used here, and texts
    that are empty after tokenization ("" is not allowed by readers, but whitespace-only is)."""
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, max_words)))) for _ in range(n)]
    texts[3] = "   "
    texts[7] = " ".join(["great"] * 300)
    texts[11] = "Unknown WORDS only: zyzzyva qwerty"
    return texts


def make_pipeline(k: int = 2, max_length: int | None = 40) -> TextPipeline:
    vocab = build_vocab([tokenize(" ".join(WORDS))])
    labels = ("neg", "pos") if k == 2 else tuple(f"c{i}" for i in range(k))
    return TextPipeline(vocab, Task(labels), max_length)


def make_model(pipeline: TextPipeline, seed: int = 0, **config) -> torch.nn.Module:
    torch.manual_seed(seed)
    cfg = ModelConfig(**{"model": "lstm", "recurrent_dim": 7, "hidden_dim": 5, "embedding_dim": 6,
                         "num_classes": pipeline.task.k, **config})
    model = build_model(cfg, pipeline.vocab, torch.randn(len(pipeline.vocab), 6))
    for p in model.parameters():  # larger weights than the default init, so the states saturate and differ
        torch.nn.init.uniform_(p, -0.8, 0.8)
    return model.eval()


def reference(model, pipeline: TextPipeline, texts) -> np.ndarray:
    """Each text alone, through the packed reference path (recurrent) or the model's forward."""
    rows = []
    was = getattr(model, "cpu_padded", None)
    if was is not None:
        model.cpu_padded = False
    try:
        with torch.no_grad():
            for t in texts:
                ids = torch.tensor([pipeline.encode(t)])
                extra = torch.tensor([ids.shape[1]]) if model.family != "boe" else torch.tensor([0])
                text = ids if model.family != "boe" else ids[0]
                rows.append(pipeline.task.probabilities(model.forward_logits(text, extra))[0].double().numpy())
    finally:
        if was is not None:
            model.cpu_padded = was
    return np.stack(rows)


CONFIGS = {
    "lstm-final": dict(),
    "lstm-maxmean": dict(pooling="final+max+mean"),
    "bilstm-maxmean": dict(bidirectional=True, pooling="final+max+mean"),
    "bilstm-final": dict(bidirectional=True),
    "bigru-maxmean": dict(model="gru", bidirectional=True, pooling="final+max+mean"),
    "birnn-relu": dict(model="rnn", activation="relu", bidirectional=True, pooling="final+max+mean"),
    "bilstm-2-layers": dict(bidirectional=True, layers=2, pooling="final+max+mean"),
    "boe": dict(model="boe"),
}


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("k", [2, 3])
def test_batch_probabilities_equal_each_text_alone_in_input_order(name, k, monkeypatch):
    # small windows and a small state budget: several windows, and batches of one row up to many
    monkeypatch.setattr(inspect, "WINDOW", 37)
    monkeypatch.setattr(inspect, "STATE_BUDGET", 7 * 2 * 40 * 3)
    pipeline = make_pipeline(k)
    model = make_model(pipeline, **CONFIGS[name])
    texts = make_texts(120)
    fast = inspect.class_probabilities(model, pipeline, texts, batch_size=16)
    assert fast.shape == (120, k)
    np.testing.assert_allclose(fast, reference(model, pipeline, texts), atol=1e-5, rtol=0)
    np.testing.assert_allclose(fast.sum(axis=1), 1.0, atol=1e-6)


def test_sorted_batches_equal_unsorted_ones_and_a_shuffled_input_gives_shuffled_rows():
    pipeline = make_pipeline(max_length=None)
    model = make_model(pipeline, bidirectional=True, pooling="final+max+mean")
    texts = make_texts(90, seed=3)
    fast = inspect.class_probabilities(model, pipeline, texts)
    with torch.no_grad():  # the model's own forward over one unsorted padded batch
        from rnnlab.data.batching import encoded_collate

        _, text, lengths = encoded_collate("recurrent", pipeline.vocab.pad_index)(
            [(np.asarray(pipeline.encode(t)), 0) for t in texts])
        unsorted = pipeline.task.probabilities(model.forward_logits(text, lengths)).double().numpy()
    np.testing.assert_allclose(fast, unsorted, atol=1e-5, rtol=0)
    perm = np.random.default_rng(0).permutation(len(texts))
    shuffled = inspect.class_probabilities(model, pipeline, [texts[i] for i in perm])
    np.testing.assert_allclose(shuffled, fast[perm], atol=1e-6, rtol=0)


def test_worker_pool_gives_the_same_probabilities_as_one_process(monkeypatch):
    from rnnlab.data import tokenize as tokenize_mod

    monkeypatch.setattr(tokenize_mod, "POOL_MIN_CHARS", 0)  # start workers even for this small input
    monkeypatch.setattr(inspect, "WINDOW", 50)
    pipeline = make_pipeline(k=3)
    model = make_model(pipeline, bidirectional=True, pooling="final+max+mean")
    texts = make_texts(700, seed=5)
    pooled = inspect.class_probabilities(model, pipeline, texts, n_process=2)
    alone = inspect.class_probabilities(model, pipeline, texts, n_process=1)
    np.testing.assert_array_equal(pooled, alone)
    import multiprocessing

    assert multiprocessing.active_children() == []


def test_predict_run_counts_the_texts_cut_at_max_length(tmp_path):
    class Run:  # what predict_run reads of a run
        pass

    run = Run()
    run.pipeline = make_pipeline(max_length=40)
    run.model = make_model(run.pipeline)
    texts = make_texts(50, seed=2)
    df = inspect.predict_run(run, texts)
    assert df.attrs["cut"] == sum(run.pipeline.was_cut(t) for t in texts) > 0
    assert df["text"].tolist() == texts
    np.testing.assert_allclose(df["p(pos)"], reference(run.model, run.pipeline, texts)[:, 1], atol=1e-5)


def test_length_batches_keep_the_state_budget_and_cover_every_text_once(monkeypatch):
    monkeypatch.setattr(inspect, "STATE_BUDGET", 1000)
    lengths = np.sort(np.random.default_rng(1).integers(1, 400, size=300))
    batches = inspect._length_batches(lengths, 64, width=10)
    covered = np.concatenate([np.arange(300)[b] for b in batches])
    assert covered.tolist() == list(range(300))
    for b in batches:
        rows = b.stop - b.start
        assert rows <= 64 and (rows == 1 or rows * lengths[b.stop - 1] * 10 <= 1000)
    assert [b.stop - b.start for b in inspect._length_batches(lengths, 64, width=None)][:4] == [64] * 4
