"""Where rnnlab keeps its cache (override with ``RNNLAB_CACHE``)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache root: ``$RNNLAB_CACHE`` if set, else the user's cache directory."""
    env = os.environ.get("RNNLAB_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir  # deferred: platformdirs only when $RNNLAB_CACHE is unset

    return Path(user_cache_dir("rnnlab"))
