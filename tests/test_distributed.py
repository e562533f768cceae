"""DistributedDataParallel: two CPU processes (gloo) match one process with the same global batch."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from rnnlab.distributed import ShardBatchSampler

TESTS = Path(__file__).resolve().parent

WORKER = textwrap.dedent('''
    import sys
    sys.path.insert(0, {tests!r})
    import torch
    from _synthetic import synthetic_prepared
    from rnnlab.config import ModelConfig, TrainConfig
    from rnnlab.training import fit

    torch.set_num_threads(1)
    model = ModelConfig(model={model!r}, recurrent_dim=6, hidden_dim=5, freeze_embeddings=False)
    train = TrainConfig(optimizer="adam", lr=0.01, epochs=2, batch_size=16, seed=5, keep_best=False)
    fit(None, model_config=model, train_config=train, out_dir={out!r}, prepared=synthetic_prepared(64, 16),
        log=lambda *_: None, progress=False)
    from rnnlab.distributed import teardown
    teardown()
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run / "weights.safetensors"))


def _run(script: Path, env_extra: dict, n: int) -> None:
    import os

    procs = []
    for rank in range(n):
        env = {**os.environ, "OMP_NUM_THREADS": "1", **env_extra}
        if n > 1:
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(n))
        procs.append(subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, out[-3000:]


@pytest.mark.parametrize("model", ["gru", pytest.param("boe", marks=pytest.mark.slow)])
def test_two_gloo_processes_match_one_process(tmp_path, model):
    for name in ("single", "ddp"):
        (tmp_path / f"{name}.py").write_text(WORKER.format(tests=str(TESTS), model=model,
                                                           out=str(tmp_path / name)))
    _run(tmp_path / "single.py", {}, 1)
    _run(tmp_path / "ddp.py", {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}, 2)
    single, ddp = _weights(tmp_path / "single"), _weights(tmp_path / "ddp")
    assert single.keys() == ddp.keys()
    for k in single:
        torch.testing.assert_close(ddp[k], single[k], rtol=0, atol=1e-5, msg=k)
    import json

    config = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert config["meta"]["distributed"] == {"world_size": 2, "backend": "gloo"}


def test_shard_sampler_splits_every_global_batch():
    from rnnlab.data.batching import BucketBatchSampler

    base = BucketBatchSampler(list(range(1, 42)), batch_size=8, seed=1)
    whole = list(BucketBatchSampler(list(range(1, 42)), batch_size=8, seed=1))
    parts = [list(ShardBatchSampler(BucketBatchSampler(list(range(1, 42)), batch_size=8, seed=1), r, 2))
             for r in range(2)]
    kept = [w for w in whole if len(w) >= 2]  # a global batch smaller than the world is dropped
    assert len(kept) == len(whole) - 1
    assert len(parts[0]) == len(parts[1]) == len(kept)
    for w, a, b in zip(kept, *parts):
        assert a + b == w and abs(len(a) - len(b)) <= 1
    assert len(ShardBatchSampler(base, 0, 2)) == len(whole)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_with_autocast_runs(tmp_path):
    sys.path.insert(0, str(TESTS))
    from _synthetic import synthetic_prepared

    from rnnlab.config import ModelConfig, TrainConfig
    from rnnlab.training import fit

    model, history, _ = fit(None, model_config=ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4),
                            train_config=TrainConfig(optimizer="adam", epochs=2, batch_size=8),
                            prepared=synthetic_prepared(), log=lambda *_: None, progress=False, device="cuda")
    assert next(model.parameters()).device.type == "cuda"
    assert history[-1]["train"]["loss"] < history[0]["train"]["loss"]


def test_device_cuda_without_gpu_is_a_clear_error():
    from rnnlab.errors import RnnlabError
    from rnnlab.training import resolve_device

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RnnlabError, match="no CUDA device"):
            resolve_device("cuda")
