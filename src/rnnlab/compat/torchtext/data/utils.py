"""``get_tokenizer`` as in torchtext: spaCy, ``basic_english``, whitespace split, or your own callable."""

from __future__ import annotations

import re
from typing import Callable, List

_BASIC_PATTERNS = [(re.compile(p), r) for p, r in (
    (r"\'", " '  "), (r"\"", ""), (r"\.", " . "), (r"<br \/>", " "), (r",", " , "), (r"\(", " ( "),
    (r"\)", " ) "), (r"\!", " ! "), (r"\?", " ? "), (r"\;", " "), (r"\:", " "), (r"\s+", " "))]


def _basic_english_normalize(line: str) -> List[str]:
    """Lower-case, split off ``' . , ( ) ! ?``, drop ``" ; :`` and ``<br />``, split on whitespace."""
    line = line.lower()
    for pattern, replacement in _BASIC_PATTERNS:
        line = pattern.sub(replacement, line)
    return line.split()


def _split_tokenizer(line: str) -> List[str]:
    return line.split()


def _spacy_pipeline(language: str):
    """The installed spaCy pipeline ``language``; for English, ``spacy.blank("en")`` when none is installed.

    ``spacy.blank("en")`` carries the same tokenizer rules as ``en_core_web_sm``, so the
    tokens are identical; the tagger/parser a full pipeline adds play no part in tokenizing.
    """
    import spacy  # deferred: spaCy takes about a second to import

    name = "en_core_web_sm" if language == "en" else language
    try:
        return spacy.load(name, exclude=["tagger", "parser", "ner", "lemmatizer", "attribute_ruler", "senter"])
    except OSError:
        lang = language.split("_")[0]
        if lang != "en":
            raise ValueError(f"spaCy pipeline {language!r} is not installed (python -m spacy download {language})") from None
        return spacy.blank("en")


def get_tokenizer(tokenizer, language: str = "en") -> Callable[[str], List[str]]:
    """A function from a string to its list of tokens.

    - ``None``: split on whitespace;
    - a callable: returned unchanged;
    - ``"basic_english"``: lower-cased, punctuation split off (``language`` must be ``"en"``);
    - ``"spacy"``: spaCy's tokenizer for ``language`` (``"en"`` or ``"en_core_web_sm"``); tokens
      keep their case, as in torchtext.
    """
    if tokenizer is None:
        return _split_tokenizer
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "basic_english":
        if language != "en":
            raise ValueError("Basic normalization is only available for English(en)")
        return _basic_english_normalize
    if tokenizer == "spacy":
        spacy_tokenizer = _spacy_pipeline(language).tokenizer

        def spacy_tokenize(text: str) -> List[str]:
            return [tok.text for tok in spacy_tokenizer(text)]

        return spacy_tokenize
    raise ValueError(f"Requested tokenizer {tokenizer}, valid choices are a callable that takes a single string "
                     "as input, None (split on whitespace), \"basic_english\" or \"spacy\" (the others torchtext "
                     "offered are not provided here)")
