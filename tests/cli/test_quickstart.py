"""`rnnlab quickstart` on small data: both runs, the background tokenization, the comparison."""

import os
import time

import pytest

from rnnlab.cli.quickstart_cmd import QUICKSTART, BackgroundTokens, run_quickstart
from rnnlab.data.readers import read_examples
from rnnlab.errors import RnnlabError
from rnnlab.data.tokenize import Tokenizer, tokenize_cached
from rnnlab.runs import load_run
from rnnlab.training import RUNNING_NOTE, evaluate_examples


def test_quickstart_trains_both_models_with_the_test_texts_tokenized_in_the_background(tmp_path, small_tsv,
                                                                                       capsys, monkeypatch):
    import rnnlab.data.tokenize as tokenize

    monkeypatch.setenv("RNNLAB_CACHE", str(tmp_path / "cache"))  # an empty cache, as in a fresh clone
    test_tsv = tmp_path / "test.tsv"
    test_tsv.write_text("".join(small_tsv.read_text(encoding="utf-8").splitlines(keepends=True)[::2]),
                        encoding="utf-8")
    in_this_process = []  # what this process tokenizes (the background process's calls stay in it)
    original = tokenize.tokenize_corpus
    monkeypatch.setattr(tokenize, "tokenize_corpus", lambda texts, *a, **k: in_this_process.append(len(texts))
                        or original(texts, *a, **k))
    rows = run_quickstart(out=tmp_path / "runs", train_spec=str(small_tsv), test_spec=str(test_tsv),
                          progress=False, epochs_scale=0.5)
    out = capsys.readouterr().out
    assert [r["model"] for r in rows] == list(QUICKSTART) == ["lstm", "boe"]
    # training and validation texts here, once; the 100 test texts in the background, found in the cache
    assert sorted(in_this_process) == [20, 180]
    assert tokenize_cached([e.text for e in read_examples(test_tsv)], Tokenizer())[1]
    assert "tokens: 200 training and validation texts tokenized in" in out
    for row in rows:
        run = load_run(row["run"])
        assert run.meta["test"]["acc"] == row["test acc"]
        m = evaluate_examples(run.model, run.pipeline, read_examples(test_tsv, labels=run.pipeline.labels))
        assert m["acc"] == pytest.approx(row["test acc"]) and m["loss"] == pytest.approx(row["test loss"], rel=1e-5)
    # the LSTM's train columns are running means (said under its header); the bag of embeddings keeps full passes
    assert load_run(rows[0]["run"]).meta["train_metrics"] == "running"
    assert "train_metrics" not in load_run(rows[1]["run"]).meta
    assert out.count(RUNNING_NOTE) == 1
    lstm_part, boe_part = out.split(" boe ")[0], out.split(" boe ")[1]
    assert RUNNING_NOTE in lstm_part and RUNNING_NOTE not in boe_part
    assert "| lstm |" in out and "| boe |" in out and "total time:" in out


def test_background_tokens_stop_ends_the_process_and_its_workers():
    texts = [f"review number {i}: a film, some words and (parentheses) to split." for i in range(200_000)]
    job = BackgroundTokens(texts, Tokenizer())
    if job.process is None:
        pytest.skip("no fork on this platform")
    time.sleep(1.0)
    assert job.process.exitcode is None
    job.stop()
    assert job.process.exitcode is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the pool's workers go with it (reaped by init a moment later)
        try:
            os.killpg(job.process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("a worker of the stopped background tokenizer is still running")
    job.wait()  # joins at once


def _job_that_fails(log):
    log("line one")
    raise RnnlabError("data.tsv:3: something the user can fix")


def test_background_job_returns_its_lines_and_value_or_raises_its_error_as_one_line():
    from rnnlab.cli.quickstart_cmd import BackgroundJob

    job = BackgroundJob(lambda log: log(f"child {os.getpid()}") or {"pid": os.getpid()})
    shown: list[str] = []
    value = job.result(shown.append)
    assert shown == [f"child {value['pid']}"]
    assert value["pid"] != os.getpid() or job.process is None
    shown.clear()
    with pytest.raises(RnnlabError, match=r"^data.tsv:3: something the user can fix$"):
        BackgroundJob(_job_that_fails).result(shown.append)
    assert shown == ["line one"]
