"""``rnnlab train``: train one model and save a run directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import (console, data_options, format_option, label_field_option, parse_labels,
                               text_field_option)
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.presets import DEFAULT, PRESETS

_M, _T = DEFAULT.model, DEFAULT.train


def _abs(source: str | None) -> str | None:
    """A data file as an absolute path (named data such as ``imdb:train`` stays as it is), so --resume works anywhere."""
    if source is None or source == "-" or ":" in str(source) and not Path(source).exists():
        return source
    return str(Path(source).resolve())


def run_train(*, train: str, out: Path, model_config: ModelConfig, train_config: TrainConfig,
              valid: str | None = None, valid_split: float = 0.1, test: str | None = None,
              vectors: str | None = None, labels: tuple[str, ...] | None = None, raw_text: bool = False,
              progress: bool = True, log=None, device: str = "cpu", resume: bool = False, overwrite: bool = False,
              data_options: dict | None = None, fit_options: dict | None = None, before_test=None):
    """Read data, train, save the run in ``out``; evaluate on ``test`` when given. Returns the fitted model.

    The run (test metrics included) is written by :class:`rnnlab.runs.RunWriter` and
    appears in ``out`` only when complete; an existing ``out`` is refused unless
    ``overwrite``. ``resume=True`` continues the run in ``out`` from its checkpoint
    (see :func:`resume_train`, which also restores the options it was started with).
    ``labels``: class names in id order (default: the sorted labels of ``train``);
    ``data_options``: ``format`` / ``text_field`` / ``label_field`` for every data file;
    ``fit_options``: more keyword arguments for :func:`rnnlab.training.fit` (e.g. ``train_metrics``);
    ``before_test()`` runs just before the test data are encoded (quickstart waits there for the
    test texts it tokenizes in the background).
    """
    from rnnlab.data.sources import load_examples
    from rnnlab.errors import RnnlabError
    from rnnlab.training import evaluate_examples, fit, split_validation

    log = log or console.print
    if not resume:
        _check_out(out, overwrite)
    opts = {k: v for k, v in (data_options or {}).items() if v is not None}
    train_examples = load_examples(train, labels, clean=not raw_text, **opts)
    names = tuple(train_examples.labels)  # the label order (given, or the sorted labels of --train)
    if valid:
        valid_examples = load_examples(valid, train_examples.labels, clean=not raw_text, **opts)
        valid_desc = str(valid)
    elif valid_split > 0:
        if len(train_examples) < 2:
            raise RnnlabError(f"--train {train}: {len(train_examples)} example(s) cannot be split into training "
                              "and validation data; give more data, --valid FILE, or --valid-split 0")
        train_examples, valid_examples = split_validation(train_examples, valid_split, train_config.seed)
        if not train_examples:
            raise RnnlabError(f"--valid-split {valid_split} leaves no training examples; use a smaller share")
        valid_desc = f"{valid_split:.0%} of {train} held out"
    else:
        valid_examples, valid_desc = None, None
    if not train_examples:
        raise RnnlabError(f"--train {train}: no training examples")
    seen = {e.label for e in train_examples}
    if len(seen) < 2:
        raise RnnlabError(f"--train {train}: the training data holds a single class ({names[min(seen)] if seen else '?'}); "
                          "a classifier needs examples of at least two classes")
    test_examples = load_examples(test, names, clean=not raw_text, **opts) if test else None  # bad test data: before training
    meta = {"data": {"train": str(train), "valid": valid_desc, "test": str(test) if test else None}}
    result = {}

    def on_trained(model, prepared):
        if before_test is not None:
            before_test()
        t0 = time.perf_counter()
        m = evaluate_examples(model, prepared.pipeline, test_examples, progress=progress)
        m["seconds"] = round(time.perf_counter() - t0, 2)
        f1 = f"F1 {m['f1']:.4f}" if "f1" in m else f"macro-F1 {m['macro_f1']:.4f}"
        log(f"test: accuracy {m['acc']:.4f}, loss {m['loss']:.4f}, {f1} on {m['n']:,} texts")
        result["test"] = m
        return {k: m[k] for k in ("acc", "loss", "precision", "recall", "f1", "macro_f1", "per_class", "n",
                                  "confusion") if k in m}

    model, history, prepared = fit(train_examples, valid_examples, model_config=model_config,
                                   train_config=train_config, out_dir=out, labels=names, vectors=vectors,
                                   log=log, meta=meta, progress=progress, device=device, resume=resume,
                                   overwrite=overwrite, on_trained=on_trained if test_examples else None,
                                   **(fit_options or {}),
                                   resume_info={"data": {"train": _abs(train), "valid": _abs(valid),
                                                         "valid_split": valid_split, "test": _abs(test),
                                                         "vectors": _abs(vectors), "raw_text": raw_text,
                                                         "options": opts}})
    from rnnlab.distributed import from_env

    if from_env().is_main:
        warn_if_one_class(model, prepared, history, valid_examples, train_config, log)
    return model, history, result.get("test")


def warn_if_one_class(model, prepared, history, valid_examples, train_config, log) -> str | None:
    """One highlighted line when the kept epoch predicts a single class for every validation text."""
    rows = [r for r in history if r.get("valid")]
    if not rows or not valid_examples:
        return None
    chosen = min(rows, key=lambda r: r["valid"]["loss"]) if train_config.keep_best else rows[-1]
    from rnnlab.training import evaluate_examples

    m = evaluate_examples(model, prepared.pipeline, valid_examples)
    predicted = [sum(column) for column in zip(*m["confusion"])]  # texts predicted as each class
    if sum(1 for n in predicted if n) != 1:
        return None
    only = list(prepared.labels)[next(i for i, n in enumerate(predicted) if n)]
    line = (f"warning: epoch {chosen['epoch']} predicts '{only}' for every validation text; the model has not "
            "learned to separate the classes (try the default recipe, more epochs or a higher learning rate)")
    log(f"[bold yellow]{line}[/bold yellow]" if log is console.print else line)
    return line


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse an --out that is a file, or an existing run without --overwrite, before reading any data."""
    from rnnlab.errors import RnnlabError
    from rnnlab.runs import partial_dir

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RnnlabError(f"--out {out}: is a file, not a run directory; choose another --out")
    if overwrite:
        return
    if out.is_dir() and any(out.iterdir()):
        raise RnnlabError(f"--out {out}: a run (or other files) already exists there; nothing was changed. "
                          f"Give --overwrite to replace it, or --resume {out} to continue it")
    if partial_dir(out).exists():
        raise RnnlabError(f"--out {out}: an interrupted run is kept in {partial_dir(out)}; continue it with "
                          f"--resume {out}, or give --overwrite to start again")


# --resume accepts these; every other option belongs to the run
RESUME_OPTIONS = ("epochs", "threads", "device")


def resume_train(*, run: Path, device: str = "cpu", progress: bool = True, log=None, epochs: int | None = None):
    """Continue the run ``run`` with the configs and data options stored in its checkpoint.

    ``epochs`` extends it (a finished run too). The data are checked against the
    fingerprints in the checkpoint before training continues.
    """
    from dataclasses import replace

    from rnnlab.checkpoint import read_checkpoint
    from rnnlab.config import from_dict
    from rnnlab.errors import RnnlabError
    from rnnlab.runs import resume_dir

    _, state = read_checkpoint(resume_dir(run))
    data = state.get("data") or {}
    if not data.get("train"):
        raise RnnlabError(f"{run}: the checkpoint does not say which data the run was trained on")
    train_config = from_dict(TrainConfig, state["train_config"])
    if epochs is not None:
        train_config = replace(train_config, epochs=epochs)
    return run_train(train=data["train"], out=Path(run), model_config=from_dict(ModelConfig, state["model_config"]),
                     train_config=train_config, valid=data.get("valid"),
                     valid_split=data.get("valid_split", 0.1), test=data.get("test"), vectors=data.get("vectors"),
                     labels=tuple(state["labels"]) if state.get("labels") else None,
                     raw_text=data.get("raw_text", False), progress=progress, log=log, device=device, resume=True,
                     data_options=data.get("options"))


# command-line option -> (config, field); a preset fills the fields the command line leaves at their defaults
_MODEL_OPTIONS = {"model": "model", "activation": "activation", "recurrent_dim": "recurrent_dim",
                  "hidden_dim": "hidden_dim", "layers": "layers", "bidirectional": "bidirectional",
                  "freeze": "freeze_embeddings", "dropout": "dropout", "pooling": "pooling"}
_TRAIN_OPTIONS = {"optimizer": "optimizer", "lr": "lr", "epochs": "epochs", "batch_size": "batch_size",
                  "print_every": "print_every", "seed": "seed", "max_length": "max_length", "min_freq": "min_freq",
                  "max_vocab": "max_vocab", "clip_grad": "clip_grad", "weight_decay": "weight_decay",
                  "patience": "patience", "bucket": "bucket", "lr_schedule": "lr_schedule",
                  "train_metrics": "train_metrics", "precision": "precision"}


def _given(ctx, name: str) -> bool:
    # compared by name: typer may ship its own copy of click's ParameterSource enum
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


@app.command("train")
def train_command(
    ctx: typer.Context,
    train: Optional[str] = typer.Option(None, "--train", help="Training data: a .tsv (<label>\\t<text>), .csv, .jsonl, .json or .parquet file, - (stdin), imdb:train or sample:train (required unless --preset or --resume gives it)."),
    preset: Optional[str] = typer.Option(None, metavar="NAME", help=f"Start from a named recipe ({', '.join(PRESETS)}); other options override it. Without it: the default recipe (see --list-presets)."),
    list_presets: bool = typer.Option(False, "--list-presets", help="List the presets with their descriptions and exit."),
    resume: Optional[Path] = typer.Option(None, help="Continue this run from its last completed epoch (an interrupted run, or a finished one with a larger --epochs); only --epochs, --threads and --device may be given with it."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out (the old run stays intact until the new one is complete)."),
    device: str = typer.Option("auto", help="auto (CUDA when available) | cpu | cuda; CUDA trains with float16 autocast."),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads (default $RNNLAB_THREADS or 1: see benchmarks/)."),
    out: Optional[Path] = typer.Option(None, help="Run directory to write (default runs/<model>-<time>)."),
    valid: Optional[str] = typer.Option(None, help="Validation data, any format --train takes (default: hold out --valid-split of --train)."),
    valid_split: float = typer.Option(0.1, help="Share of the training data held out when no --valid is given; 0 for none."),
    test: Optional[str] = typer.Option(None, help="Evaluate on this data (any format --train takes, or imdb:test) after training."),
    model: str = typer.Option(_M.model, help="Model: boe | rnn | lstm | gru."),
    activation: str = typer.Option(_M.activation, help="RNN cell activation: tanh | relu."),
    recurrent_dim: int = typer.Option(_M.recurrent_dim, help="Units in each recurrent layer (per direction)."),
    hidden_dim: int = typer.Option(_M.hidden_dim, help="Units in the ReLU layer before the output."),
    layers: int = typer.Option(_M.layers, help="Stacked recurrent layers."),
    bidirectional: bool = typer.Option(_M.bidirectional, help="Run the recurrent layers in both directions."),
    freeze: bool = typer.Option(_M.freeze_embeddings, "--freeze/--fine-tune", help="Keep the pretrained embeddings fixed, or fine-tune them."),
    dropout: float = typer.Option(_M.dropout, help="Dropout on the document embedding (and between stacked layers)."),
    pooling: str = typer.Option(_M.pooling, help="Recurrent document embedding: final | final+max+mean (over time)."),
    optimizer: str = typer.Option(_T.optimizer, help="Optimizer: sgd | adam."),
    lr: float = typer.Option(_T.lr, help="Learning rate."),
    epochs: int = typer.Option(_T.epochs, help="Training epochs."),
    batch_size: int = typer.Option(_T.batch_size, help="Texts per batch."),
    print_every: int = typer.Option(_T.print_every, help="Print a table row every N epochs (epoch 0 and the last always)."),
    seed: int = typer.Option(_T.seed, help="Random seed (initial weights, batch order, validation split)."),
    max_length: Optional[int] = typer.Option(_T.max_length, help="Keep only the first N tokens of each text."),
    min_freq: int = typer.Option(_T.min_freq, help="Vocabulary: minimum token count in the training data."),
    max_vocab: Optional[int] = typer.Option(_T.max_vocab, help="Vocabulary: maximum size, specials included."),
    clip_grad: Optional[float] = typer.Option(_T.clip_grad, help="Clip the gradient norm to this value."),
    weight_decay: float = typer.Option(_T.weight_decay, help="L2 weight decay."),
    lr_schedule: str = typer.Option(_T.lr_schedule, help="Learning rate: constant | linear (decay to 0 over the epochs)."),
    patience: Optional[int] = typer.Option(_T.patience, help="Stop after N epochs without a better validation loss."),
    bucket: bool = typer.Option(_T.bucket, help="Batch texts of similar length together (recurrent models)."),
    train_metrics: str = typer.Option(_T.train_metrics, help="Epoch table's train columns: full (a pass over the training data after each epoch) | running (means over the epoch's batches as trained; no extra pass)."),
    precision: str = typer.Option(_T.precision, help="CPU training passes: float32 | bfloat16 (mixed precision; needs a CPU with AVX512-BF16 or AMX) | auto (bfloat16 where the CPU has it, else float32). Evaluation and prediction stay float32."),
    vectors: Optional[str] = typer.Option(None, help="Pretrained vectors: glove-6b-50d (default) or a GloVe/word2vec text file."),
    raw_text: bool = typer.Option(False, help="Keep <br /> tags instead of turning them into spaces."),
    labels: Optional[str] = typer.Option(None, help="Label names in class-id order, comma-separated (default: the sorted labels of the training data; for two classes the second is the positive one)."),
    format: Optional[str] = format_option(),
    text_field: str = text_field_option(),
    label_field: str = label_field_option(),
) -> None:
    """Train a model, print the epoch table and save a run directory.

    Without --preset the default recipe is used (an LSTM that learns on small data in a few
    epochs); --preset classic gives the course's teaching settings.
    """
    from dataclasses import replace

    from rnnlab.training import TrainingInterrupted, configure_threads

    _check_options(ctx, lr=lr, valid_split=valid_split, threads=threads, device=device, labels=labels,
                   dropout=dropout, weight_decay=weight_decay, clip_grad=clip_grad, train_metrics=train_metrics,
                   precision=precision)
    if threads:
        import os

        os.environ["RNNLAB_THREADS"] = str(threads)  # fit() configures threads from it
        configure_threads(threads)
    if list_presets:
        from rnnlab.presets import preset_table

        console.print(preset_table(), markup=False)
        return
    if resume is not None:
        conflicting = [o for o in sorted(ctx.params) if o not in RESUME_OPTIONS + ("resume",) and _given(ctx, o)]
        if conflicting:
            names = ", ".join("--" + o.replace("_", "-") for o in conflicting)
            from rnnlab.errors import RnnlabError

            raise RnnlabError(f"--resume {resume}: {names} cannot be changed when resuming (the run keeps the options it was "
                                     "started with); with --resume give only --epochs, --threads or --device")
        try:
            resume_train(run=resume, device=device, epochs=epochs if _given(ctx, "epochs") else None)
        except TrainingInterrupted as exc:
            console.print(str(exc), markup=False)
            raise typer.Exit(exc.exit_code)
        return
    values = dict(locals())
    try:
        from rnnlab.presets import get_preset

        p = get_preset(preset) if preset else DEFAULT
        model_config, train_config = p.model, p.train
        train = train or p.data.get("train")
        test = test if _given(ctx, "test") else p.data.get("test")
        valid_split = valid_split if _given(ctx, "valid_split") else p.data.get("valid_split", valid_split)
        model_config = replace(model_config, **{f: values[o] for o, f in _MODEL_OPTIONS.items() if _given(ctx, o)})
        train_config = replace(train_config, **{f: values[o] for o, f in _TRAIN_OPTIONS.items() if _given(ctx, o)})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not train:
        raise typer.BadParameter("--train is required (or give --preset or --resume)")
    model = model_config.model
    label_names = parse_labels(labels)
    out = out or Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        run_train(train=train, out=out, model_config=model_config, train_config=train_config, valid=valid,
                  valid_split=valid_split, test=test, vectors=vectors, labels=label_names, raw_text=raw_text,
                  device=device, overwrite=overwrite, data_options=data_options(format, text_field, label_field))
    except TrainingInterrupted as exc:
        console.print(str(exc), markup=False)
        raise typer.Exit(exc.exit_code)


DEVICES = ("auto", "cpu", "cuda")


def _check_options(ctx, *, lr, valid_split, threads, device, labels, dropout, weight_decay, clip_grad,
                   train_metrics, precision="float32") -> None:
    """Numbers finite and in range, known device and choices, distinct labels: one line naming the option."""
    import math

    from rnnlab.errors import RnnlabError

    def bad(option, message):  # one line on stderr and exit 1 (rnnlab.cli.main), not a usage panel
        raise RnnlabError(f"{option}: {message}")

    if not math.isfinite(lr) or lr <= 0:
        bad("--lr", f"must be a finite number > 0, got {lr}")
    if not math.isfinite(valid_split) or not 0 <= valid_split < 1:
        bad("--valid-split", f"must be a share in [0, 1) (0 for no validation), got {valid_split}")
    if threads is not None and threads < 1:
        bad("--threads", f"must be at least 1, got {threads}")
    if device not in DEVICES and not device.startswith("cuda:"):
        bad("--device", f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    for option, value in (("--dropout", dropout), ("--weight-decay", weight_decay), ("--clip-grad", clip_grad)):
        if value is not None and not math.isfinite(value):
            bad(option, f"must be a finite number, got {value}")
    for option, field_, value in (("--train-metrics", "train_metrics", train_metrics),
                                  ("--precision", "precision", precision)):
        try:  # the config's own check and message, as one line naming the option
            TrainConfig(**{field_: value})
        except ValueError as exc:
            bad(option, str(exc))
    if precision == "bfloat16":  # can this CPU do it? (a GPU trains in float16 anyway)
        from rnnlab.training import resolve_device, resolve_precision

        try:
            resolve_precision(precision, resolve_device(device))
        except ValueError as exc:
            bad("--precision", str(exc))
    if weight_decay < 0:
        bad("--weight-decay", f"must be >= 0, got {weight_decay}")
    if clip_grad is not None and clip_grad <= 0:
        bad("--clip-grad", f"must be > 0, got {clip_grad}")
    names = [x.strip() for x in labels.split(",")] if labels is not None else []
    if len(set(names)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        bad("--labels", f"names must be distinct ({dup!r} is listed twice), got {labels!r}")
