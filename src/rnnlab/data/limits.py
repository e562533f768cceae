"""Size limits on untrusted input, one place to read and change them.

A review of 400 MB inside a 389 KB gzip archive is a compression bomb, not a text.
The defaults are far above any real review or the whole aclImdb corpus; raise them
through the environment for unusual data:

- ``RNNLAB_MAX_TEXT_BYTES``: the longest single text, in bytes of UTF-8 (default 1 MB;
  the longest IMDB review is about 14 KB);
- ``RNNLAB_MAX_ARCHIVE_BYTES``: the most uncompressed bytes read from an archive's
  review files (default 1 GiB; aclImdb's labelled reviews are about 130 MB).
"""

from __future__ import annotations

import os

from rnnlab.errors import RnnlabError

MAX_TEXT_BYTES = 1_000_000
MAX_ARCHIVE_BYTES = 1 << 30
TEXT_ENV, ARCHIVE_ENV = "RNNLAB_MAX_TEXT_BYTES", "RNNLAB_MAX_ARCHIVE_BYTES"


def _limit(env: str, default: int) -> int:
    raw = os.environ.get(env)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RnnlabError(f"${env}: expected a whole number of bytes, got {raw!r}") from None
    if value < 1:
        raise RnnlabError(f"${env}: must be at least 1, got {value}")
    return value


def max_text_bytes() -> int:
    """The longest single text accepted, in bytes (``$RNNLAB_MAX_TEXT_BYTES``, default 1 MB)."""
    return _limit(TEXT_ENV, MAX_TEXT_BYTES)


def max_archive_bytes() -> int:
    """The most uncompressed review bytes read from one archive (``$RNNLAB_MAX_ARCHIVE_BYTES``, default 1 GiB)."""
    return _limit(ARCHIVE_ENV, MAX_ARCHIVE_BYTES)
