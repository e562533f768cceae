"""``rnnlab train``: train one model and save a run directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.presets import DEFAULT, PRESETS

_M, _T = DEFAULT.model, DEFAULT.train


def run_train(*, train: str, out: Path, model_config: ModelConfig, train_config: TrainConfig,
              valid: str | None = None, valid_split: float = 0.1, test: str | None = None,
              vectors: str | None = None, labels: tuple[str, ...] = ("neg", "pos"), raw_text: bool = False,
              progress: bool = True, log=None, device: str = "cpu", resume: bool = False):
    """Read data, train, save the run in ``out``; evaluate on ``test`` when given. Returns the fitted model.

    ``resume=True`` continues the interrupted run in ``out`` from its checkpoint
    (see :func:`resume_train`, which also restores the options it was started with).
    """
    from rnnlab.data.sources import load_examples
    from rnnlab.runs import CONFIG, read_config
    from rnnlab.training import evaluate_examples, fit, split_validation

    log = log or console.print
    train_examples = load_examples(train, labels, clean=not raw_text)
    if valid:
        valid_examples = load_examples(valid, labels, clean=not raw_text)
        valid_desc = str(valid)
    elif valid_split > 0:
        train_examples, valid_examples = split_validation(train_examples, valid_split, train_config.seed)
        valid_desc = f"{valid_split:.0%} of {train} held out"
    else:
        valid_examples, valid_desc = None, None
    meta = {"data": {"train": str(train), "valid": valid_desc, "test": str(test) if test else None}}
    model, history, prepared = fit(train_examples, valid_examples, model_config=model_config,
                                   train_config=train_config, out_dir=out, labels=labels, vectors=vectors,
                                   log=log, meta=meta, progress=progress, device=device, resume=resume,
                                   resume_info={"data": {"train": str(train), "valid": valid, "valid_split": valid_split,
                                                         "test": test, "vectors": vectors, "raw_text": raw_text}})
    from rnnlab.distributed import from_env

    if not from_env().is_main:
        return model, history, None
    warn_if_one_class(model, prepared, history, valid_examples, train_config, log)
    if test:
        import json

        t0 = time.perf_counter()
        m = evaluate_examples(model, prepared.vocab, load_examples(test, labels, clean=not raw_text),
                              max_length=train_config.max_length, progress=progress)
        m["seconds"] = round(time.perf_counter() - t0, 2)
        log(f"test: accuracy {m['acc']:.4f}, loss {m['loss']:.4f}, F1 {m['f1']:.4f} on {m['n']:,} texts")
        config = read_config(out)
        config["meta"]["test"] = {k: m[k] for k in ("acc", "loss", "precision", "recall", "f1", "n", "confusion")}
        from rnnlab.runs import atomic_write_text

        atomic_write_text(out / CONFIG, json.dumps(config, indent=2))
        return model, history, m
    return model, history, None


def warn_if_one_class(model, prepared, history, valid_examples, train_config, log) -> str | None:
    """One highlighted line when the kept epoch predicts a single class for every validation text."""
    rows = [r for r in history if r.get("valid")]
    if not rows or not valid_examples:
        return None
    chosen = min(rows, key=lambda r: r["valid"]["loss"]) if train_config.keep_best else rows[-1]
    if chosen["valid"]["recall"] not in (0.0, 1.0):  # predicts both classes: nothing to check
        return None
    from rnnlab.training import evaluate_examples

    m = evaluate_examples(model, prepared.vocab, valid_examples, max_length=train_config.max_length)
    (tn, fp), (fn, tp) = m["confusion"]
    names = list(prepared.labels)
    only = names[1] if tn + fn == 0 else names[0] if tp + fp == 0 else None
    if only is None:
        return None
    line = (f"warning: epoch {chosen['epoch']} predicts '{only}' for every validation text; the model has not "
            "learned to separate the classes (try the default recipe, more epochs or a higher learning rate)")
    log(f"[bold yellow]{line}[/bold yellow]" if log is console.print else line)
    return line


def resume_train(*, run: Path, device: str = "cpu", progress: bool = True, log=None):
    """Continue the interrupted run ``run`` with the configs and data options stored in its checkpoint."""
    from rnnlab.checkpoint import read_checkpoint
    from rnnlab.config import from_dict

    _, state = read_checkpoint(run)
    data = state.get("data") or {}
    if not data.get("train"):
        from rnnlab.errors import RnnlabError

        raise RnnlabError(f"{run}: the checkpoint does not say which data the run was trained on")
    return run_train(train=data["train"], out=Path(run), model_config=from_dict(ModelConfig, state["model_config"]),
                     train_config=from_dict(TrainConfig, state["train_config"]), valid=data.get("valid"),
                     valid_split=data.get("valid_split", 0.1), test=data.get("test"), vectors=data.get("vectors"),
                     labels=tuple(state.get("labels", ("neg", "pos"))), raw_text=data.get("raw_text", False),
                     progress=progress, log=log, device=device, resume=True)


# command-line option -> (config, field); a preset fills the fields the command line leaves at their defaults
_MODEL_OPTIONS = {"model": "model", "activation": "activation", "recurrent_dim": "recurrent_dim",
                  "hidden_dim": "hidden_dim", "layers": "layers", "bidirectional": "bidirectional",
                  "freeze": "freeze_embeddings", "dropout": "dropout", "pooling": "pooling"}
_TRAIN_OPTIONS = {"optimizer": "optimizer", "lr": "lr", "epochs": "epochs", "batch_size": "batch_size",
                  "print_every": "print_every", "seed": "seed", "max_length": "max_length", "min_freq": "min_freq",
                  "max_vocab": "max_vocab", "clip_grad": "clip_grad", "weight_decay": "weight_decay",
                  "patience": "patience", "bucket": "bucket", "lr_schedule": "lr_schedule"}


def _given(ctx, name: str) -> bool:
    # compared by name: typer may ship its own copy of click's ParameterSource enum
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


@app.command("train")
def train_command(
    ctx: typer.Context,
    train: Optional[str] = typer.Option(None, "--train", help="Training data: a TSV file (<label>\\t<text>), imdb:train or sample:train (required unless --preset or --resume gives it)."),
    preset: Optional[str] = typer.Option(None, metavar="NAME", help=f"Start from a named recipe ({', '.join(PRESETS)}); other options override it. Without it: the default recipe (see --list-presets)."),
    list_presets: bool = typer.Option(False, "--list-presets", help="List the presets with their descriptions and exit."),
    resume: Optional[Path] = typer.Option(None, help="Continue this interrupted run directory from its last completed epoch."),
    device: str = typer.Option("auto", help="auto (CUDA when available) | cpu | cuda; CUDA trains with float16 autocast."),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads (default $RNNLAB_THREADS or 1: see benchmarks/)."),
    out: Optional[Path] = typer.Option(None, help="Run directory to write (default runs/<model>-<time>)."),
    valid: Optional[str] = typer.Option(None, help="Validation TSV (default: hold out --valid-split of --train)."),
    valid_split: float = typer.Option(0.1, help="Share of the training data held out when no --valid is given; 0 for none."),
    test: Optional[str] = typer.Option(None, help="Evaluate on this TSV (or imdb:test) after training."),
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
    vectors: Optional[str] = typer.Option(None, help="Pretrained vectors: glove-6b-50d (default) or a GloVe/word2vec text file."),
    raw_text: bool = typer.Option(False, help="Keep <br /> tags instead of turning them into spaces."),
    labels: str = typer.Option("neg,pos", help="Label names, negative class first, comma-separated."),
) -> None:
    """Train a model, print the epoch table and save a run directory.

    Without --preset the default recipe is used (an LSTM that learns on small data in a few
    epochs); --preset classic gives the course's teaching settings.
    """
    from dataclasses import replace

    from rnnlab.training import TrainingInterrupted, configure_threads

    if threads:
        import os

        os.environ["RNNLAB_THREADS"] = str(threads)  # fit() configures threads from it
        configure_threads(threads)
    if list_presets:
        from rnnlab.presets import preset_table

        console.print(preset_table(), markup=False)
        return
    if resume is not None:
        try:
            resume_train(run=resume, device=device)
        except TrainingInterrupted as exc:
            console.print(str(exc))
            raise typer.Exit(130)
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
    label_names = tuple(x.strip() for x in labels.split(","))
    if len(label_names) != 2:
        raise typer.BadParameter(f"--labels needs two names, got {labels!r}")
    out = out or Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        run_train(train=train, out=out, model_config=model_config, train_config=train_config, valid=valid,
                  valid_split=valid_split, test=test, vectors=vectors, labels=label_names, raw_text=raw_text,
                  device=device)
    except TrainingInterrupted as exc:
        console.print(str(exc))
        raise typer.Exit(130)
