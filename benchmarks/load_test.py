"""Load test for ``rnnlab serve``: many concurrent clients against a real uvicorn server on 127.0.0.1.

Starts ``python -m rnnlab serve RUN ...`` as a subprocess on a free local port, warms it up,
reads the server's resident memory (RSS, from /proc), then runs ``--clients`` concurrent
httpx clients until ``--requests`` requests are done or ``--seconds`` have passed (both
bounded). Requests mix ``POST /predict`` (a batch of ``--batch`` reviews) and ``POST /trace``
(one review) over every served model, with real reviews from the sample TSV. Prints a
Markdown report: errors, throughput, p50/p95/max latency per endpoint, RSS before/after.

    python benchmarks/load_test.py RUN [RUN ...] [--clients 32] [--requests 2000] [--seconds 120]

``--mode predict-one`` is issue 13's row "/predict for one short review under 32 concurrent
clients": it starts the old server (``--old-src``, the code at a61b555) and the new one from
this tree, both on the same run, and alternates measured rounds between them; the clients are
raw asyncio HTTP/1.1 keep-alive connections (one pre-built request, a few microseconds of
client CPU each), so the load generator takes little of the two cores it shares with the
server. It writes a section of ``benchmarks/load_test.md`` and
``benchmarks/results/speed13/serve-predict.json``:

    python benchmarks/load_test.py --mode predict-one RUN --old-src /tmp/old-serve13/src

Exits non-zero if any request failed. Never binds anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent

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


# ------------------------------------------------------------------ --mode predict-one (issue 13, order 7)

ROW = "`/predict` for one short review under 32 concurrent clients"
GOAL = {"p50_ms": 50.0, "p95_ms": 150.0, "rps": 800.0}
REVIEW_LINE = 18  # line of the sample test TSV: a 51-word review (the label is not sent)
MD_START, MD_END = "<!-- predict-one:start -->", "<!-- predict-one:end -->"


def short_review(path: Path = SAMPLE, line: int = REVIEW_LINE) -> tuple[str, str]:
    """The review sent by every client, and where it came from (a fixed synthetic one without the sample)."""
    if path.exists():
        text = path.read_text(encoding="utf-8").splitlines()[line - 1].split("\t", 1)[1]
        return text, f"line {line} of `{path.relative_to(path.parents[2])}`, {len(text.split())} words"
    text = ("A good film with a weak middle: the acting is fine and the music is lovely, but the plot drags "
            "for half an hour before the ending finally makes up for it. I would watch it again with friends.")
    return text, f"a fixed synthetic review, {len(text.split())} words (the sample data was missing)"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every live descendant (uvicorn --workers forks children)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, frontier = {pid}, [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier and p not in family]
        family.update(children)
        frontier = children
    return sum(times.get(p, 0.0) for p in family)


def hide_fast_http(folder: Path) -> Path:
    """A folder that, first on PYTHONPATH, makes ``import httptools`` / ``import uvloop`` fail.

    uvicorn then falls back to h11 and asyncio's loop: the environment as it was at a61b555,
    before ``rnnlab[serve]`` required them.
    """
    for name in ("httptools", "uvloop"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text(f'raise ImportError("{name} hidden by load_test.py")\n')
    return folder


def start_server(src: Path, runs: list[Path], extra: list[str], first: Path | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """``python -m rnnlab serve`` with ``src`` (after ``first``) on PYTHONPATH, on a free 127.0.0.1 port.

    Waits for /health.
    """
    port = free_port()
    path = os.pathsep.join(str(p) for p in (first, src) if p is not None)
    env = {**os.environ, "RNNLAB_THREADS": os.environ.get("RNNLAB_THREADS", "1"), "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "rnnlab", "serve", *map(str, runs), "--host", HOST, "--port", str(port),
           "--log-level", "warning", *extra]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server from {src} exited: {server.stdout.read()[-2000:]}")
        try:
            httpx.get(base + "/health", timeout=2).raise_for_status()
            return server, base
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"server from {src} did not start within 120 s")
            time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def predict_request(port: int, body: bytes) -> bytes:
    return (f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def raw_round(port: int, request: bytes, clients: int, seconds: float) -> dict:
    """``clients`` keep-alive connections, each sending ``request`` again as soon as its answer is read."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds

    async def client():
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                at = head.lower().find(b"content-length:")
                length = int(head[at + 15:head.index(b"\r\n", at)]) if at >= 0 else 0
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"latencies": latencies, "statuses": statuses, "seconds": time.perf_counter() - t0}


def served_probabilities(base: str, model: str, text: str) -> dict:
    r = httpx.post(base + "/predict", json={"model": model, "texts": [text]}, timeout=30)
    r.raise_for_status()
    return r.json()["predictions"][0]["probabilities"]


def where_time_goes(run_dir: Path, text: str) -> list[str]:
    """CPU milliseconds of the model-side work for the review, in this process (one torch thread)."""
    sys.path.insert(0, str(HERE.parent / "src"))
    import torch

    from rnnlab.runs import load_run
    from rnnlab.trace import run_probabilities

    torch.set_num_threads(1)
    run = load_run(run_dir)

    def cpu_ms(fn, repeat):
        fn()
        t0 = time.process_time()
        for _ in range(repeat):
            fn()
        return 1000 * (time.process_time() - t0) / repeat

    encode = cpu_ms(lambda: run.pipeline.encode(text), 200)
    one = cpu_ms(lambda: run_probabilities(run, [text]), 100)
    many = cpu_ms(lambda: run_probabilities(run, [text] * 32), 20)
    return [f"- model-side CPU per review, measured in the benchmark's process: tokenize + look up "
            f"{encode:.2f} ms; tokenize + forward alone {one:.2f} ms; in a batch of 32 {many / 32:.2f} ms "
            f"({many:.1f} ms for the batch)"]


def predict_one(args) -> int:
    text, source = short_review()
    run = args.runs[0]
    model = run.name
    body = json.dumps({"model": model, "texts": [text]}).encode()
    new_src = HERE.parent / "src"
    extra = args.serve_args.split() if args.serve_args else []
    bare = hide_fast_http(Path(tempfile.mkdtemp(prefix="load-test-")) / "hide")
    servers = {}  # name: (src, options, folder first on PYTHONPATH)
    if args.old_src:
        servers["before: a61b555, h11 + asyncio loop"] = (Path(args.old_src), [], bare)
        servers["after, h11 + asyncio loop (no httptools/uvloop)"] = (new_src, extra, bare)
    servers["after: this tree, httptools + uvloop"] = (new_src, extra, None)
    load_start = os.getloadavg()
    started = dt.datetime.now(dt.timezone.utc)
    costs = where_time_goes(run, text)
    procs, stats = {}, {}
    try:
        for name, (src, options, first) in servers.items():
            procs[name] = start_server(src, [run], options, first)
        reference = {name: served_probabilities(base, model, text) for name, (_, base) in procs.items()}
        for name, (proc, base) in procs.items():  # warm-up: allocator, thread pools, first-batch paths
            asyncio.run(raw_round(int(base.rsplit(":", 1)[1]), predict_request(int(base.rsplit(":", 1)[1]), body),
                                  args.clients, args.warmup_seconds))
            stats[name] = {"latencies": [], "statuses": {}, "seconds": 0.0, "server_cpu": 0.0, "client_cpu": 0.0,
                           "rss_mb": 0.0}
        for _ in range(args.rounds):  # alternate: both servers see the same drift of the machine's load
            for name, (proc, base) in procs.items():
                port = int(base.rsplit(":", 1)[1])
                cpu0, client0 = cpu_seconds(proc.pid), time.process_time()
                result = asyncio.run(raw_round(port, predict_request(port, body), args.clients, args.seconds))
                s = stats[name]
                s["server_cpu"] += cpu_seconds(proc.pid) - cpu0
                s["client_cpu"] += time.process_time() - client0
                s["latencies"] += result["latencies"]
                s["seconds"] += result["seconds"]
                for code, n in result["statuses"].items():
                    s["statuses"][code] = s["statuses"].get(code, 0) + n
                s["rss_mb"] = rss_mb(proc.pid)
    finally:
        for proc, _ in procs.values():
            stop_server(proc)
    load_end = os.getloadavg()

    rows = {}
    for name, s in stats.items():
        lat, ok = s["latencies"], s["statuses"].get(200, 0)
        rows[name] = {"requests": len(lat), "ok": ok, "errors": len(lat) - ok, "seconds": s["seconds"],
                      "rps": ok / s["seconds"], "p50_ms": 1000 * statistics.median(lat),
                      "p95_ms": 1000 * percentile(lat, 0.95), "max_ms": 1000 * max(lat),
                      "server_cpu": s["server_cpu"], "client_cpu": s["client_cpu"], "rss_mb": s["rss_mb"],
                      "statuses": s["statuses"]}
    names = list(rows)
    drift = max(abs(reference[n][k] - reference[names[-1]][k]) for n in names for k in reference[n])
    command = args.command or "python benchmarks/load_test.py " + " ".join(sys.argv[1:])
    measured = (f"{started:%Y-%m-%d %H:%M} UTC, load average {load_start[0]:.2f} at start, "
                f"{load_end[0]:.2f} at end")
    lines = [MD_START, f"## {ROW} (issue 13, order 7)", "",
             f"- date: {measured}; load average (1/5/15 min) {' '.join(f'{v:.2f}' for v in load_start)} at start, "
             f"{' '.join(f'{v:.2f}' for v in load_end)} at end",
             f"- machine: {cpu_name()}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}; "
             f"RNNLAB_THREADS={os.environ.get('RNNLAB_THREADS', '1')}",
             f"- command: `{command}`",
             f"- model: `{run}` ({model}); every request is `POST /predict` of one review ({source}); "
             f"{args.clients} concurrent keep-alive connections; {args.rounds} alternating rounds of "
             f"{args.seconds:g} s per server after {args.warmup_seconds:g} s of warm-up each",
             f"- new server's options: `{args.serve_args or '(defaults)'}`; the same probabilities from every "
             f"server (largest difference {drift:.1e})",
             "- servers: *before* is the code at a61b555 in the environment it had (uvicorn on h11 and asyncio's "
             "loop: the benchmark hides httptools and uvloop from it); the middle row is this tree in that same "
             "environment (what micro-batching alone gives); *after* is this tree with `rnnlab[serve]`'s "
             "httptools and uvloop, which uvicorn picks up by itself", *costs, "",
             "| server | requests | errors | req/s | p50 ms | p95 ms | max ms | server CPU s | client CPU s "
             "| wall s | server RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['requests']:,} | {r['errors']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
                     f"{r['p95_ms']:.1f} | {r['max_ms']:.1f} | {r['server_cpu']:.1f} | {r['client_cpu']:.1f} | "
                     f"{r['seconds']:.1f} | {r['rss_mb']:.0f} |")
    after = rows[names[-1]]
    wall = after["seconds"]
    lines += ["", f"The load generator used {after['client_cpu']:.1f} CPU s in {wall:.1f} s against the new server "
              f"({after['client_cpu'] / wall / (os.cpu_count() or 1):.0%} of the machine's "
              f"{os.cpu_count()} CPUs), the server {after['server_cpu']:.1f} CPU s "
              f"({after['server_cpu'] / wall / (os.cpu_count() or 1):.0%}).", MD_END]
    section = "\n".join(lines)
    print(section)
    if args.write:
        md = HERE / "load_test.md"
        old = md.read_text(encoding="utf-8") if md.exists() else ""
        if MD_START in old:
            old = old[:old.index(MD_START)] + section + old[old.index(MD_END) + len(MD_END):]
        else:
            old = old.rstrip("\n") + "\n\n" + section + "\n"
        md.write_text(old, encoding="utf-8")
        met = (after["p50_ms"] <= GOAL["p50_ms"] and after["p95_ms"] <= GOAL["p95_ms"]
               and after["rps"] >= GOAL["rps"] and after["errors"] == 0)
        before = rows[names[0]] if len(names) > 1 else None
        fmt = "p50 {p50_ms:.0f} ms, p95 {p95_ms:.0f} ms, {rps:.0f} req/s"
        result = {"row": ROW, "order": 7, "before": fmt.format(**before) if before else "not measured",
                  "after": fmt.format(**after), "goal": "≤ 50 ms p50, ≤ 150 ms p95, ≥ 800 req/s", "met": met,
                  "command": command, "measured": measured}
        out = HERE / "results" / "speed13" / "serve-predict.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if all(r["errors"] == 0 for r in rows.values()) else 1


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
    parser.add_argument("--mode", choices=("mix", "predict-one"), default="mix",
                        help="mix: /predict batches and /trace over every run; predict-one: issue 13's row, "
                             "one short review per /predict, old server against new (writes its results).")
    one = parser.add_argument_group("--mode predict-one")
    one.add_argument("--old-src", type=Path, help="src/ of the old code to compare (git archive a61b555 src).")
    one.add_argument("--rounds", type=int, default=3, help="Measured rounds per server, alternating servers.")
    one.add_argument("--round-seconds", type=float, default=12, help="Seconds per measured round.")
    one.add_argument("--warmup-seconds", type=float, default=5, help="Seconds of load before measuring.")
    one.add_argument("--serve-args", default="", help="Extra options for the new server (e.g. '--max-queue 64').")
    one.add_argument("--no-write", dest="write", action="store_false",
                     help="Print only; do not write load_test.md and results/speed13/serve-predict.json.")
    one.add_argument("--command", help="The command to record (default: this one).")
    args = parser.parse_args(argv)
    if args.mode == "predict-one":
        if not 1 <= args.clients <= 512 or not 1 <= args.rounds <= 10 or not 0 < args.round_seconds <= 120:
            parser.error("keep the test bounded: 1-512 clients, 1-10 rounds of at most 120 s")
        args.seconds = args.round_seconds
        return predict_one(args)
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
