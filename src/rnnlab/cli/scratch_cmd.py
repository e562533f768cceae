"""``rnnlab scratch classify`` and ``rnnlab scratch lm``: the NumPy RNNs at work.

Thin wrappers: options become a frozen config, :mod:`rnnlab.scratch` does the work and
returns rows, this module prints them.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console
from rnnlab.data.sources import resolve_source as _resolve
from rnnlab.errors import InputError


def resolve_source(spec: str) -> Path:
    """The file behind a data argument; a missing file is reported before any other work."""
    path = _resolve(spec)
    if not path.exists():
        raise InputError(path, "no such file")
    return path
from rnnlab.scratch.charlm import LMConfig, LMEpoch, train_char_lm
from rnnlab.scratch.compare import ClassifyConfig, EpochRow, classify_vs_torch

scratch_app = typer.Typer(
    help="RNNs from first principles in NumPy: a classifier checked against PyTorch, a character LM.",
    no_args_is_help=True,
)
app.add_typer(scratch_app, name="scratch")

_C = ClassifyConfig()
_L = LMConfig()
COINCIDE = 1e-8  # curves whose numbers differ by less than this are the same curve


@scratch_app.command("classify")
def classify_cmd(
    train: str = typer.Option("sample:train", help="Training reviews: TSV of <pos|neg>\\t<text>, or sample:train / imdb:train."),
    test: str = typer.Option("sample:test", help="Test reviews, same format (or sample:test / imdb:test)."),
    train_size: int = typer.Option(_C.train_size, help="Reviews drawn at random from --train."),
    test_size: int = typer.Option(_C.test_size, help="Reviews drawn at random from --test."),
    max_len: int = typer.Option(_C.max_len, help="Keep the first N tokens that have a GloVe vector."),
    hidden: int = typer.Option(_C.hidden, help="Hidden units H."),
    epochs: int = typer.Option(_C.epochs, help="Epochs of per-sample SGD."),
    lr: float = typer.Option(_C.learning_rate, help="SGD learning rate."),
    activation: str = typer.Option(_C.activation, help="Hidden activation: tanh | relu (what torch.nn.RNN offers)."),
    impl: str = typer.Option(_C.impl, help="NumPy code to run: loop (step by step) | vectorized (same numbers)."),
    seed: int = typer.Option(_C.seed, help="Random seed: review subsets and initial weights."),
) -> None:
    """Train the NumPy RNN classifier beside the same model in PyTorch; their curves coincide."""
    config = ClassifyConfig(
        train_path=resolve_source(train), test_path=resolve_source(test), train_size=train_size, test_size=test_size,
        max_len=max_len, hidden=hidden, epochs=epochs, learning_rate=lr,
        activation=activation, seed=seed, impl=impl,
    )
    console.print(
        f"NumPy ({impl}) vs torch.nn.RNN from the same initial weights, float64, one SGD step per review\n"
        f"H={hidden}, {activation}, lr={lr}, first {max_len} GloVe 6B 50d tokens per review"
    )
    header = (
        f"{'epoch':>5}  {'loss np':>9}  {'loss torch':>10}  {'train acc np':>12}  {'torch':>6}"
        f"  {'test acc np':>11}  {'torch':>6}  {'max |dw|':>8}  {'s np':>5}  {'s torch':>7}"
    )
    started = False

    def show(row: EpochRow) -> None:
        nonlocal started
        if not started:
            console.print(header)
            started = True
        console.print(
            f"{row.epoch:>5}  {row.numpy_loss:>9.6f}  {row.torch_loss:>10.6f}  {row.numpy_train_acc:>12.3f}"
            f"  {row.torch_train_acc:>6.3f}  {row.numpy_test_acc:>11.3f}  {row.torch_test_acc:>6.3f}"
            f"  {row.max_weight_diff:>8.1e}  {row.numpy_seconds:>5.2f}  {row.torch_seconds:>7.2f}"
        )

    result = classify_vs_torch(config=config, on_epoch=show)
    loss_gap = max(abs(r.numpy_loss - r.torch_loss) for r in result.rows)
    weight_gap = max(r.max_weight_diff for r in result.rows)
    acc_same = all(
        r.numpy_train_acc == r.torch_train_acc and r.numpy_test_acc == r.torch_test_acc for r in result.rows
    )
    verdict = "coincide" if loss_gap < COINCIDE and weight_gap < COINCIDE and acc_same else "DIFFER"
    console.print(
        f"{result.n_train} train / {result.n_test} test reviews, GloVe covers {result.coverage:.1%} of tokens\n"
        f"curves {verdict}: largest loss difference {loss_gap:.1e}, largest weight difference {weight_gap:.1e}"
    )


@scratch_app.command("lm")
def lm_cmd(
    text: str = typer.Option("sample:train", help="Reviews to learn from: TSV of <label>\\t<text> (labels unused), or sample:train."),
    chars: int = typer.Option(_L.chars, help="Characters of review text to use (the last tenth is held out)."),
    seq_len: int = typer.Option(_L.seq_len, help="Characters per training sequence T."),
    hidden: int = typer.Option(_L.hidden, help="Hidden units H."),
    epochs: int = typer.Option(_L.epochs, help="Epochs of SGD."),
    lr: float = typer.Option(_L.learning_rate, help="SGD learning rate."),
    activation: str = typer.Option(_L.activation, help="Hidden activation: tanh | relu | sigmoid."),
    batch_size: int = typer.Option(_L.batch_size, help="Sequences per SGD step (1 = the tagger's per-sample SGD)."),
    impl: str = typer.Option(_L.impl, help="NumPy code to run: vectorized | loop (step by step, same numbers, slower)."),
    temperature: float = typer.Option(_L.temperature, help="Sampling temperature: <1 safer, >1 wilder."),
    sample_length: int = typer.Option(_L.sample_length, help="Characters to sample after training."),
    prime: str = typer.Option(_L.prime, help="Text fed to the model before sampling."),
    seed: int = typer.Option(_L.seed, help="Random seed: initial weights, sample order, sampling."),
) -> None:
    """Train a character-level language model made of the NumPy tagger, then sample from it."""
    config = LMConfig(
        text_path=resolve_source(text), chars=chars, seq_len=seq_len, hidden=hidden, epochs=epochs,
        learning_rate=lr, activation=activation, batch_size=batch_size, temperature=temperature,
        sample_length=sample_length, prime=prime, seed=seed, impl=impl,
    )
    console.print(f"character LM: NumPy tagger ({impl}), H={hidden}, {activation}, T={seq_len}, lr={lr}")
    console.print(f"{'epoch':>5}  {'train loss':>10}  {'held-out loss':>13}  {'seconds':>7}")

    def show(row: LMEpoch) -> None:
        console.print(f"{row.epoch:>5}  {row.train_loss:>10.4f}  {row.heldout_loss:>13.4f}  {row.seconds:>7.2f}")

    result = train_char_lm(config=config, on_epoch=show)
    console.print(
        f"{result.n_train} training / {result.n_heldout} held-out sequences, {len(result.alphabet)} characters "
        f"(uniform guess: loss {math.log(len(result.alphabet)):.2f}); loss = mean -ln p(next char)"
    )
    console.print(f"sample (temperature {temperature}):", markup=False)
    console.print(result.sample, markup=False, highlight=False)
