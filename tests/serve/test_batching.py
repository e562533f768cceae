"""Micro-batching of /predict: concurrent requests share a batch, answers equal predict's, the queue is bounded
(503 + Retry-After), one bad request fails alone, shutdown answers what is queued, options are checked."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from rnnlab.cli import main  # noqa: E402
from rnnlab.inspect import predict_run  # noqa: E402
from rnnlab.runs import load_run  # noqa: E402
from rnnlab.serve import create_app  # noqa: E402
from rnnlab.serve.batching import MicroBatcher, QueueFull  # noqa: E402

TEXTS = ["I loved it at first, but by the end I hated it", "I hated it at first, but by the end I loved it",
         "A wonderful film.", "zzz", "dull , dull , dull and far too long for what it has to say about anything",
         "great"]


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def post_in_threads(client, bodies):
    """POST each body to /predict from its own thread; returns the responses in the order of ``bodies``."""
    responses = [None] * len(bodies)

    def send(i):
        responses[i] = client.post("/predict", json=bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    return threads, responses


def probabilities(response) -> np.ndarray:
    return np.array([[p["probabilities"][name] for name in response.json()["labels"]]
                     for p in response.json()["predictions"]])


def predicted(run_dir, texts) -> np.ndarray:
    table = predict_run(load_run(run_dir), texts)  # what `rnnlab predict` prints
    return np.array([[1 - p, p] for p in table["p(pos)"]])


@pytest.mark.parametrize("name", ["lstm", "bigru", "boe"])
def test_concurrent_requests_share_one_batch_and_equal_predict(trained_runs, name):
    run_dir = trained_runs[name]
    bodies = [{"texts": [t]} for t in TEXTS] + [{"texts": TEXTS[:3]}, {"texts": [TEXTS[4], TEXTS[0]]}]
    with TestClient(create_app([run_dir])) as client:
        batcher = client.app.state.batchers[name]
        alone = client.post("/predict", json={"texts": [TEXTS[0]]})  # a batch of one request
        assert alone.status_code == 200 and batcher.batch_sizes == [1]
        client.portal.call(batcher.pause)  # hold the queue until every request waits in it
        threads, responses = post_in_threads(client, bodies)
        wait_until(lambda: len(batcher.waiting) == len(bodies))
        client.portal.call(batcher.resume)
        for t in threads:
            t.join(60)
        assert batcher.batch_sizes == [1, len(bodies)]  # all of them in ONE forward pass
    np.testing.assert_allclose(probabilities(alone), predicted(run_dir, [TEXTS[0]]), atol=1e-5, rtol=0)
    for body, response in zip(bodies, responses):
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(probabilities(response), predicted(run_dir, body["texts"]), atol=1e-5, rtol=0)
        labels = [p["label"] for p in response.json()["predictions"]]
        assert labels == list(predict_run(load_run(run_dir), body["texts"])["label"])


def test_a_full_queue_answers_503_with_retry_after_at_once(trained_runs):
    with TestClient(create_app([trained_runs["lstm"]], max_queue=1)) as client:
        batcher = client.app.state.batchers["lstm"]
        assert client.get("/health").json()["limits"]["max_queue"] == 1
        client.portal.call(batcher.pause)
        threads, responses = post_in_threads(client, [{"texts": ["first in the queue"]}])
        wait_until(lambda: len(batcher.waiting) == 1)
        t0 = time.monotonic()
        full = client.post("/predict", json={"texts": ["one too many"]})
        assert time.monotonic() - t0 < 5  # refused at once, not after the queue moves
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
        assert full.json() == {"detail": "model 'lstm' has 1 requests waiting, the most this server queues "
                                         "(--max-queue); retry shortly"}
        client.portal.call(batcher.resume)
        threads[0].join(60)
        assert responses[0].status_code == 200
        assert client.post("/predict", json={"texts": ["room again"]}).status_code == 200
    schema = create_app([trained_runs["lstm"]]).openapi()
    assert "503" in schema["paths"]["/predict"]["post"]["responses"]


def test_a_request_that_breaks_the_model_fails_alone(trained_runs, monkeypatch):
    import rnnlab.serve.app as serve_app

    real = serve_app.run_probabilities

    def fragile(run, texts):
        if any("BOOM" in t for t in texts):
            raise RuntimeError("this text broke the model")
        return real(run, texts)

    monkeypatch.setattr(serve_app, "run_probabilities", fragile)
    run_dir = trained_runs["lstm"]
    bodies = [{"texts": [TEXTS[0]]}, {"texts": ["fine", "BOOM goes the review"]}, {"texts": [TEXTS[2]]}]
    with TestClient(create_app([run_dir])) as client:
        batcher = client.app.state.batchers["lstm"]
        client.portal.call(batcher.pause)
        threads, responses = post_in_threads(client, bodies)
        wait_until(lambda: len(batcher.waiting) == 3)
        client.portal.call(batcher.resume)
        for t in threads:
            t.join(60)
        assert batcher.batch_sizes == [3]
    assert responses[1].status_code == 500
    assert responses[1].json() == {"detail": "could not classify these texts: RuntimeError: this text broke the model"}
    for i in (0, 2):
        assert responses[i].status_code == 200
        np.testing.assert_allclose(probabilities(responses[i]), predicted(run_dir, bodies[i]["texts"]), atol=1e-5)


def test_shutdown_answers_queued_requests_and_stops_the_model_threads(trained_runs, monkeypatch):
    """A real uvicorn server told to stop while requests wait behind a (slowed) batch."""
    import socket

    import httpx
    import uvicorn

    import rnnlab.serve.app as serve_app

    real = serve_app.run_probabilities
    calls = []

    def slow(run, texts):  # the first batch takes a second: the others queue behind it
        calls.append(texts)
        time.sleep(1.0 if len(calls) == 1 else 0.1)
        return real(run, texts)

    monkeypatch.setattr(serve_app, "run_probabilities", slow)
    app = create_app([trained_runs["boe"]])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = threading.Thread(target=server.run)
    serving.start()
    wait_until(lambda: server.started)
    responses = [None] * 4

    def send(i):
        responses[i] = httpx.post(f"http://127.0.0.1:{port}/predict", json={"texts": [TEXTS[i]]}, timeout=60)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    batcher = app.state.batchers["boe"]
    senders[0].start()
    wait_until(lambda: calls)  # the first request's batch is running
    for t in senders[1:]:
        t.start()
    wait_until(lambda: len(batcher.waiting) == 3)
    server.should_exit = True
    serving.join(60)
    for t in senders:
        t.join(60)
    assert not serving.is_alive() and not any(t.is_alive() for t in senders)
    assert [r.status_code for r in responses] == [200] * 4
    assert not [t for t in threading.enumerate() if t.name.startswith("rnnlab-model")]


def test_an_app_started_again_serves_again(trained_runs):
    client = TestClient(create_app([trained_runs["boe"]]))
    for _ in range(2):
        with client:
            assert client.post("/predict", json={"texts": ["again"]}).status_code == 200
        assert not [t for t in threading.enumerate() if t.name.startswith("rnnlab-model")]


# -- the batcher alone ------------------------------------------------------------------------------------
def fake_batcher(**kwargs):
    calls = []

    def predict(texts):
        calls.append(list(texts))
        return np.array([[len(t), 0.0] for t in texts])

    async def run_in_pool(fn, *args):
        return fn(*args)

    return MicroBatcher(predict, run_in_pool, **kwargs), calls


def test_batches_stop_at_max_texts_and_skip_cancelled_requests():
    async def scenario():
        batcher, calls = fake_batcher(max_queue=10, max_texts=3)
        batcher.pause()
        a, b = batcher.submit(["a", "bb"]), batcher.submit(["ccc"])
        gone = batcher.submit(["dddd"])
        gone.cancel()  # its client disconnected
        c = batcher.submit(["eeeee", "ffffff"])
        batcher.resume()
        results = await asyncio.gather(a, b, c)
        await batcher.close()
        return calls, results

    calls, (a, b, c) = asyncio.run(scenario())
    assert calls == [["a", "bb", "ccc"], ["eeeee", "ffffff"]]
    assert a[:, 0].tolist() == [1, 2] and b[:, 0].tolist() == [3] and c[:, 0].tolist() == [5, 6]


def test_a_window_gathers_requests_that_arrive_soon_after_the_first():
    async def scenario(window):
        batcher, calls = fake_batcher(max_queue=10, window=window)
        first = batcher.submit(["a"])
        await asyncio.sleep(0.01)
        second = batcher.submit(["b"])
        await asyncio.gather(first, second)
        await batcher.close()
        return calls

    assert asyncio.run(scenario(0.2)) == [["a", "b"]]
    assert asyncio.run(scenario(0.0)) == [["a"], ["b"]]


def test_close_answers_the_queue_then_refuses():
    async def scenario():
        batcher, calls = fake_batcher(max_queue=2)
        batcher.pause()
        waiting = batcher.submit(["x"])
        await batcher.close()
        assert waiting.done() and waiting.result()[0, 0] == 1
        with pytest.raises(QueueFull, match="shutting down"):
            batcher.submit(["y"])
        with pytest.raises(QueueFull):  # a full queue
            full, _ = fake_batcher(max_queue=1)
            full.pause()
            full.submit(["a"])
            full.submit(["b"])

    asyncio.run(scenario())


def test_bad_batcher_settings_are_refused(trained_runs):
    with pytest.raises(ValueError, match="max_queue must be at least 1, got 0"):
        fake_batcher(max_queue=0)
    with pytest.raises(ValueError, match="window must be >= 0 seconds"):
        fake_batcher(max_queue=1, window=-1)
    with pytest.raises(ValueError, match="max_queue must be at least 1, got 0"):
        create_app([trained_runs["boe"]], max_queue=0)
    with pytest.raises(ValueError, match="batch_window_ms must be >= 0"):
        create_app([trained_runs["boe"]], batch_window_ms=-1)


@pytest.mark.parametrize("args, expected", [
    (["--max-queue", "0"], "--max-queue: must be at least 1, got 0"),
    (["--batch-window-ms", "-1"], "--batch-window-ms: must be in 0..1000 (milliseconds a batch waits for more "
                                  "requests), got -1"),
    (["--batch-window-ms", "5000"], "--batch-window-ms: must be in 0..1000 (milliseconds a batch waits for more "
                                    "requests), got 5000"),
])
def test_batching_option_errors_are_one_line(trained_runs, capsys, args, expected):
    with pytest.raises(SystemExit) as exc:
        main(["serve", str(trained_runs["boe"]), *args])
    err = capsys.readouterr()
    assert exc.value.code == 1 and "serving" not in err.out
    assert err.err.strip() == f"error: {expected}"
