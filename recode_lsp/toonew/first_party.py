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
    folder = os.path.abspath(given)
    top = None
    current = folder
    while True:
        name = os.path.basename(current)
        if not name.isidentifier() or keyword.iskeyword(name):
            break
        if not any(os.path.isfile(os.path.join(current, marker)) for marker in _MARKERS):
            break
        top = name
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if known is not None:
        known[given] = top
    return top
