"""The FastAPI app: JSON endpoints over loaded runs, and the explorer page at ``/``.

Runs are loaded once, through :func:`rnnlab.runs.load_run` (safetensors + JSON; no
pickle is ever read), and named by their folder. Every request is checked at the
boundary: a body over ``max_body_bytes`` gets 413, a text over ``max_text_chars``
or a batch over ``max_batch`` gets 422 (both say which limit and how to raise it),
an unknown model name gets 404 listing the names served.

``/predict`` requests are micro-batched per model (:mod:`rnnlab.serve.batching`): the texts of
concurrent requests share one forward pass; at most ``max_queue`` requests wait per model, and
one more gets 503 with ``Retry-After`` at once.
"""

# No ``from __future__ import annotations`` here: the request models are built inside
# ``create_app`` (their limits are per app), and FastAPI must resolve their annotations.

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import Annotated

from rnnlab.errors import RnnlabError, blank_text_message
from rnnlab.trace import METHODS, run_probabilities, trace_run, supports_running
from rnnlab import __version__
from rnnlab.runs import load_run
from rnnlab.data.tsv import DEFAULT_LABELS
from rnnlab.config import to_dict
from rnnlab.serve.batching import MicroBatcher, QueueFull

STATIC = Path(__file__).resolve().parent / "static"
Method = Literal["occlusion", "removal", "gradient_input"]


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; every limit is a ``rnnlab serve`` option."""

    max_text_chars: int = 20_000      # one text, in characters (the longest IMDB review has ~13,700)
    max_batch: int = 64               # texts in one /predict request
    max_body_bytes: int = 2_000_000   # the raw request body
    max_trace_tokens: int = 1_000     # /trace reads at most this many tokens (leave-one-out is quadratic)
    max_queue: int = 256              # /predict requests waiting per model; one more gets 503 + Retry-After

    def __post_init__(self):
        for name, value in asdict(self).items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")


# ---------------------------------------------------------------------------- responses

class Health(BaseModel):
    status: Literal["ok"] = "ok"
    models: List[str]
    limits: Dict[str, int]


class ModelInfo(BaseModel):
    name: str = Field(description="The run's folder name; pass it as `model` in requests.")
    type: str = Field(description="boe, rnn, lstm or gru.")
    family: Literal["boe", "recurrent"]
    layers: int
    bidirectional: bool
    running: bool = Field(description="Whether /trace gives a running probability (unidirectional recurrent).")
    labels: List[str] = Field(description="The task's classes, in the order of the model's outputs.")
    parameters: int
    vocab_size: int
    max_length: Optional[int] = Field(description="Tokens read per text (the run's training max_length).")
    config: Dict[str, Any] = Field(description="The model config saved in the run.")
    train: Dict[str, Any] = Field(description="The training config saved in the run.")
    valid: Optional[Dict[str, Any]] = Field(None, description="Validation metrics of the kept epoch, when recorded.")
    test: Optional[Dict[str, Any]] = Field(None, description="Test metrics, when the run was trained with --test.")
    best_epoch: Optional[int] = None


class Prediction(BaseModel):
    label: str = Field(description="The predicted class.")
    probabilities: Dict[str, float] = Field(description="Every class's probability (they sum to 1).")
    probability: float = Field(description="Probability of the predicted class.")


class PredictResponse(BaseModel):
    model: str
    labels: List[str]
    predictions: List[Prediction]


class TraceResponse(BaseModel):
    model: str
    text: str
    tokens: List[str]
    known: List[bool] = Field(description="False where the token is not in the vocabulary (read as <unk>).")
    probability: float = Field(description="Probability of `target` for the (possibly truncated) text.")
    label: str = Field(description="The predicted class.")
    labels: List[str]
    target: str = Field(description="The class that probability, running, deltas and importance follow: "
                                    "the request's `target`, else labels[1] for two classes, else the predicted one.")
    probabilities: Dict[str, float] = Field(description="Every class's probability for the whole text.")
    running: Optional[List[float]] = Field(description="p(target) after each token (unidirectional models).")
    running_by_class: Optional[Dict[str, List[float]]] = Field(
        description="Every class's probability after each token (unidirectional models).")
    deltas: Optional[List[float]] = Field(description="Change of the running p(target) at each token "
                                                      "(the first against 1/k).")
    importance: Dict[str, List[float]] = Field(
        description="Per-token importance by method: occlusion (p - p with the token as <unk>), removal "
                    "(p - p without the token), gradient_input (d logit / d embedding · embedding).")
    truncated: bool


class ErrorItem(BaseModel):
    loc: List[Any]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    message: str = Field(description="All problems on one line.")
    detail: List[ErrorItem]


class ErrorResponse(BaseModel):
    detail: str


RETRY_AFTER_SECONDS = 1  # what a 503 (queue full) asks the client to wait


# ---------------------------------------------------------------------------- models served

class Registry:
    """The loaded runs, by name (folder name)."""

    def __init__(self, run_dirs: Sequence[str | Path]):
        if not run_dirs:
            raise RnnlabError("nothing to serve: give at least one run directory")
        self.runs = {}
        for path in run_dirs:
            run = load_run(path)
            if run.name in self.runs:
                raise RnnlabError(f"two runs are named {run.name!r} ({self.runs[run.name].path} and {run.path}); "
                                  "serve runs whose folder names differ")
            self.runs[run.name] = run

    def labels(self, run) -> list[str]:
        return list(run.labels or DEFAULT_LABELS)

    @property
    def names(self) -> list[str]:
        return list(self.runs)

    def get(self, name: Optional[str]):
        if name is None:
            return next(iter(self.runs.values()))
        try:
            return self.runs[name]
        except KeyError:
            raise HTTPException(404, f"unknown model {name!r}; this server has: {', '.join(self.runs)}") from None

    def info(self, run) -> ModelInfo:

        best = run.meta.get("best_epoch")
        rows = [r for r in run.metrics if r.get("valid")]
        kept = next((r for r in rows if r.get("epoch") == best), rows[-1] if rows else None)

        mc = run.model_config
        return ModelInfo(name=run.name, type=mc.model, family="boe" if mc.model == "boe" else "recurrent",
                         layers=mc.layers if mc.recurrent else 0, bidirectional=mc.recurrent and mc.bidirectional,
                         running=supports_running(run.model), labels=run.labels or list(DEFAULT_LABELS),
                         parameters=sum(p.numel() for p in run.model.parameters()), vocab_size=len(run.vocab),
                         max_length=run.max_length, config=to_dict(mc), train=to_dict(run.train_config),
                         valid=kept["valid"] if kept else None, test=run.meta.get("test"), best_epoch=best)


# ---------------------------------------------------------------------------- body size

class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413, by header or while streaming."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def message(self, size: str) -> str:
        return (f"request body is {size}; this server accepts at most {self.max_bytes:,} bytes "
                "(send fewer or shorter texts, or start the server with a larger --max-body-bytes)")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = JSONResponse({"detail": self.message(f"{int(length):,} bytes")}, status_code=413)
            return await response(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # chunked upload without a length: stop reading
                    raise HTTPException(413, self.message(f"over {received:,} bytes"))
            return message

        await self.app(scope, limited_receive, send)


def _clean_errors(errors) -> list[dict]:
    """Pydantic errors without the (possibly huge) offending input."""
    out = []
    for e in errors:
        item = {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        ctx = e.get("ctx")
        if ctx:
            item["ctx"] = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in ctx.items()}
        out.append(item)
    return out


# ---------------------------------------------------------------------------- the app

def default_inference_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


DEFAULT_BATCH_WINDOW_MS = 0.0  # continuous batching: a batch forms while the previous one runs


def create_app(run_dirs: Sequence[str | Path], limits: Optional[Limits] = None, *,
               inference_threads: Optional[int] = None, batch_window_ms: float = DEFAULT_BATCH_WINDOW_MS,
               **overrides: int) -> FastAPI:
    """The API and page over ``run_dirs``; ``limits`` (or keyword overrides of its fields) bound requests.

    Model work runs on a pool of ``inference_threads`` threads (default: CPUs, at most 4), not on
    the server's large default thread pool: more threads than cores only add latency, and each
    thread's allocator arena adds memory. ``/predict`` requests go through one
    :class:`~rnnlab.serve.batching.MicroBatcher` per model (``app.state.batchers``); a batch
    waits ``batch_window_ms`` after its first request for more (0: it takes what is waiting).
    """
    limits = replace(limits or Limits(), **overrides)
    registry = Registry(run_dirs)
    inference_threads = inference_threads or default_inference_threads()
    if inference_threads < 1:
        raise ValueError(f"inference_threads must be at least 1, got {inference_threads}")
    if batch_window_ms < 0:
        raise ValueError(f"batch_window_ms must be >= 0, got {batch_window_ms}")
    pool: list[ThreadPoolExecutor] = []  # the model threads: made on first use, stopped at shutdown

    async def in_pool(fn, *args, **kwargs):
        if not pool:
            pool.append(ThreadPoolExecutor(max_workers=inference_threads, thread_name_prefix="rnnlab-model"))
        return await asyncio.get_running_loop().run_in_executor(pool[0], lambda: fn(*args, **kwargs))

    def batched(run):
        # Texts are tokenized in the batch, on the pool thread, by predict's own function
        # (class_probabilities), so served probabilities are predict's.
        return MicroBatcher(lambda texts: run_probabilities(run, texts), in_pool, max_queue=limits.max_queue,
                            window=batch_window_ms / 1000, name=run.name)

    batchers = {name: batched(run) for name, run in registry.runs.items()}

    @asynccontextmanager
    async def lifespan(app):
        for b in batchers.values():
            b.reopen()
        yield
        # uvicorn has stopped taking connections: answer what is queued, then stop the pool's threads.
        await asyncio.gather(*(b.close() for b in batchers.values()))
        if pool:
            pool.pop().shutdown(wait=True, cancel_futures=True)
    Text = Annotated[str, Field(max_length=limits.max_text_chars,
                                description=f"At most {limits.max_text_chars:,} characters.")]
    ModelName = Optional[str]

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{"model": registry.names[0], "texts": ["A wonderful, moving film.", "Dull and far too long."]}]})
        model: ModelName = Field(None, description="A name from GET /models; the first served model if omitted.")
        texts: List[Text] = Field(min_length=1, max_length=limits.max_batch,
                                  description=f"1 to {limits.max_batch} texts, classified as one batch.")

    class TraceRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{"model": registry.names[0], "text": "I loved it at first, but by the end I hated it"}]})
        model: ModelName = Field(None, description="A name from GET /models; the first served model if omitted.")
        text: Text
        methods: List[Method] = Field(list(METHODS), description="Importance methods to compute.")
        target: Optional[str] = Field(None, description="The class to follow (a name from the model's labels); "
                                                        "default labels[1] for two classes, else the predicted one.")

    # no /docs or /redoc: they load Swagger/ReDoc from a CDN; the schema stays at /openapi.json (offline)
    app = FastAPI(title="rnnlab", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Classify texts with trained rnnlab runs and watch how a model reads them.")
    app.state.registry = registry
    app.state.limits = limits
    app.state.batchers = batchers
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = _clean_errors(exc.errors())
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        hint = {"string_too_long": "--max-text-chars", "too_long": "--max-batch"}
        flags = sorted({hint[e["type"]] for e in errors if e["type"] in hint})
        if flags:
            message += f" (a server limit: start rnnlab serve with a larger {' / '.join(flags)} to change it)"
        return JSONResponse({"message": message, "detail": errors}, status_code=422)

    errors = {404: {"model": ErrorResponse, "description": "Unknown model name."},
              413: {"model": ErrorResponse, "description": "Request body too large."},
              422: {"model": ValidationErrorResponse, "description": "Invalid request or over a limit."}}
    predict_errors = {**errors, 503: {"model": ErrorResponse, "description": "The model's queue is full "
                                      "(--max-queue): retry after the Retry-After header's seconds."},
                      500: {"model": ErrorResponse, "description": "The model failed on this request's texts."}}

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Liveness, the models served and the request limits."""
        return Health(models=registry.names, limits=asdict(limits))

    @app.get("/models", response_model=List[ModelInfo], tags=["service"])
    def models() -> List[ModelInfo]:
        """Every model served: type, configs and test metrics when the run has them."""
        return [registry.info(run) for run in registry.runs.values()]

    def unprocessable(loc: list, message: str, kind: str) -> JSONResponse:
        """A 422 shaped like a validation error: the message on one line, and where."""
        return JSONResponse({"message": f"{'.'.join(str(p) for p in loc)}: {message}",
                             "detail": [{"loc": loc, "msg": message, "type": kind}]}, status_code=422)

    @app.post("/predict", response_model=PredictResponse, responses=predict_errors, tags=["models"])
    async def predict(request: PredictRequest):
        """Every class's probability and the predicted label for a batch of texts.

        Concurrent requests to one model are classified together in one batch (micro-batching);
        when ``max_queue`` requests already wait for the model, the answer is 503 with Retry-After.
        """
        run = registry.get(request.model)
        blank = [i for i, t in enumerate(request.texts) if not t.strip()]
        if blank:
            return unprocessable(["body", "texts", blank[0]], blank_text_message("classify"), "blank_text")
        try:
            probs = await batchers[run.name].submit(request.texts)                     # (N, k)
        except QueueFull as exc:
            return JSONResponse({"detail": str(exc)}, status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        except Exception as exc:  # the model failed on these texts (the batch's other requests are answered)
            return JSONResponse({"detail": f"could not classify these texts: {type(exc).__name__}: {exc}"},
                                status_code=500)
        return Response(predictions_json(run.name, registry.labels(run), probs), media_type="application/json")

    @app.post("/trace", response_model=TraceResponse, responses=errors, tags=["models"])
    async def trace_endpoint(request: TraceRequest):
        """Tokens, every class's running probability (unidirectional models) and per-token importances."""
        run = registry.get(request.model)
        if not request.text.strip():
            return unprocessable(["body", "text"], blank_text_message("trace"), "blank_text")
        labels = registry.labels(run)
        if request.target is not None and request.target not in labels:
            return unprocessable(["body", "target"], f"unknown class {request.target!r}; this model's classes "
                                 f"are {', '.join(labels)}", "unknown_class")
        # Served models stay in eval mode (trace's mode switch is a no-op), so requests can run concurrently.
        t = await in_pool(trace_run, run, request.text, list(dict.fromkeys(request.methods)),
                          target=request.target, max_length=limits.max_trace_tokens)
        return TraceResponse(model=run.name, **t.to_dict())

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def predictions_json(model: str, labels: list[str], probs) -> bytes:
    """The /predict body (``PredictResponse``'s shape), built directly: the hot path skips re-validating it."""
    rows = probs.tolist()                                                              # (N, k) floats
    predictions = []
    for row in rows:
        best = max(range(len(row)), key=row.__getitem__)
        predictions.append({"label": labels[best], "probabilities": dict(zip(labels, row)),
                            "probability": row[best]})
    return json.dumps({"model": model, "labels": labels, "predictions": predictions}).encode()


def _version() -> str:
    return __version__
