"""rnnlab export: ONNX Runtime (and TorchScript) give the run's probabilities without rnnlab's model code."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnlab.cli import app

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

TEXTS = ["great", "", "a terrible , boring film that i hated and will never watch again",
         "I loved every minute of it. " * 12, "unknownwordxyz qqq"]
CELLS = {
    "rnn": ["--model", "rnn", "--activation", "relu", "--pooling", "final"],
    "lstm": ["--model", "lstm", "--bidirectional", "--layers", "2"],
    "gru": ["--model", "gru", "--bidirectional"],
    "boe": ["--model", "boe"],
}


@pytest.fixture(scope="module", params=sorted(CELLS))
def run_dir(request, tmp_path_factory, small_tsv):
    out = tmp_path_factory.mktemp("export") / request.param
    r = CliRunner().invoke(app, ["train", "--train", str(small_tsv), "--epochs", "1", "--max-length", "30",
                                 "--recurrent-dim", "6", "--hidden-dim", "5", "--out", str(out), *CELLS[request.param]])
    assert r.exit_code == 0, r.output
    return out


def _pytorch_probs(run_dir):
    from rnnlab.inspect import predict_proba
    from rnnlab.runs import load_run

    run = load_run(run_dir)
    return run, predict_proba(run.model, run.vocab, TEXTS, run.tokenizer(), run.max_length)


def test_onnx_matches_pytorch(run_dir, tmp_path):
    from rnnlab.export import encode

    r = CliRunner().invoke(app, ["export", str(run_dir), "--format", "onnx", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    pipeline = json.loads((tmp_path / "pipeline.json").read_text())
    assert pipeline["labels"] == ["neg", "pos"] and pipeline["max_length"] == 30
    assert pipeline["vocab"][pipeline["unk_index"]] == "<unk>"
    run, expected = _pytorch_probs(run_dir)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    tok = run.tokenizer()
    lengths = set()
    for text, want in zip(TEXTS, expected):
        ids = np.array([encode(pipeline, tok(text))], dtype=np.int64)
        lengths.add(ids.shape[1])
        probs = session.run(None, {"ids": ids})[0]
        assert probs.shape == (1, 2)
        assert probs[0, 1] == pytest.approx(want, abs=1e-5)
        assert probs[0].sum() == pytest.approx(1.0, abs=1e-6)
    assert len(lengths) >= 4  # texts of different lengths, one cut at max_length


def test_torchscript_matches_pytorch(run_dir, tmp_path):
    import torch

    from rnnlab.export import encode, export_run

    run, expected = _pytorch_probs(run_dir)
    path = export_run(run, tmp_path, format="torchscript")
    pipeline = json.loads((tmp_path / "pipeline.json").read_text())
    loaded = torch.jit.load(str(path))
    tok = run.tokenizer()
    for text, want in zip(TEXTS, expected):
        with torch.no_grad():
            probs = loaded(torch.tensor([encode(pipeline, tok(text))]))
        assert float(probs[0, 1]) == pytest.approx(want, abs=1e-5)


def test_unknown_format_is_one_line(run_dir, tmp_path):
    r = CliRunner().invoke(app, ["export", str(run_dir), "--format", "tflite", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "unknown --format 'tflite'" in str(r.exception)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_private_kernels_missing_fall_back_to_the_public_path(monkeypatch, cell, tiny_vocab_and_vectors):
    """Forcing the fallback (as on a torch without torch._VF.lstm/gru): same outputs, still trains."""
    import torch

    from rnnlab.models import recurrent

    vocab, vectors = tiny_vocab_and_vectors
    torch.manual_seed(0)
    model = recurrent.RecurrentClassifier(vocab, vectors, 5, 4, cell=cell, recurrent_bidirectional=True,
                                          pooling="final+max+mean")
    ids = torch.tensor([[2, 3, 4, 5, 6], [7, 8, 1, 1, 1]])
    lengths = torch.tensor([5, 2])
    fast = model.forward_logits(ids, lengths)
    calls = []
    monkeypatch.setitem(recurrent._KERNELS, cell, None)
    monkeypatch.setattr(type(model), "_run_packed",
                        lambda self, *a, _orig=type(model)._run_packed: calls.append(1) or _orig(self, *a))
    slow = model.forward_logits(ids, lengths)
    assert calls and torch.allclose(fast, slow, atol=1e-6)
    slow.sum().backward()  # the training path works without the private kernels too
    assert model.rnn.weight_hh_l0.grad is not None
