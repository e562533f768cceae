"""The JSON API: every endpoint, the limits (413/422), unknown models (404), and the page's files."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from rnnlab.errors import RnnlabError  # noqa: E402
from rnnlab.inspect import predict_run  # noqa: E402
from rnnlab.runs import load_run  # noqa: E402
from rnnlab.serve import Limits, create_app  # noqa: E402
from rnnlab.trace import trace_run  # noqa: E402

def _three_class():
    """tests/_three_class.py (tests/ is not a package, and this folder is not beside it)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_three_class", Path(__file__).parents[1] / "_three_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONTRAST = "I loved it at first, but by the end I hated it"
MIRROR = "I hated it at first, but by the end I loved it"


@pytest.fixture(scope="module")
def runs(trained_runs, tmp_path_factory):
    import shutil

    root = tmp_path_factory.mktemp("served")
    runs = {name: shutil.copytree(path, root / name) for name, path in trained_runs.items()}
    # One run carries test metrics in its config, as `rnnlab train --test` writes them.
    path = runs["lstm"] / "config.json"
    config = json.loads(path.read_text())
    config["meta"]["test"] = {"acc": 0.61, "loss": 0.66, "f1": 0.6, "n": 100}
    path.write_text(json.dumps(config))
    return runs


@pytest.fixture(scope="module")
def client(runs):
    app = create_app([runs["lstm"], runs["bigru"], runs["boe"]],
                     Limits(max_text_chars=2_000, max_batch=8, max_body_bytes=40_000, max_trace_tokens=300))
    with TestClient(app) as c:
        yield c


def test_health_lists_models_and_limits(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "models": ["lstm", "bigru", "boe"],
                        "limits": {"max_text_chars": 2000, "max_batch": 8, "max_body_bytes": 40000,
                                   "max_trace_tokens": 300, "max_queue": 256}}


def test_models_describe_type_config_and_test_metrics(client):
    r = client.get("/models")
    assert r.status_code == 200
    by_name = {m["name"]: m for m in r.json()}
    assert by_name["lstm"]["type"] == "lstm" and by_name["lstm"]["running"] is True
    assert by_name["lstm"]["test"]["acc"] == 0.61
    assert by_name["bigru"]["bidirectional"] is True and by_name["bigru"]["running"] is False
    assert by_name["boe"]["family"] == "boe" and by_name["boe"]["test"] is None
    assert set(by_name["boe"]["valid"]) >= {"loss", "acc"}
    assert by_name["boe"]["config"]["model"] == "boe" and by_name["boe"]["train"]["max_length"] == 200
    assert all(m["labels"] == ["neg", "pos"] and m["parameters"] > 0 for m in by_name.values())


@pytest.mark.parametrize("name", ["lstm", "bigru", "boe"])
def test_predict_matches_the_python_api(client, runs, name):
    texts = [CONTRAST, MIRROR, "A wonderful film.", "zzz"]
    r = client.post("/predict", json={"model": name, "texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == name and body["labels"] == ["neg", "pos"]
    expected = predict_run(load_run(runs[name]), texts)
    got = [p["probabilities"]["pos"] for p in body["predictions"]]
    assert got == pytest.approx(list(expected["p(pos)"]), abs=1e-6)
    assert [p["label"] for p in body["predictions"]] == list(expected["label"])
    for p in body["predictions"]:
        assert sum(p["probabilities"].values()) == pytest.approx(1.0)
        assert p["probability"] == p["probabilities"][p["label"]] >= 0.5


def test_predict_without_a_model_uses_the_first(client):
    r = client.post("/predict", json={"texts": ["fine"]})
    assert r.status_code == 200 and r.json()["model"] == "lstm"


@pytest.mark.parametrize("name", ["lstm", "bigru", "boe"])
def test_trace_matches_the_python_api(client, runs, name):
    r = client.post("/trace", json={"model": name, "text": CONTRAST})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = trace_run(load_run(runs[name]), CONTRAST)
    assert body["tokens"] == expected.tokens and len(body["tokens"]) == 13
    assert body["probability"] == pytest.approx(expected.probability)
    assert set(body["importance"]) == {"occlusion", "removal", "gradient_input"}
    assert body["importance"]["occlusion"] == pytest.approx(expected.importance["occlusion"])
    if name == "lstm":
        assert len(body["running"]) == 13 and body["running"][-1] == pytest.approx(body["probability"])
        assert len(body["deltas"]) == 13
    else:
        assert body["running"] is None and body["deltas"] is None


def test_trace_methods_can_be_chosen(client):
    r = client.post("/trace", json={"model": "boe", "text": "good", "methods": ["removal"]})
    assert r.status_code == 200 and list(r.json()["importance"]) == ["removal"]


def test_trace_reads_at_most_max_trace_tokens(client):
    r = client.post("/trace", json={"model": "boe", "text": "good " * 400})
    assert r.status_code == 200
    assert len(r.json()["tokens"]) == 200 and r.json()["truncated"]  # the run's max_length (200) < 300


def test_unknown_model_is_404_naming_the_models(client):
    for path, body in (("/predict", {"model": "nope", "texts": ["x"]}), ("/trace", {"model": "nope", "text": "x"})):
        r = client.post(path, json=body)
        assert r.status_code == 404
        assert r.json() == {"detail": "unknown model 'nope'; this server has: lstm, bigru, boe"}


def test_text_over_the_limit_is_422_with_a_clear_message(client):
    r = client.post("/predict", json={"model": "boe", "texts": ["ok", "x" * 2_001]})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["loc"] == ["body", "texts", 1]
    assert body["detail"][0]["ctx"] == {"max_length": 2000}
    assert "at most 2000 characters" in body["message"] and "--max-text-chars" in body["message"]
    assert "xxxx" not in r.text  # the offending input is not echoed back
    r = client.post("/trace", json={"model": "boe", "text": "x" * 2_001})
    assert r.status_code == 422 and "body.text: String should have at most 2000 characters" in r.json()["message"]


def test_batch_over_the_limit_is_422(client):
    r = client.post("/predict", json={"model": "boe", "texts": ["a"] * 9})
    assert r.status_code == 422
    assert "at most 8 items" in r.json()["message"] and "--max-batch" in r.json()["message"]


@pytest.mark.parametrize("body", [{"texts": []}, {"model": "boe"}, {"texts": "not a list"}, {"texts": [3]},
                                  {"texts": ["a"], "extra": 1}])
def test_malformed_predict_requests_are_422(client, body):
    r = client.post("/predict", json=body)
    assert r.status_code == 422 and r.json()["message"]


def test_invalid_json_is_422(client):
    r = client.post("/predict", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["message"]


def test_unknown_method_is_422(client):
    r = client.post("/trace", json={"text": "good", "methods": ["shap"]})
    assert r.status_code == 422 and "occlusion" in r.json()["message"]


def test_body_over_the_limit_is_413(client):
    r = client.post("/predict", json={"model": "boe", "texts": ["x" * 1_900] * 30})  # ~57 KB > 40 KB
    assert r.status_code == 413
    assert r.json()["detail"].startswith("request body is ") and "at most 40,000 bytes" in r.json()["detail"]
    assert "--max-body-bytes" in r.json()["detail"]


def test_streamed_body_over_the_limit_is_413(client):
    def chunks():  # no Content-Length: a chunked upload
        for _ in range(30):
            yield b" " * 2_000
        yield b'{"texts": ["x"]}'

    r = client.post("/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "--max-body-bytes" in r.json()["detail"]


def test_openapi_schema_documents_requests_responses_and_limits(client):
    schema = client.get("/openapi.json").json()
    assert {"/health", "/models", "/predict", "/trace"} <= set(schema["paths"])
    predict = schema["paths"]["/predict"]["post"]
    assert {"200", "404", "413", "422"} <= set(predict["responses"])
    req = schema["components"]["schemas"]["PredictRequest"]["properties"]["texts"]
    assert req["maxItems"] == 8 and req["items"]["maxLength"] == 2000
    assert "TraceResponse" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 404  # no page that loads Swagger from the internet


def test_page_and_static_files_are_served(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "rnnlab explorer" in r.text and "static/app.js" in r.text
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "I loved it at first, but by the end I hated it" in js.text
    assert "I hated it at first, but by the end I loved it" in js.text
    assert client.get("/static/app.css").status_code == 200
    for asset in (r.text, js.text, client.get("/static/app.css").text):  # works offline: nothing from a CDN
        assert "http://" not in asset.replace("http://www.w3.org/2000/svg", "") and "https://" not in asset


def test_limits_can_be_overridden_by_keyword(runs):
    app = create_app([runs["boe"]], max_batch=2)
    assert app.state.limits.max_batch == 2 and app.state.limits.max_text_chars == Limits().max_text_chars
    with TestClient(app) as c:
        assert c.post("/predict", json={"texts": ["a", "b", "c"]}).status_code == 422


def test_bad_limits_and_bad_runs_are_refused(runs, tmp_path):
    with pytest.raises(ValueError, match="max_batch must be at least 1"):
        Limits(max_batch=0)
    with pytest.raises(RnnlabError, match="nothing to serve"):
        create_app([])
    with pytest.raises(RnnlabError, match="no such run directory"):
        create_app([tmp_path / "missing"])
    with pytest.raises(RnnlabError, match="two runs are named 'boe'"):
        create_app([runs["boe"], runs["boe"]])


def test_a_pickle_beside_the_weights_is_never_read(runs, tmp_path):
    import shutil

    run = tmp_path / "boe"
    shutil.copytree(runs["boe"], run)
    (run / "model.pt").write_bytes(b"not a pickle at all")  # would fail loudly if anything unpickled it
    (run / "weights.safetensors").unlink()
    with pytest.raises(RnnlabError, match="weights.safetensors: missing"):
        create_app([run])


@pytest.mark.parametrize("path,body", [("/predict", {"texts": ["fine", "  \n\t"]}), ("/trace", {"text": " "}),
                                       ("/predict", {"texts": [""]}), ("/trace", {"text": ""})])
def test_blank_text_is_422_with_the_clis_message(client, path, body):
    from rnnlab.errors import blank_text_message

    r = client.post(path, json=body)
    assert r.status_code == 422
    what = "classify" if path == "/predict" else "trace"
    assert r.json()["message"].endswith(blank_text_message(what))
    assert r.json()["detail"][0]["loc"][:2] == ["body", "texts" if path == "/predict" else "text"]


# -- a three-class run ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client3(runs, tmp_path_factory):
    three_class_run = _three_class().three_class_run
    root = tmp_path_factory.mktemp("three")
    paths = [three_class_run(root / "lstm3"), three_class_run(root / "boe3", model="boe")]
    with TestClient(create_app(paths + [runs["lstm"]])) as c:
        yield c


def test_three_classes_predict_every_class(client3):
    r = client3.post("/predict", json={"model": "lstm3", "texts": [CONTRAST, MIRROR, "okay fine"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["labels"] == ["neg", "neu", "pos"]
    for p in body["predictions"]:
        assert list(p["probabilities"]) == ["neg", "neu", "pos"]
        assert sum(p["probabilities"].values()) == pytest.approx(1.0)
        assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
        assert p["probability"] == p["probabilities"][p["label"]]


@pytest.mark.parametrize("model", ["lstm3", "boe3"])
def test_three_classes_trace_follows_the_predicted_or_asked_class(client3, model):
    r = client3.post("/trace", json={"model": model, "text": CONTRAST})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"] == body["label"] == max(body["probabilities"], key=body["probabilities"].get)
    assert body["probability"] == pytest.approx(body["probabilities"][body["target"]])
    if model == "lstm3":
        assert set(body["running_by_class"]) == {"neg", "neu", "pos"}
        assert body["running"] == body["running_by_class"][body["target"]]
        assert body["running"][-1] == pytest.approx(body["probability"], abs=1e-6)
        assert body["deltas"][0] == pytest.approx(body["running"][0] - 1 / 3)
    else:
        assert body["running"] is None and body["running_by_class"] is None
    other = next(c for c in ("neg", "neu", "pos") if c != body["label"])
    r = client3.post("/trace", json={"model": model, "text": CONTRAST, "target": other})
    assert r.status_code == 200 and r.json()["target"] == other
    assert r.json()["probability"] == pytest.approx(body["probabilities"][other])
    r = client3.post("/trace", json={"model": model, "text": CONTRAST, "target": "happy"})
    assert r.status_code == 422 and "unknown class 'happy'" in r.json()["message"]


def test_models_show_each_runs_labels_and_metrics(client3):
    by_name = {m["name"]: m for m in client3.get("/models").json()}
    assert by_name["lstm3"]["labels"] == ["neg", "neu", "pos"] and by_name["lstm"]["labels"] == ["neg", "pos"]
    assert by_name["lstm3"]["valid"] == {"loss": 1.01, "acc": 0.45} and by_name["lstm3"]["best_epoch"] == 2
