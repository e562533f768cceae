"""Turn ``benchmarks/results/accuracy.json`` (+ ``nbsvm.json``) into ``benchmarks/accuracy.md``.

    python benchmarks/accuracy_report.py
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {"imdb-best": 0.90, "imdb-bilstm-400": None, "imdb-boe": 0.87, "imdb-rnn": 0.85}
LABELS = {"imdb-best": "best recurrent", "imdb-bilstm-400": "best recurrent, first recipe (400 tokens)",
          "imdb-boe": "bag of embeddings", "imdb-rnn": "vanilla tanh RNN"}


def describe(model: dict, train: dict) -> str:
    if model["model"] == "boe":
        arch = f"mean of embeddings -> ReLU {model['hidden_dim']}"
    else:
        arch = (f"{'bi' if model['bidirectional'] else ''}{model['model'].upper()} {model['recurrent_dim']}"
                f"{' x' + str(model['layers']) if model['layers'] > 1 else ''}, pooling {model['pooling']}, "
                f"dropout {model['dropout']}")
    emb = "fine-tuned" if not model["freeze_embeddings"] else "frozen"
    return (f"{arch}; GloVe 50d {emb}; {train['optimizer']} {train['lr']:g}, batch {train['batch_size']}, "
            f"up to {train['epochs']} epochs (lr {train['lr_schedule']}), max_length {train['max_length']}, "
            f"min_freq {train['min_freq']}")


def main() -> int:
    results = json.loads((HERE / "results" / "accuracy.json").read_text())
    runs = results["runs"]
    out = ["# Accuracy on the full IMDB split (25,000 train / 25,000 test)", "",
           "Each preset trains on 90% of the IMDB training set (22,500 reviews), keeps the epoch with the lowest "
           "loss on the other 10% (2,500 reviews, early stopping with patience 2), and is scored once on the "
           "25,000 test reviews. The test set is never used for a choice. Three seeds per preset; mean ± sample "
           "standard deviation. Times are wall-clock seconds on the shared 2-core machine (one torch thread, "
           "the machine's load average is recorded per run in `results/accuracy.json`), tokenization included "
           "(read from the token cache when warm).", "",
           f"Machine: {results['machine']['platform']}, {results['machine']['cpus']} CPUs, "
           f"Python {results['machine']['python']}.", "",
           "Command: `RNNLAB_CACHE=/tmp/rnnlab-cache python benchmarks/accuracy.py && "
           "python benchmarks/accuracy_report.py`", "",
           "| model | preset | test accuracy (mean ± std) | seeds | target | met? | seconds per run (mean) | load avg during runs |",
           "|---|---|---:|---:|---:|---|---:|---:|"]
    for name, target in TARGETS.items():
        rs = [r for r in runs if r["preset"] == name]
        if not rs:
            out.append(f"| {LABELS[name]} | `{name}` | not run | 0 | {target or 0:.1%} | - | - | - |")
            continue
        accs = [r["test_acc"] for r in rs]
        mean = statistics.mean(accs)
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        secs = statistics.mean(r["seconds_total"] for r in rs)
        loads = statistics.mean(r["loadavg_start"][0] for r in rs)
        tgt, met = (f"{target:.0%}", "yes" if mean >= target else "no") if target else ("-", "-")
        out.append(f"| {LABELS[name]} | `{name}` | {mean:.2%} ± {std:.2%} | {len(rs)} | {tgt} | "
                   f"{met} | {secs:,.0f} | {loads:.1f} |")
    nb = HERE / "results" / "nbsvm.json"
    if nb.exists():
        r = json.loads(nb.read_text())
        out.append(f"| NBSVM uni+bigrams (scikit-learn) | `rnnlab baseline nbsvm` | {r['acc']:.2%} (deterministic) | 1 | "
                   f"- | - | {r['seconds_total']:,.0f} | - |")
        if r.get("note"):
            out += ["", r["note"]]
    out += ["", "## Per run", "", "| preset | seed | test acc | valid acc (best epoch) | best epoch / epochs run | "
            "seconds total (wall) | CPU seconds | train | tokenize | test eval | peak RSS MiB (process) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        out.append(f"| {r['preset']} | {r['seed']} | {r['test_acc']:.4f} | {r['valid_acc']:.4f} | "
                   f"{r['best_epoch']} / {r['epochs_run']} | {r['seconds_total']:.0f} | {r.get('cpu_seconds', '-')} | "
                   f"{r['seconds_train']:.0f} | "
                   f"{r['seconds_tokenize']:.1f} | {r['seconds_test']:.0f} | {r['max_rss_mib']:,.0f} |")
    out += ["", "Notes:", "",
            "- The machine was shared (load averages 7-19 during these runs), so wall seconds vary 2-5x with the "
            "load; the CPU seconds (recorded from the second rnn seed on) are the steadier figure.",
            "- `imdb-rnn` seed 1 and all `imdb-boe` seeds ran before the CPU padded path and the hand-written "
            "Elman backward pass were added (they give the same results within 1e-5, only faster); `imdb-rnn` seed 1 "
            "also shared the CPU with a second copy of the job for most of its run, which inflates its wall time.",
            "- The validation split depends on the seed, so each seed tokenizes its own split once (cold) unless "
            "it is already in the token cache; that is the 'tokenize' column.",
            "- `imdb-best` first cut reviews to 400 tokens (now `imdb-bilstm-400`). Its three test scores "
            "(89.4%) were below the target, so one variant was tried: whole reviews (max_length 1000), compared on "
            "the validation split of seed 1 only (best-epoch validation accuracy 0.9032 -> 0.9100, loss 0.2401 -> "
            "0.2313). It became `imdb-best` and was then run on all three seeds. The test set picked nothing, but the "
            "decision to look further was prompted by the first recipe's test scores; both are reported.",
            "- Peak RSS is the maximum resident memory of the Python process so far (it trained the runs listed "
            "before it in the same process), an upper bound for each run."]
    out += ["", "## Recipes", ""]
    seen = set()
    for r in runs:
        if r["preset"] not in seen:
            seen.add(r["preset"])
            out.append(f"- `{r['preset']}`: {describe(r['model'], r['train'])}.")
    out += ["", "For context: published BiLSTMs with larger GloVe vectors report about 86-88%; Maas et al. (2011) "
            "88.9%; NBSVM with bigrams (Wang & Manning 2012) 91.2%.", ""]
    (HERE / "accuracy.md").write_text("\n".join(out), encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
