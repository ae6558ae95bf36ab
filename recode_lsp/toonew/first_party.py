"""A module's own top-level package, read from the folders above it.

A module inside a package imports that package's code from the same tree, whatever release of it the
project pins or has installed: ``sklearn/utils/validation.py`` importing ``sklearn.base`` gets the
``sklearn/base.py`` beside it. Checking such an import against scikit-learn 1.2's release would report
every name the tree added since (a development branch is all "too new"), and search each module for
its own package's names for nothing. ``--too-new`` leaves a module's own package out; every other
library the module imports is checked as before.
"""

from __future__ import annotations

import keyword
import os

__all__ = ["own_package"]

_MARKERS = ("__init__.py", "__init__.pyi")


def own_package(path: str | os.PathLike[str], known: dict[str, str | None] | None = None) -> str | None:
    """The top-level package that holds the module at ``path``: the highest of the folders above it,
    each holding an ``__init__.py`` (or ``.pyi``) with no gap, whose names can be imported. None for a
    module outside any package (a script, a namespace package's module: nothing says what it is part
    of, so everything it imports is checked). ``known``: answers by folder, kept by a caller for a run
    (each module of a tree would otherwise look at the same folders again)."""
    given = os.path.dirname(os.fspath(path))  # as given first: one lookup for each module of a folder
    if known is not None and given in known:
        return known[given]
    top = _top_of(os.path.abspath(given), known if known is not None else {})
    if known is not None:
        known[given] = top
    return top


def _top_of(folder: str, known: dict[str, str | None]) -> str | None:
    """:func:`own_package` of a module in ``folder`` (absolute), each folder looked at once (``known``
    holds them apart from the folders as given: under a NUL, which no path holds)."""
    key = "\0" + folder
    if key in known:
        return known[key]
    name = os.path.basename(folder)
    top = None
    importable = name.isidentifier() and not keyword.iskeyword(name)
    if importable and any(os.path.isfile(os.path.join(folder, marker)) for marker in _MARKERS):
        parent = os.path.dirname(folder)
        top = (_top_of(parent, known) if parent != folder else None) or name
    known[key] = top
    return top
