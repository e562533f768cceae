"""Micro-batching for ``/predict``: the texts of concurrent requests share one forward pass.

Every served model has one :class:`MicroBatcher`. A request puts its texts on the model's
bounded queue and awaits a future. The batcher's task (on the server's event loop) takes the
oldest waiting request and every request already waiting behind it (and, with a ``window``,
those that arrive within it), up to ``max_texts`` texts, runs ONE call of ``predict(texts)``
on the inference thread pool, and hands each request its own rows. While a batch runs, new
requests wait in the queue and form the next batch, so under load batches grow by
themselves, and an idle server answers a lone request without waiting for a window.

Why this is faster: one short review costs the LSTM about as much as eight in one batch
(benchmarks/load_test.md), and the per-request Python work (HTTP, JSON, validation) stays
on the event loop, overlapping with the model's work on its thread.

The queue is bounded (``max_queue`` requests waiting, not counting the batch running): when it
is full, :meth:`MicroBatcher.submit` raises :class:`QueueFull` at once and the app answers 503
with ``Retry-After``, instead of letting latency grow without limit. A failure inside one
batch is retried request by request, so a text that breaks the model fails only its own
request. :meth:`MicroBatcher.close` refuses new requests, answers every waiting one and
ends the task (the server's shutdown awaits it).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, Sequence

import numpy as np

# Texts in one forward pass at most (the batch size of rnnlab predict's class_probabilities).
MAX_BATCH_TEXTS = 256


class QueueFull(Exception):
    """The model's queue is full (or the server is stopping): answer 503 and ask the client to retry."""


@dataclass
class _Waiting:
    texts: Sequence[str]
    future: asyncio.Future


class MicroBatcher:
    """Collects the texts of concurrent ``/predict`` requests for one model and runs them as one batch.

    ``predict`` maps a list of texts to an ``(N, k)`` array of probabilities (it runs on the
    pool, through ``run_in_pool``); ``max_queue`` bounds the requests waiting; ``window``
    (seconds) is how long a batch waits for more requests after its first one.
    """

    def __init__(self, predict: Callable[[list], np.ndarray],
                 run_in_pool: Callable[..., Awaitable[np.ndarray]], *, max_queue: int,
                 max_texts: int = MAX_BATCH_TEXTS, window: float = 0.0, name: str = "model"):
        if max_queue < 1:
            raise ValueError(f"max_queue must be at least 1, got {max_queue}")
        if window < 0:
            raise ValueError(f"window must be >= 0 seconds, got {window}")
        self.predict, self.run_in_pool = predict, run_in_pool
        self.max_queue, self.max_texts, self.window, self.name = max_queue, max_texts, window, name
        self.waiting: deque[_Waiting] = deque()
        self.batch_sizes: list[int] = []  # requests per batch run, most recent last (kept short)
        self._task: Optional[asyncio.Task] = None
        self._wakeup: Optional[asyncio.Event] = None
        self._open: Optional[asyncio.Event] = None  # cleared by pause() (tests hold the queue with it)
        self._closing = False

    # -------------------------------------------------------------- the request side
    def submit(self, texts: Sequence[str]) -> asyncio.Future:
        """Queue ``texts``; the future resolves to their ``(len(texts), k)`` probabilities.

        Raises :class:`QueueFull` at once when ``max_queue`` requests are already waiting.
        Call it on the event loop.
        """
        if self._closing:
            raise QueueFull("the server is shutting down; retry on its next start")
        if len(self.waiting) >= self.max_queue:
            raise QueueFull(f"model {self.name!r} has {len(self.waiting)} requests waiting, the most this server "
                            "queues (--max-queue); retry shortly")
        self._start()
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(_Waiting(texts, future))
        self._wakeup.set()
        return future

    # -------------------------------------------------------------- the batch side
    def _start(self) -> None:
        if self._task is None:  # lazily, on the loop that serves (TestClient and uvicorn each have their own)
            self._wakeup, self._open = asyncio.Event(), asyncio.Event()
            self._open.set()
            self._task = asyncio.get_running_loop().create_task(self._work(), name=f"batcher-{self.name}")

    def _take(self, texts: int = 0) -> list[_Waiting]:
        """The oldest waiting requests that fit beside ``texts`` already taken (always one when none are)."""
        batch = []
        while self.waiting and (not (batch or texts) or texts + len(self.waiting[0].texts) <= self.max_texts):
            item = self.waiting.popleft()
            if item.future.done():  # its client went away (the handler was cancelled)
                continue
            batch.append(item)
            texts += len(item.texts)
        return batch

    async def _work(self) -> None:
        while True:
            await self._open.wait()
            if not self.waiting:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take()
            if self.window and batch and not self._closing:  # wait a moment for more company
                await asyncio.sleep(self.window)
                batch += self._take(sum(len(w.texts) for w in batch))
            if batch:
                await self._run(batch)

    async def _run(self, batch: list[_Waiting]) -> None:
        self.batch_sizes = self.batch_sizes[-999:] + [len(batch)]
        texts = [t for w in batch for t in w.texts]
        try:
            probs = await self.run_in_pool(self.predict, texts)                        # (N, k)
        except Exception as exc:
            if len(batch) == 1:
                return _resolve(batch[0].future, error=exc)
            for w in batch:  # one request's text broke the batch: run each alone, so only it fails
                try:
                    _resolve(w.future, await self.run_in_pool(self.predict, list(w.texts)))
                except Exception as exc:
                    _resolve(w.future, error=exc)
            return
        start = 0
        for w in batch:
            _resolve(w.future, probs[start:start + len(w.texts)])
            start += len(w.texts)

    # -------------------------------------------------------------- control
    def pause(self) -> None:
        """Hold the queue: requests wait (and the 503 bound applies) until :meth:`resume`. Call on the loop."""
        self._start()
        self._open.clear()

    def resume(self) -> None:
        self._start()
        self._open.set()

    def reopen(self) -> None:
        """Take requests again after :meth:`close` (an app started anew; its batch task starts on the new loop)."""
        self._task, self._closing = None, False

    async def close(self) -> None:
        """Refuse new requests, answer every waiting one, and end the batch task."""
        self._closing = True
        if self._task is None:
            return
        self._open.set()
        self._wakeup.set()
        await self._task


def _resolve(future: asyncio.Future, result=None, *, error: Optional[BaseException] = None) -> None:
    if future.done():  # cancelled: nobody waits for it
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


__all__ = ["MicroBatcher", "QueueFull", "MAX_BATCH_TEXTS"]
