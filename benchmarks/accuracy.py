"""Accuracy on the full IMDB split: presets x seeds, test set evaluated once per run.

    RNNLAB_CACHE=/tmp/rnnlab-cache python benchmarks/accuracy.py --out benchmarks/results/accuracy.json \
        --presets imdb-boe,imdb-rnn,imdb-best --seeds 1,2,3

Each preset trains on 90% of the IMDB training set, keeps the epoch with the lowest
loss on the held-out 10% (the test set never informs a choice) and is then scored
on the 25,000 test reviews. Results are appended to the JSON after every run, so a
long job can be polled; ``benchmarks/accuracy_report.py`` turns the JSON into
``benchmarks/accuracy.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy.json"), help="results JSON")
    ap.add_argument("--presets", default="imdb-boe,imdb-rnn,imdb-best", help="comma-separated preset names")
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    ap.add_argument("--runs", type=Path, default=Path("/tmp/rnnlab-accuracy-runs"), help="where run dirs go")
    args = ap.parse_args(argv)

    from rnnlab.cli.train_cmd import run_train
    from rnnlab.config import to_dict
    from rnnlab.presets import get_preset

    results = json.loads(args.out.read_text()) if args.out.exists() else {"runs": []}
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    for name in args.presets.split(","):
        preset = get_preset(name)
        for seed in [int(s) for s in args.seeds.split(",")]:
            if any(r["preset"] == name and r["seed"] == seed for r in results["runs"]):
                continue  # already done (the job was restarted)
            out = args.runs / f"{name}-seed{seed}"
            load0 = os.getloadavg()
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            lines: list[str] = []

            def log(msg, _lines=lines):
                _lines.append(str(msg))
                print(msg, flush=True)

            model, history, test = run_train(
                train=preset.data["train"], test=preset.data["test"], valid_split=preset.data["valid_split"],
                out=out, model_config=preset.model, train_config=replace(preset.train, seed=seed),
                progress=False, log=log)
            total = time.perf_counter() - t0
            config = json.loads((out / "config.json").read_text())
            best = min((r for r in history if r["valid"]), key=lambda r: r["valid"]["loss"])
            results["runs"].append({
                "preset": name, "seed": seed, "test_acc": test["acc"], "test_f1": test["f1"],
                "valid_acc": best["valid"]["acc"], "best_epoch": best["epoch"], "epochs_run": history[-1]["epoch"],
                "seconds_total": round(total, 1), "cpu_seconds": round(time.process_time() - cpu0, 1), "seconds_train": config["meta"].get("train_seconds"),
                "seconds_tokenize": config["meta"].get("tokenize_seconds"), "seconds_test": test.get("seconds"),
                "loadavg_start": load0, "loadavg_end": os.getloadavg(),
                "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "model": to_dict(preset.model), "train": to_dict(replace(preset.train, seed=seed)),
                "log": lines[-12:],
            })
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2))
            print(f"== {name} seed {seed}: test acc {test['acc']:.4f} in {total:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
