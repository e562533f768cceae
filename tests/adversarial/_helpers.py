"""Shared pieces of the adversarial suite: the CLI in-process, a tiny data set and vectors, snapshots."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from rnnlab.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1 = FIXTURES / "run-v1"

POS = ["a great movie , good and great", "good film , great acting", "this was good", "great great good fun"]
NEG = ["an awful movie , bad and awful", "bad film , awful acting", "this was bad", "awful awful bad mess"]


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``rnnlab ARGS`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else code), out.out, out.err


def one_line_error(err: str) -> str:
    """The single ``error: ...`` line on stderr (asserting there is nothing else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("error: ")
    return lines[0][len("error: "):]


def write_data(path: Path, n: int = 6, flip: bool = False) -> Path:
    rows = []
    for i in range(n):
        rows.append(("neg" if flip else "pos", POS[i % len(POS)] + f" {i}"))
        rows.append(("pos" if flip else "neg", NEG[i % len(NEG)] + f" {i}"))
    path.write_text("".join(f"{y}\t{t}\n" for y, t in rows), encoding="utf-8")
    return path


def write_vectors(path: Path, bad: str | None = None) -> Path:
    words = ["a", "great", "movie", "good", "bad", "awful", "film", "this", "was", "and", ","]
    lines = [f"{w} " + " ".join(f"{((i * 7 + j * 3) % 11 - 5) / 5:.2f}" for j in range(4)) for i, w in enumerate(words)]
    if bad is not None:
        lines[3] = f"good 0.1 {bad} 0.2 0.3"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_v1(tmp_path: Path, name: str = "run") -> Path:
    dst = tmp_path / name
    shutil.copytree(V1, dst)
    return dst
