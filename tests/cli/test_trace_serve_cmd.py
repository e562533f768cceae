"""``rnnlab trace`` and ``rnnlab serve``: the commands over the trace and server modules."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.cli.trace_cmd import run_trace, sparkline
from rnnlab.errors import RnnlabError

runner = CliRunner()
CONTRAST = "I loved it at first, but by the end I hated it"


def test_help_lists_trace_and_serve():
    out = runner.invoke(app, ["--help"]).output
    assert "trace" in out and "serve" in out
    serve_help = runner.invoke(app, ["serve", "--help"]).output
    assert "127.0.0.1" in serve_help and "--max-body-bytes" in serve_help


def test_sparkline_uses_a_fixed_probability_scale():
    assert sparkline([0.0, 0.5, 0.999, 1.0]) == "▁▅██"


def test_trace_prints_a_plain_table_when_piped(trained_runs):
    r = runner.invoke(app, ["trace", str(trained_runs["lstm"]), CONTRAST])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith(("neg  p(pos) = ", "pos  p(pos) = ")) and "(13 tokens)" in lines[0]
    assert lines[1].startswith("running p(pos): ") and len(lines[1].split(": ")[1]) == 13
    assert lines[2].split() == ["token", "running", "step", "occlusion", "removal", "gradient_input"]
    assert [l.split()[0] for l in lines[3:]] == ["i", "loved", "it", "at", "first", ",", "but", "by", "the", "end",
                                                 "i", "hated", "it"]


def test_trace_of_a_bag_model_has_no_running_columns(trained_runs):
    r = runner.invoke(app, ["trace", str(trained_runs["boe"]), "a truly zzzqqq film"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[1].split() == ["token", "occlusion", "removal", "gradient_input"]
    assert lines[4].startswith("zzzqqq (unk)")


def test_trace_json(trained_runs):
    r = runner.invoke(app, ["trace", str(trained_runs["bigru"]), CONTRAST, "--json"])
    body = json.loads(r.output)
    assert len(body["tokens"]) == 13 and body["running"] is None and len(body["importance"]["occlusion"]) == 13


def test_trace_refuses_bad_input(trained_runs, tmp_path):
    with pytest.raises(RnnlabError, match="unknown --by 'shap'"):
        run_trace(run=trained_runs["lstm"], text="good", by="shap")
    with pytest.raises(RnnlabError, match="non-empty"):
        run_trace(run=trained_runs["lstm"], text="  ")
    with pytest.raises(RnnlabError, match="no such run directory"):
        run_trace(run=tmp_path / "missing", text="good")


def test_trace_by_step_needs_a_running_probability(trained_runs):
    r = runner.invoke(app, ["trace", str(trained_runs["boe"]), "good", "--by", "step"])
    assert r.exit_code != 0 and "--by step needs a unidirectional recurrent run" in str(r.exception)


def test_trace_colours_tokens_on_a_terminal(trained_runs, monkeypatch):
    from rnnlab.cli import common, trace_cmd
    from rich.console import Console

    console = Console(force_terminal=True, width=200, color_system="truecolor", record=True, highlight=False)
    monkeypatch.setattr(common, "console", console)
    monkeypatch.setattr(trace_cmd, "console", console)
    t, by = run_trace(run=trained_runs["lstm"], text=CONTRAST)
    trace_cmd.print_trace(t, by)
    text = console.export_text(clear=False)
    assert "i loved it at first , but by the end i hated it" in text
    assert "running p(pos): " in text and "→" in text
    assert "\x1b[48;2;" in console.export_text(styles=True)  # coloured backgrounds


def test_rnnlab_serve_runs_a_real_server_on_localhost(trained_runs):
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", "serve", str(trained_runs["lstm"]), str(trained_runs["boe"]),
                             "--port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health["models"] == ["lstm", "boe"]
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "rnnlab explorer" in page.text
        r = httpx.post(f"http://127.0.0.1:{port}/predict", json={"model": "boe", "texts": [CONTRAST]})
        assert r.status_code == 200 and r.json()["predictions"][0]["label"] in ("neg", "pos")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"serving lstm, boe on http://127.0.0.1:{port}/" in out


def test_rnnlab_serve_refuses_a_missing_run_in_one_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "rnnlab", "serve", str(tmp_path / "nope")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.strip() == f"error: {tmp_path / 'nope'}: no such run directory"


def _three_class():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_three_class", Path(__file__).parents[1] / "_three_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run3(tmp_path_factory):
    return _three_class().three_class_run(tmp_path_factory.mktemp("three") / "lstm3")


def test_trace_of_three_classes_follows_the_predicted_class(run3):
    r = runner.invoke(app, ["trace", str(run3), CONTRAST, "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["target"] == body["label"] and sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert set(body["running_by_class"]) == {"neg", "neu", "pos"}
    r = runner.invoke(app, ["trace", str(run3), CONTRAST])
    lines = r.output.splitlines()
    assert lines[0].startswith(f"{body['label']}  p({body['label']}) = {body['probability']:.4f}")
    assert lines[1].startswith(f"running p({body['label']}): ")
    assert lines[2].split() == ["token", "running", "step", "occlusion", "removal", "gradient_input"]


def test_trace_all_classes_and_a_chosen_class(run3):
    r = runner.invoke(app, ["trace", str(run3), CONTRAST, "--all-classes", "--class", "neu"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "p(neu) = " in lines[0]
    assert lines[1].split("  ")[0].startswith("p(neg) = ") and "p(pos) = " in lines[1]
    assert [line.split(":")[0].strip() for line in lines[2:5]] == ["running p(neg)", "running p(neu)",
                                                                   "running p(pos)"]
    assert lines[5].split() == ["token", "p(neg)", "p(neu)", "p(pos)", "step", "occlusion", "removal",
                                "gradient_input"]
    row = lines[6].split()
    assert sum(float(v) for v in row[1:4]) == pytest.approx(1.0, abs=2e-4)


def test_trace_refuses_an_unknown_class_in_one_line(run3):
    r = runner.invoke(app, ["trace", str(run3), CONTRAST, "--class", "happy"])
    assert r.exit_code != 0 and str(r.exception) == "unknown --class 'happy'; this run's classes are neg, neu, pos"
