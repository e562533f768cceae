"""The study report: one Markdown file and one self-contained HTML page for a folder of studies.

``write_report(ROOT)`` reads every ``ROOT/<study>/study.json`` and the run
directories beside it (through :func:`rnnlab.runs.load_run`'s readers) and writes
``report.md`` (figures as relative PNGs under ``figures/``) and ``report.html``
(the same figures embedded, so the page stands alone). A folder of plain run
directories (no ``study.json``) gets one comparison section.

The document is built as a list of blocks (heading, paragraph, table, image,
details) rendered twice, so the two files always say the same thing.
"""

from __future__ import annotations

import base64
import html
import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rnnlab.runs import CONFIG, atomic_write_text, read_config, read_metrics
import re
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from rnnlab.compat.torchtext.vocab import build_vocab_from_iterator
from rnnlab.errors import InputError, RnnlabError
from rnnlab.experiments.specs import STUDIES

REPORT_MD, REPORT_HTML, FIGURES = "report.md", "report.html", "figures"


# -- blocks ------------------------------------------------------------------------------------
@dataclass
class Block:
    kind: str                      # h1 h2 h3 p table img details
    text: str = ""
    headers: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    children: list = field(default_factory=list)


def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_md(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "table":
            right = [all(_numeric(r[i]) for r in b.rows) and b.rows for i in range(len(b.headers))]
            out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            out.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif b.kind == "img":
            out += [f"![{b.text}]({b.headers[0]})", ""]
        elif b.kind == "details":
            out += ["<details>", f"<summary>{html.escape(b.text)}</summary>", "", render_md(b.children), "</details>", ""]
    return "\n".join(out)


def _numeric(s) -> bool:
    """Right-align a column when its cells are numbers (or 'n/a', '-', 'mean ± std', '0.87 (12)')."""
    first = str(s).strip().replace(",", "").split(" ")[0]
    if first in ("-", "n/a", ""):
        return True
    try:
        float(first)
        return True
    except ValueError:
        return False


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .55em}
th{background:#f2f2f2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee}
h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
details{margin:.4em 0}
code{background:#f5f5f5;padding:0 .2em}
"""


def _inline_html(text: str) -> str:
    """Escape, then the two bits of Markdown the paragraphs use: **bold** and `code`."""
    s = html.escape(text)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", s)


def render_html(blocks: Sequence[Block], base: Path, title: str) -> str:
    def render(bs) -> list[str]:
        out = []
        for b in bs:
            if b.kind in ("h1", "h2", "h3"):
                out.append(f"<{b.kind}>{_inline_html(b.text)}</{b.kind}>")
            elif b.kind == "p":
                out.append(f"<p>{_inline_html(b.text)}</p>")
            elif b.kind == "table":
                right = [bool(b.rows) and all(_numeric(r[i]) for r in b.rows) for i in range(len(b.headers))]
                head = "".join(f"<th>{html.escape(str(h))}</th>" for h in b.headers)
                body = "".join("<tr>" + "".join(f"<td{' class=n' if r else ''}>{html.escape(str(c))}</td>"
                                                for c, r in zip(row, right)) + "</tr>" for row in b.rows)
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif b.kind == "img":
                data = base64.b64encode((base / b.headers[0]).read_bytes()).decode("ascii")
                out.append(f'<p><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}"></p>')
            elif b.kind == "details":
                out.append(f"<details><summary>{html.escape(b.text)}</summary>{''.join(render(b.children))}</details>")
        return out

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(render(blocks)) + "\n</body></html>\n")


# -- reading runs ------------------------------------------------------------------------------
@dataclass
class RunData:
    name: str
    seed: int
    path: Path
    config: dict
    metrics: list

    @property
    def meta(self) -> dict:
        return self.config.get("meta", {})

    def final(self, split: str) -> dict | None:
        rows = [r for r in self.metrics if r.get(split)]
        return rows[-1][split] if rows else None

    def best_valid(self) -> tuple[float, int] | None:
        rows = [r for r in self.metrics if r.get("valid")]
        if not rows:
            return None
        best = max(rows, key=lambda r: (r["valid"]["acc"], -r["epoch"]))
        return best["valid"]["acc"], best["epoch"]

    def turn_epoch(self) -> int | None:
        """The epoch of the lowest validation loss: after it, validation loss rises ("turns")."""
        rows = [r for r in self.metrics if r.get("valid")]
        return min(rows, key=lambda r: (r["valid"]["loss"], r["epoch"]))["epoch"] if rows else None

    @property
    def cell(self) -> str:
        return self.config.get("model", {}).get("model", "")

    def seconds_per_epoch(self) -> float | None:
        s = [r["train_seconds"] for r in self.metrics if r.get("epoch", 0) > 0 and "train_seconds" in r]
        return statistics.median(s) if s else None


def read_run(path: Path, name: str | None = None, seed: int | None = None) -> RunData | None:
    if not (path / CONFIG).exists():
        return None
    cfg = read_config(path)
    return RunData(name or path.name, seed if seed is not None else cfg.get("train", {}).get("seed", 0), path, cfg,
                   read_metrics(path))


def _mean_std(values: Sequence[float | None], fmt: str = "{:.4f}") -> str:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "-"
    if len(vals) == 1:
        return fmt.format(vals[0])
    return f"{fmt.format(statistics.mean(vals))} ± {fmt.format(statistics.stdev(vals))}"


def _f(v, fmt="{:.4f}") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return fmt.format(v)


# -- figures -----------------------------------------------------------------------------------
def plot_group(groups: dict[str, list[RunData]], path: Path, title: str) -> Path:
    """Train (solid) vs validation (dashed) accuracy and loss of every run; the mean over seeds."""
    import matplotlib  # deferred: matplotlib only for figures

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: matplotlib only for figures

    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (label, runs) in enumerate(groups.items()):
        color = colors[k % len(colors)]
        for split, style in (("train", "-"), ("valid", "--")):
            by_epoch: dict[int, list] = {}
            for r in runs:
                for row in r.metrics:
                    if row.get(split):
                        by_epoch.setdefault(row["epoch"], []).append(row[split])
            if not by_epoch:
                continue
            epochs = sorted(by_epoch)
            for ax, key in ((ax_acc, "acc"), (ax_loss, "loss")):
                ax.plot(epochs, [statistics.mean(m[key] for m in by_epoch[e]) for e in epochs], style, color=color,
                        marker="o" if split == "train" else None, markersize=2.5,
                        label=f"{label} {split}")
    from matplotlib.ticker import MaxNLocator  # deferred: matplotlib only for figures

    for ax, name in ((ax_acc, "accuracy"), (ax_loss, "loss")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


# -- sections ----------------------------------------------------------------------------------
def _group_runs(sdir: Path, record: dict) -> dict[str, list[RunData]]:
    groups: dict[str, list[RunData]] = {}
    for entry in record.get("runs", []):
        rd = read_run(sdir / entry["path"], entry["name"], entry["seed"])
        if rd is not None:
            groups.setdefault(entry["name"], []).append(rd)
    return groups


def summary_table(groups: dict[str, list[RunData]], labels: dict[str, str]) -> Block:
    headers = ["run", "what", "seeds", "trainable / total params", "epochs", "train acc", "train loss",
               "valid acc", "valid loss", "best valid acc (epoch)", "s / epoch", "training time (s)"]
    rows = []
    for name, runs in groups.items():
        r0 = runs[0]
        best = [r.best_valid() for r in runs]
        best_s = _mean_std([b[0] for b in best if b])
        best_epochs = ", ".join(str(b[1]) for b in best if b)
        rows.append([name, labels.get(name, ""), ", ".join(str(r.seed) for r in runs),
                     f"{r0.meta.get('trainable_parameters', 0):,} / {r0.meta.get('parameters', 0):,}",
                     _epochs_cell(runs),
                     _mean_std([(r.final("train") or {}).get("acc") for r in runs]),
                     _mean_std([(r.final("train") or {}).get("loss") for r in runs]),
                     _mean_std([(r.final("valid") or {}).get("acc") for r in runs]),
                     _mean_std([(r.final("valid") or {}).get("loss") for r in runs]),
                     f"{best_s} ({best_epochs})",
                     _mean_std([r.seconds_per_epoch() for r in runs], "{:.1f}"),
                     _mean_std([r.meta.get("train_seconds") for r in runs], "{:.0f}")])
    return Block("table", headers=headers, rows=rows)


def _epochs_cell(runs: list[RunData]) -> str:
    planned = runs[0].config.get("train", {}).get("epochs", "-")
    stopped = [r.meta.get("stopped_at_epoch") for r in runs if r.meta.get("stopped_at_epoch") is not None]
    if stopped:
        return f"{', '.join(map(str, stopped))} of {planned} (stopped)"
    return str(planned)


def epoch_table(groups: dict[str, list[RunData]]) -> Block | None:
    """Epoch by epoch, each run's train and validation accuracy and validation loss side by side (mean over seeds)."""
    epochs = sorted({row["epoch"] for runs in groups.values() for r in runs for row in r.metrics if row.get("train")})
    if not epochs:
        return None
    headers = ["epoch"]
    for name in groups:
        headers += [f"{name} train acc", f"{name} valid acc", f"{name} valid loss"]
    rows = []
    for e in epochs:
        row = [str(e)]
        for runs in groups.values():
            vals = {"train acc": [], "valid acc": [], "valid loss": []}
            for r in runs:
                for m in r.metrics:
                    if m["epoch"] == e:
                        if m.get("train"):
                            vals["train acc"].append(m["train"]["acc"])
                        if m.get("valid"):
                            vals["valid acc"].append(m["valid"]["acc"])
                            vals["valid loss"].append(m["valid"]["loss"])
            row += [_mean_std(v) for v in vals.values()]
        rows.append(row)
    return Block("table", headers=headers, rows=rows)


def training_table(run: RunData) -> Block:
    """The classic printed table of one run."""
    rows = []
    for m in run.metrics:
        if m.get("train") or m.get("epoch") == 0:
            t, v = m.get("train") or {}, m.get("valid") or {}
            rows.append([str(m["epoch"]), _f(t.get("acc")), _f(t.get("loss")), _f(v.get("acc")), _f(v.get("loss"))])
    return Block("table", headers=["epoch", "train acc", "train loss", "valid acc", "valid loss"], rows=rows)


NEAR_ZERO_VECTOR = 1e-6
NEAR_ZERO_NOTE = "n/a (near-zero vector)"


def _near_zero(row: dict) -> str | None:
    """The note for a similarity row whose vectors are not zero but nearly so (their cosine says little)."""
    norms = [row.get("norm a"), row.get("norm b")]
    if row.get("cosine") is None or any(n is None for n in norms):
        return None
    return NEAR_ZERO_NOTE if min(norms) < NEAR_ZERO_VECTOR else None


def similarity_block(record: dict) -> list[Block]:
    sims = record.get("similarity") or []
    if not sims:
        return []
    pairs = [f"{r['token a']} – {r['token b']}" for r in sims[0]["rows"]]
    by_run: dict[str, list[list]] = {}
    for s in sims:
        by_run.setdefault(s["run"], []).append([_near_zero(r) or r["cosine"] for r in s["rows"]])

    def cell(values):
        if any(v == NEAR_ZERO_NOTE for v in values):
            return NEAR_ZERO_NOTE
        return _mean_std(values) if any(v is not None for v in values) else "n/a (zero vector)"
    rows = [[run] + [cell([seed_vals[i] for seed_vals in per_seed]) for i in range(len(pairs))]
            for run, per_seed in by_run.items()]
    norm_rows = []
    for s in sims:
        if s["rows"]:
            r = s["rows"][0]
            norm_rows.append(f"{s['run']} (seed {s['seed']}): |{r['token a']}| = {_f(r['norm a'])}, "
                             f"|{r['token b']}| = {_f(r['norm b'])}")
    return [Block("h3", "Cosine similarity of the tell-tale tokens after training"),
            Block("p", "Both tokens start as all-zero vectors; a similarity is undefined (n/a) while a vector is still "
                       "zero, and not shown as meaningful while a vector is near zero (norm below 1e-6: it has "
                       "barely moved, so its direction is an accident of a few tiny updates). Norms of the two rows "
                       "after training: " + "; ".join(norm_rows) + "."),
            Block("table", headers=["run"] + pairs, rows=rows)]


def gradient_block(record: dict) -> list[Block]:
    g = record.get("gradients")
    if not g or not g.get("rows"):
        return []
    headers = [h for h in g["rows"][0].keys() if h not in ("cosine", "cosine_raw", "near_zero")]
    rows = [[r["position"]] + [_f(r[h], "{:.3e}") if "/" not in h else _f(r[h], "{:.3g}") for h in headers[1:]]
            for r in g["rows"]]
    has_cos = "cosine" in g["rows"][0]
    if has_cos:
        headers = headers + ["cosine(grad <newneg>, grad <newpos>)"]
        for row, r in zip(rows, g["rows"]):
            row.append(f"n/a: near zero (raw {_f(r.get('cosine_raw'), '{:.3f}')})" if r.get("near_zero")
                       else _f(r["cosine"], "{:.3f}"))
    return [Block("h3", "Gradient report (untrained model)"),
            Block("p", f"{g['describe']}; seed {g['seed']}, untrained, embeddings fine-tunable. Gradient of the loss "
                       f"with respect to the tell-tale rows, summed over all validation mini-batches (batch size "
                       f"{g['batch_size']}), for each insertion position; the ratio columns divide by the first "
                       f"position. Computed in {g['seconds']:.1f} s."
                       + (" The cosine column says how the two rows' pushes correspond: near −1, the loss pushes "
                          "<newneg> and <newpos> in opposite directions (the token carries the label). Where a "
                          "gradient has all but vanished (norm below 1e-6, or a millionth of the largest in the "
                          "table) the push moves the row by less than 1e-8 per epoch, so its angle says nothing "
                          "about what the model learns: the cosine is marked n/a, with the raw number beside it." if has_cos else
                          " (This report predates the cosine column; rerun the study to get it.)")),
            Block("table", headers=headers, rows=rows)]


def probes_block(record: dict) -> list[Block]:
    p = record.get("probes")
    if not p:
        return []
    preds = p["predictions"]
    models = [k for k in preds[0].keys() if k not in ("group", "text")]
    blocks = [Block("h3", "Contrastive predictions: P(positive)"),
              Block("p", f"Models (seed {p['seed']}): " + "; ".join(f"{k}: `{v}`" for k, v in p["models"].items())),
              Block("table", headers=["group", "text"] + models,
                    rows=[[r["group"], r["text"]] + [_f(r[m]) for m in models] for r in preds])]
    perms = p.get("permutations") or []
    if perms:
        blocks += [Block("h3", "Permutations of the same words: |P(a) − P(b)|"),
                   Block("p", "Each pair uses exactly the same tokens in a different order. A bag of embeddings averages "
                              "the word vectors, so its difference is 0 (up to float rounding); the recurrent models "
                              "read the order."),
                   Block("table", headers=["text a", "text b"] + models,
                         rows=[[r["text a"], r["text b"]] + [_f(r[m], "{:.2e}") for m in models] for r in perms])]
    return blocks


def timing_sentence(groups: dict[str, list[RunData]]) -> str:
    """Seconds per epoch and the epoch where validation loss turns, per run; LSTM against RNN when both are there."""
    parts, by_cell = [], {}
    for name, runs in groups.items():
        spe = [r.seconds_per_epoch() for r in runs if r.seconds_per_epoch() is not None]
        turns = [r.turn_epoch() for r in runs if r.turn_epoch() is not None]
        if not spe or not turns:
            continue
        epochs = max(r.metrics[-1]["epoch"] for r in runs if r.metrics)
        sec, turn = statistics.mean(spe), min(turns)
        turned = f"lowest at epoch {turn} of {epochs}" + (" (then rises)" if turn < epochs else " (still falling)")
        parts.append(f"{name}: {sec:.1f} s per epoch, validation loss {turned}")
        opt = runs[0].config.get("train", {}).get("optimizer")
        by_cell.setdefault(runs[0].cell, []).append((name, sec, turn, epochs, opt))
    text = "**Time and turning point:** " + "; ".join(parts) + "." if parts else ""
    if by_cell.get("lstm") and by_cell.get("rnn"):
        (ln, ls, lt, le, lopt) = by_cell["lstm"][0]
        # the RNN trained with the same optimizer when there is one
        rn, rs, rt, re_, _ = next((r for r in by_cell["rnn"] if r[4] == lopt), by_cell["rnn"][0])
        text += (f" The LSTM ({ln}) takes {ls / rs:.1f}× the RNN's ({rn}) time per epoch ({ls:.1f} s against "
                 f"{rs:.1f} s); its validation loss turns at epoch {lt} of {le}, the RNN's at epoch {rt} of {re_}.")
    return text


def settings_block(record: dict, groups: dict[str, list[RunData]]) -> Block:
    """The settings of these runs that differ from the course's, and how to run the course's way."""
    recurrent = [r for runs in groups.values() for r in runs if r.cell != "boe"]
    bucketed = any(r.config.get("train", {}).get("bucket", True) for r in recurrent)
    batching = ("recurrent runs batch texts of similar length together (length bucketing, for speed); the course "
                f"draws random mini-batches: `rnnlab study run {record['number']} --no-bucket` runs it that way"
                if bucketed else "random mini-batches, as in the course (`--no-bucket`)")
    return Block("p", "**Settings that differ from the course:** " + batching + "; the train columns are full passes "
                      "with the weights at the end of each epoch (the course's log averages over the epoch's "
                      "updates); rnnlab's vocabulary puts <unk> at 0 and <pad> at 1 (the course's specials give "
                      "<pad> 0, <unk> 1), which changes no number.")


def padding_packing_blocks() -> list[Block]:
    """Questions 1.1.1-1.1.2 answered from a live computation: what padding adds and what packing changes."""

    texts = ["Truly awful", "not my kind of film", "a slow start , then superb"]
    tokens = [t.lower().split() for t in texts]
    vocab = build_vocab_from_iterator(tokens, specials=["<pad>", "<unk>"])
    pad = vocab["<pad>"]
    padded = pad_sequence([torch.tensor(vocab(t)) for t in tokens], batch_first=True, padding_value=pad)
    lengths = [len(t) for t in tokens]
    counter = torch.nn.RNN(1, 1, batch_first=True, nonlinearity="relu")
    with torch.no_grad():
        for p in counter.parameters():
            p.fill_(1.0)
        counter.bias_ih_l0.fill_(0.0)
        x = torch.ones(len(texts), padded.shape[1], 1)   # every step, pads included, feeds 1: h_t = h_{t-1} + 2
        _, h_packed = counter(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        _, h_padded = counter(x)
    with_p, without_p = h_packed.view(-1).tolist(), h_padded.view(-1).tolist()
    T = padded.shape[1]
    rows = [[texts[i], lengths[i], " ".join(map(str, padded[i].tolist())), T - lengths[i], f"{with_p[i]:g}",
             f"{without_p[i]:g}"] for i in range(len(texts))]
    return [Block("h2", "Padding and packing (course questions 1.1.1–1.1.2)"),
            Block("p", f"Three texts, a vocabulary built with specials [<pad>, <unk>] (so <pad> is {pad}), padded with "
                       f"`pad_sequence(..., padding_value={pad})`. A one-unit ReLU RNN with every weight and the "
                       "recurrent bias 1 adds 2 per step it reads (input 1 for every position, pads included), so "
                       "its final state counts the steps it ran."),
            Block("table", headers=["text", "length", "padded ids", "pads", "final state, packed",
                                    "final state, not packed"], rows=rows),
            Block("p", f"**1.1.1.** Each padded row is the text's own ids, in order, from the left; the rest of the "
                       f"row is the <pad> index {pad}. A row gets (longest length − its length) pads, here "
                       f"{', '.join(str(T - n) for n in lengths)}, so all rows reach the longest text's {T} steps "
                       "and can be stacked into one tensor; the longest text gets none. (rnnlab's own vocabulary "
                       "puts <pad> at 1, so its padded batches show 1s.)"),
            Block("p", f"**1.1.2.** With packing, the 'final' step of each text is its own last token (step = its "
                       f"length: states {', '.join(f'{v:g}' for v in with_p)}); without packing it is the last "
                       f"column of the batch, step {T}, for every text (states "
                       f"{', '.join(f'{v:g}' for v in without_p)}). The two agree only for a text as long as the "
                       "longest in its batch. For the others, the unpacked state has gone on reading the pads — "
                       "each one another step of the recurrence — so the classifier would see a state the text "
                       "itself never produced, and one that depends on how long the other texts in the batch are.")]


def _own_seconds(sdir: Path, record: dict) -> float:
    total = 0.0
    for e in record.get("runs", []):
        rd = read_run(sdir / e["path"], e["name"], e["seed"])
        if rd is not None:
            total += rd.meta.get("train_seconds", 0.0) or 0.0
    return total


def study_section(root: Path, sdir: Path, record: dict, out: Path) -> list[Block]:
    groups = _group_runs(sdir, record)
    labels = {e["name"]: e.get("describe", e.get("label", "")) for e in record.get("runs", [])}
    # runs of other studies shown beside this one (e.g. the frozen RNN next to the fine-tuned one)
    for sname, rname in record.get("spec", {}).get("compare_with", []) or []:
        other = root / sname / "study.json"
        if other.exists():
            orec = json.loads(other.read_text(encoding="utf-8"))
            for e in orec.get("runs", []):
                if e["name"] == rname:
                    rd = read_run(root / sname / e["path"], e["name"], e["seed"])
                    if rd is not None:
                        key = f"{rname} (study {orec['number']})"
                        groups.setdefault(key, []).append(rd)
                        labels[key] = e.get("describe", "")
    blocks = [Block("h2", f"{record['number']}. {record['title']}"),
              Block("p", f"**Question:** {record['question']}"),
              Block("p", f"**How to read it:** {record['reading']}")]
    if groups:
        scale = record.get("epochs") or (f"× {record.get('epochs_scale')}" if record.get("epochs_scale", 1) != 1 else "")
        blocks.append(Block("p", f"Data: train `{record['data']['train']}` ({record['data']['train_examples']:,} texts), "
                                 f"validation `{record['data']['valid']}` ({record['data']['valid_examples']:,} texts); "
                                 f"seeds {', '.join(map(str, record['seeds']))}"
                                 + (f"; epochs {scale}" if scale else "")
                                 + f"; training time of this study's runs: {_own_seconds(sdir, record) / 60:.1f} min."))
        blocks.append(summary_table(groups, labels))
        blocks += [Block("p", timing_sentence(groups)), settings_block(record, groups)]
        stopped = [f"{name} (seed {r.seed}): after epoch {r.meta['stopped_at_epoch']} of "
                   f"{r.config.get('train', {}).get('epochs')}" for name, runs in groups.items() for r in runs
                   if r.meta.get("stopped_at_epoch") is not None]
        if stopped:
            blocks.append(Block("p", "**Incomplete:** training was stopped before the planned number of epochs for "
                                     + "; ".join(stopped) + ". The numbers are those of the last finished epoch."))
        img = Path(FIGURES) / f"{record['name']}.png"
        plot_group(groups, out / img, f"{record['number']}. {record['title']}")
        blocks.append(Block("img", f"learning curves: {record['title']}", headers=[img.as_posix()]))
        et = epoch_table(groups)
        if et is not None:
            blocks += [Block("h3", "Epoch by epoch, side by side"), et]
        details = [Block("details", f"training table: {name} (seed {r.seed})", children=[training_table(r)])
                   for name, runs in groups.items() for r in runs]
        blocks += details
    blocks += similarity_block(record) + gradient_block(record) + probes_block(record)
    return blocks


def find_studies(root: Path) -> list[tuple[Path, dict]]:
    root = Path(root)
    candidates = [root] if (root / "study.json").exists() else sorted(p for p in root.iterdir() if p.is_dir())
    found = []
    for d in candidates:
        f = d / "study.json"
        if f.exists():
            try:
                found.append((d, json.loads(f.read_text(encoding="utf-8"))))
            except json.JSONDecodeError:
                raise InputError(f, "corrupted JSON") from None
    return sorted(found, key=lambda t: t[1].get("number", 0))


def find_runs(root: Path) -> list[RunData]:
    runs = []
    for cfg in sorted(Path(root).rglob(CONFIG)):
        rd = read_run(cfg.parent, str(cfg.parent.relative_to(root)) or cfg.parent.name)
        if rd is not None:
            runs.append(rd)
    return runs


def build_report(root: str | Path, out: str | Path | None = None) -> list[Block]:
    root = Path(root)
    out = Path(out) if out is not None else root
    if not root.is_dir():
        raise RnnlabError(f"{root}: no such directory (expected a study output folder or a folder of runs)")
    studies = find_studies(root)
    blocks = [Block("h1", "rnnlab studies report"),
              Block("p", f"Generated {time.strftime('%Y-%m-%d %H:%M')} from `{root}`. Every study states the question it "
                         "answers and puts the numbers that answer it next to each other. Accuracies and losses are "
                         "full passes over the data with the weights at the end of the epoch; 'best valid acc' is the "
                         "highest validation accuracy over the epochs (mean ± standard deviation over seeds when there "
                         "are several).")]
    if studies:
        overview = []
        for sdir, rec in studies:
            groups = _group_runs(sdir, rec)
            finals = "; ".join(f"{n}: {_mean_std([(r.final('valid') or {}).get('acc') for r in rs])}"
                               for n, rs in groups.items())
            overview.append([str(rec["number"]), rec["title"], rec["question"], finals or "(probes only)"])
        blocks += [Block("h2", "Overview"),
                   Block("table", headers=["#", "study", "question", "final valid acc"], rows=overview)]
        blocks += padding_packing_blocks()
        s_root = root.parent if (root / "study.json").exists() else root
        for sdir, rec in studies:
            blocks += study_section(s_root, sdir, rec, out)
        return blocks
    runs = find_runs(root)
    if not runs:
        raise RnnlabError(f"{root}: no studies (study.json) and no run directories (config.json) found")
    groups = {r.name: [r] for r in runs}
    labels = {r.name: r.config.get("model", {}).get("model", "") for r in runs}
    img = Path(FIGURES) / "runs.png"
    plot_group(groups, out / img, f"runs in {root.name}")
    blocks += [Block("h2", "Runs"), summary_table(groups, labels),
               Block("img", "learning curves", headers=[img.as_posix()])]
    tested = [r for r in runs if (r.meta.get("test") or {}).get("acc") is not None]
    if tested:  # runs trained with --test keep their test metrics in config.json
        blocks.append(Block("table", headers=["run", "test acc", "test F1", "test loss", "test texts"],
                            rows=[[r.name, _f(r.meta["test"]["acc"]), _f(r.meta["test"].get("f1")),
                                   _f(r.meta["test"].get("loss")), f"{r.meta['test'].get('n', 0):,}"]
                                  for r in tested]))
    et = epoch_table(groups)
    if et is not None:
        blocks.append(et)
    return blocks


def build_summary(root: str | Path) -> list[Block]:
    """The study results in brief: one row per run of every study, then each study's gradient report and
    the probes (what the README shows; the report has the rest)."""
    root = Path(root)
    studies = find_studies(root) if root.is_dir() else []
    if not studies:
        raise RnnlabError(f"{root}: no studies (study.json) found; --summary needs a study output folder")
    rows = []
    for sdir, rec in studies:
        for e in rec.get("runs", []):
            r = read_run(sdir / e["path"], e["name"], e["seed"])
            if r is None:
                continue
            best = r.best_valid()
            rows.append([str(rec["number"]), e["name"], _epochs_cell([r]), _f((r.final("train") or {}).get("acc")),
                         _f((r.final("valid") or {}).get("acc")), f"{_f(best[0])} ({best[1]})" if best else "-",
                         f"{r.meta.get('trainable_parameters', 0):,}", _f(r.seconds_per_epoch(), "{:.1f}"),
                         _f((r.meta.get("train_seconds") or 0) / 60, "{:.1f}")])
    blocks = [Block("table", headers=["#", "run", "epochs", "train acc", "valid acc", "best valid acc (epoch)",
                                      "trainable params", "s / epoch", "training min"], rows=rows)]
    for _, rec in studies:
        extra = gradient_block(rec) + probes_block(rec)
        for b in extra:  # headings name the study, in bold: the summary sits inside a README section
            if b.kind == "h3":
                b = Block("p", f"**Study {rec['number']}, {b.text[0].lower()}{b.text[1:]}**")
            blocks.append(b)
    return blocks


def write_report(root: str | Path, out: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (and ``figures/*.png``) for ``root`` into ``out`` (default ``root``)."""
    root = Path(root)
    out = Path(out) if out is not None else root
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_report(root, out)
    md, page = out / REPORT_MD, out / REPORT_HTML
    atomic_write_text(md, render_md(blocks))
    atomic_write_text(page, render_html(blocks, out, "rnnlab studies report"))
    return md, page


QUESTIONS_MD = "course-questions.md"


def write_questions(out: str | Path, source, seed: int = 1, log=print) -> Path:
    """The report's course-question sections that need no training, into ``out/course-questions.md``.

    Padding and packing (1.1.1-1.1.2), and the gradient report (norms and cosine of
    the tell-tale rows' gradients, untrained model) of every study that has one, on
    ``source``'s data: the same numbers the full report shows, in minutes instead of
    the hours its training takes.
    """
    from rnnlab.experiments.runner import gradient_record  # deferred: circular (runner -> report)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    blocks = [Block("h1", "rnnlab studies: the course's questions that need no training"),
              Block("p", f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `rnnlab study questions`. Data: train "
                         f"`{source.desc['train']}` ({source.desc['train_examples']:,} texts), validation "
                         f"`{source.desc['valid']}` ({source.desc['valid_examples']:,} texts).")]
    blocks += padding_packing_blocks()
    for st in STUDIES:
        if st.gradient_positions:
            log(f"gradient report of {st.name} ...")
            rec = gradient_record(st, source, seed)
            blocks += [Block("h2", f"{st.number}. {st.title}")] + gradient_block({"gradients": rec})
    path = out / QUESTIONS_MD
    atomic_write_text(path, render_md(blocks))
    return path

