"""Named presets: a model, a training recipe and the data they were tuned on.

``rnnlab train --preset imdb-best`` starts from a preset; options given on the
command line override its fields. The recipes were chosen on a validation split
held out from the IMDB training set (never the test set); ``benchmarks/accuracy.py``
reruns them over three seeds and records the test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rnnlab.config import ModelConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named recipe: what to build, how to train it, on which data."""

    name: str
    description: str
    model: ModelConfig
    train: TrainConfig
    data: dict = field(default_factory=dict)   # train / test specs and the validation share


_IMDB = {"train": "imdb:train", "test": "imdb:test", "valid_split": 0.1}
_BILSTM = ModelConfig(model="lstm", recurrent_dim=64, hidden_dim=64, bidirectional=True, freeze_embeddings=False,
                      dropout=0.3, pooling="final+max+mean")
_BILSTM_TRAIN = TrainConfig(optimizer="adam", lr=2e-3, epochs=3, batch_size=64, max_length=1000, min_freq=2,
                            clip_grad=1.0, patience=2, lr_schedule="linear", train_metrics="running")

# What ``rnnlab train`` uses without --preset: a recipe that learns on the 2,000-review sample in
# 3 epochs (tests/test_newcomer.py checks validation accuracy > 0.70 on sample:train / sample:test).
DEFAULT = Preset(
    "default",
    "The recipe `rnnlab train` uses without --preset: LSTM, 64 units, fine-tuned GloVe 50d, final + max + mean "
    "pooling, Adam 2e-3, batch 32, first 400 tokens, 3 epochs.",
    ModelConfig(model="lstm", recurrent_dim=64, hidden_dim=64, freeze_embeddings=False, dropout=0.3,
                pooling="final+max+mean"),
    TrainConfig(optimizer="adam", lr=2e-3, epochs=3, batch_size=32, max_length=400, clip_grad=1.0),
    {"valid_split": 0.1},
)

# The course's teaching settings (what the studies use): tanh RNN, frozen GloVe, SGD 0.01, batch 8.
CLASSIC_MODEL = ModelConfig()
CLASSIC_TRAIN = TrainConfig()

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "imdb-best",
            "Bidirectional LSTM, 96 units per direction, over whole reviews (up to 1,000 tokens), fine-tuned GloVe "
            "50d, final state + max + mean pooling, dropout, Adam; training passes in bfloat16 where the CPU "
            "computes in it natively (--precision auto).",
            replace(_BILSTM, recurrent_dim=96),
            replace(_BILSTM_TRAIN, precision="auto"),
            dict(_IMDB),
        ),
        Preset(
            "imdb-bilstm-64",
            "imdb-best with 64 units per direction (the previous imdb-best; higher validation loss).",
            _BILSTM,
            _BILSTM_TRAIN,
            dict(_IMDB),
        ),
        Preset(
            "imdb-bilstm-400",
            "imdb-bilstm-64 with reviews cut to their first 400 tokens (the first recipe; lower validation accuracy).",
            _BILSTM,
            replace(_BILSTM_TRAIN, max_length=400),
            dict(_IMDB),
        ),
        Preset(
            "imdb-boe",
            "Bag of embeddings (mean of fine-tuned GloVe 50d) through a ReLU layer, Adam.",
            ModelConfig(model="boe", hidden_dim=64, freeze_embeddings=False, dropout=0.0),
            TrainConfig(optimizer="adam", lr=2e-3, epochs=5, batch_size=64, min_freq=2, patience=2,
                        train_metrics="running"),
            dict(_IMDB),
        ),
        Preset(
            "imdb-rnn",
            "Vanilla tanh RNN, one layer, 64 units, fine-tuned GloVe 50d, final + max + mean pooling, Adam.",
            ModelConfig(model="rnn", activation="tanh", recurrent_dim=64, hidden_dim=64, freeze_embeddings=False,
                        dropout=0.3, pooling="final+max+mean"),
            TrainConfig(optimizer="adam", lr=2e-3, epochs=4, batch_size=64, max_length=400, min_freq=2,
                        clip_grad=1.0, patience=2, lr_schedule="linear", train_metrics="running"),
            dict(_IMDB),
        ),
        DEFAULT,
        Preset(
            "classic",
            "The course's teaching settings: tanh RNN (50 units), frozen GloVe 50d, SGD 0.01, batch 8, 10 epochs; "
            "slow to learn on small data (the studies use it).",
            CLASSIC_MODEL,
            CLASSIC_TRAIN,
            {"valid_split": 0.1},
        ),
        Preset(
            "sample-rnn",
            "The classic teaching setup on the 2,000-review sample: tanh RNN, frozen GloVe, SGD 0.01, batch 8.",
            CLASSIC_MODEL,
            CLASSIC_TRAIN,
            {"train": "sample:train", "test": "sample:test", "valid_split": 0.1},
        ),
    ]
}


# -- SST-5 (five sentiment classes) --------------------------------------------------------
# No data paths: pass --train/--valid/--test (train.jsonl, dev.jsonl, test.jsonl of SST-5).
# Chosen on dev.jsonl loss; benchmarks/sst5.py scores them on test.jsonl over three seeds.
PRESETS.update({
    p.name: p
    for p in [
        Preset(
            "sst5-boe",
            "SST-5 bag of embeddings: mean of fine-tuned GloVe 50d through 64 ReLU units, softmax over five "
            "classes, Adam 2e-3, batches of 32, early stopping on validation loss.",
            ModelConfig(model="boe", hidden_dim=64, freeze_embeddings=False, dropout=0.3),
            TrainConfig(optimizer="adam", lr=2e-3, epochs=30, batch_size=32, patience=3, print_every=1),
        ),
        Preset(
            "sst5-best",
            "SST-5 bidirectional LSTM, 128 units per direction, fine-tuned GloVe 50d, final state + max + mean "
            "pooling, dropout 0.5, 64 ReLU units, softmax over five classes, Adam 2e-3 decaying linearly over 4 "
            "epochs, L2 1e-4, batches of 32, gradient clipping; the epoch with the lowest validation loss is kept.",
            ModelConfig(model="lstm", recurrent_dim=128, hidden_dim=64, bidirectional=True, freeze_embeddings=False,
                        dropout=0.5, pooling="final+max+mean"),
            TrainConfig(optimizer="adam", lr=2e-3, epochs=4, batch_size=32, clip_grad=1.0, weight_decay=1e-4,
                        lr_schedule="linear", patience=2, print_every=1),
        ),
    ]
})


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ``ValueError`` lists the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def preset_table() -> str:
    """One line per preset: its name and description (for --list-presets and --preset's help)."""
    width = max(map(len, PRESETS))
    return "\n".join(f"{name:<{width}}  {p.description}" for name, p in PRESETS.items())


__all__ = ["Preset", "PRESETS", "DEFAULT", "get_preset", "preset_table"]
