"""Export a run for use without rnnlab's model code: ONNX (and TorchScript) plus its text pipeline.

``export_run(run, out_dir, format="onnx")`` writes

- ``model.onnx`` (or ``model.pt`` for TorchScript): token ids ``(1, T)`` int64 in, class
  probabilities ``(1, k)`` float32 out (``k`` = number of labels; for two labels column 1 is
  the probability of the second label). One text per call, any length ``T >= 1``.
- ``pipeline.json``: what turns a text into those ids: the tokenizer settings (spaCy's blank
  English tokenizer, lower-cased, whitespace tokens dropped), the vocabulary (index = id), the
  unknown-token id, ``max_length`` (keep the first N ids), the labels and how to read the output.

The exported graph is built from the public ``torch.nn`` layers of the run (``nn.LSTM`` /
``nn.GRU`` / ``nn.RNN`` over the unpadded text, ``EmbeddingBag`` mean for bag-of-embeddings), so
it computes what the run computes; ``tests/test_export.py`` checks ONNX Runtime's probabilities
against PyTorch's within 1e-5 for every cell.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from rnnlab import __version__
from rnnlab.errors import RnnlabError
import warnings

FORMATS = ("onnx", "torchscript")
PIPELINE = "pipeline.json"
MODEL_FILES = {"onnx": "model.onnx", "torchscript": "model.pt"}


class _OneText(nn.Module):
    """ids (1, T) -> probabilities (1, k), through the run's own layers, one unpadded text."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.recurrent = getattr(model, "family", "") != "boe"

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        m = self.model
        if self.recurrent:
            x = m.embedding(ids)                                                # (1, T, E)
            out, h_n = m.rnn(x)                                                 # (1, T, D*H), (L*D, 1, H)
            if isinstance(h_n, tuple):
                h_n = h_n[0]
            doc = h_n.transpose(0, 1).reshape(1, -1)                            # (1, L*D*H)
            if m.pooling != "final":
                doc = torch.cat([doc, out.amax(1), out.mean(1)], dim=1)
        else:
            doc = m.embedding.weight[ids[0]].mean(0, keepdim=True)             # (1, E): the mean vector
        logits = m.head(doc)
        if m.num_classes == 2:
            p = torch.sigmoid(logits).reshape(1, 1)
            return torch.cat([1 - p, p], dim=1)                                 # (1, 2)
        return torch.softmax(logits, dim=-1)                                    # (1, k)


def pipeline_dict(run) -> dict:
    """Everything needed to turn a text into the model's input ids, and its output into labels."""
    tokenizer = dict(run.meta.get("tokenizer", {}))
    return {
        "format": "rnnlab-export",
        "version": 1,
        "rnnlab": __version__,
        "run": run.name,
        "model": run.model_config.model,
        "input": "ids: int64 (1, T), T >= 1, one text per call",
        "output": "probabilities: float32 (1, k), one column per label, in the order of labels",
        "labels": list(run.labels),
        "tokenizer": {"kind": "spacy.blank('en').tokenizer", "lowercase": tokenizer.get("lowercase", True),
                      "drop_space": tokenizer.get("drop_space", True), "spacy": tokenizer.get("spacy")},
        "max_length": run.max_length,
        "unk_index": run.vocab.unk_index,
        "empty_text": "a text with no tokens is the single id unk_index",
        "vocab": list(run.vocab.itos),
    }


def encode(pipeline: dict, tokens: list[str]) -> list[int]:
    """Tokens -> ids by an exported pipeline (what a user of the export does; no rnnlab model code)."""
    index = {t: i for i, t in enumerate(pipeline["vocab"])}
    ids = [index.get(t, pipeline["unk_index"]) for t in tokens][: pipeline["max_length"]]
    return ids or [pipeline["unk_index"]]


def export_run(run, out_dir: str | Path, format: str = "onnx") -> Path:
    """Write the model file and ``pipeline.json`` into ``out_dir``; returns the model file's path."""
    if format not in FORMATS:
        raise RnnlabError(f"unknown --format {format!r}; choose one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wrapper = _OneText(run.model.eval()).eval()
    example = torch.tensor([[run.vocab.unk_index] * 3], dtype=torch.int64)
    path = out_dir / MODEL_FILES[format]

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about nn.RNN's shape checks: constant for one text
        if format == "onnx":
            try:
                import onnx  # noqa: F401  deferred: onnx only for export (the exporter needs it)
            except ImportError:
                raise RnnlabError("ONNX export needs the onnx package: pip install 'rnnlab[export]'") from None
            torch.onnx.export(wrapper, (example,), str(path), input_names=["ids"],
                              output_names=["probabilities"], dynamic_axes={"ids": {1: "T"}},
                              opset_version=17, dynamo=False)
        else:
            torch.jit.save(torch.jit.trace(wrapper, (example,), check_trace=False), str(path))
    (out_dir / PIPELINE).write_text(json.dumps(pipeline_dict(run), ensure_ascii=False) + "\n", encoding="utf-8")
    return path


__all__ = ["export_run", "pipeline_dict", "encode", "FORMATS", "PIPELINE", "MODEL_FILES"]
