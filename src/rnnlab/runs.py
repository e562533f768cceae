"""The run directory: everything needed to rebuild, inspect and compare a trained model.

```
RUN/
  config.json          model + training config, labels, tokenizer settings, data, versions
  vocab.json           the vocabulary (itos)
  weights.safetensors  the model's parameters (never a pickle: no code runs on load)
  metrics.jsonl        one JSON object per epoch
  curves.png           learning curves
```

:func:`load_run` is the one loader that training, evaluation, the CLI, the studies
and the server share. A missing, corrupted or mismatched run raises one clear
:class:`~rnnlab.errors.RnnlabError` naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch

from rnnlab.config import ModelConfig, TrainConfig, from_dict, to_dict
from rnnlab.data.vocab import Vocab
from rnnlab.errors import InputError, RnnlabError

CONFIG, VOCAB, WEIGHTS, METRICS, CURVES = "config.json", "vocab.json", "weights.safetensors", "metrics.jsonl", "curves.png"
FORMAT = "rnnlab-run"


@dataclass
class Run:
    """A loaded run: the model (in eval mode) and everything saved beside it."""

    path: Path
    model: torch.nn.Module
    vocab: Vocab
    model_config: ModelConfig
    train_config: TrainConfig
    labels: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def max_length(self) -> int | None:
        return self.train_config.max_length

    def tokenizer(self):
        from rnnlab.data.tokenize import Tokenizer

        return Tokenizer(**self.meta.get("tokenizer", {}))

    @property
    def task(self):
        """The run's :class:`~rnnlab.data.task.Task` (its labels, in class-id order)."""
        return self.pipeline.task

    @property
    def pipeline(self):
        """The run's :class:`~rnnlab.data.pipeline.TextPipeline`: how it turns text into ids (as in training)."""
        from rnnlab.data.pipeline import TextPipeline

        saved = self.meta.get("pipeline") or {"tokenizer": self.meta.get("tokenizer", {}),
                                              "max_length": self.max_length}  # runs written before pipelines
        return TextPipeline.from_dict({**saved, "labels": self.labels}, self.vocab)

    def predict(self, texts, *, as_frame: bool = False, batch_size: int = 256):
        """Classify ``texts`` (a string or a list of strings).

        Returns ``Predictions(labels, probabilities)``: the predicted label of each text and an
        ``(N, k)`` array of class probabilities (columns in the order of ``run.labels``); with
        ``as_frame=True`` a DataFrame with columns text, label and one probability per label.
        """
        import numpy as np

        from rnnlab.inspect import class_probabilities

        texts = [texts] if isinstance(texts, str) else list(texts)
        labels = list(self.task.labels)
        probs = np.asarray(class_probabilities(self.model, self.pipeline, texts, batch_size), dtype=np.float64)
        predicted = [labels[i] for i in probs.argmax(1)]
        if as_frame:
            import pandas as pd

            return pd.DataFrame({"text": texts, "label": predicted,
                                 **{f"p_{name}": probs[:, i] for i, name in enumerate(labels)}})
        return Predictions(predicted, probs)


class Predictions(NamedTuple):
    """What :meth:`Run.predict` returns: a label per text and an (N, k) probability array."""

    labels: list
    probabilities: Any


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash leaves the old file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state))


def save_run(path: str | Path, model: torch.nn.Module, vocab: Vocab, model_config: ModelConfig,
             train_config: TrainConfig, labels: list[str], meta: dict[str, Any] | None = None,
             metrics: list[dict[str, Any]] | None = None) -> Path:
    """Write (or overwrite) a run directory; each file is replaced atomically."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "version": 1, "model": to_dict(model_config), "train": to_dict(train_config),
              "labels": list(labels), "meta": meta or {},
              "versions": {"torch": torch.__version__, "rnnlab": _version()}}
    atomic_write_text(path / VOCAB, vocab.to_json())
    save_weights(model, path / WEIGHTS)
    if metrics is not None:
        atomic_write_text(path / METRICS, "".join(json.dumps(m) + "\n" for m in metrics))
    atomic_write_text(path / CONFIG, json.dumps(config, indent=2))  # last: a run is complete once it has a config
    return path


def _version() -> str:
    from rnnlab import __version__

    return __version__


def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise RnnlabError(f"{path}: no such run directory")
    if not path.is_dir():
        raise RnnlabError(f"{path}: not a run directory (expected a folder holding {CONFIG})")
    cfg_path = path / CONFIG
    if not cfg_path.exists():
        raise InputError(cfg_path, "missing: not a complete run (was training interrupted before the first save?)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(cfg_path, f"corrupted JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise InputError(cfg_path, f"not an rnnlab run config (expected \"format\": \"{FORMAT}\")")
    return config


def read_metrics(path: Path) -> list[dict[str, Any]]:
    rows = []
    if (path / METRICS).exists():
        for number, line in enumerate((path / METRICS).read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise InputError(path / METRICS, "corrupted JSON line", number) from None
    return rows


def load_run(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load a run directory into a :class:`Run` whose model is ready for inference."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from rnnlab.models import build_model

    path = Path(path)
    config = read_config(path)
    try:
        model_config = from_dict(ModelConfig, config["model"])
        train_config = from_dict(TrainConfig, config["train"])
        labels = list(config["labels"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(path / CONFIG, f"invalid run config ({exc})") from None
    vocab = Vocab.load(path / VOCAB)
    if model_config.vocab_size and model_config.vocab_size != len(vocab):
        raise InputError(path / VOCAB, f"has {len(vocab)} entries but the config says {model_config.vocab_size}")
    weights = path / WEIGHTS
    if not weights.exists():
        raise InputError(weights, "missing: the run has no weights")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(weights, f"corrupted weights file ({exc})") from None
    model = build_model(model_config, vocab)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(weights, f"weights do not match the config: {' '.join(first[:3])[:400]}") from None
    model.to(device).eval()
    return Run(path, model, vocab, model_config, train_config, labels, config.get("meta", {}), read_metrics(path))
