"""Load test for ``rnnlab serve``: many concurrent clients against a real uvicorn server on 127.0.0.1.

Starts ``python -m rnnlab serve RUN ...`` as a subprocess on a free local port, warms it up,
reads the server's resident memory (RSS, from /proc), then runs ``--clients`` concurrent
httpx clients until ``--requests`` requests are done or ``--seconds`` have passed (both
bounded). Requests mix ``POST /predict`` (a batch of ``--batch`` reviews) and ``POST /trace``
(one review) over every served model, with real reviews from the sample TSV. Prints a
Markdown report: errors, throughput, p50/p95/max latency per endpoint, RSS before/after.

    python benchmarks/load_test.py RUN [RUN ...] [--clients 32] [--requests 2000] [--seconds 120]

Exits non-zero if any request failed. Never binds anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "imdb-sample" / "imdb-test.tsv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_texts(path: Path, n: int, max_chars: int) -> list[str]:
    if path.exists():
        texts = [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
    else:  # no sample data: short synthetic reviews
        words = "good bad great awful boring wonderful film plot acting loved hated the a and but".split()
        rng = random.Random(0)
        texts = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 200))) for _ in range(n)]
    return [t[:max_chars] for t in texts[:n]]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def run_clients(base: str, models: list[str], texts: list[str], clients: int, total: int, seconds: float,
                      batch: int, trace_share: float):
    latencies: dict[str, list[float]] = {"/predict": [], "/trace": []}
    errors: list[str] = []
    issued = 0
    deadline = time.monotonic() + seconds
    rng = random.Random(1)

    async def client(client_id: int, http: httpx.AsyncClient):
        nonlocal issued
        while issued < total and time.monotonic() < deadline:
            issued += 1
            model = models[rng.randrange(len(models))]
            if rng.random() < trace_share:
                path, body = "/trace", {"model": model, "text": texts[rng.randrange(len(texts))]}
            else:
                path, body = "/predict", {"model": model, "texts": rng.sample(texts, batch)}
            t0 = time.perf_counter()
            try:
                r = await http.post(path, json=body)
                if r.status_code != 200:
                    errors.append(f"{path} {r.status_code}: {r.text[:200]}")
                    continue
                r.json()
            except httpx.HTTPError as exc:
                errors.append(f"{path} {type(exc).__name__}: {exc}")
                continue
            latencies[path].append(time.perf_counter() - t0)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        elapsed = time.perf_counter() - t0
    return latencies, errors, elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="Run directories to serve.")
    parser.add_argument("--clients", type=int, default=32, help="Concurrent clients.")
    parser.add_argument("--requests", type=int, default=2000, help="Total requests (upper bound).")
    parser.add_argument("--seconds", type=float, default=120, help="Time bound for the measured phase.")
    parser.add_argument("--batch", type=int, default=8, help="Texts per /predict request.")
    parser.add_argument("--trace-share", type=float, default=0.5, help="Share of requests that are /trace.")
    parser.add_argument("--max-chars", type=int, default=2000, help="Cut sample reviews to this many characters.")
    parser.add_argument("--warmup", type=int, default=100, help="Requests before the first RSS reading.")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 512 or not 1 <= args.requests <= 100_000 or not 0 < args.seconds <= 1800:
        parser.error("keep the test bounded: 1-512 clients, 1-100000 requests, 0-1800 seconds")

    load_before = os.getloadavg()[0]
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {**os.environ, "RNNLAB_THREADS": os.environ.get("RNNLAB_THREADS", "1")}
    cmd = [sys.executable, "-m", "rnnlab", "serve", *map(str, args.runs), "--host", HOST, "--port", str(port),
           "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                print(server.stdout.read(), file=sys.stderr)
                return 2
            try:
                health = httpx.get(base + "/health", timeout=2).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start within 120 s")
                time.sleep(0.2)
        models = health["models"]
        texts = load_texts(SAMPLE, 1000, args.max_chars)
        rss_start = rss_mb(server.pid)
        asyncio.run(run_clients(base, models, texts, min(args.clients, args.warmup), args.warmup, 60, args.batch,
                                args.trace_share))
        rss_warm = rss_mb(server.pid)
        latencies, errors, elapsed = asyncio.run(run_clients(base, models, texts, args.clients, args.requests,
                                                             args.seconds, args.batch, args.trace_share))
        rss_end = rss_mb(server.pid)
        # A second identical round: memory that keeps growing would show here too.
        latencies2, errors2, elapsed2 = asyncio.run(run_clients(base, models, texts, args.clients, args.requests,
                                                                args.seconds, args.batch, args.trace_share))
        rss_end2 = rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

    done = sum(len(v) for v in latencies.values())
    done2 = sum(len(v) for v in latencies2.values())
    import torch

    print(f"# Load test: `rnnlab serve`\n")
    print(f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"- machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}, torch {torch.__version__}; RNNLAB_THREADS={env['RNNLAB_THREADS']}; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"- command: `python benchmarks/load_test.py {' '.join(sys.argv[1:] if argv is None else argv)}`")
    print(f"- models: {', '.join(models)}; {args.clients} concurrent clients; /predict batches of {args.batch} "
          f"reviews, /trace one review (reviews from the sample test set, cut to {args.max_chars} characters); "
          f"{args.trace_share:.0%} /trace\n")
    print("| round | requests | errors | seconds | requests/s | texts/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, lat, errs, el in (("1", latencies, errors, elapsed), ("2", latencies2, errors2, elapsed2)):
        n = sum(len(v) for v in lat.values())
        texts_done = len(lat["/predict"]) * args.batch + len(lat["/trace"])
        print(f"| {name} | {n} | {len(errs)} | {el:.1f} | {n / el:.1f} | {texts_done / el:.1f} |")
    print("\n| endpoint | requests | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for path in ("/predict", "/trace"):
        lat = latencies[path] + latencies2[path]
        if lat:
            print(f"| {path} | {len(lat)} | {1000 * statistics.median(lat):.1f} | {1000 * percentile(lat, 0.95):.1f} "
                  f"| {1000 * max(lat):.1f} |")
    print("\n| server RSS | MB |")
    print("|---|---:|")
    print(f"| after start | {rss_start:.1f} |")
    print(f"| after {args.warmup} warm-up requests | {rss_warm:.1f} |")
    print(f"| after round 1 ({done} requests) | {rss_end:.1f} |")
    print(f"| after round 2 ({done2} more) | {rss_end2:.1f} |")
    print(f"\nRSS change over the two measured rounds: {rss_end2 - rss_warm:+.1f} MB "
          f"(round 2 alone: {rss_end2 - rss_end:+.1f} MB)")
    all_errors = errors + errors2
    if all_errors:
        print("\nerrors (first 5):")
        for e in all_errors[:5]:
            print(f"- {e}")
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main())
