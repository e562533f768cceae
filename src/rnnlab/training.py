"""The training loop and evaluation.

``train`` and ``test`` keep the classic notebook signatures. ``fit`` is the whole
pipeline the CLI and the studies use: read, tokenize (cached), build the
vocabulary and embedding matrix, train, keep the best epoch, save a run.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import hashlib
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from rnnlab import checkpoint as ckpt
from rnnlab import distributed
from rnnlab.config import PRECISIONS, TRAIN_METRICS, ModelConfig, TrainConfig, replace
from rnnlab.data.batching import EncodedDataset, family_of, make_loader
from rnnlab.data.pipeline import TextPipeline
from rnnlab.data.readers import Examples, as_examples
from rnnlab.data.task import Task, binary_task
from rnnlab.data.tokenize import Tokenizer, tokenize_cached
from rnnlab.data.vocab import build_vocab_from_corpus
from rnnlab.embeddings import embedding_matrix, load_vectors
from rnnlab.errors import RnnlabError, WriteError
from rnnlab.models import build_model
from rnnlab.progress import progress_bar

Log = Callable[[str], None]


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads: ``n``, else ``$RNNLAB_THREADS``, else 1.

    One thread is the default because these models are small: on a 2-core machine
    with anything else running, two OpenMP threads made an LSTM step over 100x
    slower (spin-waiting on a busy core), and on an idle machine the gain from a
    second thread is small. ``benchmarks/`` measures it.
    """
    global _THREADS_CHOSEN
    if n is None and _THREADS_CHOSEN is not None:
        return _THREADS_CHOSEN  # an explicit choice (--threads) stands for the whole process
    n = n or int(os.environ.get("RNNLAB_THREADS", "1"))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    _THREADS_CHOSEN = n
    return n


_THREADS_CHOSEN: int | None = None

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def reuse_freed_memory() -> bool:
    """Keep the memory freed tensors give back inside the process, for the next batch (glibc only).

    glibc serves every allocation above 32 MB (the states of a batch of long reviews) with
    fresh pages from the kernel and hands them back when the tensor is freed, so each batch
    page-faults its tensors in again and the kernel zeroes every page: in ``imdb-best``
    training that was over a quarter of the CPU time (system time; ``benchmarks/train_speed.md``).
    Allocating from the heap only and never trimming it keeps the pages: the resident memory
    stays at its peak instead of falling between batches. Called by training (batch inference
    keeps its batches under 32 MB: :data:`rnnlab.inspect.STATE_BUDGET`); returns whether the
    allocator took the settings (False off glibc). Set
    ``RNNLAB_REUSE_MEMORY=0`` to leave the allocator alone.
    """
    global _MEMORY_REUSED
    if _MEMORY_REUSED is None:
        _MEMORY_REUSED = False
        if os.environ.get("RNNLAB_REUSE_MEMORY", "1") != "0" and sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                _MEMORY_REUSED = bool(libc.mallopt(_M_MMAP_MAX, 0) and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
            except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
                pass
    return _MEMORY_REUSED


_MEMORY_REUSED: bool | None = None


# -- one model step ---------------------------------------------------------------
def _logits(model, text, extra):
    if hasattr(model, "forward_logits"):
        return model.forward_logits(text, extra)
    # A user model in the classic style: forward() gives probabilities.
    return torch.logit(model(text, extra).clamp(1e-7, 1 - 1e-7))


def _loss_fn(model):
    fn = getattr(model, "loss_function", None)
    # a classic class's loss works on probabilities (as its forward); it names the same loss on logits
    return getattr(fn, "on_logits", None) or fn or torch.nn.BCEWithLogitsLoss()


def _to(device, *tensors):
    return [t.to(device, non_blocking=True) for t in tensors]


def _targets(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Batches carry float class ids; k-class logits (B, k) want them as int64 for cross-entropy."""
    return labels.long() if logits.dim() > 1 else labels


def model_task(model, labels: Sequence[str] | None = None):
    """The :class:`~rnnlab.data.task.Task` of ``model``: ``labels`` when given, else ``neg``/``pos`` for
    two classes and ``"0"``..``"k-1"`` for k."""
    if labels is not None:
        return Task(tuple(labels))
    k = getattr(getattr(model, "rnnlab_module", model), "num_classes", 2)
    return binary_task() if k == 2 else Task(tuple(str(i) for i in range(k)))


@torch.no_grad()
def evaluate(model, dataloader: Iterable, device: str | torch.device = "cpu",
             labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy, mean loss and :meth:`Task.metrics <rnnlab.data.task.Task.metrics>` over a loader.

    Two classes: the loss is binary cross-entropy on one logit (``precision``/``recall``/``f1``
    are those of ``labels[1]``); k classes: cross-entropy on k logits, plus ``macro_f1``.
    ``labels`` names the classes (default: :func:`model_task`).
    """
    task = model_task(model, labels)
    was_training = model.training
    model.eval()
    loss_fn = task.loss_function(reduction="sum")
    total_loss, gold, pred = 0.0, [], []
    for labels_, text, extra in dataloader:
        labels_, text, extra = _to(device, labels_, text, extra)
        with torch.autocast("cuda", dtype=torch.float16, enabled=torch.device(device).type == "cuda"):
            logits = _logits(model, text, extra).float()
        total_loss += float(loss_fn(logits, _targets(logits, labels_)))
        pred.append(task.predict(logits).cpu())
        gold.append(labels_.long().cpu())
    model.train(was_training)
    m = task.metrics(torch.cat(gold).numpy() if gold else [], torch.cat(pred).numpy() if pred else [])
    m["loss"] = total_loss / m["n"] if m["n"] else float("nan")
    return m


def evaluate_examples(model, pipeline, examples, *, batch_size: int = 256, progress: bool = False) -> dict[str, Any]:
    """:func:`evaluate` on labelled examples, encoded by the run's own ``pipeline``
    (:class:`~rnnlab.data.pipeline.TextPipeline`: its tokenizer, vocabulary, ``max_length``), batched by length."""
    ds = EncodedDataset(pipeline.encode_batch([e.text for e in examples], progress=progress),
                        [e.label for e in examples])
    loader = make_loader(ds, family_of(getattr(model, "family", "recurrent")), batch_size, shuffle=False,
                         pad_index=pipeline.vocab.pad_index)
    return evaluate(model, loader, next(model.parameters()).device, labels=pipeline.labels)


def test(model, dataloader: Iterable) -> dict[str, float]:
    """Classic API: ``{"acc": ..., "loss": ...}`` of ``model`` on ``dataloader``."""
    m = evaluate(model, dataloader)
    return {"acc": m["acc"], "loss": m["loss"]}


def train_epoch(model, dataloader: Iterable, optimizer, clip_grad: float | None = None,
                device: str | torch.device = "cpu", progress: Callable[[int], None] | None = None,
                on_step: Callable[[], None] | None = None, scaler=None, tally: "RunningMetrics | None" = None,
                precision: str = "float32") -> int:
    """One pass of updates; returns the number of examples seen.

    On CUDA the forward pass runs under float16 autocast with ``scaler`` (a
    ``torch.amp.GradScaler``, made here when not given) scaling the loss. On the CPU
    ``precision="bfloat16"`` runs it under bfloat16 autocast (see :func:`resolve_precision`).
    ``tally`` (a :class:`RunningMetrics`) collects each batch's loss and predictions as trained.
    """
    model.train()
    loss_fn = _loss_fn(model)
    seen = 0
    cuda = torch.device(device).type == "cuda"
    if cuda and scaler is None:
        scaler = torch.amp.GradScaler("cuda")
    for labels, text, extra in dataloader:
        labels, text, extra = _to(device, labels, text, extra)
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, precision):
            logits = _logits(model, text, extra)
        loss = loss_fn(logits.float(), _targets(logits, labels))
        if tally is not None:
            tally.add(logits.detach(), labels, loss.detach())
        if scaler is not None:
            scaler.scale(loss).backward()
            if clip_grad:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if clip_grad:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
        seen += len(labels)
        if progress:
            progress(len(labels))
        if on_step:
            on_step()
    return seen


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), so oneDNN's bfloat16 kernels are fast."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # a torch without these probes: assume not
        return False


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """The arithmetic of the training passes for ``TrainConfig.precision``.

    ``"float32"``: plain float32. ``"bfloat16"``: on the CPU the forward pass runs under
    bfloat16 autocast (matrix products and the recurrent kernels in bfloat16, weights,
    gradients and the optimizer in float32; bfloat16 keeps float32's range, so no loss
    scaling). ``"auto"``: bfloat16 where :func:`cpu_has_bfloat16`, else float32. On CUDA
    the training passes always use float16 autocast (returns ``"float16"``). Evaluation,
    prediction and the inspection tools always compute in float32. ``"bfloat16"`` on a CPU
    without it is refused (:class:`ValueError`): oneDNN has no bfloat16 LSTM there.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if torch.device(device).type == "cuda":
        return "float16"
    if precision == "auto":
        return "bfloat16" if cpu_has_bfloat16() else "float32"
    if precision == "bfloat16" and not cpu_has_bfloat16():
        raise ValueError("precision 'bfloat16' needs a CPU that computes in bfloat16 natively (AVX512-BF16 or "
                         "AMX), and this one does not; use 'auto' (float32 here) or 'float32'")
    return precision


def _autocast(device, precision: str):
    """The training pass's autocast context: float16 on CUDA, bfloat16 on the CPU when asked, else none."""
    if torch.device(device).type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    if precision == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class RunningMetrics:
    """Train accuracy and loss from the training passes themselves, at no extra cost.

    The numbers are means over an epoch's batches *as they were trained*: the weights
    change during the epoch and dropout is on, so they differ from a pass over the
    training data with the epoch's final weights (what :func:`train` computes by default).
    The loss is the batch's training loss (its mean) weighted by the batch's size.
    """

    def __init__(self, task: Task):
        self.task = task
        self.loss_sum, self.gold, self.pred = 0.0, [], []

    def add(self, logits: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor) -> None:
        self.loss_sum += float(loss) * len(labels)
        self.pred.append(self.task.predict(logits.float()).cpu())
        self.gold.append(labels.long().cpu())

    def metrics(self) -> dict[str, Any] | None:
        if not self.gold:
            return None
        m = self.task.metrics(torch.cat(self.gold).numpy(), torch.cat(self.pred).numpy())
        m["loss"] = self.loss_sum / m["n"] if m["n"] else float("nan")
        return m


RUNNING_NOTE = ("train acc / loss: running means over each epoch's batches as they were trained (weights "
                "changing, dropout on), not a pass over the training data; none before training (epoch 0)")


@contextlib.contextmanager
def flush_denormals():
    """Within: float32 values below 1.2e-38 (denormals) count as zero on the CPU.

    Gradients that fade through time (an LSTM read only through its final state, early
    in training) reach the denormal range, where arithmetic takes the CPU's slow path,
    many times slower, for numbers that cannot change an update. With max + mean pooling
    the gradients stay larger: ``benchmarks/demo_speed.md`` finds no difference beyond
    noise in imdb-best's training loop. The previous mode is restored on exit; where the
    CPU cannot flush denormals nothing changes.
    """
    before = float(torch.tensor([1e-39], dtype=torch.float32)) == 0.0  # already flushing?
    if before or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


# -- the table ----------------------------------------------------------------------
HEADER = "| epoch | train acc | train loss | valid acc | valid loss |"
RULE = "|------:|----------:|-----------:|----------:|-----------:|"
HEADER_K = "| epoch | train acc | train loss | train macro-F1 | valid acc | valid loss | valid macro-F1 |"
RULE_K = "|------:|----------:|-----------:|---------------:|----------:|-----------:|---------------:|"


def table_header(k: int = 2) -> tuple[str, str]:
    """The header and rule of the epoch table: macro-F1 columns join accuracy and loss for k > 2 classes."""
    return (HEADER, RULE) if k <= 2 else (HEADER_K, RULE_K)


def table_row(epoch: int, train: dict | None, valid: dict | None, k: int = 2) -> str:
    def cell(m, key, width):
        return f"{m[key]:>{width}.4f}" if m else " " * (width - 1) + "-"
    if k <= 2:
        return (f"| {epoch:>5} | {cell(train, 'acc', 9)} | {cell(train, 'loss', 10)} | "
                f"{cell(valid, 'acc', 9)} | {cell(valid, 'loss', 10)} |")
    return (f"| {epoch:>5} | {cell(train, 'acc', 9)} | {cell(train, 'loss', 10)} | {cell(train, 'macro_f1', 14)} | "
            f"{cell(valid, 'acc', 9)} | {cell(valid, 'loss', 10)} | {cell(valid, 'macro_f1', 14)} |")


def train(model, dataloader, optimizer, epochs: int = 10, print_every: int = 1, validation_data=None,
          log: Log = print, clip_grad: float | None = None, keep_best: bool = False,
          patience: int | None = None, eval_dataloader=None, on_epoch_end: Callable | None = None,
          start_epoch: int = 0, history: list | None = None, device="cpu", progress: bool = True,
          scheduler=None, best: dict | None = None, checkpoint: Callable | None = None,
          is_logger: bool = True, train_metrics: str = "full", precision: str = "float32") -> list[dict]:
    """Train ``model`` and print ``| epoch | train acc | train loss | valid acc | valid loss |``.

    Epoch 0 (before any update) comes first, then every ``print_every`` epochs and
    the last. Train columns are a full evaluation pass over the training data
    (``eval_dataloader`` if given, else ``dataloader``) with the weights at the end of
    the epoch, as in the classic code. The validation set is evaluated every epoch
    (it drives ``keep_best`` and ``patience``). Returns one dict per epoch.

    ``scheduler`` (a per-epoch learning-rate scheduler) steps after each training
    epoch. ``checkpoint(epoch, best, stale)`` runs after ``on_epoch_end``: the run's
    resumable state is saved there. A resumed run passes ``start_epoch``,
    ``history`` and ``best`` (``{"loss", "epoch", "state", "stale"}``).

    ``train_metrics="running"`` takes the train columns from the training passes
    (:class:`RunningMetrics`: means over the epoch's batches as trained; none at epoch 0)
    instead of an extra pass over the training data each epoch, and says so above the
    header. Denormal floats are flushed to zero while training (:func:`flush_denormals`).
    ``precision``: the training passes' arithmetic on the CPU, ``"float32"`` or ``"bfloat16"``
    (``"auto"`` is resolved by :func:`resolve_precision`); evaluation stays in float32.
    """
    if train_metrics not in TRAIN_METRICS:
        raise ValueError(f"unknown train_metrics {train_metrics!r}; choose one of {', '.join(TRAIN_METRICS)}")
    configure_threads()  # notebook users too: two OpenMP threads on a busy 2-core CPU stall badly
    reuse_freed_memory()
    with flush_denormals():
        return _train_epochs(model, dataloader, optimizer, epochs=epochs, print_every=print_every,
                             validation_data=validation_data, log=log, clip_grad=clip_grad, keep_best=keep_best,
                             patience=patience, eval_dataloader=eval_dataloader, on_epoch_end=on_epoch_end,
                             start_epoch=start_epoch, history=history, device=device, progress=progress,
                             scheduler=scheduler, best=best, checkpoint=checkpoint, is_logger=is_logger,
                             running=train_metrics == "running", precision=resolve_precision(precision, device))


def _train_epochs(model, dataloader, optimizer, *, epochs, print_every, validation_data, log, clip_grad, keep_best,
                  patience, eval_dataloader, on_epoch_end, start_epoch, history, device, progress, scheduler, best,
                  checkpoint, is_logger, running, precision) -> list[dict]:
    if not is_logger:  # distributed training: only rank 0 prints
        log, progress = (lambda *_: None), False
    history = history if history is not None else []
    eval_train = eval_dataloader or dataloader
    core = getattr(model, "rnnlab_module", model)  # the model inside a DDP wrapper (rnnlab.distributed)
    stale = 0
    if best is not None:
        best = dict(best)
        stale = best.pop("stale", 0)
    else:
        best = {"loss": math.inf, "epoch": None, "state": None}
        for row in history:  # resumed: recover the best so far
            v = row.get("valid")
            if v and v["loss"] < best["loss"]:
                best.update(loss=v["loss"], epoch=row["epoch"])
    k = getattr(core, "num_classes", 2)
    if start_epoch == 0:
        if running:
            log(RUNNING_NOTE)
        for line in table_header(k):
            log(line)
    start = time.perf_counter()
    n_train = _dataset_size(dataloader)
    scaler = torch.amp.GradScaler("cuda") if torch.device(device).type == "cuda" else None
    for epoch in range(start_epoch, epochs + 1):
        t0 = time.perf_counter()
        tally = RunningMetrics(model_task(core)) if running else None
        if epoch > 0:
            with progress_bar(f"epoch {epoch}", total=n_train, unit="reviews", enabled=progress) as advance:
                train_epoch(model, dataloader, optimizer, clip_grad=clip_grad, device=device, progress=advance,
                            scaler=scaler, tally=tally, precision=precision)
            if scheduler is not None:
                scheduler.step()
        train_seconds = time.perf_counter() - t0
        printed = epoch % print_every == 0 or epoch == epochs
        if running:
            train_m = tally.metrics()
        else:
            train_m = evaluate(model, eval_train, device) if printed else None
        valid_m = evaluate(model, validation_data, device) if validation_data is not None else None
        _check_finite(epoch, core, train_m, valid_m)  # before the row is kept: the last good checkpoint stays
        row = {"epoch": epoch, "train": _short(train_m), "valid": _short(valid_m),
               "train_seconds": round(train_seconds, 3)}
        history.append(row)
        if printed:
            log(table_row(epoch, train_m, valid_m, k))
        if valid_m is not None:
            if valid_m["loss"] < best["loss"] - 1e-12:
                best.update(loss=valid_m["loss"], epoch=epoch,
                            state=copy.deepcopy(core.state_dict()) if keep_best else None)
                stale = 0
            elif epoch > 0:
                stale += 1
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
        if checkpoint is not None:
            checkpoint(epoch, best, stale)
        if patience is not None and stale >= patience and epoch < epochs:
            log(f"stopping early: no better validation loss for {patience} epoch{'s' if patience != 1 else ''}")
            break
    elapsed = time.perf_counter() - start
    if keep_best and best["state"] is not None:
        core.load_state_dict(best["state"])
        log(f"kept the weights of epoch {best['epoch']} (lowest validation loss {best['loss']:.4f})")
    log(f"training time: {_fmt_seconds(elapsed)}")
    return history


class TrainingDiverged(Exception):
    """The loss or the weights became nan/inf; raised before the epoch is kept (see :func:`fit`)."""

    def __init__(self, epoch: int, what: str):
        super().__init__(f"training diverged in epoch {epoch} ({what}); the learning rate is probably too high")
        self.epoch, self.what = epoch, what


def _check_finite(epoch: int, model, *metrics) -> None:
    for name, m in zip(("train", "valid"), metrics):
        if m is not None and m.get("n") and not math.isfinite(m["loss"]):
            raise TrainingDiverged(epoch, f"{name} loss {m['loss']}")
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise TrainingDiverged(epoch, f"weight {name} is not finite")


def _dataset_size(loader) -> int | None:
    try:
        return len(loader.dataset)
    except (AttributeError, TypeError):
        return None


def _short(m: dict | None) -> dict | None:
    """The per-epoch summary kept in the history: binary rows keep their classic keys; k classes add macro-F1."""
    keys = ("acc", "loss", "precision", "recall", "f1") if "f1" in (m or {}) else ("acc", "loss", "macro_f1")
    return None if m is None else {k: m[k] for k in keys}


def _fmt_seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)} min {s % 60:.0f} s"


# -- the whole pipeline ---------------------------------------------------------------
@dataclass
class Prepared:
    """Data ready to train on: vocabulary, embeddings, encoded splits, and the text pipeline."""

    vocab: Any
    embeddings: torch.Tensor
    coverage: Any
    train: Any                      # EncodedDataset
    valid: Any | None
    labels: list[str]
    tokenize_seconds: float = 0.0
    cached: bool = False
    info: dict = field(default_factory=dict)
    pipeline: Any = None            # TextPipeline; built from the fields above when not given

    def __post_init__(self):
        if self.pipeline is None:

            self.pipeline = TextPipeline(self.vocab, Task(tuple(self.labels)))

    @property
    def task(self):
        return self.pipeline.task


def prepare_data(train_examples, valid_examples=None, *, labels: Sequence[str] | None = None,
                 min_freq: int = 1, max_vocab: int | None = None, max_length: int | None = None,
                 vectors=None, extra_tokens: Sequence[str] = (), log: Log = print,
                 cache_root=None, progress: bool = True, tokenizer=None) -> Prepared:
    """Tokenize (cached), build the vocabulary on the training texts, embed, encode through one
    :class:`~rnnlab.data.pipeline.TextPipeline`.

    ``train_examples``/``valid_examples``: anything :func:`~rnnlab.data.readers.as_examples` takes
    (examples, a ``TSVDataset``, ``(label, text)`` pairs, a file path). ``labels``: the class names in
    id order (default: the training data's own, else ``neg``/``pos``). A single-class training set is refused.
    """

    train_examples = as_examples(train_examples, labels)
    task = training_task(train_examples)
    valid_examples = as_examples(valid_examples, task.labels) if valid_examples is not None else None
    tokenizer = tokenizer or Tokenizer()
    t0 = time.perf_counter()
    train_corpus, c1 = tokenize_cached([e.text for e in train_examples], tokenizer, cache_root=cache_root,
                                       progress=progress)
    valid_corpus, c2 = (tokenize_cached([e.text for e in valid_examples], tokenizer, cache_root=cache_root,
                                        progress=progress) if valid_examples else (None, True))
    tok_s = time.perf_counter() - t0
    vocab = build_vocab_from_corpus(train_corpus, min_freq=min_freq, max_size=max_vocab)
    for t in extra_tokens:
        vocab.append_token(t)
    pipeline = TextPipeline(vocab, task, max_length, tokenizer)
    cached = c1 and c2
    log(f"tokens: {len(train_examples):,} training texts, {int(train_corpus.offsets[-1]):,} tokens "
        f"({'from the cache' if cached else 'tokenized'} in {tok_s:.1f} s); vocabulary {len(vocab):,}"
        + (f"; {task.k} classes ({', '.join(task.labels)})" if not task.binary else ""))
    vectors = load_vectors(vectors) if not hasattr(vectors, "vectors") else vectors
    train_ids = train_corpus.encode(vocab)
    counts = np.bincount(np.concatenate(train_ids), minlength=len(vocab)) if train_ids else None
    emb, coverage = embedding_matrix(vocab, vectors, counts)
    log(f"pretrained vectors cover {coverage}")
    train_ds = EncodedDataset(pipeline.encode_corpus(train_corpus), [e.label for e in train_examples])
    valid_ds = (EncodedDataset(pipeline.encode_corpus(valid_corpus), [e.label for e in valid_examples])
                if valid_corpus is not None else None)
    return Prepared(vocab, emb, coverage, train_ds, valid_ds, list(task.labels), tok_s, cached,
                    {"train_tokens": int(train_corpus.offsets[-1])}, pipeline)


def training_task(examples):
    """The task of a training set: its label names, refusing a set that holds a single class."""

    names = tuple(examples.labels)
    seen = sorted({names[e.label] for e in examples})
    if len(seen) < 2:
        where = f"{examples.source}: " if getattr(examples, "source", "") else ""
        raise RnnlabError(f"{where}the training data holds a single class ({', '.join(seen) or 'none'}); "
                          "a classifier needs at least two")
    return Task(names)


def make_optimizer(model, cfg: TrainConfig):
    """SGD or Adam over the trainable parameters, using the fused kernels.

    Fused Adam is about 7x faster per step than the default on CPU for a
    (46k, 50) fine-tuned embedding, and gives the same updates.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.SGD
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def make_scheduler(optimizer, cfg: TrainConfig, epochs: int | None = None):
    """A per-epoch learning-rate scheduler for ``cfg.lr_schedule``; ``None`` for a constant rate.

    ``linear``: epoch ``e`` (1-based) trains at ``lr * (1 - (e - 1) / epochs)``.
    """
    if getattr(cfg, "lr_schedule", "constant") == "constant":
        return None
    n = max(1, epochs or cfg.epochs)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda done: max(0.0, 1.0 - done / n))


def split_validation(examples, fraction: float, seed: int):
    """Hold out ``fraction`` of the examples (a seeded shuffle) for validation."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(len(examples))
    n_valid = max(1, int(round(len(examples) * fraction)))
    valid = [examples[i] for i in sorted(order[:n_valid])]
    train_ = [examples[i] for i in sorted(order[n_valid:])]
    if hasattr(examples, "labels"):  # Examples: the halves keep the label names

        return (Examples(train_, examples.labels, examples.source), Examples(valid, examples.labels, examples.source))
    return train_, valid


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is a clear error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RnnlabError("--device cuda: no CUDA device is available here (torch "
                          f"{torch.__version__}); use --device cpu or auto")
    return device


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM during training; says what was kept and how to resume."""

    def __init__(self, message: str, run_dir=None, epoch: int | None = None, signal_name: str = "SIGINT"):
        super().__init__(message)
        self.run_dir, self.epoch, self.signal_name = run_dir, epoch, signal_name

    @property
    def exit_code(self) -> int:
        return 143 if self.signal_name == "SIGTERM" else 130


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so it is handled like Ctrl-C."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within ``fit``: SIGTERM stops training like Ctrl-C (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    pid = os.getpid()

    def handler(signum, frame):
        if os.getpid() != pid:  # a forked worker (the tokenizer's pool) inherited this: die as by default
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def data_fingerprint(examples=None, dataset=None) -> str | None:
    """SHA-256 over the (label, text) pairs (or, for prepared data, the encoded ids and labels)."""
    if examples is None and dataset is None:
        return None
    h = hashlib.sha256()
    if examples is not None:
        for e in examples:
            h.update(f"{e.label}\t{e.text}\n".encode("utf-8"))
    else:
        for ids, y in zip(dataset.ids, dataset.labels):
            h.update(np.asarray(ids, dtype=np.int64).tobytes())
            h.update(f"|{y}\n".encode())
    return h.hexdigest()


def _fingerprints(train_examples, valid_examples, prepared) -> dict[str, Any]:
    train_fp = (data_fingerprint(train_examples) if train_examples is not None
                else data_fingerprint(dataset=prepared.train))
    valid_fp = (data_fingerprint(valid_examples) if valid_examples is not None
                else data_fingerprint(dataset=prepared.valid) if prepared.valid is not None else None)
    emb = prepared.embeddings.detach().cpu().contiguous().numpy()
    return {"train": {"sha256": train_fp, "n": len(prepared.train)},
            "valid": {"sha256": valid_fp, "n": len(prepared.valid) if prepared.valid is not None else 0},
            "vectors": {"sha256": hashlib.sha256(emb.tobytes()).hexdigest(), "shape": list(emb.shape)}}


def _check_same_data(run, old: dict | None, new: dict) -> None:
    """Refuse a resume on other data than the run started with: one line saying what changed."""
    if not old:
        return  # a checkpoint from before fingerprints: nothing to compare
    names = {"train": "the training data", "valid": "the validation data", "vectors": "the word vectors"}
    for key in ("train", "valid", "vectors"):
        if old.get(key, {}).get("sha256") != new[key]["sha256"]:
            sizes = ""
            if "n" in new[key] and old.get(key, {}).get("n") != new[key]["n"]:
                sizes = f" ({old[key].get('n')} examples then, {new[key]['n']} now)"
            elif key != "vectors":
                sizes = f" (same {new[key]['n']} examples, other texts or labels)"
            raise RnnlabError(f"--resume {run}: {names[key]} changed since the run started{sizes}; "
                              "a resume must use the same data; train a new run instead")


def fit(train_examples, valid_examples=None, *, model_config: ModelConfig, train_config: TrainConfig,
        out_dir: str | Path | None = None, labels: Sequence[str] | None = None, vectors=None,
        extra_tokens: Sequence[str] = (), prepared: Prepared | None = None, log: Log = print,
        meta: dict | None = None, progress: bool = True, eval_batch_size: int = 256,
        device: str | torch.device = "cpu", resume: bool = False, checkpoint: bool = True,
        resume_info: dict | None = None, overwrite: bool = False,
        on_trained: Callable[[Any, Prepared], dict | None] | None = None, train_metrics: str | None = None):
    """Train a model end to end; save a run directory when ``out_dir`` is given.

    The run is built by a :class:`rnnlab.runs.RunWriter` in ``.NAME.partial`` beside
    ``out_dir`` and moved into place only when complete; an existing run is refused
    unless ``overwrite``. A resumable checkpoint (model, optimizer, scheduler, RNG
    states, epoch, fingerprints of the data and vectors) is written atomically after
    every epoch; ``resume=True`` continues from it (refusing other data) and reaches
    the same result as an uninterrupted run. Ctrl-C or SIGTERM raises
    :class:`TrainingInterrupted`; a nan/inf loss raises :class:`TrainingDiverged`
    as a one-line :class:`~rnnlab.errors.RnnlabError`, keeping the last good
    checkpoint. ``on_trained(model, prepared)`` runs before the run is written; a
    dict it returns is stored as ``meta["test"]``. Under ``torchrun`` training runs
    with DistributedDataParallel (see :mod:`rnnlab.distributed`). ``train_metrics``:
    see :func:`train`; ``None`` takes ``train_config.train_metrics`` (``"running"`` is recorded in the
    run's meta).

    ``train_examples``/``valid_examples`` may be examples, a ``TSVDataset``, a list of
    ``(label, text)`` pairs or a file path (any format :func:`~rnnlab.data.readers.read_examples`
    reads). Two classes train one logit with binary cross-entropy; k > 2 classes train k
    logits with cross-entropy (``model_config.num_classes`` is set from the data).

    Returns ``(model, history, prepared)``; ``prepared.pipeline`` is the run's text pipeline.
    """
    out = Path(out_dir) if out_dir is not None else None
    if resume and out is None:
        raise ValueError("resume needs the run directory (out_dir)")
    holder: dict = {}
    train_metrics = train_metrics or train_config.train_metrics   # train() refuses an unknown one
    with _sigterm_as_interrupt():
        try:
            try:
                return _fit(train_examples, valid_examples, model_config=model_config, train_config=train_config,
                            out=out, labels=labels, vectors=vectors, extra_tokens=extra_tokens, prepared=prepared,
                            log=log, meta=meta, progress=progress, eval_batch_size=eval_batch_size, device=device,
                            resume=resume, checkpoint=checkpoint, resume_info=resume_info, overwrite=overwrite,
                            on_trained=on_trained, holder=holder, train_metrics=train_metrics)
            except TrainingDiverged as exc:
                raise RnnlabError(f"{exc}{_kept(holder.get('writer'), exc.last_epoch, out)}") from None
            except WriteError as exc:  # a full disk: one line saying what was kept
                raise WriteError(f"{exc}{_kept(holder.get('writer'), getattr(exc, 'last_epoch', -1), out)}") from None
        except BaseException:
            if holder.get("writer") is not None:  # any failure: keep resumable progress, remove the rest
                holder["writer"].abandon()
            raise


def _kept(writer, epoch: int, out) -> str:
    """What a failed run kept: the last good checkpoint, or nothing (the partial folder is then removed)."""
    if writer is not None and writer.keeps() and epoch >= 0:
        return f"; the last good checkpoint (epoch {epoch}) is kept in {writer.dir}; {out} was not changed"
    return "" if out is None else f"; nothing was saved and {out} was not changed"


def _fit(train_examples, valid_examples, *, model_config, train_config, out, labels, vectors, extra_tokens,
         prepared, log, meta, progress, eval_batch_size, device, resume, checkpoint, resume_info, overwrite,
         on_trained, holder, train_metrics="full"):
    from rnnlab.runs import RunWriter  # deferred: circular (runs -> inspect -> training -> runs)

    configure_threads()
    reuse_freed_memory()
    device = resolve_device(device)
    try:  # refused before any work is done (a run resumed on another machine, too)
        precision = resolve_precision(train_config.precision, device)
    except ValueError as exc:
        raise RnnlabError(str(exc)) from None
    dist = distributed.setup(device)
    device = distributed.device_for(device, dist)
    if not dist.is_main:
        log = lambda *_: None  # noqa: E731  (only rank 0 prints)
        progress = False
    writes = out is not None and dist.is_main
    state = tensors = None
    if resume:
        tensors, state = ckpt.read_checkpoint(out)  # the kept partial run's, else the run's own
        if state.get("finished") and train_config.epochs <= state["epoch"]:
            raise RnnlabError(f"{out}: this run already finished (epoch {state['epoch']}); nothing to resume "
                              f"(give --epochs N with N > {state['epoch']} to extend it)")
    # Refuse an existing run (or claim the partial folder) before any work is done.
    writer = holder["writer"] = RunWriter(out, overwrite=overwrite, resume=resume) if writes else None
    prepared = prepared or prepare_data(train_examples, valid_examples, labels=labels,
                                        min_freq=train_config.min_freq, max_vocab=train_config.max_vocab,
                                        max_length=train_config.max_length, vectors=vectors,
                                        extra_tokens=extra_tokens, log=log, progress=progress)
    if train_examples is not None:  # a path, dataset or pairs: the examples it holds, for the fingerprint
        train_examples = as_examples(train_examples, prepared.labels)
    if valid_examples is not None:
        valid_examples = as_examples(valid_examples, prepared.labels)
    fingerprints = _fingerprints(train_examples, valid_examples, prepared)
    if resume:
        _check_same_data(out, state.get("fingerprints"), fingerprints)
    model_config = replace(model_config, vocab_size=len(prepared.vocab),
                           embedding_dim=int(prepared.embeddings.shape[1]), num_classes=prepared.task.k)
    torch.manual_seed(train_config.seed)
    model = build_model(model_config, prepared.vocab, prepared.embeddings).to(device)
    if dist.enabled:
        torch.manual_seed(train_config.seed + 1000 * dist.rank)  # different dropout masks per rank
    optimizer = make_optimizer(model, train_config)
    scheduler = make_scheduler(optimizer, train_config)
    family = family_of(model_config.model)
    pad = prepared.vocab.pad_index
    loader = make_loader(prepared.train, family, train_config.batch_size, shuffle=True,
                         bucket=train_config.bucket, seed=train_config.seed, pad_index=pad)
    loader = distributed.shard_loader(loader, dist)
    eval_train = (make_loader(prepared.train, family, eval_batch_size, shuffle=False, pad_index=pad)
                  if train_metrics == "full" else None)
    eval_valid = (make_loader(prepared.valid, family, eval_batch_size, shuffle=False, pad_index=pad)
                  if prepared.valid is not None else None)
    n_params = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"model: {model_config.model}, {n_params:,} parameters ({n_trainable:,} trainable)"
        + (f"; device {device}" if device.type != "cpu" else "")
        + ("; training passes in bfloat16 mixed precision" if precision == "bfloat16" else "")
        + (f"; {dist.world} processes (DDP)" if dist.enabled else ""))
    run_meta = {"tokenizer": prepared.pipeline.to_dict()["tokenizer"], "pipeline": prepared.pipeline.to_dict(),
                "parameters": n_params,
                "trainable_parameters": n_trainable, "train_examples": len(prepared.train),
                "valid_examples": len(prepared.valid) if prepared.valid is not None else 0,
                "coverage": {"vocab": prepared.coverage.vocab_share, "tokens": prepared.coverage.token_share},
                **({"train_metrics": "running"} if train_metrics == "running" else {}),
                **({"precision": precision} if precision == "bfloat16" else {}), **(meta or {})}
    if dist.enabled:
        run_meta["distributed"] = {"world_size": dist.world, "backend": "nccl" if device.type == "cuda" else "gloo"}

    start_epoch, history, best, seconds_before = 0, [], None, 0.0
    if resume:
        best = ckpt.restore(tensors, state, model=model, optimizer=optimizer, scheduler=scheduler, device=device)
        start_epoch, history = state["epoch"] + 1, state["history"]
        seconds_before = state.get("train_seconds", 0.0)
        loader.batch_sampler.set_epoch(state["epoch"])  # training epoch e draws the order of sampler epoch e-1
        if writer:  # rows written after the checkpoint (an interrupted epoch) are dropped
            writer.write_metrics(history)
        log(f"resuming {out} after epoch {state['epoch']}")
        for line in table_header(prepared.task.k):
            log(line)

    def on_epoch_end(epoch, row):
        if writer:  # metrics stream as they come, so an interrupted run keeps its history
            if epoch == 0:
                writer.write_metrics([row])
            else:
                writer.append_metrics(row)

    t0 = time.perf_counter()
    done = {"epoch": start_epoch - 1}
    info = {"model_config": model_config.__dict__, "train_config": train_config.__dict__,
            "labels": list(prepared.labels), "fingerprints": fingerprints, **(resume_info or {})}

    def save_state(epoch, best_, stale, finished=False):
        if writer and checkpoint:
            writer.save_checkpoint(model=distributed.unwrap(ddp_model), optimizer=optimizer, epoch=epoch,
                                   history=history, best=best_, stale=stale, scheduler=scheduler, finished=finished,
                                   info={**info, "train_seconds": seconds_before + time.perf_counter() - t0})
        done["epoch"] = epoch

    ddp_model = distributed.wrap(model, dist, device)
    try:
        history = train(ddp_model, loader, optimizer, epochs=train_config.epochs,
                        print_every=train_config.print_every, validation_data=eval_valid, log=log,
                        clip_grad=train_config.clip_grad, keep_best=train_config.keep_best and eval_valid is not None,
                        patience=train_config.patience, eval_dataloader=eval_train, on_epoch_end=on_epoch_end,
                        progress=progress, scheduler=scheduler, start_epoch=start_epoch, history=history,
                        best=best, checkpoint=save_state, device=device, train_metrics=train_metrics,
                        precision=precision)
    except (TrainingDiverged, WriteError) as exc:
        exc.last_epoch = done["epoch"]
        raise
    except KeyboardInterrupt as exc:
        if out is None or not dist.is_main:
            raise
        raise _interrupted(exc, out, writer, done["epoch"], checkpoint) from None
    run_meta["train_seconds"] = round(seconds_before + time.perf_counter() - t0, 2)
    run_meta["tokenize_seconds"] = round(prepared.tokenize_seconds, 2)
    best_row = min((r for r in history if r["valid"]), key=lambda r: r["valid"]["loss"], default=None)
    if best_row is not None and train_config.keep_best:
        run_meta["best_epoch"] = best_row["epoch"]
    if on_trained is not None and dist.is_main:
        extra = on_trained(model, prepared)
        if extra is not None:
            run_meta["test"] = extra
    if writer:
        try:
            writer.finish(model, prepared.vocab, model_config, train_config, list(prepared.labels), run_meta,
                          history, title=f"{out.name} ({model_config.model})")
        except WriteError as exc:
            exc.last_epoch = done["epoch"]
            raise
        log(f"saved run to {out}")
    model.eval()
    return model, history, prepared


def _interrupted(exc, out, writer, epoch: int, checkpoint: bool) -> TrainingInterrupted:
    signal_name = "SIGTERM" if isinstance(exc, _Terminated) else "SIGINT"
    what = "stopped by SIGTERM" if signal_name == "SIGTERM" else "interrupted (Ctrl-C)"
    if writer is not None and epoch >= 0 and writer.keeps():
        msg = (f"training {what} during epoch {epoch + 1}; kept the checkpoint of epoch {epoch} in {writer.dir} "
               f"({out} was not changed); continue with: rnnlab train --resume {out}")
    else:  # fit() removes the partial folder (RunWriter.abandon)
        msg = (f"training {what} before the first epoch was saved; nothing was kept and {out} was not changed; "
               "start it again with the same command")
    return TrainingInterrupted(msg, out, epoch, signal_name)
