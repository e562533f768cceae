"""Run studies: train every run of a spec (over one or more seeds), take the probes, write ``study.json``.

Layout under the output root::

    OUT/
      01-rnn-vs-boe/
        study.json            the spec, data, seeds, timings, probe results
        log.txt               everything the runs printed
        rnn/seed-1/           a normal run directory (load_run reads it)
        boe/seed-1/
      ...
      report.md, report.html  written by rnnlab.experiments.report
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from rnnlab.config import replace
from rnnlab.runs import CONFIG, has_checkpoint, resume_dir, atomic_write_text, read_config, save_run, load_run
from rnnlab.experiments.specs import STUDIES, Study, get_study, scaled
from rnnlab.probes import TELLTALE_TOKENS, contrastive_predictions, gradient_report, permutation_check, \
    prepare_telltale, similarity_table, telltale_prepared
from rnnlab.training import fit, configure_threads, split_validation, prepare_data
from rnnlab import checkpoint as ckpt
from rnnlab.config import replace as _replace
from rnnlab.models import build_model
from rnnlab.classic import cosine_or_zero
from rnnlab.data.sources import load_examples

STUDY_FILE = "study.json"
DEFAULT_DATA = "sample:train"  # the balanced IMDB sample in the cache (rnnlab data sample)


def run_dir(root: Path, study_name: str, run_name: str, seed: int) -> Path:
    return Path(root) / study_name / run_name / f"seed-{seed}"


class DataSource:
    """Training and validation examples, read once, and the prepared (tokenized, embedded) data per vocabulary."""

    def __init__(self, data: str = "", valid: str | None = None, *, valid_split: float = 0.1, seed: int = 1,
                 train_examples=None, valid_examples=None, vectors=None, log: Callable = print):

        self.log = log
        self.vectors = vectors
        if train_examples is None:
            data = data or DEFAULT_DATA
            if valid is None:
                valid = default_valid(data)
            train_examples = load_examples(data)
            if valid:
                valid_examples = load_examples(valid)
                valid_desc = str(valid)
            else:
                train_examples, valid_examples = split_validation(train_examples, valid_split, seed)
                valid_desc = f"{valid_split:.0%} of {data} held out (seed {seed})"
        else:
            valid_desc = valid or "given examples"
        self.train_examples, self.valid_examples = train_examples, valid_examples
        self.desc = {"train": str(data) or "given examples", "valid": valid_desc,
                     "train_examples": len(train_examples), "valid_examples": len(valid_examples or [])}
        self._prepared: dict = {}

    def prepared(self, telltale: bool, max_length: int | None = None, min_freq: int = 1, max_vocab: int | None = None):
        """Base data (tell-tale tokens in the vocabulary when ``telltale``), prepared once per setting."""
        key = (telltale, max_length, min_freq, max_vocab)
        if key not in self._prepared:
            kw = dict(max_length=max_length, min_freq=min_freq, max_vocab=max_vocab, vectors=self.vectors,
                      log=self.log, progress=False)
            if telltale:
                self._prepared[key] = prepare_telltale(self.train_examples, self.valid_examples, **kw)
            else:
                self._prepared[key] = prepare_data(self.train_examples, self.valid_examples, **kw)
        return self._prepared[key]


def default_valid(data: str) -> str | None:
    """The validation set used when none is given: the matching test split (as in the classic code)."""
    s = str(data)
    if s in ("imdb", "imdb:train"):
        return "imdb:test"
    if s in ("sample", "sample:train"):
        return "sample:test"
    p = Path(s)
    if p.name.endswith("-train.tsv"):
        sibling = p.with_name(p.name[: -len("-train.tsv")] + "-test.tsv")
        if sibling.exists():
            return str(sibling)
    return None


def _tee(path: Path, echo: Callable | None):
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a", encoding="utf-8")

    def log(msg: str = "") -> None:
        f.write(str(msg) + "\n")
        f.flush()
        if echo is not None:
            echo(msg)
    log.close = f.close  # type: ignore[attr-defined]
    return log


def _records(df) -> list[dict]:
    """DataFrame rows as JSON-safe dicts (NaN -> None)."""
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    return out


def write_study_json(path: Path, record: dict) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, default=str))


def train_run(study: Study, spec, seed: int, *, root: Path, source: DataSource, epochs_scale: float = 1.0,
              epochs: int | None = None, log: Callable = print, progress: bool = False,
              skip_existing: bool = False, bucket: bool = True) -> dict:
    """Train one run of a study into ``root/<study>/<run>/seed-<seed>``; returns its entry for ``study.json``.

    ``bucket=False`` draws plain random mini-batches (the course's way) instead of
    batching texts of similar length together.

    With ``skip_existing``, a finished run is kept as it is and an interrupted one
    (a checkpoint but no ``config.json``) resumes from its last finished epoch.
    """
    sdir = Path(root) / study.name
    train_cfg = replace(scaled(spec.train, epochs_scale=epochs_scale, epochs=epochs, seed=seed), bucket=bucket)
    rdir = run_dir(root, study.name, spec.name, seed)
    entry = {"name": spec.name, "seed": seed, "path": str(rdir.relative_to(sdir)), "telltale": spec.telltale,
             "label": spec.label or spec.describe(), "describe": spec.describe()}
    if skip_existing and (rdir / CONFIG).exists() and not _resumable_snapshot(rdir):
        log(f"== {study.name}/{spec.name} seed {seed}: already trained, kept")
        return entry
    resume = skip_existing and has_checkpoint(rdir)
    log(f"== {study.name}/{spec.name} seed {seed}: {spec.describe()}, {train_cfg.epochs} epoch{'s' if train_cfg.epochs != 1 else ''}"
        + (" (resuming)" if resume else ""))
    prepared = source.prepared(study.telltale, train_cfg.max_length, train_cfg.min_freq, train_cfg.max_vocab)
    if spec.telltale:
        prepared = telltale_prepared(prepared, spec.telltale, TELLTALE_TOKENS, train_cfg.max_length)
    meta = {"data": {**source.desc, "telltale": spec.telltale}, "study": study.name, "run": spec.name}
    t0 = time.perf_counter()
    fit(None, None, model_config=spec.model, train_config=train_cfg, out_dir=rdir, prepared=prepared,
        log=log, meta=meta, progress=progress, resume=resume, overwrite=not resume)
    entry["seconds"] = round(time.perf_counter() - t0, 2)
    return entry


def _resumable_snapshot(rdir: Path) -> bool:
    """A run saved by :func:`snapshot_interrupted` whose checkpoint can still continue."""

    if read_config(rdir).get("meta", {}).get("stopped_at_epoch") is None:
        return False
    if not has_checkpoint(rdir):
        return False
    _, state = ckpt.read_checkpoint(resume_dir(rdir))
    return not state.get("finished")


def snapshot_interrupted(study: Study, spec, seed: int, *, root: Path, source: DataSource,
                         epochs_scale: float = 1.0, epochs: int | None = None) -> Path | None:
    """Turn an interrupted run (checkpoint, no ``config.json``) into a loadable run directory as it stands.

    The saved config keeps the planned epochs; ``meta.stopped_at_epoch`` says where
    training actually stopped, and the report marks the run as incomplete. A later
    ``run_study(..., skip_existing=True)`` resumes it from the checkpoint and, at the
    end, overwrites the snapshot with the finished run.
    """

    rdir = run_dir(root, study.name, spec.name, seed)
    if (rdir / CONFIG).exists() or not has_checkpoint(rdir):
        return None
    tensors, state = ckpt.read_checkpoint(resume_dir(rdir))
    prepared = source.prepared(study.telltale)
    cfg = _replace(spec.model, vocab_size=len(prepared.vocab), embedding_dim=int(prepared.embeddings.shape[1]))
    model = build_model(cfg, prepared.vocab, prepared.embeddings)
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    history = state["history"]
    n_params = sum(p.numel() for p in model.parameters())
    meta = {"parameters": n_params, "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "tokenizer": {"lowercase": True, "drop_space": True}, "train_seconds": round(state.get("train_seconds", 0.0), 2), "stopped_at_epoch": state["epoch"], "study": study.name, "run": spec.name,
            "data": {**source.desc, "telltale": spec.telltale}}
    train_cfg = scaled(spec.train, epochs_scale=epochs_scale, epochs=epochs, seed=seed)
    save_run(rdir, model.eval(), prepared.vocab, cfg, train_cfg, list(prepared.labels), meta, history)
    return rdir


def _previous(sdir: Path) -> dict:
    try:
        return json.loads((sdir / STUDY_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def gradient_record(study: Study, source: DataSource, seed: int = 1, epochs_scale: float = 1.0,
                    epochs: int | None = None, previous: dict | None = None) -> dict:
    """The gradient report of ``study`` (its first run's model, untrained) as a JSON-ready dict.

    ``previous`` (an earlier ``study.json``) is reused when it holds the report for the
    same model, positions, seed and data, so a resumed study does not compute it again.
    """
    spec = study.runs[0]
    train_cfg = scaled(spec.train, epochs_scale=epochs_scale, epochs=epochs, seed=seed)
    model = asdict(replace(spec.model, freeze_embeddings=False))
    key = {"model": model, "positions": list(study.gradient_positions), "seed": seed, "data": source.desc,
           "batch_size": train_cfg.batch_size, "max_length": train_cfg.max_length}
    old = (previous or {}).get("gradients") or {}
    if old.get("rows") and "cosine" in old["rows"][0] and all(old.get(k) == v for k, v in key.items()):
        return old
    base = source.prepared(True, train_cfg.max_length, train_cfg.min_freq, train_cfg.max_vocab)
    t0 = time.perf_counter()
    df, vectors = gradient_report(base, spec.model, study.gradient_positions, seed=seed,
                                  batch_size=train_cfg.batch_size, max_length=train_cfg.max_length)
    rows = _records(df)
    for row in rows:
        row.update(gradient_correspondence(vectors[row["position"]], vectors.values()))
    return {**key, "describe": spec.describe().replace("frozen", "fine-tunable"),
            "seconds": round(time.perf_counter() - t0, 2), "rows": rows}


def gradient_correspondence(g, all_gradients=()) -> dict:
    """Cosine of the two tell-tale rows' gradients ``g`` (2, E), and whether it can be read.

    A gradient is *near zero* when its norm is below 1e-6, or below a millionth of the
    largest in the report: a push that small moves the row by less than 1e-8 per epoch at
    the classic learning rate, so the angle between the two says nothing about what the
    model learns. Then ``cosine`` is ``None`` (``cosine_raw`` keeps the number).
    """
    g = g.double()
    largest = max([float(x.double().norm(dim=1).max()) for x in all_gradients] + [float(g.norm(dim=1).max())])
    smallest = float(g.norm(dim=1).min())
    near_zero = smallest < max(NEAR_ZERO_GRADIENT, 1e-6 * largest)
    raw = round(cosine_or_zero(g[0], g[1]), 6)
    return {"cosine": None if near_zero else raw, "cosine_raw": raw, "near_zero": near_zero}


NEAR_ZERO_GRADIENT = 1e-6


def run_study(study: Study | str | int, *, out: str | Path, source: DataSource, seeds: Sequence[int] = (1,),
              epochs_scale: float = 1.0, epochs: int | None = None, log: Callable | None = print,
              progress: bool = False, skip_existing: bool = False, bucket: bool = True) -> dict:
    """Train every run of ``study`` for every seed under ``out/<study>/`` and take its probes.

    ``bucket=False``: random mini-batches as in the course, instead of length bucketing.

    Returns the study record (also written to ``out/<study>/study.json``).
    """

    study = study if isinstance(study, Study) else get_study(study)
    root = Path(out)
    sdir = root / study.name
    sdir.mkdir(parents=True, exist_ok=True)
    previous = _previous(sdir) if skip_existing else None     # read before this run overwrites it
    slog = _tee(sdir / "log.txt", log)
    t_start = time.perf_counter()
    record = {"format": "rnnlab-study", "version": 1, "number": study.number, "name": study.name,
              "title": study.title, "question": study.question, "reading": study.reading,
              "spec": asdict(study), "data": source.desc, "seeds": list(seeds), "epochs_scale": epochs_scale,
              "epochs": epochs, "batching": "length buckets" if bucket else "random",
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": []}
    try:
        for dep in study.requires:
            dep_study = get_study(dep)
            missing = [r for r in dep_study.runs for s in seeds
                       if not (run_dir(root, dep_study.name, r.name, s) / CONFIG).exists()]
            if missing:
                slog(f"== {study.name} needs {dep_study.name}: running it first")
                run_study(dep_study, out=root, source=source, seeds=seeds, epochs_scale=epochs_scale,
                          epochs=epochs, log=log, progress=progress, skip_existing=True, bucket=bucket)
        for spec in study.runs:
            for seed in seeds:
                record["runs"].append(train_run(study, spec, seed, root=root, source=source,
                                                epochs_scale=epochs_scale, epochs=epochs, log=slog,
                                                progress=progress, skip_existing=skip_existing, bucket=bucket))
                write_study_json(sdir / STUDY_FILE, record)

        if study.similarity:
            record["similarity"] = []
            for entry in record["runs"]:
                run = load_run(sdir / entry["path"])
                record["similarity"].append({"run": entry["name"], "seed": entry["seed"],
                                             "rows": _records(similarity_table(run.model, run.vocab))})
        if study.gradient_positions:
            record["gradients"] = gradient_record(study, source, seeds[0], epochs_scale, epochs,
                                                  previous=previous)
            slog(f"gradient report ({record['gradients']['describe']}):")
            import pandas as pd  # deferred: pandas only for the results table

            slog(pd.DataFrame(record["gradients"]["rows"]).to_string(index=False))
        if study.probe_runs:
            models = {}
            for column, sname, rname in study.probe_runs:
                models[column] = load_run(run_dir(root, sname, rname, seeds[0]))
            preds = contrastive_predictions(models)
            perms = permutation_check(preds)
            record["probes"] = {"seed": seeds[0], "predictions": _records(preds), "permutations": _records(perms),
                                "models": {c: str(run_dir(Path(".."), s, r, seeds[0])) for c, s, r in study.probe_runs}}
            slog(preds.to_string(index=False))
            slog(perms.to_string(index=False))
    finally:
        record["seconds"] = round(time.perf_counter() - t_start, 2)
        record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        write_study_json(sdir / STUDY_FILE, record)
        slog.close()
    return record


def run_studies(names: Sequence[str | int] | None = None, *, out: str | Path, data: str = "",
                valid: str | None = None, seeds: Sequence[int] = (1,), epochs_scale: float = 1.0,
                epochs: int | None = None, report: bool = True, log: Callable | None = print,
                progress: bool = False, source: DataSource | None = None,
                skip_existing: bool = False, bucket: bool = True) -> list[dict]:
    """Run the named studies (all when ``names`` is None) in order, then write the report for ``out``."""
    configure_threads()
    studies = [get_study(n) for n in names] if names else list(STUDIES)
    source = source or DataSource(data, valid, seed=seeds[0], log=log or (lambda *_: None))
    records = [run_study(st, out=out, source=source, seeds=seeds, epochs_scale=epochs_scale, epochs=epochs,
                         log=log, progress=progress, skip_existing=skip_existing, bucket=bucket) for st in studies]
    if report:
        from rnnlab.experiments.report import write_report  # deferred: circular (report -> runner)

        md, html = write_report(out)
        if log:
            log(f"report: {md} and {html}")
    return records
