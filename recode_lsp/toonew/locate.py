"""Where a release lies, found without importing :mod:`recode_lsp.api_docs` (and its ``subprocess``,
``tarfile`` and ``zipfile``: a hundredth of a second of each ``--too-new`` run) when it was read before.

The same answer as ``ApiDocs._fetched`` with the package root (``tests/toonew/test_toonew_speed.py``
compares them; both use :mod:`recode_lsp.engine.facts`'s names and package root); anything else
(a fetch) goes through ``api_docs``.
"""

from __future__ import annotations

import json
from pathlib import Path

from recode_lsp.engine.facts import distribution_of, package_root, top_package
from recode_lsp.engine.versions import Version, normalise_name

#: ``api_docs.RELEASE_LAYOUT``, not imported from there (a test holds them equal).
RELEASE_LAYOUT = 2


def fetched(cache: Path, library: str, version: Version) -> tuple[Path, str] | None:
    """(folder of the package, exact version) of a release fetched before into ``cache`` (what
    ``ApiDocs(cache)._fetched`` and ``_package_root`` give), else None."""
    folder = cache / f"{normalise_name(distribution_of(library))}-{version}"
    try:
        recorded = json.loads((folder / "release.json").read_text(encoding="utf-8"))
        exact = str(recorded["version"])
        if recorded.get("layout") != RELEASE_LAYOUT:
            return None  # an older layout: api_docs fetches it again (or uses it, when it cannot)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    src = folder / "src"
    if not src.is_dir():
        return None
    root = package_root(src, top_package(library))
    return (root, exact) if root is not None else None
