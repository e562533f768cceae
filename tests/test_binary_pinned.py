"""The binary IMDB path gives the same numbers as before the k-class redesign.

The values were recorded by running this training on main's commit 0b487a6
(before readers, TextPipeline and Task.metrics), with the same seed and data.
"""

import pytest

from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.data.tsv import read_tsv
from rnnlab.training import evaluate_examples, fit, split_validation

# (train acc, train loss, valid acc, valid loss) for epochs 0, 1, 2, as printed at 0b487a6
PINNED = {
    "lstm": [(0.5133333333333333, 0.6939797973632813, 0.46, 0.697089614868164),
             (0.5133333333333333, 0.6928647867838542, 0.46, 0.6940621948242187),
             (0.5133333333333333, 0.6927668762207031, 0.46, 0.6932335662841796)],
    "boe": [(0.4866666666666667, 0.7017676289876302, 0.54, 0.6932801055908203),
            (0.6066666666666667, 0.690435282389323, 0.42, 0.6953694152832032),
            (0.5933333333333334, 0.6866781107584635, 0.56, 0.6897433471679687)],
}
PINNED_CONFUSION = {"lstm": [[0, 27], [0, 23]], "boe": [[27, 0], [22, 1]]}
CONFIGS = {"lstm": ModelConfig(model="lstm", recurrent_dim=8, hidden_dim=4), "boe": ModelConfig(model="boe", hidden_dim=8)}


@pytest.mark.parametrize("name", ["lstm", "boe"])
def test_binary_training_gives_the_numbers_recorded_before_the_redesign(small_tsv, name):
    tr, va = split_validation(read_tsv(small_tsv), 0.25, seed=1)
    model, history, prepared = fit(tr, va, model_config=CONFIGS[name],
                                   train_config=TrainConfig(optimizer="adam", lr=0.01, epochs=2, batch_size=16,
                                                            max_length=60),
                                   log=lambda s: None, progress=False)
    assert model.num_classes == 2 and prepared.task.binary
    got = [(r["train"]["acc"], r["train"]["loss"], r["valid"]["acc"], r["valid"]["loss"]) for r in history]
    for row, want in zip(got, PINNED[name]):
        assert row == pytest.approx(want, rel=1e-6, abs=1e-9)
    m = evaluate_examples(model, prepared.pipeline, va)
    assert m["acc"] == pytest.approx(PINNED[name][-1][2]) and m["loss"] == pytest.approx(PINNED[name][-1][3], rel=1e-6)
    assert m["confusion"] == PINNED_CONFUSION[name]
