"""The drop-in classic API: what course notebooks hand to their own classes, accepted as is.

- embeddings: a ``Vectors``-like object (``rnnlab.compat.torchtext.vocab.Vectors``,
  torchtext's, rnnlab's) looked up with the vocabulary's ``get_itos()`` (zeros for words
  it lacks), or a ``(V, E)`` tensor;
- vocabularies: ``rnnlab.compat.torchtext`` ones (any specials, any ``<pad>`` index) or rnnlab's;
- lengths as a list or a tensor, labels as int or float;
- ``model.loss_function(model(x), y)`` is BCE on the probabilities ``forward`` returns
  (rnnlab's fast trainer uses the same loss on the logits, ``loss_function.on_logits``);
- :func:`train` prints the classic log line, :func:`test` returns ``{"acc", "loss"}``.

Notebooks keep ``vocab`` and ``tokenizer`` as globals that their collate functions
read; here :func:`setup` records them once (or pass ``vocab=``/``tokenizer=``).
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from rnnlab.data.tsv import DEFAULT_LABELS
from rnnlab.data.tsv import TSVDataset as _TSVDataset
from rnnlab.models import boe as _boe
from rnnlab.models import recurrent as _recurrent
from rnnlab.data.tokenize import Tokenizer

NEWNEG, NEWPOS = "<newneg>", "<newpos>"
POSITIONS = ("start", "middle", "end")
NEAR_ZERO = 1e-8  # a gradient norm below this is "near zero": its direction (cosine) is not meaningful


# -- losses on probabilities -------------------------------------------------------------------
class _LogitsBCE(nn.BCEWithLogitsLoss):
    """BCE on logits; int or float labels of any shape with the same number of entries."""

    def forward(self, input, target):
        return super().forward(input, torch.as_tensor(target).to(input.dtype).reshape(input.shape))


class ProbabilityBCELoss(nn.BCELoss):
    """``nn.BCELoss`` on the probabilities ``forward`` returns; int or float labels.

    ``on_logits`` is the same loss on the logits, which rnnlab's fast trainer uses
    (numerically stabler; equal values).
    """

    def __init__(self):
        super().__init__()
        self.on_logits = _LogitsBCE()

    def forward(self, input, target):
        return super().forward(input, torch.as_tensor(target).to(input.dtype).reshape(input.shape))


class ProbabilityNLLLoss(nn.Module):
    """Cross-entropy on class probabilities (k > 2): ``nll(log p, y)``; ``on_logits`` is ``CrossEntropyLoss``."""

    def __init__(self):
        super().__init__()
        self.on_logits = nn.CrossEntropyLoss()

    def forward(self, input, target):
        return nn.functional.nll_loss(torch.log(input.clamp_min(1e-12)), torch.as_tensor(target).long())


def _classic_loss(num_classes: int) -> nn.Module:
    return ProbabilityBCELoss() if num_classes == 2 else ProbabilityNLLLoss()


# -- vocabularies and embeddings ---------------------------------------------------------------
def _itos(vocab) -> list[str]:
    return vocab.get_itos() if hasattr(vocab, "get_itos") else list(vocab.itos)


def pad_index(vocab) -> int | None:
    """The vocabulary's own ``<pad>`` index (``None`` when it has none)."""
    stoi = vocab.get_stoi() if hasattr(vocab, "get_stoi") else vocab.stoi
    return stoi.get("<pad>")


def embedding_tensor(vocab, embeddings) -> torch.Tensor:
    """A ``(len(vocab), E)`` float tensor: ``embeddings`` itself if a tensor/array, else looked up by token.

    A ``Vectors``-like object is looked up with ``vocab.get_itos()``; words it lacks get zeros.
    """
    if isinstance(embeddings, (torch.Tensor, np.ndarray)):
        matrix = torch.as_tensor(embeddings, dtype=torch.float32)
        if matrix.ndim != 2 or (vocab is not None and matrix.shape[0] != len(vocab)):
            raise ValueError(f"an embedding tensor must be (len(vocab), E) = ({len(vocab)}, E); "
                             f"got {tuple(matrix.shape)}")
        return matrix
    itos = _itos(vocab)
    if hasattr(embeddings, "stoi") and hasattr(embeddings, "vectors"):       # torchtext-style Vectors
        stoi, table = embeddings.stoi, torch.as_tensor(embeddings.vectors, dtype=torch.float32)
    elif hasattr(embeddings, "index") and hasattr(embeddings, "vectors"):    # rnnlab.embeddings.Vectors
        stoi, table = embeddings.index(), torch.as_tensor(embeddings.vectors, dtype=torch.float32)
    elif hasattr(embeddings, "get_vecs_by_tokens"):
        return torch.as_tensor(embeddings.get_vecs_by_tokens(itos), dtype=torch.float32)
    else:
        raise TypeError(f"embeddings must be a (V, E) tensor or a Vectors-like object; got {type(embeddings).__name__}")
    rows = [stoi.get(t, -1) for t in itos]
    out = torch.zeros(len(itos), table.shape[1])
    known = torch.tensor([i for i, r in enumerate(rows) if r >= 0], dtype=torch.long)
    if len(known):
        out[known] = table[torch.tensor([r for r in rows if r >= 0], dtype=torch.long)]
    return out


def _as_lengths(seq_lengths) -> torch.Tensor:
    return torch.as_tensor(seq_lengths, dtype=torch.int64).reshape(-1)


# -- the classic classes -----------------------------------------------------------------------
class BagOfEmbeddingsBinaryClassifier(_boe.BagOfEmbeddingsBinaryClassifier):
    """rnnlab's bag-of-embeddings model taking notebook inputs; ``loss_function`` is BCE on probabilities."""

    def __init__(self, vocab, embeddings, hidden_dim: int, freeze_embeddings: bool = True, dropout: float = 0.0,
                 num_classes: int = 2):
        super().__init__(None, embedding_tensor(vocab, embeddings), hidden_dim, freeze_embeddings, dropout,
                         num_classes)
        self.vocab = vocab
        self.loss_function = _classic_loss(num_classes)

    def forward_logits(self, text, offsets):
        return super().forward_logits(torch.as_tensor(text), torch.as_tensor(offsets, dtype=torch.int64))


class _ClassicRecurrent:
    """Mixin: the vocabulary's own ``<pad>``, list lengths, probability loss."""

    def _classic(self, vocab):
        self.vocab = vocab
        self.embedding.padding_idx = pad_index(vocab) if vocab is not None else None
        self.loss_function = _classic_loss(self.num_classes)

    def forward_logits(self, padded_text, seq_lengths):
        return super().forward_logits(torch.as_tensor(padded_text), _as_lengths(seq_lengths))

    def document_embedding(self, padded_text, seq_lengths):
        return super().document_embedding(torch.as_tensor(padded_text), _as_lengths(seq_lengths))


class RNNClassifier(_ClassicRecurrent, _recurrent.RNNClassifier):
    def __init__(self, vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings=True,
                 recurrent_activation="tanh", recurrent_layers=1, recurrent_bidirectional=False, dropout=0.0):
        super().__init__(None, embedding_tensor(vocab, embeddings), recurrent_dim, hidden_dim, freeze_embeddings,
                         recurrent_activation, recurrent_layers, recurrent_bidirectional, dropout)
        self._classic(vocab)


class LSTMClassifier(_ClassicRecurrent, _recurrent.LSTMClassifier):
    def __init__(self, vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings=True,
                 recurrent_layers=1, recurrent_bidirectional=False, dropout=0.0):
        super().__init__(None, embedding_tensor(vocab, embeddings), recurrent_dim, hidden_dim, freeze_embeddings,
                         recurrent_layers, recurrent_bidirectional, dropout)
        self._classic(vocab)


class GRUClassifier(_ClassicRecurrent, _recurrent.GRUClassifier):
    def __init__(self, vocab, embeddings, recurrent_dim, hidden_dim, freeze_embeddings=True,
                 recurrent_layers=1, recurrent_bidirectional=False, dropout=0.0):
        super().__init__(None, embedding_tensor(vocab, embeddings), recurrent_dim, hidden_dim, freeze_embeddings,
                         recurrent_layers, recurrent_bidirectional, dropout)
        self._classic(vocab)


class TSVDataset(_TSVDataset):
    """``(label, text)`` items of a TSV file, texts as written (the course does not strip ``<br />``)."""

    def __init__(self, filepath, labels: Sequence[str] = DEFAULT_LABELS, clean: bool = False):
        super().__init__(filepath, labels=labels, clean=clean)


# -- the notebook's globals: vocabulary, tokenizer, training data --------------------------------
_CONTEXT: dict = {}


def setup(vocab, tokenizer: Callable[[str], list] | None = None, train_data=None) -> None:
    """Record the vocabulary, tokenizer and training data the collate helpers use by default.

    ``tokenizer`` defaults to rnnlab's lower-cased spaCy tokenizer (the course's).
    """
    _CONTEXT.update(vocab=vocab, tokenizer=tokenizer, train_data=train_data)


def _vocab(vocab):
    vocab = vocab if vocab is not None else _CONTEXT.get("vocab")
    if vocab is None:
        raise ValueError("no vocabulary: call rnnlab.classic.setup(vocab, tokenizer) first, or pass vocab=")
    return vocab


def _tokenizer(tokenizer):
    tokenizer = tokenizer or _CONTEXT.get("tokenizer")
    if tokenizer is None:
        tokenizer = _CONTEXT["tokenizer"] = Tokenizer()
    return tokenizer


def label_to_index(label) -> int:
    """``"pos"`` -> 1, any other string (or ``None``) -> 0; numbers are kept."""
    if label is None or isinstance(label, str):
        return int(label == "pos")
    return int(label)


def text_to_indices(text: str, vocab=None, tokenizer=None) -> torch.Tensor:
    vocab = _vocab(vocab)
    ids = vocab(_tokenizer(tokenizer)(text))
    return torch.tensor(ids, dtype=torch.int64)


def _nonempty(ids: torch.Tensor, vocab) -> torch.Tensor:
    """A text with no tokens becomes one ``<unk>`` (or ``<pad>``) so the recurrence has a step to run."""
    if len(ids):
        return ids
    stoi = vocab.get_stoi() if hasattr(vocab, "get_stoi") else vocab.stoi
    return torch.tensor([stoi.get("<unk>", stoi.get("<pad>", 0))], dtype=torch.int64)


def collate_batch_boe(batch, vocab=None, tokenizer=None):
    """Raw ``(label, text)`` items -> ``(labels int64 (B,), all ids (N,), offsets (B,))``."""
    vocab = _vocab(vocab)
    labels = [label_to_index(label) for label, _ in batch]
    texts = [_nonempty(text_to_indices(text, vocab, tokenizer), vocab) for _, text in batch]
    offsets = torch.tensor([0] + [len(t) for t in texts[:-1]], dtype=torch.int64).cumsum(0)
    return torch.tensor(labels, dtype=torch.int64), torch.cat(texts), offsets


def _pad_batch(labels, texts, vocab):
    pad = pad_index(vocab)
    padded = pad_sequence(texts, batch_first=True, padding_value=pad if pad is not None else 0)
    return torch.tensor(labels, dtype=torch.int64), padded, [len(t) for t in texts]


def collate_batch_rnn(batch, vocab=None, tokenizer=None):
    """Raw items -> ``(labels int64 (B,), ids padded with the vocabulary's <pad> (B, T), lengths list)``."""
    vocab = _vocab(vocab)
    texts = [_nonempty(text_to_indices(text, vocab, tokenizer), vocab) for _, text in batch]
    return _pad_batch([label_to_index(label) for label, _ in batch], texts, vocab)


def insert_at(tokens: list, token: str, add_at: str) -> list:
    """``tokens`` with ``token`` added at the ``"start"``, ``"middle"`` (``len // 2``) or ``"end"``."""
    if add_at not in POSITIONS:
        raise ValueError(f"add_at must be one of {', '.join(POSITIONS)}; got {add_at!r}")
    i = {"start": 0, "middle": len(tokens) // 2, "end": len(tokens)}[add_at]
    return tokens[:i] + [token] + tokens[i:]


def collate_batch_rnn_newwords(batch, add_at: str = "start", vocab=None, tokenizer=None):
    """:func:`collate_batch_rnn` with a tell-tale token in every text: ``<newneg>`` in negative, ``<newpos>`` in positive.

    The vocabulary must hold both tokens (``vocab.append_token("<newneg>")`` ...).
    """
    vocab = _vocab(vocab)
    missing = [t for t in (NEWNEG, NEWPOS) if t not in vocab]
    if missing:
        raise ValueError(f"the vocabulary has no {' or '.join(missing)}: append them (vocab.append_token) "
                         "before building the model")
    tok = _tokenizer(tokenizer)
    labels, texts = [], []
    for label, text in batch:
        y = label_to_index(label)
        tokens = insert_at(list(tok(text)), NEWPOS if y == 1 else NEWNEG, add_at)
        labels.append(y)
        texts.append(torch.tensor(vocab(tokens), dtype=torch.int64))
    return _pad_batch(labels, texts, vocab)


# -- similarity and gradients of the tell-tale tokens ----------------------------------------------
def cosine_or_zero(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity, 0.0 when either vector is all zeros (no direction to compare)."""
    a, b = a.detach().double().reshape(-1), b.detach().double().reshape(-1)
    na, nb = float(a.norm()), float(b.norm())
    return 0.0 if na == 0.0 or nb == 0.0 else float(a @ b) / (na * nb)


def newword_similarities(model, words: Sequence[str] = ("bad", "good"), print_fn: Callable | None = print):
    """Cosine similarity of the ``<newneg>``/``<newpos>`` embeddings with each other and with ``words``.

    Returns ``{(a, b): cosine}``; a zero vector (an untrained new word) gives 0, not NaN.
    """
    vocab = model.vocab
    weight = model.embedding.weight.detach()
    pairs = [(NEWNEG, NEWPOS)] + [(new, w) for new in (NEWNEG, NEWPOS) for w in words]
    out = {}
    for a, b in pairs:
        if a not in vocab or b not in vocab:
            continue
        out[(a, b)] = cosine_or_zero(weight[vocab[a]], weight[vocab[b]])
        if print_fn:
            print_fn(f"{a} ~ {b}: {out[(a, b)]:.4f}")
    return out


def view_untrained_gradients(word_position: str, model_class, model_args: Sequence = (),
                             model_kwargs: dict | None = None, data=None, batch_size: int = 8, seed: int = 1,
                             print_fn: Callable | None = print) -> torch.Tensor:
    """Gradients of the ``<newneg>`` and ``<newpos>`` embedding rows in an untrained model, shape (2, E).

    Builds ``model_class(*model_args, **model_kwargs)`` after ``torch.manual_seed(seed)``, runs
    one batch (the first ``batch_size`` items of ``data``, default the training data given
    to :func:`setup`) with the tell-tale tokens at ``word_position``, and backpropagates
    ``model.loss_function(model(x), y)``. The embeddings must be trainable
    (``freeze_embeddings=False``). Prints both rows' norms and their cosine.
    """
    data = data if data is not None else _CONTEXT.get("train_data")
    if data is None:
        raise ValueError("no data: pass data= or call rnnlab.classic.setup(vocab, tokenizer, train_data)")
    torch.manual_seed(seed)
    model = model_class(*model_args, **(model_kwargs or {}))
    vocab = model.vocab
    batch = [data[i] for i in range(min(batch_size, len(data)))]
    labels, text, lengths = collate_batch_rnn_newwords(batch, add_at=word_position, vocab=vocab)
    model.train()
    model.zero_grad()
    loss = model.loss_function(model(text, lengths).view(-1), labels.to(torch.float32))
    loss.backward()
    if model.embedding.weight.grad is None:
        raise ValueError("the embeddings got no gradient: build the model with freeze_embeddings=False")
    rows = [vocab[NEWNEG], vocab[NEWPOS]]
    grads = model.embedding.weight.grad[rows].detach().clone()
    if print_fn:
        norms = grads.double().norm(dim=1)
        cos = cosine_or_zero(grads[0], grads[1])
        note = (" (a gradient is near zero: the cosine says little)" if float(norms.min()) < NEAR_ZERO
                else "")
        print_fn(f"tell-tale tokens at the {word_position}: |grad {NEWNEG}| = {float(norms[0]):.3g}, "
                 f"|grad {NEWPOS}| = {float(norms[1]):.3g}, cosine = {cos:.4f}{note}")
        print_fn(f"{NEWNEG}: {grads[0]}")
        print_fn(f"{NEWPOS}: {grads[1]}")
    return grads


# -- training, testing, inspecting -------------------------------------------------------------------
def _probs(model, datapoint_list) -> torch.Tensor:
    return model(*datapoint_list).view(-1)


def _correct(probs, labels) -> int:
    return int(((probs > 0.5).to(torch.int64) == torch.as_tensor(labels).to(torch.int64).view(-1)).sum())


def test(model, dataloader) -> dict:
    """``{"acc": accuracy, "loss": mean over batches of model.loss_function}`` on a labelled loader."""
    model.eval()
    total_acc, total_count, loss = 0, 0, 0.0
    with torch.no_grad():
        for label_list, *datapoint_list in dataloader:
            probs = _probs(model, datapoint_list)
            loss += model.loss_function(probs, torch.as_tensor(label_list).to(torch.float32)).item()
            total_acc += _correct(probs, label_list)
            total_count += len(label_list)
    return {"acc": total_acc / total_count, "loss": loss / len(dataloader)}


def _log_line(epoch: int, acc: float, loss: float) -> str:
    return f"| epoch {epoch:3d} | train acc {acc:6.3f} | train loss {loss:6.3f} |"


def train(model, dataloader, optimizer, epochs: int = 100, print_every: int | None = 1, validation_data=None,
          print_fn: Callable = print) -> list[dict]:
    """The classic loop: ``loss_function(model(x), y)`` per mini-batch, a log line every ``print_every`` epochs.

    Train columns are the running accuracy and mean batch loss over the epochs since the
    last line (epoch 0: a test pass). Returns the logged rows.
    """
    start = time.time()
    rows = []

    def log(epoch, acc, loss):
        line = _log_line(epoch, acc, loss)
        row = {"epoch": epoch, "train": {"acc": acc, "loss": loss}}
        if validation_data is not None:
            valid = test(model, validation_data)
            line += f" valid acc {valid['acc']:6.3f} | valid loss {valid['loss']:6.3f} |"
            row["valid"] = valid
        print_fn(line)
        rows.append(row)

    if print_every is not None:
        first = test(model, dataloader)
        log(0, first["acc"], first["loss"])
    total_acc, total_count, current_loss = 0, 0, 0.0
    batches_per_log = len(dataloader) * (print_every or 1)
    model.train()
    for epoch in range(epochs):
        for label_list, *datapoint_list in dataloader:
            model.zero_grad()
            probs = _probs(model, datapoint_list)
            loss = model.loss_function(probs, torch.as_tensor(label_list).to(torch.float32))
            loss.backward()
            optimizer.step()
            if print_every is not None:
                total_acc += _correct(probs.detach(), label_list)
                total_count += len(label_list)
                current_loss += loss.item()
        if print_every is not None and (epoch + 1) % print_every == 0:
            log(epoch + 1, total_acc / total_count, current_loss / batches_per_log)
            total_acc, total_count, current_loss = 0, 0, 0.0
            model.train()
    print_fn("\nOverall training time: {:.0f} seconds".format(time.time() - start))
    return rows


@torch.no_grad()
def predict_multiple(model, texts: Sequence[str], collate_batch_fn: Callable, labels: Sequence[str] = DEFAULT_LABELS):
    """A DataFrame: input text, the classifier's probability of ``labels[1]``, output label."""
    import pandas as pd  # deferred: pandas only for this table

    model.eval()
    _, *model_input = collate_batch_fn([(None, text) for text in texts])
    probs = model(*model_input).view(-1).tolist()
    return pd.DataFrame({"Input text": list(texts), "Classifier probability": probs,
                         "Output label": [labels[int(p > 0.5)] for p in probs]})


def display_weights(model, print_fn: Callable = print) -> None:
    """Every parameter: its name in capitals, then the tensor."""
    for name, param in model.named_parameters():
        print_fn(f"{name.upper()} {param}")


__all__ = ["TSVDataset", "BagOfEmbeddingsBinaryClassifier", "RNNClassifier", "LSTMClassifier", "GRUClassifier",
           "train", "test", "predict_multiple", "display_weights", "collate_batch_boe", "collate_batch_rnn",
           "collate_batch_rnn_newwords", "newword_similarities", "view_untrained_gradients", "setup",
           "embedding_tensor", "pad_index", "text_to_indices", "label_to_index", "ProbabilityBCELoss"]
