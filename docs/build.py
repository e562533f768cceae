"""Regenerate the README's output blocks by running the commands that produce them.

Every output block in README.md sits between ``<!-- docs:NAME -->`` and ``<!-- /docs:NAME -->``
and is written by this script, never by hand::

    python docs/build.py              # every block (the demo trains on full IMDB: minutes)
    python docs/build.py help presets # only these
    python docs/build.py --check      # exit 1 if a fast block differs from what the code prints

Blocks marked ``slow`` run the demo in a temporary folder with an empty cache (the IMDB archive
from ``$RNNLAB_IMDB_ARCHIVE`` or ``../shared/data/aclImdb_v1.tar.gz``); cache paths are shown as
``~/.cache/rnnlab``. ``tests/test_docs.py`` re-runs the fast blocks and checks the deterministic
parts of the slow ones.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED_ARCHIVE = ROOT.parent / "shared" / "data" / "aclImdb_v1.tar.gz"
WIDTH = "100"


@dataclass(frozen=True)
class Block:
    name: str
    shown: str                 # the command as the README shows it
    argv: tuple[str, ...]      # what runs (``rnnlab`` -> this interpreter's rnnlab)
    slow: bool = False
    group: str = ""            # blocks of one group run in one temporary folder, in order
    keep_from: str = ""        # show the output from the first line starting with this (drop what comes before)


BLOCKS = [
    Block("help", "rnnlab --help", ("rnnlab", "--help")),
    Block("presets", "rnnlab train --list-presets", ("rnnlab", "train", "--list-presets")),
    Block("speed", "python benchmarks/speed_table.py", ("python", "benchmarks/speed_table.py")),
    Block("studies", "rnnlab report docs/studies/results --summary",
          ("python", "-m", "rnnlab", "report", "docs/studies/results", "--summary")),
    Block("demo", "make demo", ("rnnlab", "quickstart"), slow=True, group="demo"),
    Block("predict", 'rnnlab predict runs/quickstart-lstm "A moving, funny film." "Dull and far too long."',
          ("rnnlab", "predict", "runs/quickstart-lstm", "A moving, funny film.", "Dull and far too long."),
          slow=True, group="demo"),
    Block("python", "python (the Python API example above)", ("python-block",), slow=True),
    Block("resume-start", "rnnlab train --train sample:train --valid sample:test --model lstm --epochs 1 --out runs/resume-demo",
          ("rnnlab", "train", "--train", "sample:train", "--valid", "sample:test", "--model", "lstm", "--epochs", "1",
           "--out", "runs/resume-demo"), slow=True, group="demo"),
    Block("resume-extend", "rnnlab train --resume runs/resume-demo --epochs 2",
          ("rnnlab", "train", "--resume", "runs/resume-demo", "--epochs", "2"), slow=True, group="demo"),
    Block("padding", "rnnlab demo padding", ("rnnlab", "demo", "padding"), slow=True, group="demo"),
    Block("packing", "rnnlab demo packing  (after the padding part above)", ("rnnlab", "demo", "packing"), slow=True,
          group="demo", keep_from="embedding: index i"),
    Block("trace", 'rnnlab trace runs/resume-demo "I loved it at first, but by the end I hated it" --table',
          ("rnnlab", "trace", "runs/resume-demo", "I loved it at first, but by the end I hated it", "--table"),
          slow=True, group="demo"),
    Block("scratch-classify", "rnnlab scratch classify", ("rnnlab", "scratch", "classify"), slow=True, group="demo"),
    Block("scratch-lm", "rnnlab scratch lm", ("rnnlab", "scratch", "lm"), slow=True, group="demo"),
]
BY_NAME = {b.name: b for b in BLOCKS}
MARK = re.compile(r"<!-- docs:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /docs:(?P=name) -->\n", re.S)


def env(cache: Path | None = None) -> dict:
    e = dict(os.environ, COLUMNS=WIDTH, TERM="dumb", NO_COLOR="1", PYTHONPATH=str(ROOT / "src"))
    if cache is not None:
        e["RNNLAB_CACHE"] = str(cache)
    if not e.get("RNNLAB_IMDB_ARCHIVE") and SHARED_ARCHIVE.exists():
        e["RNNLAB_IMDB_ARCHIVE"] = str(SHARED_ARCHIVE)
    return e


def run(block: Block, cwd: Path, cache: Path | None = None) -> str:
    """The block's text: the command line, then what it printed on stdout."""
    if block.argv[0] == "python-block":
        code = python_example()
        argv = [sys.executable, "-c", code]
        cwd = ROOT
    elif block.argv[0] == "python":  # a script of this repository, run from its root
        argv = [sys.executable, *block.argv[1:]]
        cwd = ROOT
    else:
        argv = [sys.executable, "-m", "rnnlab", *block.argv[1:]]
    p = subprocess.run(argv, cwd=cwd, env=env(cache), capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{block.name}: `{block.shown}` failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    out = p.stdout  # stderr holds progress lines (every 10 s in a plain log): timing noise, left out
    if block.keep_from:
        out = out[out.index("\n" + block.keep_from) + 1:]
    if cache is not None:
        out = out.replace(str(cache), "~/.cache/rnnlab")
    if block.argv[0] == "python-block":
        return out
    if block.argv[0] == "python":
        return out
    head = f"$ {block.shown}\n" + (".venv/bin/rnnlab quickstart\n" if block.name == "demo" else "")
    return head + out


def python_example() -> str:
    """The README's Python API example (the ```python block that builds a TSVDataset)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if "TSVDataset(" in b)


def normalize(text: str) -> str:
    """Block text as compared: trailing spaces and blank lines at the end do not count."""
    return "\n".join(line.rstrip() for line in text.rstrip().lstrip("\n").splitlines()) + "\n"


def blocks_in(text: str) -> dict[str, str]:
    """README block name -> its text (without the ``` fences), normalized."""
    return {m["name"]: normalize(m["body"].strip("\n").removeprefix("```").removesuffix("```"))
            for m in MARK.finditer(text)}


def replace_block(text: str, name: str, body: str) -> str:
    new = f"<!-- docs:{name} -->\n```\n{normalize(body)}```\n<!-- /docs:{name} -->\n"
    out, n = MARK.subn(lambda m: new if m["name"] == name else m.group(0), text)
    if not any(m["name"] == name for m in MARK.finditer(text)):
        raise SystemExit(f"README.md has no <!-- docs:{name} --> block")
    return out


def build(names: list[str]) -> None:
    chosen = [BY_NAME[n] for n in names] if names else BLOCKS
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="rnnlab-docs-") as tmp:
        work, cache = Path(tmp) / "work", Path(tmp) / "cache"
        work.mkdir()
        if any(b.group == "demo" for b in chosen) and "demo" not in [b.name for b in chosen]:
            # the demo group's blocks read the IMDB import (and its sample) that `make demo` leaves in the cache
            subprocess.run([sys.executable, "-m", "rnnlab", "data", "imdb"], cwd=work, env=env(cache),
                           capture_output=True, check=True)
        for block in chosen:
            print(f"running {block.shown}", file=sys.stderr, flush=True)
            results[block.name] = run(block, work, cache)
    text = README.read_text(encoding="utf-8")
    for name, body in results.items():
        text = replace_block(text, name, body)
    README.write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(results)} in {README}", file=sys.stderr)


def check() -> int:
    """Re-run the fast blocks; 1 when one differs from the README."""
    have = blocks_in(README.read_text(encoding="utf-8"))
    bad = 0
    with tempfile.TemporaryDirectory(prefix="rnnlab-docs-") as tmp:
        for block in (b for b in BLOCKS if not b.slow):
            if have.get(block.name) != normalize(run(block, Path(tmp))):
                print(f"README block {block.name!r} is stale: run python docs/build.py {block.name}")
                bad = 1
    return bad


def main(argv: list[str]) -> int:
    if "--check" in argv:
        return check()
    unknown = [a for a in argv if a not in BY_NAME]
    if unknown:
        print(f"unknown block {unknown[0]!r}; choose from {', '.join(BY_NAME)}", file=sys.stderr)
        return 2
    build(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
