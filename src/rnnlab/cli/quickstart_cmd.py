"""``rnnlab quickstart``: the main job.

Imports the IMDB archive, trains the LSTM and the bag-of-embeddings classifier
on the 25,000 training reviews (10% held out for validation and model
selection), evaluates both on the 25,000 test reviews, prints a comparison and
leaves two run directories.

Tokenizing the 50,000 reviews is the largest share of the work with an empty cache
(``benchmarks/demo_speed.md``), so it is laid out over both cores: the test reviews in a
background process while this one tokenizes the training reviews, half the cores each (on two
cores one process each: every process's chunk memo learns its texts' words once; two pools of
workers competing for two cores would each learn them again). Both runs read their tokens from
the cache.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import typer

from rnnlab.cli.app import app
from rnnlab.cli.common import console
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.errors import RnnlabError

# The recipes, in the order they run. The LSTM reads its reviews through max + mean pooling over
# time beside the final state, which learns in one epoch what final-state pooling needed two for
# (0.8772 test accuracy after one epoch, against 0.8555 after two: benchmarks/demo_speed.md).
QUICKSTART = {
    "lstm": (ModelConfig(model="lstm", recurrent_dim=32, hidden_dim=32, freeze_embeddings=False,
                         pooling="final+max+mean"),
             TrainConfig(optimizer="adam", lr=0.002, epochs=1, batch_size=32, min_freq=2, max_length=256,
                         clip_grad=5.0, seed=1)),
    # the validation loss is lowest after epoch 2; patience 1 stops after epoch 3 shows it rising
    "boe": (ModelConfig(model="boe", hidden_dim=64, freeze_embeddings=False),
            TrainConfig(optimizer="adam", lr=0.002, epochs=4, batch_size=64, min_freq=2, seed=1, patience=1)),
}
# Train columns of the epoch table: a pass over the training data per epoch costs the LSTM a third
# of an epoch, so its table shows running means over the epoch's batches (and says so); the bag of
# embeddings keeps the full pass (a fraction of a second).
FIT_OPTIONS = {"lstm": {"train_metrics": "running"}, "boe": {}}


def run_quickstart(*, out: Path = Path("runs"), archive: Path | None = None, epochs_scale: float = 1.0,
                   train_spec: str | None = None, test_spec: str | None = None, progress: bool = True):
    """Train both models and return the comparison rows (one dict per model).

    The first model trains here, printing as it goes; the others train at the same time in
    background processes, beside the test texts' tokenization, and their output follows the
    first model's, line for line as it would have been printed.
    """
    from rnnlab.cli.data_cmd import run_imdb

    t_start = time.perf_counter()
    if train_spec is None:
        splits = run_imdb(archive=archive)
        train_spec, test_spec = str(splits.train), str(splits.test)
    tokens = prefetch_tokens(train_spec, test_spec, {t.seed for _, t in QUICKSTART.values()}, progress)
    first, *others = QUICKSTART
    jobs: dict[str, BackgroundJob] = {}

    def train(name, log=None, progress=progress):
        return _train_model(name, train_spec=train_spec, test_spec=test_spec, out=out, epochs_scale=epochs_scale,
                            progress=progress, log=log, before_test=tokens.wait)

    try:
        for name in others:
            jobs[name] = BackgroundJob(lambda log, name=name: train(name, log=log, progress=False))
        console.rule(first)
        rows = [train(first)]
        for name in others:
            console.rule(name)
            rows.append(jobs[name].result(console.print))
    finally:
        for job in jobs.values():
            job.stop()
        tokens.stop()
    console.rule("comparison on the IMDB test set")
    console.print(format_comparison(rows))
    console.print(f"total time: {time.perf_counter() - t_start:.0f} s")
    return rows


def _train_model(name: str, *, train_spec, test_spec, out: Path, epochs_scale: float, progress: bool, log,
                 before_test) -> dict:
    """Train, test and save one quickstart model; its comparison row."""
    from rnnlab.cli.train_cmd import run_train
    from rnnlab.runs import load_run

    mcfg, tcfg = QUICKSTART[name]
    tcfg = replace(tcfg, epochs=max(1, round(tcfg.epochs * epochs_scale)))
    t0 = time.perf_counter()
    run_dir = out / f"quickstart-{name}"
    _, history, test_m = run_train(train=train_spec, test=test_spec, out=run_dir, model_config=mcfg,
                                   train_config=tcfg, valid_split=0.1, progress=progress, log=log,
                                   overwrite=True,  # its own output: a re-run replaces it (atomically)
                                   fit_options=FIT_OPTIONS[name], before_test=before_test)
    run = load_run(run_dir)
    epoch_s = [r["train_seconds"] for r in history if r["epoch"] > 0]
    return {"model": name, "parameters": run.meta["trainable_parameters"],
            "best epoch": run.meta.get("best_epoch"), "test acc": test_m["acc"],
            "test F1": test_m["f1"], "test loss": test_m["loss"],
            "s/epoch": sorted(epoch_s)[len(epoch_s) // 2] if epoch_s else 0.0,
            "total s": time.perf_counter() - t0, "run": str(run_dir)}


def prefetch_tokens(train_spec: str, test_spec: str, seeds, progress: bool) -> "BackgroundTokens":
    """Tokenize the training and validation texts into the cache now, in this process, while the test
    texts are tokenized in a background process; returns the background job (``wait()`` before reading
    the test tokens).

    The texts are read and split exactly as ``run_train`` will (same reader, same validation
    split for each seed), so its tokenization finds them in the cache.
    """
    from rnnlab.data.sources import load_examples
    from rnnlab.data.tokenize import Tokenizer, prepare, tokenize_cached
    from rnnlab.embeddings import load_vectors
    from rnnlab.training import split_validation

    train_examples = load_examples(train_spec, None, clean=True)
    test_texts = [e.text for e in load_examples(test_spec, tuple(train_examples.labels), clean=True)]
    tokenizer = Tokenizer()
    prepare(tokenizer)  # once, before the background process forks
    t0 = time.perf_counter()
    # half the cores for the test texts, from now on, the rest for the training texts here (on two
    # cores one process each: this process's chunk memo learns the training texts' words once)
    cores = os.cpu_count() or 1
    test_processes = max(1, cores // 2)
    background = BackgroundTokens(test_texts, tokenizer, n_process=test_processes)
    n = 0
    for seed in sorted(seeds):
        for part in split_validation(train_examples, 0.1, seed):
            tokenize_cached([e.text for e in part], tokenizer, progress=progress,
                            n_process=max(1, cores - test_processes))
            n += len(part)
    console.print(f"tokens: {n:,} training and validation texts tokenized in {time.perf_counter() - t0:.1f} s; "
                  f"the {len(test_texts):,} test texts are tokenized in the background meanwhile")
    load_vectors()  # GloVe, once, before the training processes fork (they share it)
    return background


def _fork_available() -> bool:
    return "fork" in mp.get_all_start_methods()


def _own_group() -> None:
    """In a background process: lead a process group of its own (so it and its workers stop together) and
    leave Ctrl-C to the foreground process, which stops it."""
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_group(process) -> None:
    """End a background process and its workers if they still run (an interrupted or failed quickstart)."""
    if process is None or process.exitcode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()  # it had not made its group yet
    process.join(5)


class BackgroundTokens:
    """Tokenize texts into the token cache in a background process (and its pool of workers).

    :meth:`wait` returns once the process has ended, from any process forked after this one
    started (it reads a pipe the tokenizing processes alone hold open). Where it cannot run (no
    ``fork``) or fails, nothing is lost: whoever reads the tokens later finds the cache without
    them and tokenizes them itself.
    """

    def __init__(self, texts: list[str], tokenizer, n_process: int = 1):
        self.process, self._done = None, None
        if not _fork_available():
            return
        self._done, held = os.pipe()  # EOF on _done once every holder of `held` has exited
        self.process = mp.get_context("fork").Process(target=self._run, args=(texts, tokenizer, n_process),
                                                      name="rnnlab-tokenize", daemon=False)
        self.process.start()
        os.close(held)

    @staticmethod
    def _run(texts, tokenizer, n_process) -> None:
        from rnnlab.data.tokenize import tokenize_cached

        _own_group()
        tokenize_cached(texts, tokenizer, n_process=n_process)

    def wait(self) -> None:
        """Until the texts are in the cache (or the process has failed)."""
        if self._done is not None:
            while os.read(self._done, 1):
                pass

    def stop(self) -> None:
        _stop_group(self.process)


class BackgroundJob:
    """``fn(log)`` in a forked process: its log lines and its return value (or its error) come back.

    Without ``fork`` it runs on :meth:`result`, here.
    """

    def __init__(self, fn):
        self.fn, self.process = fn, None
        if not _fork_available():
            return
        self._conn, child = mp.get_context("fork").Pipe(duplex=False)
        self.process = mp.get_context("fork").Process(target=self._run, args=(fn, child), name="rnnlab-train",
                                                      daemon=False)
        self.process.start()
        child.close()

    @staticmethod
    def _run(fn, conn) -> None:
        _own_group()
        lines: list[str] = []
        try:
            outcome = ("ok", fn(lines.append), lines)
        except BaseException as exc:  # noqa: BLE001  (reported to the parent, which raises it as one line)
            outcome = ("error", str(exc) if isinstance(exc, RnnlabError) else f"{exc.__class__.__name__}: {exc}",
                       lines)
        try:
            conn.send(outcome)
        except OSError:
            pass  # the parent is gone or stopped listening (an interrupted quickstart)
        conn.close()

    def result(self, log):
        """Print the job's lines through ``log`` and return its value (a failed job raises its error here)."""
        if self.process is None:
            return self.fn(log)
        try:
            status, value, lines = self._conn.recv()
        except EOFError:
            self.process.join()
            raise RnnlabError(f"a background training process ended without a result (exit code "
                              f"{self.process.exitcode})") from None
        self.process.join()
        for line in lines:
            log(line)
        if status == "error":
            raise RnnlabError(value)
        return value

    def stop(self) -> None:
        _stop_group(self.process)


def format_comparison(rows: list[dict]) -> str:
    lines = ["| model | trainable params | best epoch | test acc | test F1 | test loss | s/epoch (median) | total s | run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['parameters']:,} | {r['best epoch']} | {r['test acc']:.4f} | "
                     f"{r['test F1']:.4f} | {r['test loss']:.4f} | {r['s/epoch']:.1f} | {r['total s']:.0f} | {r['run']} |")
    return "\n".join(lines)


@app.command("quickstart")
def quickstart_command(
    out: Path = typer.Option(Path("runs"), help="Folder for the two run directories."),
    archive: Path = typer.Option(None, help="aclImdb_v1.tar.gz (default $RNNLAB_IMDB_ARCHIVE, else download)."),
    epochs_scale: float = typer.Option(1.0, help="Multiply every model's epochs (e.g. 0.5 for a quicker look)."),
    train: str = typer.Option(None, help="Train on this TSV instead of IMDB (needs --test)."),
    test: str = typer.Option(None, help="Test on this TSV instead of IMDB."),
) -> None:
    """The main job: IMDB, bag-of-embeddings vs LSTM, trained, tested and compared."""
    if (train is None) != (test is None):
        raise typer.BadParameter("--train and --test go together")
    run_quickstart(out=out, archive=archive, epochs_scale=epochs_scale, train_spec=train, test_spec=test)
