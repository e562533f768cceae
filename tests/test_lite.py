"""rnnlab.lite and `rnnlab predict RUN "text"`'s torch-free path: the same numbers and the same output."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rnnlab.lite as lite
from rnnlab.cli import app
from rnnlab.cli import predict_lite
from rnnlab.config import ModelConfig, TrainConfig, replace
from rnnlab.data.vocab import Vocab
from rnnlab.models import build_model
from rnnlab.runs import WEIGHTS, load_run, save_run

runner = CliRunner()
WORDS = [f"w{i}" for i in range(40)]
MAX_LENGTH = 12
rng = np.random.default_rng(0)
# lengths 1, 4 and 11 tokens, one of exactly max_length, one longer (cut), and an empty text (one <unk>)
TEXTS = [" ".join(rng.choice(WORDS + ["unseen"], n)) for n in (1, 4, 11, MAX_LENGTH, 30)] + [""]


def _run(path, seed=0, labels=("neg", "pos"), **model):
    """A small random run (no training): weights scaled so the probabilities spread out."""
    vocab = Vocab(["<unk>", "<pad>"] + WORDS)
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=len(vocab), embedding_dim=6, recurrent_dim=5, hidden_dim=4,
                         num_classes=len(labels), **model)
    net = build_model(config, vocab, torch.randn(len(vocab), 6)).eval()
    with torch.no_grad():
        net.output.weight.mul_(3.0)
    return save_run(path, net, vocab, config, TrainConfig(max_length=MAX_LENGTH), list(labels))


RECURRENT = [dict(model=m, activation=a, layers=n, bidirectional=b, pooling=p)
             for (m, a), n, b, p in itertools.product([("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"),
                                                       ("gru", "tanh")], (1, 2), (False, True),
                                                      ("final", "final+max+mean"))]
MODELS = [dict(model="boe")] + RECURRENT


@pytest.mark.parametrize("classes", [("neg", "pos"), ("neg", "neu", "pos")], ids=["binary", "3-classes"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: "-".join(str(v) for v in m.values()))
def test_the_numpy_forward_equals_the_pytorch_model(tmp_path, model, classes):
    path = _run(tmp_path / "run", labels=classes, **model)
    reference = load_run(path)
    fast = lite.load_lite(path)
    assert fast is not None, "every model rnnlab builds is covered"
    # logits: each text through the model's own forward
    ids = [reference.pipeline.encode(t) for t in TEXTS]
    assert max(map(len, ids)) == MAX_LENGTH and min(map(len, ids)) == 1
    with torch.no_grad():
        for text_ids in ids:
            want = reference.model.forward_logits(*_batch(reference.model, [text_ids])).double().numpy()
            got = lite.logits(fast.config, fast.weights, [text_ids])
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # probabilities through each run's pipeline: the same tokens, truncation and task
    want = reference.predict(TEXTS).probabilities
    got = fast.probabilities(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), len(classes))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def _batch(model, id_lists):
    from rnnlab.data.batching import encoded_collate, family_of

    _, text, extra = encoded_collate(family_of(model.family), 1)([(np.asarray(i), 0) for i in id_lists])
    return text, extra


def _predict(*args, monkeypatch=None, torch_path=False):
    if torch_path:
        monkeypatch.setattr(predict_lite, "load_lite", lambda path: None)
    r = runner.invoke(app, ["predict", *map(str, args)])
    if torch_path:
        monkeypatch.undo()
    assert r.exit_code == 0, r.output
    return r.output


def _cases(tmp_path, trained_runs):
    return {"lstm": trained_runs["lstm"], "bigru": trained_runs["bigru"], "boe": trained_runs["boe"],
            "3-class bi-gru max+mean": _run(tmp_path / "three", labels=("neg", "neu", "pos"), model="gru",
                                            bidirectional=True, layers=2, pooling="final+max+mean")}


def test_the_cli_prints_what_the_pytorch_path_prints(tmp_path, trained_runs, monkeypatch):
    texts = ["A moving, wonderful film.", "Dull and far too long!", "w1 w2 " * 150]
    for name, run in _cases(tmp_path, trained_runs).items():
        fast = _predict(run, *texts)
        assert fast == _predict(run, *texts, monkeypatch=monkeypatch, torch_path=True), name
        assert "longer than max_length" in fast, "the cut note is printed as well"
        fast_json = [json.loads(line) for line in _predict(run, *texts, "--json").splitlines()
                     if line.startswith("{")]
        slow_json = [json.loads(line) for line in _predict(run, *texts, "--json", monkeypatch=monkeypatch,
                                                           torch_path=True).splitlines() if line.startswith("{")]
        assert len(fast_json) == len(texts)
        for a, b in zip(fast_json, slow_json):
            assert (a["text"], a["label"], list(a["probabilities"])) == (b["text"], b["label"], list(b["probabilities"]))
            np.testing.assert_allclose(list(a["probabilities"].values()), list(b["probabilities"].values()),
                                       rtol=0, atol=1e-5)


def test_predict_with_texts_as_arguments_never_imports_torch(trained_runs):
    """A real process: torch must be absent after the command; the same probe sees it on the torch path."""
    probe = ("import sys\nfrom rnnlab.cli import main\nsys.argv = ['rnnlab', 'predict', *sys.argv[1:]]\n"
             "try:\n    main()\nfinally:\n    print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\n")
    run, text = str(trained_runs["lstm"]), "A moving, wonderful film."

    def predict(*extra):
        r = subprocess.run([sys.executable, "-c", probe, run, text, *extra], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=300)
        assert r.returncode == 0, r.stderr
        return r

    fast = predict()
    assert "torch imported: False" in fast.stderr
    assert fast.stdout == _predict(run, text), "spaCy imported without torch tokenizes the same"
    assert "torch imported: True" in predict("--csv", os.devnull).stderr, "the probe can fail"


def test_runs_the_numpy_forward_does_not_cover_fall_back_to_pytorch(tmp_path, trained_runs, monkeypatch):
    run = trained_runs["lstm"]
    expected = _predict(run, "a fine film")
    monkeypatch.setitem(lite.__dict__, "CELLS", {k: v for k, v in lite.CELLS.items() if k[0] != "lstm"})
    assert lite.load_lite(run) is None
    assert lite.load_lite(trained_runs["bigru"]) is not None
    calls = []
    import rnnlab.inspect

    monkeypatch.setattr(rnnlab.inspect, "_inference_logits",  # the PyTorch model's forward pass
                        lambda *a, _real=rnnlab.inspect._inference_logits, **k: calls.append(1) or _real(*a, **k))
    assert _predict(run, "a fine film") == expected and calls, "the PyTorch model answered, with the same table"


def test_weights_with_other_names_or_shapes_are_left_to_pytorch(tmp_path):
    path = _run(tmp_path / "run", model="lstm")
    weights = lite.read_weights(path, "numpy")
    config, V = lite.load_lite(path).config, len(WORDS) + 2
    assert lite.supports(config, weights, V)
    assert not lite.supports(config, weights, V + 1), "an embedding matrix that does not fit the vocabulary"
    assert not lite.supports(config, {**weights, "extra.weight": np.zeros(3)}, V)
    assert not lite.supports(config, {**weights, "hidden.bias": np.zeros(7)}, V)
    assert not lite.supports(replace(config, pooling="final+max+mean"), weights, V)


def test_a_pickle_in_place_of_the_weights_is_refused_in_one_line_and_never_run(tmp_path):
    """Weights are safetensors (raw arrays + JSON): a pickle there, even one that would run code, is refused."""
    path = _run(tmp_path / "run", model="gru")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (path / WEIGHTS).write_bytes(pickle.dumps({"embedding.weight": Evil()}))
    assert lite.load_lite(path) is None
    r = subprocess.run([sys.executable, "-m", "rnnlab", "predict", str(path), "a fine film"], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=300)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path / WEIGHTS}: corrupted weights file"), r.stderr
    assert not marker.exists()


def test_spacy_imported_without_torch_gives_the_same_tokens():
    texts = ["Don't stop!! It's 10/10 -- see http://example.com/a?b=1 :-) ", "  Mr. O'Neil's  film\t(1999)...",
             "naïve café — “quoted” e-mail@x.org", "", "UPPER lower MiXeD 3.5x $20"]
    probe = ("import json, sys\nfrom rnnlab.data.tokenize import Tokenizer, import_spacy_without_torch\n"
             "import_spacy_without_torch()\nassert 'torch' not in sys.modules\n"
             "print(json.dumps([Tokenizer()(t) for t in json.loads(sys.argv[1])]))\n")
    r = subprocess.run([sys.executable, "-c", probe, json.dumps(texts)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=300)
    assert r.returncode == 0, r.stderr
    from rnnlab.data.tokenize import Tokenizer

    assert json.loads(r.stdout) == [Tokenizer()(t) for t in texts]
