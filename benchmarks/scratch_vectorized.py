"""How much faster is rnnlab.scratch.vectorized than the step-by-step scratch code?

Both are timed side by side in one run, interleaved (loop, vectorised, loop, ...) so that
machine load hits both alike; the table gives medians over the repeats and their ratio,
and checks on the way that both give the same numbers.

    .venv/bin/python benchmarks/scratch_vectorized.py --out benchmarks/scratch_vectorized.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

# One BLAS thread for both sides (override from the environment): the comparison is about
# the code, and on a busy shared machine extra BLAS threads thrash instead of helping.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings)

import rnnlab.scratch as s  # noqa: E402


def classifier_case(rng, B=64, T=40, F=50, H=32):
    W = rng.normal(scale=F**-0.5, size=(H, F + 1))
    U = rng.normal(scale=0.5 * H**-0.5, size=(H, H))
    v = rng.normal(scale=H**-0.5, size=H + 1)
    lengths = rng.integers(T // 2, T + 1, size=B)
    seqs = [list(rng.normal(size=(n, F))) for n in lengths]
    labels = rng.integers(2, size=B)
    X, L = s.pad_sequences(seqs)

    def loop_grads():
        out = []
        for xs, a in zip(seqs, labels):
            hidden, p = s.recurrent_classifier_forward(xs, W, U, v, s.tanh)
            out.append(s.recurrent_classifier_backward(p, a, v, U, xs, hidden, s.tanh_derivative))
        return [np.mean(g, axis=0) for g in zip(*out)]

    def vec_grads():
        return s.classifier_loss_and_gradients(X, L, labels, W, U, v, "tanh")[1:]

    def loop_epoch():
        return s.train_epoch_classifier(list(zip(seqs, labels)), W, U, v, 0.01, "tanh")

    def vec_epoch():
        return s.train_epoch_classifier_vectorized(X, L, labels, W, U, v, 0.01, "tanh")

    shape = f"B={B}, T<={T}, F={F}, H={H}"
    return [
        (f"classifier gradients, one batch ({shape})", loop_grads, vec_grads),
        (f"classifier SGD epoch, one update per sample ({shape})", loop_epoch, vec_epoch),
    ]


def tagger_case(rng, B=32, T=25, V=64, H=64):
    W = rng.normal(scale=0.1, size=(H, V + 1))
    U = rng.normal(scale=0.5 * H**-0.5, size=(H, H))
    Vout = rng.normal(scale=0.1, size=(V, H + 1))
    X = s.one_hot(rng.integers(V, size=(B, T)), V)
    A = s.one_hot(rng.integers(V, size=(B, T)), V)
    L = np.full(B, T)
    samples = [(list(X[b]), list(A[b])) for b in range(B)]

    def loop_grads():
        out = []
        for xs, acts in samples:
            hidden, outputs = s.recurrent_tagger_forward(xs, W, U, Vout, s.tanh)
            out.append(s.recurrent_tagger_backward(outputs, acts, Vout, U, xs, hidden, s.tanh_derivative))
        return [np.mean(g, axis=0) for g in zip(*out)]

    def vec_grads():
        return s.tagger_loss_and_gradients(X, A, L, W, U, Vout, "tanh")[1:]

    def loop_epoch():
        return s.train_epoch_tagger(samples, W, U, Vout, 0.1, "tanh")

    def vec_epoch():
        return s.train_epoch_tagger_vectorized(X, A, L, W, U, Vout, 0.1, "tanh")

    shape = f"B={B}, T={T}, one-hot V=O={V}, H={H}"
    return [
        (f"tagger gradients, one batch ({shape})", loop_grads, vec_grads),
        (f"tagger SGD epoch, one update per sample ({shape})", loop_epoch, vec_epoch),
    ]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="Timed runs of each side (median reported).")
    parser.add_argument("--out", help="Also write the Markdown report to this file.")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    cases = classifier_case(rng) + tagger_case(rng)
    rows = []
    for name, loop_fn, vec_fn in cases:
        _, a = timed(loop_fn)  # warm-up, and the numbers to compare
        _, b = timed(vec_fn)
        diff = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
        loop_t, vec_t = [], []
        for _ in range(args.repeats):
            loop_t.append(timed(loop_fn)[0])
            vec_t.append(timed(vec_fn)[0])
        lm, vm = statistics.median(loop_t), statistics.median(vec_t)
        rows.append((name, lm * 1e3, vm * 1e3, lm / vm, diff))
        print(f"{name}: loop {lm * 1e3:.1f} ms, vectorised {vm * 1e3:.1f} ms, x{lm / vm:.1f}", flush=True)

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    lines = [
        "# Step-by-step vs vectorised NumPy RNN (`rnnlab.scratch`)",
        "",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}; float64; tanh; "
        f"BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}",
        f"- load average at the end: {', '.join(f'{x:.2f}' for x in load)} (shared machine; both sides interleaved)",
        f"- medians over {args.repeats} repeats each; command: "
        "`.venv/bin/python benchmarks/scratch_vectorized.py --out benchmarks/scratch_vectorized.md`",
        "",
        "| case | step-by-step (ms) | vectorised (ms) | speed-up | max abs difference |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, lm, vm, ratio, diff in rows:
        lines.append(f"| {name} | {lm:.1f} | {vm:.1f} | {ratio:.1f}x | {diff:.1e} |")
    lines += [
        "",
        "The gradient rows compute the batch-mean gradients of the same batch (the step-by-step",
        "code sample by sample, the vectorised code as one padded array). The epoch rows run",
        "one update per sample, so the vectorised side gains only from whole-sequence arrays",
        "and, for the tagger, from its single backward sweep (O(T)) instead of one truncated",
        "backward pass per target step (O(T^2)).",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(report)


if __name__ == "__main__":
    main()
