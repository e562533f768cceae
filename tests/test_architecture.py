"""docs/architecture.md stays true: the modules it names exist, and each concept keeps its one home."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "rnnlab"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _sources():
    return {p.relative_to(SRC).as_posix(): p.read_text(encoding="utf-8") for p in SRC.rglob("*.py")}


def test_every_module_the_page_names_exists():
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", DOC))
    assert named, "the page names no modules"
    missing = sorted(n for n in named if not (SRC / n).exists() and not (ROOT / n).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_package_is_on_the_page():
    packages = sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    absent = [p for p in packages if f"`{p}/" not in DOC]
    assert not absent, f"packages missing from docs/architecture.md: {absent}"


def test_texts_are_cut_in_one_place():
    """Truncation at max_length is TextPipeline.truncate; no other module slices by max_length."""
    cut = re.compile(r"\[\s*:\s*(?:self\.|pipeline\.|run\.)?max_length\s*\]")
    places = [name for name, text in _sources().items() if cut.search(text)]
    assert places == ["data/pipeline.py"], places


def test_trace_reads_models_only_through_the_reading_api():
    text = (SRC / "trace.py").read_text(encoding="utf-8")
    internals = re.findall(r"model\.(rnn|hidden|output|embedding|pooler|dropout)\b", text)
    assert not internals, f"trace.py touches model internals: {sorted(set(internals))}"


def test_the_head_is_written_once_per_family():
    """``output(relu(hidden(...)))`` lives in each model's head() and nowhere else."""
    places = [name for name, text in _sources().items()
              if re.search(r"relu\(\s*self\.hidden\(", text) or re.search(r"\.output\(\s*torch\.relu", text)]
    assert sorted(places) == ["models/boe.py", "models/recurrent.py"], places


def test_run_file_names_live_in_runs_py():
    """Other modules use runs.py's constants, never the file names themselves."""
    from rnnlab import runs

    names = {v for k, v in vars(runs).items() if k.isupper() and isinstance(v, str)
             and re.fullmatch(r"[a-z_]+\.(json|jsonl|safetensors|png)", v)}
    assert {"config.json", "metrics.jsonl"} <= names, names
    offenders = sorted({(module, name) for module, text in _sources().items() if module != "runs.py"
                        for name in names if f'"{name}"' in text or f"'{name}'" in text})
    assert not offenders, f"run file names written outside runs.py: {offenders}"
