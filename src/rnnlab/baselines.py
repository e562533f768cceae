"""Classical baseline: NBSVM (Wang & Manning 2012) on binarized unigrams + bigrams, with scikit-learn.

Features are the presence (0/1) of each unigram and bigram of the rnnlab tokens
(spaCy, lower-cased: the same tokens the neural models see, from the same
cache). Each feature is scaled by its naive-Bayes log-count ratio

    r = log((alpha + p) / |alpha + p|_1) - log((alpha + q) / |alpha + q|_1)

(p, q: feature counts over the positive and negative training texts), a linear
SVM (squared hinge) is trained on the scaled features, and its weights are
interpolated with their mean magnitude, ``w' = (1 - beta) * mean|w| + beta * w``,
with the paper's alpha = 1, C = 1, beta = 0.25. Nothing is tuned on the test set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rnnlab.data.tokenize import tokenize_cached
from rnnlab.data.sources import load_examples

from rnnlab.data.task import binary_task

DEFAULT_LABELS = binary_task().labels  # the IMDB task: neg = 0, pos = 1


@dataclass
class NBSVM:
    """A fitted NBSVM: vectorizer, log-count ratios, interpolated weights."""

    vectorizer: object
    r: np.ndarray
    w: np.ndarray
    b: float

    def decision_function(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        X = self.vectorizer.transform(token_lists)
        return np.asarray(X.multiply(self.r).tocsr() @ self.w).ravel() + self.b

    def predict(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return (self.decision_function(token_lists) > 0).astype(np.int64)


def _ngrams(tokens: Sequence[str]) -> list[str]:
    return list(tokens) + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def fit_nbsvm(token_lists: Sequence[Sequence[str]], labels: Sequence[int], *, ngram: int = 2, alpha: float = 1.0,
              C: float = 1.0, beta: float = 0.25, min_df: int = 1, seed: int = 1) -> NBSVM:
    """Fit NBSVM on tokenized texts with 0/1 labels."""
    from sklearn.feature_extraction.text import CountVectorizer  # deferred: sklearn only for the baseline
    from sklearn.svm import LinearSVC  # deferred: sklearn only for the baseline

    if ngram not in (1, 2):
        raise ValueError(f"ngram must be 1 or 2, got {ngram}")
    y = np.asarray(labels, dtype=np.int64)
    if set(np.unique(y)) != {0, 1}:
        raise ValueError("NBSVM needs both labels (0 and 1) in the training data")
    analyzer = _ngrams if ngram == 2 else list
    vec = CountVectorizer(analyzer=analyzer, binary=True, min_df=min_df, dtype=np.float32)
    X = vec.fit_transform(token_lists)                                  # (N, F) 0/1
    p = alpha + np.asarray(X[y == 1].sum(0)).ravel()
    q = alpha + np.asarray(X[y == 0].sum(0)).ravel()
    r = (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)  # (F,)
    svm = LinearSVC(C=C, loss="squared_hinge", dual=True, max_iter=10_000, random_state=seed)
    svm.fit(X.multiply(r).tocsr(), y)
    w = svm.coef_.ravel()
    w = (1 - beta) * np.abs(w).mean() + beta * w
    return NBSVM(vec, r, w.astype(np.float32), float(svm.intercept_[0]))


def corpus_tokens(texts: Sequence[str], progress: bool = False) -> list[list[str]]:
    """rnnlab's tokens for ``texts`` (tokenized once, then from the cache)."""
    corpus, _ = tokenize_cached(list(texts), progress=progress)
    table = np.asarray(corpus.table, dtype=object)
    return [table[corpus.ids[a:b]].tolist() for a, b in zip(corpus.offsets[:-1], corpus.offsets[1:])]


def run_nbsvm(*, train: str, test: str, labels: Sequence[str] = DEFAULT_LABELS, ngram: int = 2,
              C: float = 1.0, beta: float = 0.25, log=print, progress: bool = True) -> dict:
    """Train on ``train`` and score on ``test`` (TSV paths or ``imdb:train`` / ``imdb:test``)."""
    t0 = time.perf_counter()
    train_ex = load_examples(train, labels)
    test_ex = load_examples(test, labels)
    train_tok = corpus_tokens([e.text for e in train_ex], progress)
    test_tok = corpus_tokens([e.text for e in test_ex], progress)
    t_tok = time.perf_counter() - t0
    model = fit_nbsvm(train_tok, [e.label for e in train_ex], ngram=ngram, C=C, beta=beta)
    t_fit = time.perf_counter() - t0 - t_tok
    pred = model.predict(test_tok)
    gold = np.asarray([e.label for e in test_ex])
    acc = float((pred == gold).mean())
    total = time.perf_counter() - t0
    result = {"model": f"nbsvm-{'uni+bi' if ngram == 2 else 'uni'}gram", "acc": acc, "n": int(len(gold)),
              "features": int(len(model.r)), "seconds_tokenize": round(t_tok, 1), "seconds_fit": round(t_fit, 1),
              "seconds_total": round(total, 1)}
    log(f"NBSVM ({'uni+bigrams' if ngram == 2 else 'unigrams'}, {len(model.r):,} features): "
        f"test accuracy {acc:.4f} on {len(gold):,} texts; {total:.1f} s in all "
        f"(tokens {t_tok:.1f} s, fit {t_fit:.1f} s)")
    return result


__all__ = ["NBSVM", "fit_nbsvm", "corpus_tokens", "run_nbsvm"]
