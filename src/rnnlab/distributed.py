"""Training on several processes with DistributedDataParallel, started by ``torchrun``.

    torchrun --standalone --nproc_per_node=2 -m rnnlab train --preset imdb-best --out runs/ddp

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`setup` reads them and joins the process group (gloo on
CPU, nccl on GPU). Every process builds the same vocabulary from the shared token
cache, then reads only its shard of each *global* batch (:class:`ShardBatchSampler`):
``--batch-size`` is the global batch, split between the processes, so the update
equals a single process's step on the whole batch (DDP averages the gradients,
and each rank's loss is the mean over its part). Only rank 0 prints, checkpoints
and saves the run; every rank evaluates (the validation pass is short) so that
early-stopping decisions agree without extra messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Dist:
    """Where this process stands: ``rank`` of ``world`` processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> Dist:
    """The ``torchrun`` environment, or a single process when it is absent."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: str | torch.device = "cpu") -> Dist:
    """Join the process group when launched by ``torchrun`` (no-op for one process)."""
    import torch.distributed as dist  # deferred: torch.distributed only for multi-process runs

    d = from_env()
    if d.enabled and not dist.is_initialized():
        backend = "nccl" if torch.device(device).type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return d


def device_for(device: str | torch.device, d: Dist) -> torch.device:
    """On CUDA each process drives the GPU of its ``LOCAL_RANK``."""
    device = torch.device(device)
    if device.type == "cuda" and d.enabled:
        torch.cuda.set_device(d.local_rank)
        return torch.device("cuda", d.local_rank)
    return device


def teardown() -> None:
    import torch.distributed as dist  # deferred: torch.distributed only for multi-process runs

    if dist.is_initialized():
        dist.destroy_process_group()


class ShardBatchSampler(torch.utils.data.Sampler):
    """This rank's contiguous part of every global batch of ``sampler``.

    ``sampler`` is a :class:`~rnnlab.data.batching.BucketBatchSampler` whose
    ``batch_size`` is the global batch. Global batches with fewer texts than
    processes are dropped, so every rank takes the same number of steps. When a
    global batch does not divide evenly, the averaged gradient weighs the
    smaller part's texts slightly more than a single process would.
    """

    def __init__(self, sampler, rank: int, world: int):
        self.sampler, self.rank, self.world = sampler, rank, world

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def __iter__(self):
        for batch in self.sampler:
            n = len(batch)
            if n < self.world:
                continue
            lo, hi = self.rank * n // self.world, (self.rank + 1) * n // self.world
            yield batch[lo:hi]

    def __len__(self) -> int:
        return len(self.sampler)


class _Logits(nn.Module):
    """``forward`` = the classifier's ``forward_logits`` (DDP hooks ``forward`` only)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.module = model

    def forward(self, text, extra):
        return self.module.forward_logits(text, extra)


class DDPClassifier(nn.parallel.DistributedDataParallel):
    """A classifier wrapped in DDP that still offers ``forward_logits`` to the training loop."""

    def forward_logits(self, text, extra):
        return self(text, extra)

    @property
    def rnnlab_module(self) -> nn.Module:
        return self.module.module


def wrap(model: nn.Module, d: Dist, device: torch.device) -> nn.Module:
    """``model`` itself for one process, else a :class:`DDPClassifier` around it."""
    if not d.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return DDPClassifier(_Logits(model), device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    return model.rnnlab_module if isinstance(model, DDPClassifier) else model


def shard_loader(loader: torch.utils.data.DataLoader, d: Dist) -> torch.utils.data.DataLoader:
    """The same loader reading only this rank's part of each global batch."""
    if not d.enabled:
        return loader
    return torch.utils.data.DataLoader(loader.dataset, batch_sampler=ShardBatchSampler(loader.batch_sampler,
                                                                                       d.rank, d.world),
                                       collate_fn=loader.collate_fn)


__all__ = ["Dist", "from_env", "setup", "device_for", "teardown", "ShardBatchSampler", "DDPClassifier",
           "wrap", "unwrap", "shard_loader"]
