import json

import pytest
import torch

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data.tsv import read_tsv
from rnnlab.errors import RnnlabError
from rnnlab.inspect import predict_run
from rnnlab.runs import load_run
from rnnlab.training import fit, split_validation

TEXTS = ["I loved it at first, but by the end I hated it", "A wonderful, moving film.", "Dull and far too long."]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, small_tsv):
    out = tmp_path_factory.mktemp("runs") / "gru"
    tr, va = split_validation(read_tsv(small_tsv), 0.2, seed=1)
    model, _, _ = fit(tr, va, model_config=ModelConfig(model="gru", recurrent_dim=6, hidden_dim=4, bidirectional=True),
                      train_config=TrainConfig(epochs=1, batch_size=16, max_length=80), out_dir=out,
                      log=lambda s: None, progress=False)
    return out, model


def test_run_directory_holds_config_vocab_weights_metrics_and_plot(run_dir):
    out, _ = run_dir
    for name in ("config.json", "vocab.json", "weights.safetensors", "metrics.jsonl", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.pt")) and not list(out.glob("*.pkl"))
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["model"] == "gru" and config["train"]["max_length"] == 80
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_save_load_round_trip_gives_the_same_predictions(run_dir):
    out, model = run_dir
    run = load_run(out)
    for k, v in model.state_dict().items():
        assert torch.equal(v, run.model.state_dict()[k])
    df = predict_run(run, TEXTS)
    from rnnlab.inspect import predict_proba

    direct = predict_proba(model, run.vocab, TEXTS, max_length=80)
    assert df["p(pos)"].tolist() == pytest.approx(direct.tolist(), abs=1e-7)


def copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_corrupted_weights_are_a_clear_error(run_dir, tmp_path):
    out = copy_run(run_dir[0], tmp_path / "r")
    data = (out / "weights.safetensors").read_bytes()
    (out / "weights.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(RnnlabError, match=r"weights.safetensors: corrupted weights file"):
        load_run(out)


def test_mismatched_config_is_a_clear_error(run_dir, tmp_path):
    out = copy_run(run_dir[0], tmp_path / "r")
    config = json.loads((out / "config.json").read_text())
    config["model"]["recurrent_dim"] = 7
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(RnnlabError, match="weights do not match the config"):
        load_run(out)


def test_vocab_size_mismatch_and_missing_files(run_dir, tmp_path):
    out = copy_run(run_dir[0], tmp_path / "r")
    vocab = json.loads((out / "vocab.json").read_text())
    vocab["itos"].append("extra-token")
    (out / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(RnnlabError, match="vocab.json: has .* entries but the config says"):
        load_run(out)
    (out / "config.json").write_text("{not json")
    with pytest.raises(RnnlabError, match="config.json: corrupted JSON"):
        load_run(out)
    (out / "config.json").unlink()
    with pytest.raises(RnnlabError, match="config.json: missing"):
        load_run(out)
    with pytest.raises(RnnlabError, match="no such run directory"):
        load_run(tmp_path / "nothing")
