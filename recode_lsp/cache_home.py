"""Where ReCode keeps its caches: one folder per user, never inside an analysed project.

``$RECODE_CACHE_DIR``, else ``$XDG_CACHE_HOME/recode``, else ``~/.cache/recode``. The CLI's
result cache, the API docs of fetched releases (hover, the validator, ``recode-kb``) all live
below it, so a repository can plant nothing that ReCode reads back.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """The user's ReCode cache folder (absolute)."""
    base = os.environ.get("RECODE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "recode"
    )
    return Path(os.path.abspath(base))


def api_docs_cache_dir() -> Path:
    """Releases fetched from the package index, shared by hover, the validator and ``recode-kb``."""
    return cache_home() / "api-docs"
