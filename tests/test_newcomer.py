"""A newcomer's first hour, end to end, from a fresh clone in a temporary folder (not beside ../shared).

The clone is of this repository's committed HEAD; its code runs on this venv's interpreter and
installed dependencies (``PYTHONPATH=clone/src``) instead of a second ``make`` install. Every command
runs in another folder with none of rnnlab's environment variables and ``HOME`` pointing at a fresh
folder, so the cache starts empty and nothing can come from ../shared except the archive given by
``--archive``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Fresh:
    def __init__(self, base: Path):
        self.base = base
        self.clone = base / "clone"
        self.work = base / "elsewhere"
        self.home = base / "home"
        self.work.mkdir()
        self.home.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("RNNLAB_") and k not in ("XDG_CACHE_HOME", "PYTHONPATH")}
        self.env.update(HOME=str(self.home), PYTHONPATH=str(self.clone / "src"), COLUMNS="120")

    def rnnlab(self, *args: str, input: str | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
        code = "import sys; from rnnlab.cli import main; sys.argv[0] = 'rnnlab'; main()"
        return subprocess.run([sys.executable, "-c", code, *args], cwd=self.work, env=self.env, input=input,
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, imdb_archive):
    base = tmp_path_factory.mktemp("newcomer")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(base / "clone")], check=True)
    f = Fresh(base)
    assert not (base.parent / "shared").exists()
    r = f.rnnlab("data", "imdb", "--archive", str(imdb_archive))
    assert r.returncode == 0, r.stderr
    r = f.rnnlab("data", "sample")
    assert r.returncode == 0, r.stderr
    assert "train: 2,000 reviews (1,000 pos, 1,000 neg)" in r.stdout
    assert "test: 1,000 reviews (500 pos, 500 neg)" in r.stdout
    r = f.rnnlab("train", "--train", "sample:train", "--valid", "sample:test", "--epochs", "3", "--out", "run")
    assert r.returncode == 0, r.stdout + r.stderr
    f.train_output = r.stdout
    return f


def test_default_recipe_learns_on_the_sample(fresh):
    config = json.loads((fresh.work / "run" / "config.json").read_text())
    assert config["model"]["model"] == "lstm" and config["train"]["optimizer"] == "adam"
    rows = [json.loads(l) for l in (fresh.work / "run" / "metrics.jsonl").read_text().splitlines()]
    best = min((r for r in rows if r.get("valid")), key=lambda r: r["valid"]["loss"])
    assert best["valid"]["acc"] > 0.70, rows
    assert "predicts" not in fresh.train_output  # no one-class warning


def test_sample_is_deterministic_and_the_import_is_reused(fresh):
    r = fresh.rnnlab("data", "sample")
    assert r.returncode == 0 and "already drawn" in r.stdout
    # imdb:* finds the import in the cache: no archive variable, no network
    code = "from rnnlab.data.sources import resolve_source; print(resolve_source('imdb:test'))"
    p = subprocess.run([sys.executable, "-c", code], cwd=fresh.work, env=fresh.env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert Path(p.stdout.strip()).is_file() and str(fresh.home) in p.stdout


def test_scratch_classify_runs_from_any_folder(fresh):
    r = fresh.rnnlab("scratch", "classify", "--epochs", "1", "--train-size", "40", "--test-size", "20",
                     "--max-len", "20")
    assert r.returncode == 0, r.stderr
    assert "curves coincide" in r.stdout


def test_predict_reads_standard_input(fresh):
    r = fresh.rnnlab("predict", "run", "-", input="A wonderful film.\nDull and far too long.\n")
    assert r.returncode == 0, r.stderr
    assert "A wonderful film." in r.stdout and "Dull and far too long." in r.stdout
