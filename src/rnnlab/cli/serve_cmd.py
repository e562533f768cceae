"""``rnnlab serve RUN [RUN ...]``: the prediction API and the explorer page."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from rnnlab.cli.app import app
from rnnlab.errors import RnnlabError


def run_serve(*, runs: list[Path], host: str = "127.0.0.1", port: int = 8000, max_text_chars: int = 20_000,
              max_batch: int = 64, max_body_bytes: int = 2_000_000, max_trace_tokens: int = 1_000,
              max_queue: int = 256, batch_window_ms: float = 0.0, inference_threads: int | None = None,
              log_level: str = "info") -> None:
    """Load every run (safetensors only) and serve them until interrupted.

    Options and runs are checked before the server starts: a bad one is one line and
    a non-zero exit, never a server that answers 500.
    """
    _check_options(port=port, max_text_chars=max_text_chars, max_batch=max_batch, max_body_bytes=max_body_bytes,
                   max_trace_tokens=max_trace_tokens, max_queue=max_queue, batch_window_ms=batch_window_ms,
                   inference_threads=inference_threads, log_level=log_level)
    try:
        import uvicorn
    except ImportError:
        raise RnnlabError("the server needs fastapi and uvicorn: pip install 'rnnlab[serve]'") from None
    from rnnlab.serve import Limits, create_app
    from rnnlab.training import configure_threads

    configure_threads()  # small models: one intra-op thread per request ($RNNLAB_THREADS overrides)
    application = create_app(runs, limits=Limits(max_text_chars=max_text_chars, max_batch=max_batch,
                                                 max_body_bytes=max_body_bytes, max_trace_tokens=max_trace_tokens,
                                                 max_queue=max_queue),
                             inference_threads=inference_threads, batch_window_ms=batch_window_ms)
    names = ", ".join(application.state.registry.names)
    print(banner(names, host, port), flush=True)
    uvicorn.run(application, host=host, port=port, log_level=log_level)


def banner(names: str, host: str, port: int) -> str:
    """The line ``rnnlab serve`` prints before it starts listening."""
    return f"serving {names} on http://{host}:{port}/  (OpenAPI schema at /openapi.json; Ctrl-C stops)"


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
MAX_BATCH_WINDOW_MS = 1000.0  # a longer wait only adds latency: batches form while the previous one runs


def _check_options(*, port, max_text_chars, max_batch, max_body_bytes, max_trace_tokens, max_queue, batch_window_ms,
                   inference_threads, log_level) -> None:
    if not 0 <= port <= 65535:
        raise RnnlabError(f"--port: must be in 0..65535, got {port}")
    for option, value in (("--max-text-chars", max_text_chars), ("--max-batch", max_batch),
                          ("--max-body-bytes", max_body_bytes), ("--max-trace-tokens", max_trace_tokens),
                          ("--max-queue", max_queue)):
        if value < 1:
            raise RnnlabError(f"{option}: must be at least 1, got {value}")
    if not 0 <= batch_window_ms <= MAX_BATCH_WINDOW_MS:
        raise RnnlabError(f"--batch-window-ms: must be in 0..{MAX_BATCH_WINDOW_MS:g} (milliseconds a batch waits "
                          f"for more requests), got {batch_window_ms:g}")
    if inference_threads is not None and inference_threads < 0:
        raise RnnlabError(f"--inference-threads: must be >= 0 (0: one per CPU, at most 4), got {inference_threads}")
    if log_level not in LOG_LEVELS:
        raise RnnlabError(f"--log-level: unknown level {log_level!r}; choose one of {', '.join(LOG_LEVELS)}")


@app.command("serve")
def serve_command(
    runs: List[Path] = typer.Argument(..., help="Run directories to serve (each is a model, named by its folder)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind; 127.0.0.1 keeps it on this machine."),
    port: int = typer.Option(8000, help="TCP port."),
    max_text_chars: int = typer.Option(20_000, help="Longest text accepted, in characters (longer: 422)."),
    max_batch: int = typer.Option(64, help="Most texts in one /predict request (more: 422)."),
    max_body_bytes: int = typer.Option(2_000_000, help="Largest request body, in bytes (larger: 413)."),
    max_trace_tokens: int = typer.Option(1_000, help="Most tokens /trace reads of one text (the rest is cut)."),
    max_queue: int = typer.Option(256, help="Most /predict requests waiting per model; one more gets 503 with "
                                            "Retry-After at once."),
    batch_window_ms: float = typer.Option(0.0, help="Milliseconds a /predict batch waits for more requests after "
                                                    "its first (0: it takes what is waiting; batches still form "
                                                    "while the previous one runs)."),
    inference_threads: int = typer.Option(0, help="Threads running models (0: one per CPU, at most 4)."),
    log_level: str = typer.Option("info", help="uvicorn log level: critical, error, warning, info, debug."),
) -> None:
    """Serve runs over HTTP: a JSON API (/predict, /trace, /models, /health) and an explorer page at /."""
    run_serve(runs=list(runs), host=host, port=port, max_text_chars=max_text_chars, max_batch=max_batch,
              max_body_bytes=max_body_bytes, max_trace_tokens=max_trace_tokens, max_queue=max_queue,
              batch_window_ms=batch_window_ms, inference_threads=inference_threads or None, log_level=log_level)
