"""The README's output blocks are the code's output: written by docs/build.py, checked here."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
build = importlib.util.module_from_spec(_spec)
sys.modules["docs_build"] = build  # dataclasses look their module up there
_spec.loader.exec_module(build)

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = build.blocks_in(README)


def test_every_block_is_written_by_the_script():
    assert set(BLOCKS) == set(build.BY_NAME)
    for name, body in BLOCKS.items():
        assert body.strip(), f"README block {name!r} is empty: run python docs/build.py {name}"


@pytest.mark.parametrize("name", [b.name for b in build.BLOCKS if not b.slow])
def test_fast_blocks_match_what_the_code_prints(name, tmp_path):
    assert BLOCKS[name] == build.normalize(build.run(build.BY_NAME[name], tmp_path)), \
        f"README block {name!r} is stale: run python docs/build.py {name}"


def test_readme_starts_with_the_two_commands_then_next_steps():
    first_block = re.search(r"```\n(.*?)```", README, re.S).group(1)
    assert [l.split("#")[0].strip() for l in first_block.strip().splitlines()] == ["make demo", "make test"]
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings[0] == "Next steps"
    steps = README.split("## Next steps", 1)[1].split("\n## ", 1)[0]
    for command in ("rnnlab predict", "rnnlab trace", "rnnlab serve", "http://127.0.0.1:8000/", "rnnlab evaluate",
                    "rnnlab study run"):
        assert command in steps


def test_slow_blocks_hold_the_code_s_output_and_the_run_names_are_real():
    from rnnlab.training import HEADER, RULE

    demo = BLOCKS["demo"]
    assert demo.startswith("$ make demo\n.venv/bin/rnnlab quickstart\n")
    assert HEADER in demo and RULE in demo
    saved = set(re.findall(r"^saved run to (\S+)$", demo, re.M))
    steps = README.split("## Next steps", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"runs/[\w-]+", steps))
    assert named and named <= saved, f"next steps name runs the demo does not make: {named - saved}"
    assert "imported: 25,000/25,000 train/test reviews" in demo
    predict = BLOCKS["predict"]
    assert predict.startswith("$ rnnlab predict runs/quickstart-lstm ")
    assert "A moving, funny film." in predict


def test_python_example_reprints_its_first_rows(sample_train, monkeypatch, capsys):
    """Run the README's Python example for one epoch: coverage and the epoch 0/1 rows equal the block's."""
    block = build.python_example()
    assert "epochs=3" in block
    monkeypatch.chdir(ROOT)
    exec(compile(block.replace("epochs=3", "epochs=1"), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "I loved it at first, but by the end I hated it" in out and "embedding.weight  shape=(" in out
    shown = BLOCKS["python"].splitlines()
    printed = out.splitlines()
    assert printed[0] == shown[0]                                   # vocabulary coverage
    rows = [l for l in printed if re.match(r"\|\s+[01] \|", l)]
    assert len(rows) == 2 and all(r in shown for r in rows), (rows, shown[:8])


def test_predict_block_has_the_columns_predict_prints(trained_runs):
    """The demo's predict block shows the table predict prints today (a stale header is a stale block)."""
    from rnnlab.inspect import predict_run
    from rnnlab.runs import load_run

    columns = list(predict_run(load_run(trained_runs["lstm"]), ["a film"]).columns)
    assert BLOCKS["predict"].splitlines()[1].split() == columns


def test_scratch_blocks_hold_agreeing_curves():
    """The scratch blocks come from the commands as they are now (the build writes them; timings vary)."""
    classify, lm = BLOCKS["scratch-classify"], BLOCKS["scratch-lm"]
    assert classify.startswith("$ rnnlab scratch classify\n") and "curves coincide" in classify
    assert lm.startswith("$ rnnlab scratch lm\n") and "sample (temperature 0.7):" in lm
    assert BLOCKS["padding"].startswith("$ rnnlab demo padding\n") and "padded batch, shape (3, 5)" in BLOCKS["padding"]
    assert "difference 4 = 2 padding steps x (1 + 1)" in BLOCKS["packing"]


def test_serve_line_is_the_one_serve_prints():
    from rnnlab.cli.serve_cmd import banner

    assert "$ rnnlab serve runs/lstm runs/boe --host 127.0.0.1 --port 8000\n" + banner("lstm, boe", "127.0.0.1", 8000) \
        in README
