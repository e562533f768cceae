"""The run format: runs written before FORMAT_VERSION (tests/fixtures/run-v1, made by main's code) still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnlab.inspect import predict_run
from rnnlab.runs import load_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1 = FIXTURES / "run-v1"


def test_v1_run_fixture_loads_and_predicts_the_same():
    expected = json.loads((FIXTURES / "run-v1-predictions.json").read_text(encoding="utf-8"))
    run = load_run(V1)
    df = predict_run(run, expected["texts"])
    assert list(df[df.columns[1]]) == pytest.approx(expected["probabilities"], abs=1e-6)


# -- item 7: a hand-edited config.json is one line naming the field, never a traceback ---------------------
from rnnlab.errors import InputError, RnnlabError  # noqa: E402
from tests.adversarial._helpers import cli, copy_v1, one_line_error  # noqa: E402


def _edit(run: Path, change) -> Path:
    cfg = json.loads((run / "config.json").read_text())
    change(cfg)
    (run / "config.json").write_text(json.dumps(cfg))
    return run / "config.json"


@pytest.mark.parametrize("change, message", [
    (lambda c: c["model"].update(hidden_dim=20.0), "model.hidden_dim must be a whole number, got 20.0"),
    (lambda c: c.update(model=None), "'model' must be an object, got NoneType"),
    (lambda c: c.update(labels=["neg"]), "labels lists 1 names but the model has 2 classes"),
    (lambda c: c.update(labels="np"), 'labels must be a list of names, got "np"'),
    (lambda c: c.update(labels=["neg", "neg"]), 'labels has duplicate names: ["neg", "neg"]'),
    (lambda c: c["train"].update(max_length=3.5), "train.max_length must be a whole number or null, got 3.5"),
    (lambda c: c.update(meta=[]), "meta must be an object, got []"),
    (lambda c: c["meta"].update(tokenizer={"foo": 1}),
     'meta.tokenizer must hold only lowercase, drop_space (true/false), got {"foo": 1}'),
    (lambda c: c["model"].update(vocab_size="8773"), 'model.vocab_size must be a whole number, got "8773"'),
    (lambda c: c["train"].update(lr=-1), "invalid train config: learning rate must be positive, got -1"),
])
def test_hand_edited_config_is_one_line(tmp_path, capsys, change, message):
    run = copy_v1(tmp_path)
    cfg_path = _edit(run, change)
    with pytest.raises(InputError) as exc:
        load_run(run)
    assert str(exc.value) == f"{cfg_path}: {message}"
    code, out, err = cli(capsys, "predict", run, "a good film")
    assert code == 1 and out == ""
    assert one_line_error(err) == f"{cfg_path}: {message}"


def test_serve_refuses_a_bad_run_at_start_up(tmp_path, capsys):
    """Before: serve loaded it and answered every request, even /models, with a bare 500."""
    run = copy_v1(tmp_path)
    cfg_path = _edit(run, lambda c: c.update(labels=["neg"]))
    code, out, err = cli(capsys, "serve", run, "--port", "0")
    assert code == 1 and "serving" not in out
    assert one_line_error(err) == f"{cfg_path}: labels lists 1 names but the model has 2 classes"


# -- the checkpoint: validated when read -----------------------------------------------------------------
def _rewrite_checkpoint(run: Path, change_meta=None, change_tensors=None) -> Path:
    from safetensors import safe_open
    from safetensors.torch import save

    path = run / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if change_meta:
        change_meta(meta)
    if change_tensors:
        change_tensors(tensors)
    path.write_bytes(save(tensors, metadata=meta))
    return path


def _drop_optimizer(meta):
    state = json.loads(meta["state"])
    del state["optimizer"]
    meta["state"] = json.dumps(state)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("state"), "damaged checkpoint: no training state (metadata 'state' is missing)"),
    (lambda m: m.update(state="{not json"), "damaged checkpoint: its training state is not valid JSON"),
    (_drop_optimizer, "damaged checkpoint: the optimizer state is missing; it cannot be resumed"),
])
def test_damaged_checkpoint_is_one_line(tmp_path, capsys, change, message):
    from rnnlab.checkpoint import read_checkpoint

    run = copy_v1(tmp_path)
    path = _rewrite_checkpoint(run, change_meta=change)
    with pytest.raises(InputError) as exc:
        read_checkpoint(run)
    assert str(exc.value).startswith(f"{path}: {message}")
    code, _, err = cli(capsys, "train", "--resume", run, "--epochs", "5")
    assert code == 1 and one_line_error(err).startswith(f"{path}: {message}")


def test_non_finite_weights_are_refused(tmp_path):
    """Before: a diverged run loaded, predict printed `nan neg`, the server answered "probability": null."""
    import torch
    from safetensors.torch import load_file, save_file

    run = copy_v1(tmp_path)
    state = load_file(str(run / "weights.safetensors"))
    name = sorted(state)[-1]
    state[name] = torch.full_like(state[name], float("nan"))
    save_file(state, str(run / "weights.safetensors"))
    with pytest.raises(RnnlabError, match=rf"weight '{name}' holds non-finite values \(nan/inf\): the run diverged"):
        load_run(run)


def test_new_runs_carry_the_format_version(tmp_path):
    from rnnlab.runs import CONFIG, FORMAT_VERSION
    from rnnlab.training import fit
    from rnnlab.config import ModelConfig, TrainConfig
    from tests._synthetic import synthetic_prepared

    fit(None, None, model_config=ModelConfig(model="boe"), train_config=TrainConfig(epochs=1), out_dir=tmp_path / "r",
        prepared=synthetic_prepared(), log=lambda *_: None, progress=False)
    assert json.loads((tmp_path / "r" / CONFIG).read_text())["format_version"] == FORMAT_VERSION
    assert load_run(tmp_path / "r").model_config.model == "boe"
