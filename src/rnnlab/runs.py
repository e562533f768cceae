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

Importing this module does not import torch (the functions that build a model or check
tensors import it when called): :mod:`rnnlab.lite` reads a run's config, pipeline and
NumPy weights through :func:`read_run_files` and :func:`read_weights` for the one-text
``rnnlab predict``, whose start-up torch's import (~2 s) would otherwise dominate.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

from rnnlab.config import ModelConfig, TrainConfig, from_dict, to_dict
from rnnlab.data.vocab import Vocab
from rnnlab.errors import InputError, RnnlabError, WriteError
from rnnlab import __version__
from rnnlab.data.tokenize import Tokenizer
from rnnlab.data.pipeline import TextPipeline
import numpy as np
from rnnlab.plots import plot_curves

CONFIG, VOCAB, WEIGHTS, METRICS, CURVES = "config.json", "vocab.json", "weights.safetensors", "metrics.jsonl", "curves.png"
CHECKPOINT = "checkpoint.safetensors"
RUN_FILES = (CONFIG, VOCAB, WEIGHTS, METRICS, CURVES, CHECKPOINT)
FORMAT = "rnnlab-run"
# 1: runs written before the format had a version (config.json "version": 1, no "format_version").
# 2: the same files, written through RunWriter, with "format_version" and a validated schema.
FORMAT_VERSION = 2
PARTIAL_SUFFIX, OLD_SUFFIX = ".partial", ".old"


def partial_dir(target: str | Path) -> Path:
    """Where a run is built before it is moved into place: ``.NAME.partial`` beside ``NAME``."""
    target = Path(target)
    return target.parent / f".{target.name}{PARTIAL_SUFFIX}"


def _old_dir(target: Path) -> Path:
    return target.parent / f".{target.name}{OLD_SUFFIX}"


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
        return Tokenizer(**self.meta.get("tokenizer", {}))

    @property
    def task(self):
        """The run's :class:`~rnnlab.data.task.Task` (its labels, in class-id order)."""
        return self.pipeline.task

    @property
    def pipeline(self):
        """The run's :class:`~rnnlab.data.pipeline.TextPipeline`: how it turns text into ids (as in training)."""
        return run_pipeline(self.meta, self.labels, self.max_length, self.vocab)

    def predict(self, texts, *, as_frame: bool = False, batch_size: int = 256):
        """Classify ``texts`` (a string or a list of strings).

        Returns ``Predictions(labels, probabilities)``: the predicted label of each text and an
        ``(N, k)`` array of class probabilities (columns in the order of ``run.labels``); with
        ``as_frame=True`` a DataFrame with columns text, label and one probability per label.
        """
        from rnnlab.inspect import class_probabilities  # deferred: circular (runs -> inspect -> training -> runs)

        texts = [texts] if isinstance(texts, str) else list(texts)
        labels = list(self.task.labels)
        probs = np.asarray(class_probabilities(self.model, self.pipeline, texts, batch_size), dtype=np.float64)
        predicted = [labels[i] for i in probs.argmax(1)]
        if as_frame:
            import pandas as pd  # deferred: pandas only for predictions tables

            return pd.DataFrame({"text": texts, "label": predicted,
                                 **{f"p_{name}": probs[:, i] for i, name in enumerate(labels)}})
        return Predictions(predicted, probs)


def run_pipeline(meta: dict[str, Any], labels: list[str], max_length: int | None, vocab: Vocab) -> TextPipeline:
    """The :class:`TextPipeline` saved in a run's ``meta`` (older runs: its tokenizer and ``max_length``)."""
    saved = meta.get("pipeline") or {"tokenizer": meta.get("tokenizer", {}),
                                     "max_length": max_length}  # runs written before pipelines
    return TextPipeline.from_dict({**saved, "labels": labels}, vocab)


class Predictions(NamedTuple):
    """What :meth:`Run.predict` returns: a label per text and an (N, k) probability array."""

    labels: list
    probabilities: Any


def _umask() -> int:
    old = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(old)
    return old


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` as ``open()``/``mkdir()`` would create it under the current umask."""
    return mode & ~_umask()


TMP_SUFFIX = ".tmp"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash leaves the old file intact.

    The file gets the mode a plain ``open()`` would give (0644 under the usual umask 022), not
    ``mkstemp``'s 0600, so a server running as another user can read runs. A full disk raises
    one :class:`RnnlabError` line and leaves no temporary file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        raise disk_error(path, exc) from None
    try:
        os.fchmod(fd, umask_mode(0o666))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise disk_error(path, exc) from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def disk_error(path: Path, exc: OSError) -> WriteError:
    """One line for a failed write: a full disk says so; other OS errors name the file and the reason."""
    if isinstance(exc, WriteError):
        return exc
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"{path}: no space left on the device; free some space and try again")
    return WriteError(f"{path}: cannot write ({exc.strerror or exc})")


def clean_stale_temporaries(folder: Path) -> list[Path]:
    """Remove temporary files of our own naming (``.<run file>.XXXX[.tmp]``) left by a killed write."""
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if p.is_file() and any(p.name.startswith(f".{name}.") for name in RUN_FILES):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save  # deferred: safetensors only when weights are read/written

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state))


def save_run(path: str | Path, model: torch.nn.Module, vocab: Vocab, model_config: ModelConfig,
             train_config: TrainConfig, labels: list[str], meta: dict[str, Any] | None = None,
             metrics: list[dict[str, Any]] | None = None) -> Path:
    """Write (or overwrite) a run directory's files, each atomically (config.json last).

    Training goes through :class:`RunWriter`, which calls this on a temporary folder and
    moves the finished run into place; call it directly only on a folder of your own.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(path, exc) from None
    import torch  # deferred: see the module docstring

    config = {"format": FORMAT, "version": 1, "format_version": FORMAT_VERSION, "model": to_dict(model_config),
              "train": to_dict(train_config), "labels": list(labels), "meta": meta or {},
              "versions": {"torch": torch.__version__, "rnnlab": _version()}}
    atomic_write_text(path / VOCAB, vocab.to_json())
    save_weights(model, path / WEIGHTS)
    if metrics is not None:
        atomic_write_text(path / METRICS, "".join(json.dumps(m) + "\n" for m in metrics))
    atomic_write_text(path / CONFIG, json.dumps(config, indent=2))  # last: a run is complete once it has a config
    return path


def _version() -> str:
    return __version__


# -- writing a run: build beside the target, move into place when complete ----------------------
class RunWriter:
    """Builds one run in ``.NAME.partial`` beside ``NAME`` and moves it into place when complete.

    - A new run refuses an existing ``NAME`` (or a kept interrupted ``.NAME.partial``) unless
      ``overwrite``; with it the old run stays intact until the new one replaces it.
    - ``resume`` continues the interrupted run in ``.NAME.partial``, or a copy of the finished
      run ``NAME`` (to extend it); ``NAME`` itself is only replaced by :meth:`finish`.
    - Metrics stream to the partial folder and the checkpoint lives there, so an interrupt
      keeps them (and ``--resume NAME`` finds them); ``NAME`` never holds a half-written run.
    """

    def __init__(self, target: str | Path, *, overwrite: bool = False, resume: bool = False):
        self.target = Path(target)
        self.dir = partial_dir(self.target)
        self.resume = resume
        self.fresh = True        # the partial folder is this writer's own (new run, or a copy of a finished one)
        self.progressed = False  # a checkpoint was saved by this writer
        _recover_replace(self.target)
        if self.target.exists() and not self.target.is_dir():
            raise RnnlabError(f"--out {self.target}: is a file, not a run directory; choose another --out")
        existing = self.target.is_dir() and any(self.target.iterdir())
        if resume:
            self.fresh = not (self.dir / CHECKPOINT).exists()  # else: continue the kept interrupted run
            if self.fresh:
                if not (self.target / CHECKPOINT).exists():
                    from rnnlab.checkpoint import read_checkpoint  # deferred: circular (checkpoint -> runs)

                    read_checkpoint(self.target)  # the one clear "no checkpoint" message
                self._copy_target()
        else:
            if existing and not overwrite:
                raise RnnlabError(f"--out {self.target}: a run (or other files) already exists there; nothing was "
                                  "changed. Give --overwrite to replace it, or --resume to continue it")
            if self.dir.exists():
                if not overwrite:
                    raise RnnlabError(f"--out {self.target}: an interrupted run is kept in {self.dir}; continue it "
                                      f"with --resume {self.target}, or give --overwrite to start again")
                shutil.rmtree(self.dir)
            try:
                self.dir.mkdir(parents=True)
            except OSError as exc:
                raise disk_error(self.dir, exc) from None
        clean_stale_temporaries(self.dir)

    def _copy_target(self) -> None:
        tmp = self.dir.with_name(self.dir.name + ".copy")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            shutil.copytree(self.target, tmp)
            os.replace(tmp, self.dir)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise disk_error(self.dir, exc) from None

    # streamed while training
    def write_metrics(self, history: list[dict[str, Any]]) -> None:
        atomic_write_text(self.dir / METRICS, "".join(json.dumps(r) + "\n" for r in history))

    def append_metrics(self, row: dict[str, Any]) -> None:
        try:
            with open(self.dir / METRICS, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
        except OSError as exc:
            raise disk_error(self.dir / METRICS, exc) from None

    def save_checkpoint(self, **kwargs) -> Path:
        from rnnlab import checkpoint as ckpt  # deferred: circular (checkpoint -> runs)

        path = ckpt.save_checkpoint(self.dir, **kwargs)
        self.progressed = True
        return path

    def has_checkpoint(self) -> bool:
        return (self.dir / CHECKPOINT).exists()

    def keeps(self) -> bool:
        """Whether the partial folder is worth keeping after a failure: it holds resumable progress."""
        return self.dir.is_dir() and self.has_checkpoint() and (self.progressed or not self.fresh)

    def abandon(self) -> None:
        """After a failure: remove the partial folder unless it holds resumable progress."""
        if not self.keeps():
            self.discard()

    def mark_finished(self) -> None:
        from rnnlab import checkpoint as ckpt  # deferred: circular (checkpoint -> runs)

        if self.has_checkpoint():
            ckpt.mark_finished(self.dir)

    def finish(self, model, vocab: Vocab, model_config: ModelConfig, train_config: TrainConfig, labels: list[str],
               meta: dict[str, Any], history: list[dict[str, Any]], title: str | None = None) -> Path:
        """Write config, vocabulary, weights, metrics and curves, then move the run into place."""
        save_run(self.dir, model, vocab, model_config, train_config, labels, meta, history)
        try:
            plot_curves(history, self.dir / CURVES, title=title or f"{self.target.name} ({model_config.model})")
        except OSError as exc:
            raise disk_error(self.dir / CURVES, exc) from None
        self.mark_finished()
        _replace_dir(self.dir, self.target)
        return self.target

    def discard(self) -> None:
        """Remove the partial folder (an interrupt before anything worth keeping)."""
        shutil.rmtree(self.dir, ignore_errors=True)


def _replace_dir(src: Path, target: Path) -> None:
    """Move ``src`` to ``target``; an existing ``target`` is renamed aside first and removed after.

    Two renames: a crash between them leaves ``.NAME.old``, which the next writer of
    ``NAME`` puts back (:func:`_recover_replace`), so ``NAME`` is never half-written.
    """
    old = _old_dir(target)
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(src, target)
    shutil.rmtree(old, ignore_errors=True)


def _recover_replace(target: Path) -> None:
    old = _old_dir(target)
    if old.exists():
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, target)


def resume_dir(target: str | Path) -> Path:
    """The folder holding the checkpoint ``--resume NAME`` continues from (the partial one if kept)."""
    target = Path(target)
    partial = partial_dir(target)
    return partial if (partial / CHECKPOINT).exists() else target


def has_checkpoint(target: str | Path) -> bool:
    return (resume_dir(target) / CHECKPOINT).exists()


# -- reading a run --------------------------------------------------------------------------------
def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        if (partial_dir(path) / CHECKPOINT).exists():
            raise RnnlabError(f"{path}: training did not finish (its checkpoint is kept in {partial_dir(path)}); "
                              f"continue it with: rnnlab train --resume {path}")
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
    validate_config(config, cfg_path)
    return config


_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _check_fields(cls, data: Any, where: str, cfg_path: Path) -> None:
    """Types of a config dataclass's fields in ``data`` (unknown keys are ignored: newer runs)."""
    if not isinstance(data, dict):
        raise InputError(cfg_path, f"{where!r} must be an object, got {type(data).__name__}")
    for f in fields(cls):
        if f.name not in data:
            continue
        value, spec = data[f.name], str(f.type).replace(" ", "")
        optional = spec.endswith("|None")
        base = spec.split("|")[0]
        if value is None and optional:
            continue
        ok = isinstance(value, _TYPES[base]) and (base == "bool" or not isinstance(value, bool))
        if ok and base == "float" and not math.isfinite(value):
            raise InputError(cfg_path, f"{where}.{f.name} must be a finite number, got {value}")
        if not ok:
            want = {"int": "a whole number", "float": "a number", "str": "a string", "bool": "true or false"}[base]
            raise InputError(cfg_path, f"{where}.{f.name} must be {want}{' or null' if optional else ''}, "
                                       f"got {json.dumps(value)}")


def validate_config(config: dict[str, Any], cfg_path: Path) -> None:
    """The whole schema of a run's config.json: types, ranges, lengths; one line naming the field."""
    for key in ("model", "train"):
        if key not in config:
            raise InputError(cfg_path, f"invalid run config: missing {key!r}")
    _check_fields(ModelConfig, config["model"], "model", cfg_path)
    _check_fields(TrainConfig, config["train"], "train", cfg_path)
    for cls, key in ((ModelConfig, "model"), (TrainConfig, "train")):
        try:
            from_dict(cls, config[key])
        except (TypeError, ValueError) as exc:
            raise InputError(cfg_path, f"invalid {key} config: {exc}") from None
    labels = config.get("labels")
    k = config["model"].get("num_classes", 2)
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise InputError(cfg_path, f"labels must be a list of names, got {json.dumps(labels)}")
    if len(labels) != k:
        raise InputError(cfg_path, f"labels lists {len(labels)} names but the model has {k} classes")
    if len(set(labels)) != len(labels):
        raise InputError(cfg_path, f"labels has duplicate names: {json.dumps(labels)}")
    meta = config.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError(cfg_path, f"meta must be an object, got {json.dumps(meta)}")
    tok = meta.get("tokenizer", {})
    known = {f.name: f for f in fields(Tokenizer)}
    if not isinstance(tok, dict) or any(k not in known or not isinstance(v, bool) for k, v in tok.items()):
        raise InputError(cfg_path, f"meta.tokenizer must hold only {', '.join(known)} (true/false), "
                                   f"got {json.dumps(tok)}")
    version = config.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise InputError(cfg_path, f"format_version {json.dumps(version)} is newer than this rnnlab reads "
                                   f"({FORMAT_VERSION}); upgrade rnnlab")


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


def check_finite(state: dict[str, Any], path: Path) -> None:
    """Refuse weights (tensors or NumPy arrays) holding nan/inf (a diverged run): one line naming the tensor."""
    for name, t in state.items():
        if isinstance(t, np.ndarray):
            finite = not np.issubdtype(t.dtype, np.floating) or bool(np.isfinite(t).all())
        else:
            import torch  # deferred: see the module docstring

            finite = not t.is_floating_point() or bool(torch.isfinite(t).all())
        if not finite:
            raise InputError(path, f"weight {name!r} holds non-finite values (nan/inf): the run diverged; "
                                   "train it again with a lower --lr")


class RunFiles(NamedTuple):
    """A run's config.json and vocabulary, read and checked (everything :func:`load_run` reads but the weights)."""

    config: dict[str, Any]
    model_config: ModelConfig
    train_config: TrainConfig
    labels: list[str]
    vocab: Vocab

    @property
    def meta(self) -> dict[str, Any]:
        return self.config.get("meta", {})

    @property
    def pipeline(self) -> TextPipeline:
        return run_pipeline(self.meta, self.labels, self.train_config.max_length, self.vocab)


def read_run_files(path: str | Path) -> RunFiles:
    """Read and check a run's config and vocabulary (no torch): one clear error naming the file."""
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
    return RunFiles(config, model_config, train_config, labels, vocab)


def read_weights(path: str | Path, framework: str = "pt") -> dict[str, Any]:
    """A run's weights as torch tensors (``framework="pt"``) or NumPy arrays (``"numpy"``), checked finite.

    safetensors holds raw arrays and a JSON header: nothing is unpickled, no code runs on load.
    """
    from safetensors import SafetensorError, safe_open  # deferred: safetensors only when weights are read/written

    weights = Path(path) / WEIGHTS
    if not weights.exists():
        raise InputError(weights, "missing: the run has no weights")
    try:
        with safe_open(str(weights), framework=framework) as f:
            state = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(weights, f"corrupted weights file ({exc})") from None
    check_finite(state, weights)
    return state


def load_run(path: str | Path, device: str | torch.device = "cpu") -> Run:
    """Load a run directory into a :class:`Run` whose model is ready for inference."""
    from rnnlab.models import build_model  # deferred: torch only where a model is built (module docstring)

    path = Path(path)
    config, model_config, train_config, labels, vocab = read_run_files(path)
    weights = path / WEIGHTS
    state = read_weights(path, "pt")
    model = build_model(model_config, vocab)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(weights, f"weights do not match the config: {' '.join(first[:3])[:400]}") from None
    model.to(device).eval()
    return Run(path, model, vocab, model_config, train_config, labels, config.get("meta", {}), read_metrics(path))
