"""Resumable training state: ``RUN/checkpoint.safetensors``.

One file holds everything an interrupted run needs to continue from its last
completed epoch exactly as if it had never stopped:

- ``model.*``      the weights at the end of the epoch
- ``best.*``       the weights of the best epoch so far (``keep_best``)
- ``optim.<i>.*``  the optimizer's per-parameter state (Adam moments, step)
- ``rng.torch``    the CPU random generator (dropout, data loader seeds); ``rng.cuda.<i>`` on GPU
- metadata ``state``: JSON with the epoch, history, best epoch/loss, patience
  counter, optimizer param groups, scheduler state, the configs and the data
  options the run was started with.

It is written with :func:`rnnlab.runs.atomic_write_bytes` (temporary file, fsync,
rename), so a kill during a save leaves the previous checkpoint intact, and it is
safetensors + JSON: no pickle, no code runs on load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from rnnlab.errors import InputError, RnnlabError
from rnnlab.runs import CHECKPOINT, atomic_write_bytes, check_finite, resume_dir

FORMAT = "rnnlab-checkpoint"


def _flatten_optimizer(optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(run_dir: str | Path, *, model, optimizer, epoch: int, history: list[dict],
                    best: dict[str, Any], stale: int = 0, scheduler=None, finished: bool = False,
                    info: dict[str, Any] | None = None) -> Path:
    """Write ``run_dir/checkpoint.safetensors`` atomically; returns its path."""
    from safetensors.torch import save  # deferred: safetensors only when weights are read/written

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if best.get("state") is not None:
        tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in best["state"].items()})
    optim_tensors, optim_meta = _flatten_optimizer(optimizer)
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    state = {"epoch": epoch, "history": history, "best_loss": best.get("loss"), "best_epoch": best.get("epoch"),
             "stale": stale, "finished": finished, "optimizer": optim_meta,
             "scheduler": scheduler.state_dict() if scheduler is not None else None, **(info or {})}
    if state["best_loss"] is not None and state["best_loss"] == float("inf"):
        state["best_loss"] = None
    path = Path(run_dir) / CHECKPOINT
    atomic_write_bytes(path, save(tensors, metadata={"format": FORMAT, "state": json.dumps(state)}))
    return path


def read_checkpoint(run_dir: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, state)`` of a run's checkpoint; a clear error when it is missing, damaged or not finite.

    For a run still in progress or interrupted, the checkpoint is read from ``.NAME.partial``.
    """
    from safetensors import SafetensorError, safe_open  # deferred: safetensors only when weights are read/written

    run_dir = resume_dir(run_dir)
    path = Path(run_dir) / CHECKPOINT
    if not Path(run_dir).is_dir():
        raise RnnlabError(f"{run_dir}: no such run directory")
    if not path.exists():
        raise InputError(path, "missing: this run has no checkpoint to resume from "
                               "(it was trained before checkpoints existed, or never finished an epoch)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(path, f"corrupted checkpoint ({exc})") from None
    if meta.get("format") != FORMAT:
        raise InputError(path, f"not an rnnlab checkpoint (expected format {FORMAT!r})")
    state = _validate_state(meta.get("state"), path)
    check_finite({k: v for k, v in tensors.items() if not k.startswith("rng.")}, path)
    return tensors, state


def _validate_state(raw: str | None, path: Path) -> dict[str, Any]:
    """The checkpoint's JSON ``state``: present, parseable, with the fields a resume needs."""
    if raw is None:
        raise InputError(path, "damaged checkpoint: no training state (metadata 'state' is missing)")
    try:
        state = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"damaged checkpoint: its training state is not valid JSON ({exc})") from None
    if not isinstance(state, dict):
        raise InputError(path, "damaged checkpoint: its training state is not a JSON object")
    epoch = state.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise InputError(path, f"damaged checkpoint: epoch must be a whole number >= 0, got {json.dumps(epoch)}")
    if not isinstance(state.get("history"), list):
        raise InputError(path, "damaged checkpoint: 'history' (the metrics so far) is missing")
    opt = state.get("optimizer")
    if not isinstance(opt, dict) or not isinstance(opt.get("param_groups"), list) \
            or not isinstance(opt.get("scalars"), dict):
        raise InputError(path, "damaged checkpoint: the optimizer state is missing; it cannot be resumed")
    for key in ("model_config", "train_config"):
        if key in state and not isinstance(state[key], dict):
            raise InputError(path, f"damaged checkpoint: {key!r} must be an object")
    return state


def mark_finished(run_dir: str | Path) -> None:
    """Mark the checkpoint finished (keeping the last epoch's weights and the best so far).

    ``--resume`` then refuses it unless ``--epochs`` extends the run.
    """
    from safetensors.torch import save  # deferred: safetensors only when weights are read/written

    tensors, state = read_checkpoint(run_dir)
    state["finished"] = True
    atomic_write_bytes(Path(run_dir) / CHECKPOINT, save(tensors, metadata={"format": FORMAT,
                                                                        "state": json.dumps(state)}))


def restore(tensors: dict[str, torch.Tensor], state: dict[str, Any], *, model, optimizer, scheduler=None,
            device="cpu") -> dict[str, Any]:
    """Load model, optimizer, scheduler and RNG states; returns ``best`` for :func:`rnnlab.training.train`."""
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    # load_state_dict moves each state tensor to its parameter's device
    optimizer.load_state_dict(_unflatten_optimizer(tensors, state["optimizer"]))
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    best_state = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best.")} or None
    best_loss = state.get("best_loss")
    return {"loss": float("inf") if best_loss is None else best_loss, "epoch": state.get("best_epoch"),
            "state": best_state, "stale": state.get("stale", 0)}


__all__ = ["CHECKPOINT", "save_checkpoint", "read_checkpoint", "restore", "mark_finished"]
