"""The study suite as data: one :class:`Study` per classic experiment.

A study is a list of runs (model config, training config, data variant) plus the
probes to take afterwards. Nothing here trains anything; :mod:`rnnlab.experiments.runner`
does. The classic settings: batch size 8, seed 1, embedding size 50 (GloVe),
recurrent size 50, hidden ReLU layer 20, SGD with learning rate 0.01, frozen
embeddings; the weights after the last epoch are kept (``keep_best=False``), as
in the classic notebooks, and every run reports its best epoch as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnlab.config import ModelConfig, TrainConfig, replace
from rnnlab.errors import RnnlabError

CLASSIC_MODEL = ModelConfig(model="rnn", recurrent_dim=50, hidden_dim=20, freeze_embeddings=True)
CLASSIC_TRAIN = TrainConfig(optimizer="sgd", lr=0.01, epochs=10, batch_size=8, seed=1, print_every=1,
                            keep_best=False)
ADAM_TRAIN = replace(CLASSIC_TRAIN, optimizer="adam", lr=0.001)   # torch.optim.Adam's defaults


@dataclass(frozen=True)
class RunSpec:
    """One training run: ``name`` is its folder inside the study directory."""

    name: str
    model: ModelConfig
    train: TrainConfig
    telltale: str | None = None        # None, or where <newneg>/<newpos> go: start | middle | end
    label: str = ""                    # a short description for the report

    def describe(self) -> str:
        m, t = self.model, self.train
        parts = ["bag of embeddings" if m.model == "boe" else
                 f"{'bidirectional ' if m.bidirectional else ''}{m.model.upper()} {m.recurrent_dim}"]
        parts.append("frozen embeddings" if m.freeze_embeddings else "fine-tuned embeddings")
        parts.append(f"{t.optimizer.upper() if t.optimizer == 'sgd' else 'Adam'} lr {t.lr:g}")
        if self.telltale:
            parts.append(f"tell-tale tokens at the {self.telltale}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Study:
    number: int
    name: str
    title: str
    question: str
    reading: str                       # what to look at in the numbers to answer the question
    runs: tuple[RunSpec, ...] = ()
    similarity: bool = False           # cosine similarity report of the tell-tale tokens after training
    gradient_positions: tuple[str, ...] = ()   # gradient report (untrained model of the first run's config)
    requires: tuple[str, ...] = ()     # studies whose runs this one reads (run first when missing)
    probe_runs: tuple[tuple[str, str, str], ...] = ()   # (column name, study name, run name)
    compare_with: tuple[tuple[str, str], ...] = ()      # (study name, run name) shown beside this study's runs

    @property
    def telltale(self) -> bool:
        return any(r.telltale for r in self.runs)


def _rnn(**kw) -> ModelConfig:
    return replace(CLASSIC_MODEL, **kw)


def _epochs(n: int, every: int = 1, base: TrainConfig = CLASSIC_TRAIN) -> TrainConfig:
    return replace(base, epochs=n, print_every=every)


FINE = {"freeze_embeddings": False}

STUDIES: tuple[Study, ...] = (
    Study(1, "01-rnn-vs-boe", "RNN vs bag of embeddings (frozen GloVe)",
          "Does reading the words in order (RNN) beat averaging them (bag of embeddings), and how fast does each learn?",
          "Compare the validation accuracy and loss columns epoch by epoch, the parameter counts (the bag model trains "
          "about a thousand weights) and the training time per epoch.",
          runs=(RunSpec("rnn", _rnn(), _epochs(100, 5), label="RNN, frozen embeddings"),
                RunSpec("boe", _rnn(model="boe"), _epochs(100, 5), label="bag of embeddings, frozen"))),
    Study(2, "02-fine-tuning", "RNN with fine-tuned embeddings",
          "Does fine-tuning the embeddings help, and how fast?",
          "Put the fine-tuned RNN beside the frozen RNN of study 1: compare how fast training accuracy climbs "
          "(over a million more trainable weights) and how much of it validation accuracy keeps.",
          runs=(RunSpec("rnn-fine-tuned", _rnn(**FINE), _epochs(100, 5), label="RNN, fine-tuned embeddings"),),
          compare_with=(("01-rnn-vs-boe", "rnn"),)),
    Study(3, "03-telltale-frozen", "Tell-tale tokens at the start, frozen embeddings (baseline)",
          "Can the model use a perfectly informative token if its embedding cannot move?",
          "With frozen embeddings the <newneg>/<newpos> rows stay all-zero, so both tokens look the same to the model: "
          "accuracy should stay at the level of an RNN without them, and their similarity is undefined (zero vectors).",
          runs=(RunSpec("start", _rnn(), _epochs(10), "start", label="RNN, frozen, tokens at the start"),),
          similarity=True),
    Study(4, "04-telltale-positions", "Tell-tale tokens at the start / end / middle, fine-tuned",
          "Why does a token at the end get learned faster than one at the start?",
          "The validation texts carry the tokens too, so validation accuracy near 1.0 means the token was learned, "
          "while training accuracy alone can also come from memorising the training texts. Compare validation "
          "accuracy per epoch for the three positions with the gradient report: before any training, how hard does "
          "the loss push the rows of a token read last, in the middle, or first (its signal has to pass through every "
          "later tanh step)? The similarity table shows whether <newneg> and <newpos> moved apart and towards "
          "'boring' / 'outstanding'.",
          runs=(RunSpec("start", _rnn(**FINE), _epochs(10), "start", label="tokens at the start"),
                RunSpec("end", _rnn(**FINE), _epochs(10), "end", label="tokens at the end"),
                RunSpec("middle", _rnn(**FINE), _epochs(10), "middle", label="tokens in the middle")),
          similarity=True, gradient_positions=("start", "middle", "end")),
    Study(5, "05-middle-100-units", "Middle position with a 100-unit recurrent layer",
          "Does a wider recurrent layer carry the middle token's signal to the end better?",
          "Compare with the 'middle' run of study 4 (50 units): accuracy per epoch and the gradient norm.",
          runs=(RunSpec("middle-100", _rnn(recurrent_dim=100, **FINE), _epochs(10), "middle",
                        label="RNN 100 units, tokens in the middle"),),
          similarity=True, gradient_positions=("middle",), compare_with=(("04-telltale-positions", "middle"),)),
    Study(6, "06-adam", "Start position with Adam instead of SGD",
          "Does an adaptive optimizer rescue the hard (start) position?",
          "Compare with the 'start' run of study 4 (SGD): Adam scales each weight's step by its gradient history, so "
          "a tiny gradient can still move the start token's row. Validation accuracy (the validation texts carry the "
          "token too) tells whether the token was learned; training accuracy alone can come from memorisation.",
          runs=(RunSpec("start-adam", _rnn(**FINE), _epochs(10, base=ADAM_TRAIN), "start",
                        label="RNN, Adam, tokens at the start"),),
          similarity=True, compare_with=(("04-telltale-positions", "start"),)),
    Study(7, "07-bidirectional", "Bidirectional RNN at the start and the middle (SGD)",
          "Does reading the text in both directions make the start as easy as the end?",
          "The backward direction reads the start token last, so 'start' should behave like 'end' did in study 4; "
          "the middle stays far from both ends. The gradient report shows it before any training.",
          runs=(RunSpec("bi-start", _rnn(bidirectional=True, **FINE), _epochs(10), "start",
                        label="bidirectional RNN, tokens at the start"),
                RunSpec("bi-middle", _rnn(bidirectional=True, **FINE), _epochs(10), "middle",
                        label="bidirectional RNN, tokens in the middle")),
          similarity=True, gradient_positions=("start", "middle", "end"),
          compare_with=(("04-telltale-positions", "start"), ("04-telltale-positions", "middle"))),
    Study(8, "08-lstm-adam", "LSTM at the start with Adam",
          "Does a gated cell keep the start token's signal alive over hundreds of steps?",
          "Compare with the plain RNN at the start (studies 4 and 6) and with its gradient report: the LSTM's additive "
          "cell state is meant to let the gradient reach the first token. Validation accuracy near 1.0 means it did.",
          runs=(RunSpec("lstm-start-adam", _rnn(model="lstm", **FINE), _epochs(10, base=ADAM_TRAIN), "start",
                        label="LSTM, Adam, tokens at the start"),),
          similarity=True, gradient_positions=("start",),
          compare_with=(("04-telltale-positions", "start"), ("06-adam", "start-adam"))),
    Study(9, "09-contrastive-probes", "Contrastive predictions of the models of studies 1 and 2",
          "Do the models read word order? Which words win when a review changes its mind?",
          "Texts in one group use the same words in a different order. The bag model's probabilities for a "
          "permutation are identical (difference 0); the RNNs can tell 'loved ... then hated' from 'hated ... then loved'.",
          requires=("01-rnn-vs-boe", "02-fine-tuning"),
          probe_runs=(("rnn (study 1)", "01-rnn-vs-boe", "rnn"), ("boe (study 1)", "01-rnn-vs-boe", "boe"),
                      ("rnn fine-tuned (study 2)", "02-fine-tuning", "rnn-fine-tuned"))),
)


def get_study(key: str | int) -> Study:
    """A study by number (``4``), full name (``04-telltale-positions``) or a unique prefix/substring."""
    s = str(key).strip()
    for st in STUDIES:
        if s == st.name or (s.isdigit() and int(s) == st.number):
            return st
    matches = [st for st in STUDIES if st.name.startswith(s) or s in st.name]
    if len(matches) == 1:
        return matches[0]

    names = ", ".join(st.name for st in STUDIES)
    if matches:
        raise RnnlabError(f"study {key!r} is ambiguous ({', '.join(m.name for m in matches)}); choose one of: {names}")
    raise RnnlabError(f"unknown study {key!r}; choose a number 1-{len(STUDIES)} or one of: {names}")


def scaled(train: TrainConfig, *, epochs_scale: float = 1.0, epochs: int | None = None, seed: int | None = None) -> TrainConfig:
    """``train`` with its epochs set to ``epochs`` or scaled by ``epochs_scale`` (at least 1); logging scaled alike."""
    n = epochs if epochs is not None else max(1, round(train.epochs * epochs_scale))
    factor = n / train.epochs if train.epochs else 1.0
    every = max(1, round(train.print_every * factor))
    return replace(train, epochs=n, print_every=min(every, n), seed=train.seed if seed is None else seed)


def study_table() -> list[dict]:
    """One row per study, for ``rnnlab study list``."""
    rows = []
    for st in STUDIES:
        rows.append({"#": st.number, "name": st.name, "runs": len(st.runs),
                     "epochs": ", ".join(sorted({str(r.train.epochs) for r in st.runs})) or "-",
                     "question": st.question})
    return rows
