"""Per-token traces: running probabilities in one pass, and token importances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.data.vocab import Vocab
from rnnlab.inspect import predict_proba
from rnnlab.errors import RnnlabError
from rnnlab.models import RecurrentClassifier, build_model
from rnnlab.models.pooling import Pooling, pooler
from rnnlab.runs import load_run
from rnnlab.trace import (METHODS, _probabilities, gradient_input, occlusion, removal, running_probabilities,
                          supports_running, trace, trace_ids, trace_run)

WORDS = "i loved it at first , but by the end hated . a dull and wonderful film".split()
CONTRAST = "I loved it at first, but by the end I hated it"
MIRROR = "I hated it at first, but by the end I loved it"


@pytest.fixture(scope="module")
def vocab_and_vectors():
    vocab = Vocab(["<unk>", "<pad>"] + WORDS)
    g = torch.Generator().manual_seed(0)
    return vocab, torch.randn(len(vocab), 8, generator=g)


def _model(vocab_and_vectors, **kw):
    vocab, vectors = vocab_and_vectors
    torch.manual_seed(3)
    config = ModelConfig(vocab_size=len(vocab), embedding_dim=vectors.shape[1], recurrent_dim=5, hidden_dim=4, **kw)
    model = build_model(config, vocab, vectors).eval()
    with torch.no_grad():  # larger output weights: probabilities far from 0.5, so differences show
        model.output.weight.mul_(4.0)
    return model


def _ids(vocab, rng, n):
    return rng.integers(2, len(vocab), size=n).astype(np.int64)  # real tokens, no <unk>/<pad>


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("pooling", ["final", "final+max+mean"])
def test_running_probability_equals_classifying_each_prefix(vocab_and_vectors, cell, layers, pooling):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model=cell, layers=layers, dropout=0.3 if layers > 1 else 0.0, pooling=pooling)
    rng = np.random.default_rng(layers)
    texts = [_ids(vocab, rng, n) for n in (1, 7, 13)]  # different lengths in one padded batch
    running = running_probabilities(model, texts)
    for ids, probs in zip(texts, running):
        assert probs.shape == (len(ids), 2)
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-12)
        prefixes = [ids[: t + 1] for t in range(len(ids))]
        expected = _probabilities(model, prefixes, vocab.pad_index)
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-6)


def test_running_probability_matches_prediction_on_text(vocab_and_vectors):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm", layers=2)
    t = trace(model, vocab, CONTRAST)
    assert t.running is not None and len(t.running) == len(t.tokens) == 13
    expected = predict_proba(model, vocab, [" ".join(t.tokens[: i + 1]) for i in range(len(t.tokens))])
    assert t.target == "pos" and t.running_by_class["pos"] == t.running
    np.testing.assert_allclose(np.add(t.running_by_class["neg"], t.running), 1.0, atol=1e-9)
    np.testing.assert_allclose(t.running, expected, atol=1e-6)
    assert t.running[-1] == pytest.approx(t.probability, abs=1e-6)
    assert t.deltas[0] == pytest.approx(t.running[0] - 0.5)
    assert sum(t.deltas) == pytest.approx(t.probability - 0.5, abs=1e-9)


def test_running_probability_is_refused_for_bidirectional_and_bag_models(vocab_and_vectors):
    bi = _model(vocab_and_vectors, model="gru", bidirectional=True)
    boe = _model(vocab_and_vectors, model="boe")
    assert not supports_running(bi) and not supports_running(boe)
    for model in (bi, boe):
        with pytest.raises(ValueError, match="unidirectional"):
            running_probabilities(model, [np.array([2, 3])])
        assert trace(model, vocab_and_vectors[0], CONTRAST).running is None


@pytest.mark.parametrize("kw", [dict(model="lstm"), dict(model="lstm", layers=2), dict(model="gru", layers=2),
                                dict(model="rnn", layers=2), dict(model="gru", bidirectional=True, layers=2),
                                dict(model="rnn", activation="relu"), dict(model="boe"),
                                dict(model="lstm", pooling="final+max+mean"),
                                dict(model="gru", bidirectional=True, pooling="final+max+mean"),
                                # one-layer bidirectional: variants share both ends' states
                                dict(model="gru", bidirectional=True), dict(model="lstm", bidirectional=True),
                                dict(model="rnn", bidirectional=True, activation="relu")])
def test_leave_one_out_equals_classifying_each_variant(vocab_and_vectors, kw):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, **kw)
    ids = _ids(vocab, np.random.default_rng(0), 9)
    base = float(predict_proba(model, vocab, [" ".join(vocab.lookup_tokens(ids))])[0])
    assert base == pytest.approx(_probabilities(model, [ids])[0, 1], abs=1e-7)
    occ, rem = occlusion(model, ids), removal(model, ids)

    for i in range(len(ids)):
        replaced = ids.copy()
        replaced[i] = vocab.unk_index
        removed = np.delete(ids, i)
        p_rep, p_rem = _probabilities(model, [replaced, removed])[:, 1]
        assert occ[i] == pytest.approx(base - p_rep, abs=1e-6)
        assert rem[i] == pytest.approx(base - p_rem, abs=1e-6)


def test_removal_of_the_only_token_reads_as_unk(vocab_and_vectors):
    model = _model(vocab_and_vectors, model="lstm")
    ids = np.array([3])
    np.testing.assert_allclose(removal(model, ids), occlusion(model, ids), atol=1e-7)


@pytest.mark.parametrize("kw", [dict(model="lstm", layers=2), dict(model="gru", bidirectional=True),
                                dict(model="boe"), dict(model="gru", layers=2, bidirectional=True,
                                                        pooling="final+max+mean"),
                                # a GRU's gradient runs back through its hand-written backward pass
                                dict(model="gru"), dict(model="gru", layers=2, pooling="final+max+mean"),
                                dict(model="rnn", bidirectional=True, pooling="final+max+mean")])
def test_gradient_times_input_matches_autograd_through_the_model(vocab_and_vectors, kw):
    vocab, vectors = vocab_and_vectors
    model = _model(vocab_and_vectors, **kw)
    ids = np.random.default_rng(1).permutation(np.arange(2, len(vocab)))[:6]  # distinct tokens
    got = gradient_input(model, ids)
    # Reference: differentiate the model's own forward_logits with respect to its embedding table.
    weight = model.embedding.weight
    weight.requires_grad_(True)
    ids_t = torch.as_tensor(ids)
    extra = torch.tensor([0]) if kw["model"] == "boe" else torch.tensor([len(ids)])
    text = ids_t if kw["model"] == "boe" else ids_t[None]
    logit = model.forward_logits(text, extra)[0]
    (grad,) = torch.autograd.grad(logit, weight)
    weight.requires_grad_(False)
    # Each token occurs once, so its row of the table gradient is the gradient at its position.
    expected = [float(grad[i] @ vectors[i]) for i in ids]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(layers=1), dict(layers=2, bidirectional=True, pooling="final+max+mean"),
                                dict(layers=2, num_classes=3)])
def test_gru_gradient_by_layers_equals_autograd(vocab_and_vectors, kw):
    """The hand-written backward pass through each GRU layer gives autograd's gradient x input on a long text."""
    import rnnlab.trace as trace_module

    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="gru", **kw)
    ids = _ids(vocab, np.random.default_rng(12), 150)
    for target in range(model.num_classes):
        fast = trace_module._gradient_by_layers(model, ids, target)
        assert fast is not None
        with torch.enable_grad():
            emb = model.embed(torch.as_tensor(ids)).detach().requires_grad_(True)
            logits = model.head(model.document(emb[None], torch.tensor([len(ids)])))[0]
            (grad,) = torch.autograd.grad(trace_module._target_logit(model, logits, target), emb)
        expected = (grad * emb).sum(-1).detach().double().numpy()
        np.testing.assert_allclose(fast, expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(gradient_input(model, ids, target), fast, rtol=0, atol=0)
    assert trace_module._gradient_by_layers(_model(vocab_and_vectors, model="lstm"), ids, 1) is None


def test_gradient_input_does_not_touch_parameter_gradients(vocab_and_vectors):
    model = _model(vocab_and_vectors, model="lstm")
    gradient_input(model, np.array([2, 3, 4]))
    assert all(p.grad is None for p in model.parameters())


def test_trace_marks_unknown_tokens_and_truncates(vocab_and_vectors):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="gru")
    t = trace(model, vocab, "I loved zzzz film", max_length=3)
    assert t.tokens == ["i", "loved", "zzzz"] and t.known == [True, True, False] and t.truncated
    assert set(t.importance) == set(METHODS) and all(len(v) == 3 for v in t.importance.values())
    assert t.label == ("pos" if t.probability > 0.5 else "neg")


def test_trace_of_an_empty_text_has_no_tokens_but_a_probability(vocab_and_vectors):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm")
    t = trace(model, vocab, "   ")
    assert t.tokens == [] and t.running is None and 0 < t.probability < 1
    assert t.probability == pytest.approx(float(predict_proba(model, vocab, [""])[0]))


def test_trace_rejects_unknown_methods(vocab_and_vectors):
    with pytest.raises(ValueError, match="occlusion"):
        trace(_model(vocab_and_vectors, model="lstm"), vocab_and_vectors[0], "film", methods=["shap"])


def test_trace_reads_without_dropout_and_leaves_the_model_in_its_mode(vocab_and_vectors):
    model = _model(vocab_and_vectors, model="lstm", layers=2, dropout=0.5)
    expected = trace(model.eval(), vocab_and_vectors[0], CONTRAST)
    got = trace(model.train(), vocab_and_vectors[0], CONTRAST)
    assert model.training
    assert got.probability == expected.probability and got.importance == expected.importance


def test_long_review_is_traced_in_one_batch_per_method(vocab_and_vectors):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm", layers=2)
    text = " ".join(np.random.default_rng(5).choice(WORDS, size=500))
    t = trace(model, vocab, text)
    assert len(t.tokens) == 500 and len(t.running) == 500
    assert all(np.isfinite(v).all() for v in t.importance.values())


@pytest.mark.parametrize("name", ["lstm", "bigru", "boe"])
def test_trace_run_uses_the_runs_tokenizer_vocabulary_and_length(trained_runs, name):
    run = load_run(trained_runs[name])
    t = trace_run(run, MIRROR + " " + "really " * 300)
    assert t.truncated and len(t.tokens) == run.max_length == 200
    assert t.probability == pytest.approx(float(predict_proba(run.model, run.vocab, [t.text], run.tokenizer(),
                                                              run.max_length)[0]), abs=1e-6)
    assert (t.running is not None) == (name == "lstm")
    assert t.labels == run.labels


# -- leave-one-out reads only where a variant differs, until its state is back on the original's ------------
def _from_scratch(model, ids, unk_index, c):
    """Occlusion and removal by classifying every variant in full (the definition)."""
    n = len(ids)
    base = _probabilities(model, [ids])[0, c]
    replaced = np.tile(ids, (n, 1))
    replaced[np.arange(n), np.arange(n)] = unk_index
    removed = np.broadcast_to(ids, (n, n))[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    return base - _probabilities(model, list(replaced))[:, c], base - _probabilities(model, list(removed))[:, c]


def _count_steps(model, calls=False):
    """Wrap the model's direction_run to count the variant-steps the leave-one-out reads (``calls``: list the
    variants each call reads instead)."""
    run, counter = model.direction_run, [] if calls else [0]

    def counting(x, *args, **kw):
        if calls:
            counter.append(x.shape[0])
        else:
            counter[0] += x.shape[0] * x.shape[1]
        return run(x, *args, **kw)

    model.direction_run = counting
    return counter


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("pooling", ["final", "final+max+mean"])
def test_leave_one_out_splices_converged_states_and_equals_classifying_each_variant(
        vocab_and_vectors, cell, bidirectional, layers, pooling):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model=cell, bidirectional=bidirectional, layers=layers, pooling=pooling,
                   num_classes=3 if layers == 2 and pooling == "final" else 2)
    ids = _ids(vocab, np.random.default_rng(7), 120)
    steps = _count_steps(model)
    t = trace_ids(model, vocab, "", vocab.lookup_tokens(ids), ids, labels=["a", "b", "c"][:model.num_classes])
    c = t.labels.index(t.target)
    occ, rem = _from_scratch(model, ids, vocab.unk_index, c)
    np.testing.assert_allclose(t.importance["occlusion"], occ, rtol=0, atol=1e-6)
    np.testing.assert_allclose(t.importance["removal"], rem, rtol=0, atol=1e-6)
    # the variants' states came back to the original's: far fewer steps than reading every variant in full
    full = 2 * len(ids) * len(ids) * layers * (2 if bidirectional else 1)
    assert 0 < steps[0] < 0.5 * full


@pytest.mark.parametrize("bidirectional", [False, True])
def test_leave_one_out_equals_classifying_each_variant_when_no_state_comes_back(vocab_and_vectors, bidirectional):
    """Forget gates held open: a cell state never forgets the changed token, so every variant reads to the end."""
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm", bidirectional=bidirectional, pooling="final+max+mean")
    H = model.state_size
    with torch.no_grad():
        for name, b in model.rnn.named_parameters():
            if name.startswith("bias_ih"):
                b[H:2 * H] = 30.0                                              # f = 1: c keeps everything
    ids = _ids(vocab, np.random.default_rng(8), 60)
    steps = _count_steps(model)
    occ, rem = occlusion(model, ids), removal(model, ids)
    ref_occ, ref_rem = _from_scratch(model, ids, vocab.unk_index, 1)
    np.testing.assert_allclose(occ, ref_occ, rtol=0, atol=1e-6)
    np.testing.assert_allclose(rem, ref_rem, rtol=0, atol=1e-6)
    n, D = len(ids), model.num_directions
    # every variant read from its change to its end, in each direction
    assert steps[0] >= D * (n * (n + 1) // 2 + n * (n - 1) // 2)


def test_leave_one_out_is_exact_with_a_zero_tolerance(vocab_and_vectors, monkeypatch):
    """With nothing counted as back on the original, the splice reduces to reading each variant in full."""
    import rnnlab.trace as trace_module

    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="gru", bidirectional=True, layers=2, pooling="final+max+mean")
    ids = _ids(vocab, np.random.default_rng(9), 40)
    spliced = occlusion(model, ids), removal(model, ids)
    monkeypatch.setattr(trace_module, "CONVERGED", 0.0)
    full = occlusion(model, ids), removal(model, ids)
    ref = _from_scratch(model, ids, vocab.unk_index, 1)
    for got, whole, expected in zip(spliced, full, ref):
        np.testing.assert_allclose(whole, expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_leave_one_out_in_several_batches_equals_one(vocab_and_vectors, monkeypatch):
    import rnnlab.trace as trace_module

    vocab, _ = vocab_and_vectors
    # two layers: the first one's stretches are kept (the second one's input), so batches are bounded
    model = _model(vocab_and_vectors, model="lstm", bidirectional=True, layers=2, pooling="final+max+mean")
    ids = _ids(vocab, np.random.default_rng(10), 100)
    calls = _count_steps(model, calls=True)
    one = trace_ids(model, vocab, "", vocab.lookup_tokens(ids), ids).importance
    in_one = max(calls)
    calls.clear()
    monkeypatch.setattr(trace_module, "VARIANT_FLOATS", 1)                    # batches of 64 variants
    several = trace_ids(model, vocab, "", vocab.lookup_tokens(ids), ids).importance
    assert in_one >= 2 * len(ids) - 2 and max(calls) == 64                  # (removing a last token: no forward read)
    ref_occ, ref_rem = _from_scratch(model, ids, vocab.unk_index, 1)
    for method, ref in (("occlusion", ref_occ), ("removal", ref_rem)):
        # each batch learns its own first read, so the variants may come back a few steps apart
        np.testing.assert_allclose(several[method], one[method], rtol=0, atol=1e-7)
        np.testing.assert_allclose(several[method], ref, rtol=0, atol=1e-6)


def test_one_layer_reads_every_variant_in_one_batch(vocab_and_vectors, monkeypatch):
    """Nothing kept per step (the top layer's stretches go into the pooling's sums): no batch bound needed."""
    import rnnlab.trace as trace_module

    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="gru", bidirectional=True, pooling="final+max+mean")
    ids = _ids(vocab, np.random.default_rng(11), 100)
    monkeypatch.setattr(trace_module, "VARIANT_FLOATS", 1)
    calls = _count_steps(model, calls=True)
    t = trace_ids(model, vocab, "", vocab.lookup_tokens(ids), ids)
    assert max(calls) >= 2 * len(ids) - 2                                    # (removing a last token: no forward read)
    ref_occ, ref_rem = _from_scratch(model, ids, vocab.unk_index, 1)
    np.testing.assert_allclose(t.importance["occlusion"], ref_occ, rtol=0, atol=1e-6)
    np.testing.assert_allclose(t.importance["removal"], ref_rem, rtol=0, atol=1e-6)


def test_a_direction_reads_at_first_as_many_steps_as_the_quickest_variant_before(vocab_and_vectors):
    import rnnlab.trace as trace_module

    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm", bidirectional=True, pooling="final+max+mean")
    ids = _ids(vocab, np.random.default_rng(13), 120)
    run, shapes = model.direction_run, []

    def recording(x, layer, d, *args, **kw):
        shapes.append((d, x.shape[1]))
        return run(x, layer, d, *args, **kw)

    model.direction_run = recording
    occ = occlusion(model, ids)
    forward = [steps for d, steps in shapes if d == 0]
    backward = [steps for d, steps in shapes if d == 1]
    assert set(forward) == {trace_module.CHUNK}                                # nothing learned yet
    assert trace_module.CHUNK < backward[0] <= trace_module.FIRST_MAX and set(backward[1:]) <= {trace_module.CHUNK}
    np.testing.assert_allclose(occ, _from_scratch(model, ids, vocab.unk_index, 1)[0], rtol=0, atol=1e-6)


def test_leave_one_out_of_short_texts_and_the_edges(vocab_and_vectors):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm", bidirectional=True, layers=2, pooling="final+max+mean")
    for n in (1, 2, 3):
        ids = _ids(vocab, np.random.default_rng(n), n)
        ref_occ, ref_rem = _from_scratch(model, ids, vocab.unk_index, 1)
        np.testing.assert_allclose(occlusion(model, ids), ref_occ, atol=1e-6)
        if n > 1:  # one token: removal leaves the empty text, read as <unk> (tested above)
            np.testing.assert_allclose(removal(model, ids), ref_rem, atol=1e-6)


# -- the reading-API pieces the leave-one-out uses ----------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_direction_run_continues_where_it_stopped(vocab_and_vectors, cell):
    model = _model(vocab_and_vectors, model=cell)
    x = model.embed(torch.as_tensor(_ids(vocab_and_vectors[0], np.random.default_rng(1), 11))[None])
    with torch.no_grad():
        whole, last = model.direction_run(x, 0, 0)
        first, middle = model.direction_run(x[:, :4], 0, 0)
        rest, last2 = model.direction_run(x[:, 4:], 0, 0, start=middle)
        h, c = model.direction_states(x, 0, 0, cells=True)
    np.testing.assert_allclose(torch.cat([first, rest], 1), whole, atol=1e-6)
    for a, b in zip(*(((s,) if isinstance(s, torch.Tensor) else s) for s in (last, last2))):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(h, whole, atol=1e-6)
    if cell == "lstm":  # every step's cell state, and the last one is what direction_run hands on
        np.testing.assert_allclose(c[:, -1], last[1], atol=1e-6)
        np.testing.assert_allclose(c[:, 3], middle[1], atol=1e-6)
    else:
        assert c is None


@pytest.mark.parametrize("pooling", ["final", "final+max+mean", "min"])
def test_pool_spliced_equals_pooling_the_texts_written_out(vocab_and_vectors, pooling):
    """Each direction's top outputs: the original's, a stretch of the text's own, the original's again (shifted)."""
    torch.manual_seed(0)
    D, H, T = 2, 3, 12
    model = _model(vocab_and_vectors, model="gru", bidirectional=True)
    model.pooler = MinPooling() if pooling == "min" else pooler(pooling)
    rng = np.random.default_rng(0)
    shift = torch.tensor([0, 1, -1, 2, 0, -2])                                 # one per text, every direction
    B = len(shift)
    top, final = torch.randn(T, D * H), torch.randn(B, D * H)
    stretches, columns = [], []
    for d in range(D):
        starts = torch.as_tensor(rng.integers(0, 4, size=B))
        widths = torch.as_tensor(rng.integers(0, 4, size=B)) + (-shift).clamp(min=0)
        resumes = starts + widths + shift                                      # within [starts, T]
        window = torch.randn(int(widths.sum()), H)
        stretches.append((starts, window, widths, resumes))
        part, offsets = top[:, d * H:(d + 1) * H], torch.cumsum(widths, 0) - widths
        columns.append([torch.cat([part[:starts[b]], window[offsets[b]:offsets[b] + widths[b]], part[resumes[b]:]])
                        for b in range(B)])
    lengths = torch.tensor([len(text) for text in columns[0]])
    padded = torch.zeros(B, int(lengths.max()), D * H)
    for b in range(B):
        padded[b, :lengths[b]] = torch.cat([columns[d][b] for d in range(D)], dim=1)
    np.testing.assert_allclose(model.pool_spliced(final, top, stretches), model.pool(final, padded, lengths),
                               atol=1e-6)


def test_pool_accumulator_sums_stretches_chunk_by_chunk_as_the_window_does(vocab_and_vectors):
    """Chunks of each stretch (with junk steps past its end) summed into the accumulator pool as the window."""
    torch.manual_seed(1)
    D, H, T, C = 2, 3, 12, 3
    model = _model(vocab_and_vectors, model="gru", bidirectional=True, pooling="final+max+mean")
    assert _model(vocab_and_vectors, model="gru", pooling="final").pool_accumulator(4, H, torch.zeros(1)) is None
    rng = np.random.default_rng(1)
    B = 5
    top, final = torch.randn(T, D * H), torch.randn(B, D * H)
    by_window, by_sums = [], []
    for d in range(D):
        starts = torch.as_tensor(rng.integers(0, 4, size=B))
        widths = torch.tensor([0, 1, 3, 4, 7])
        resumes = starts + widths
        window = torch.randn(int(widths.sum()), H)
        offsets = torch.cumsum(widths, 0) - widths
        acc = model.pool_accumulator(B, H, top)
        for first in range(0, int(widths.max()), C):                           # one call per chunk of C steps
            rows = (widths > first).nonzero()[:, 0]
            out = torch.randn(len(rows), C, H) * 100                           # junk past each stretch's end
            for a, b in enumerate(rows.tolist()):
                got = min(C, int(widths[b]) - first)
                out[a, :got] = window[offsets[b] + first:offsets[b] + first + got]
            model.pool_accumulate(acc, rows, out, (widths[rows] - first).clamp(max=C))
        by_window.append((starts, window, widths, resumes))
        by_sums.append((starts, acc, widths, resumes))
    np.testing.assert_allclose(model.pool_spliced(final, top, by_sums), model.pool_spliced(final, top, by_window),
                               rtol=0, atol=1e-6)


# -- a new pooling and a new cell, defined here only: the trace follows the model's reading API --------------
class MinPooling(Pooling):
    """Toy: the minimum over time of the top layer's outputs (needs the outputs, so no prefix shortcut)."""

    name = "min"

    def dim(self, layers, directions, hidden):
        return directions * hidden

    def __call__(self, final, top, lengths):
        mask = torch.arange(top.shape[1])[None, :] < lengths[:, None]
        return top.masked_fill(~mask[:, :, None], float("inf")).amin(1)


class LeakyCellClassifier(RecurrentClassifier):
    """Toy cell: h_t = tanh(W x_t + b) + 0.5 h_{t-1}, with the rnn's weights (W_hh unused)."""

    packed_reference = False

    def direction_states(self, x, layer, direction=0, start=None, cells=False):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        w, b = getattr(self.rnn, f"weight_ih{suffix}"), getattr(self.rnn, f"bias_ih{suffix}")
        h = x.new_zeros(x.shape[0], self.rnn.hidden_size) if start is None else start
        hs = []
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ w.T + b) + 0.5 * h
            hs.append(h)
        out = torch.stack(hs, 1)
        return (out, None) if cells else out


def _toy(vocab_and_vectors, cls=RecurrentClassifier, pooling=None, num_classes=2, **kw):
    vocab, vectors = vocab_and_vectors
    torch.manual_seed(4)
    model = cls(vocab, vectors, 5, 4, num_classes=num_classes, **kw)
    if pooling is not None:
        model.pooler = pooling
        model.hidden = torch.nn.Linear(pooling.dim(model.num_layers, model.num_directions, 5), 4)
    with torch.no_grad():
        model.output.weight.mul_(4.0)
    return model.eval()


@pytest.mark.parametrize("toy", ["pooling", "cell", "cell+bi", "both"])
@pytest.mark.parametrize("num_classes", [2, 3])
def test_trace_of_a_new_cell_or_pooling_equals_classifying_each_prefix_and_variant(vocab_and_vectors, toy,
                                                                                    num_classes):
    vocab, _ = vocab_and_vectors
    kw = dict(cell="gru", recurrent_layers=2)
    if "cell" in toy or toy == "both":
        kw = dict(cls=LeakyCellClassifier, recurrent_layers=1 if "bi" in toy else 2,
                  recurrent_bidirectional="bi" in toy)
    if toy in ("pooling", "both"):
        kw["pooling"] = MinPooling()
    model = _toy(vocab_and_vectors, num_classes=num_classes, **kw)
    ids = _ids(vocab, np.random.default_rng(2), 8)
    labels = ["a", "b", "c"][:num_classes]
    t = trace_ids(model, vocab, "", vocab.lookup_tokens(ids), ids, labels=labels)
    whole = _probabilities(model, [ids])[0]
    assert t.probabilities == pytest.approx(dict(zip(labels, whole)), abs=1e-6)
    c = labels.index(t.target)
    if model.num_directions == 1:
        prefixes = _probabilities(model, [ids[: i + 1] for i in range(len(ids))])     # (T, k)
        for j, name in enumerate(labels):
            np.testing.assert_allclose(t.running_by_class[name], prefixes[:, j], atol=1e-6)
    else:
        assert t.running is None
    for i in range(len(ids)):
        replaced = ids.copy()
        replaced[i] = vocab.unk_index
        p_rep, p_rem = _probabilities(model, [replaced, np.delete(ids, i)])[:, c]
        assert t.importance["occlusion"][i] == pytest.approx(whole[c] - p_rep, abs=1e-6)
        assert t.importance["removal"][i] == pytest.approx(whole[c] - p_rem, abs=1e-6)
    # gradient x input against autograd through the model's own forward_logits
    weight = model.embedding.weight
    weight.requires_grad_(True)
    logits = model.forward_logits(torch.as_tensor(ids)[None], torch.tensor([len(ids)]))[0]
    logit = logits if num_classes == 2 else logits[c]
    (grad,) = torch.autograd.grad(logit, weight)
    weight.requires_grad_(False)
    # the table's gradient row sums over a token's occurrences: compare the sum per distinct token
    got = {}
    for i, v in zip(ids, t.importance["gradient_input"]):
        got[int(i)] = got.get(int(i), 0.0) + v
    for i, v in got.items():
        assert v == pytest.approx(float(grad[i] @ weight[i]), rel=1e-4, abs=1e-6)


def test_three_classes_follow_the_predicted_class_or_the_one_asked_for(vocab_and_vectors):
    vocab, _ = vocab_and_vectors
    model = _model(vocab_and_vectors, model="lstm", num_classes=3)
    labels = ["neg", "neu", "pos"]
    t = trace(model, vocab, CONTRAST, labels=labels)
    assert sum(t.probabilities.values()) == pytest.approx(1.0)
    assert t.label == max(t.probabilities, key=t.probabilities.get) == t.target
    assert t.deltas[0] == pytest.approx(t.running[0] - 1 / 3)
    for j in range(len(t.tokens)):
        assert sum(v[j] for v in t.running_by_class.values()) == pytest.approx(1.0)
    other = next(name for name in labels if name != t.label)
    u = trace(model, vocab, CONTRAST, labels=labels, target=other)
    assert u.target == other and u.running == t.running_by_class[other]
    assert u.probability == pytest.approx(t.probabilities[other])
    with pytest.raises(RnnlabError, match="unknown class 'happy'"):
        trace(model, vocab, CONTRAST, labels=labels, target="happy")


@pytest.mark.parametrize("layers, bidirectional", [(1, True), (2, False), (2, True)])
def test_leave_one_out_of_a_new_cell_and_pooling_splices_and_equals_each_variant(vocab_and_vectors, layers,
                                                                                bidirectional):
    """The generic path: a cell that only defines direction_states and a pooling that only defines __call__."""
    vocab, _ = vocab_and_vectors
    model = _toy(vocab_and_vectors, cls=LeakyCellClassifier, pooling=MinPooling(), num_classes=3,
                 recurrent_layers=layers, recurrent_bidirectional=bidirectional)
    ids = _ids(vocab, np.random.default_rng(3), 90)
    steps = _count_steps(model)
    t = trace_ids(model, vocab, "", vocab.lookup_tokens(ids), ids, labels=["a", "b", "c"])
    occ, rem = _from_scratch(model, ids, vocab.unk_index, t.labels.index(t.target))
    np.testing.assert_allclose(t.importance["occlusion"], occ, rtol=0, atol=1e-6)
    np.testing.assert_allclose(t.importance["removal"], rem, rtol=0, atol=1e-6)
    assert 0 < steps[0] < 0.5 * 2 * len(ids) ** 2 * layers * (2 if bidirectional else 1)
