"""``rnnlab train``: train one model and save a run directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console
from rnnlab.config import ModelConfig, TrainConfig


def run_train(*, train: str, out: Path, model_config: ModelConfig, train_config: TrainConfig,
              valid: str | None = None, valid_split: float = 0.1, test: str | None = None,
              vectors: str | None = None, labels: tuple[str, ...] = ("neg", "pos"), raw_text: bool = False,
              progress: bool = True, log=None):
    """Read data, train, save the run in ``out``; evaluate on ``test`` when given. Returns the fitted model."""
    from rnnlab.data.batching import family_of, make_loader
    from rnnlab.data.sources import load_examples
    from rnnlab.runs import CONFIG, read_config
    from rnnlab.training import evaluate, fit, split_validation

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
                                   log=log, meta=meta, progress=progress)
    if test:
        from rnnlab.data.batching import EncodedDataset
        from rnnlab.data.tokenize import tokenize_cached
        import json

        test_examples = load_examples(test, labels, clean=not raw_text)
        corpus, _ = tokenize_cached([e.text for e in test_examples], progress=progress)
        ds = EncodedDataset(corpus.encode(prepared.vocab), [e.label for e in test_examples],
                            train_config.max_length)
        t0 = time.perf_counter()
        m = evaluate(model, make_loader(ds, family_of(model_config.model), 256, shuffle=False,
                                        pad_index=prepared.vocab.pad_index))
        m["seconds"] = round(time.perf_counter() - t0, 2)
        log(f"test: accuracy {m['acc']:.4f}, loss {m['loss']:.4f}, F1 {m['f1']:.4f} on {m['n']:,} texts")
        config = read_config(out)
        config["meta"]["test"] = {k: m[k] for k in ("acc", "loss", "precision", "recall", "f1", "n", "confusion")}
        from rnnlab.runs import atomic_write_text

        atomic_write_text(out / CONFIG, json.dumps(config, indent=2))
        return model, history, m
    return model, history, None


@app.command("train")
def train_command(
    train: str = typer.Option(..., "--train", help="Training data: a TSV file (<label>\\t<text>) or imdb:train."),
    out: Optional[Path] = typer.Option(None, help="Run directory to write (default runs/<model>-<time>)."),
    valid: Optional[str] = typer.Option(None, help="Validation TSV (default: hold out --valid-split of --train)."),
    valid_split: float = typer.Option(0.1, help="Share of the training data held out when no --valid is given; 0 for none."),
    test: Optional[str] = typer.Option(None, help="Evaluate on this TSV (or imdb:test) after training."),
    model: str = typer.Option("rnn", help="Model: boe | rnn | lstm | gru."),
    activation: str = typer.Option("tanh", help="RNN cell activation: tanh | relu."),
    recurrent_dim: int = typer.Option(50, help="Units in each recurrent layer (per direction)."),
    hidden_dim: int = typer.Option(20, help="Units in the ReLU layer before the output."),
    layers: int = typer.Option(1, help="Stacked recurrent layers."),
    bidirectional: bool = typer.Option(False, help="Run the recurrent layers in both directions."),
    freeze: bool = typer.Option(True, "--freeze/--fine-tune", help="Keep the pretrained embeddings fixed, or fine-tune them."),
    dropout: float = typer.Option(0.0, help="Dropout on the document embedding (and between stacked layers)."),
    optimizer: str = typer.Option("sgd", help="Optimizer: sgd | adam."),
    lr: float = typer.Option(0.01, help="Learning rate."),
    epochs: int = typer.Option(10, help="Training epochs."),
    batch_size: int = typer.Option(8, help="Texts per batch."),
    print_every: int = typer.Option(1, help="Print a table row every N epochs (epoch 0 and the last always)."),
    seed: int = typer.Option(1, help="Random seed (initial weights, batch order, validation split)."),
    max_length: Optional[int] = typer.Option(None, help="Keep only the first N tokens of each text."),
    min_freq: int = typer.Option(1, help="Vocabulary: minimum token count in the training data."),
    max_vocab: Optional[int] = typer.Option(None, help="Vocabulary: maximum size, specials included."),
    clip_grad: Optional[float] = typer.Option(None, help="Clip the gradient norm to this value."),
    weight_decay: float = typer.Option(0.0, help="L2 weight decay."),
    patience: Optional[int] = typer.Option(None, help="Stop after N epochs without a better validation loss."),
    bucket: bool = typer.Option(True, help="Batch texts of similar length together (recurrent models)."),
    vectors: Optional[str] = typer.Option(None, help="Pretrained vectors: glove-6b-50d (default) or a GloVe/word2vec text file."),
    raw_text: bool = typer.Option(False, help="Keep <br /> tags instead of turning them into spaces."),
    labels: str = typer.Option("neg,pos", help="Label names, negative class first, comma-separated."),
) -> None:
    """Train a model, print the epoch table and save a run directory."""
    try:
        model_config = ModelConfig(model=model, activation=activation, recurrent_dim=recurrent_dim,
                                   hidden_dim=hidden_dim, layers=layers, bidirectional=bidirectional,
                                   freeze_embeddings=freeze, dropout=dropout)
        train_config = TrainConfig(optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
                                   print_every=print_every, seed=seed, max_length=max_length, min_freq=min_freq,
                                   max_vocab=max_vocab, clip_grad=clip_grad, weight_decay=weight_decay,
                                   patience=patience, bucket=bucket)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    label_names = tuple(x.strip() for x in labels.split(","))
    if len(label_names) != 2:
        raise typer.BadParameter(f"--labels needs two names, got {labels!r}")
    out = out or Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_train(train=train, out=out, model_config=model_config, train_config=train_config, valid=valid,
              valid_split=valid_split, test=test, vectors=vectors, labels=label_names, raw_text=raw_text)
