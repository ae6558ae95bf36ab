"""Three releases of a small library, ``updlib`` 1.0, 2.0 and 3.0, code that uses 1.0, and a standing set.

2.0 renames ``old_mean`` (a DeprecationWarning saying "use updlib.core.mean instead") and the
``axis`` keyword of ``compute`` (now ``dim``); 3.0 moves ``scale`` to ``resize`` (a raising
stub). The corpus uses each old API in several functions, so the data builder mines entries of
two change families for 2.0. The standing set is two CODEMENV-format tasks on the running
Python's standard library (no package to install).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

CORE_1 = '''
    """Core."""


    def compute(data, axis=0):
        """Compute along an axis."""
        return data


    def old_mean(values, weights=None):
        """Mean of values."""
        return sum(values) / len(values)


    def scale(x, factor=1):
        """Scale x by a factor."""
        return x * factor
    '''

CORE_2 = '''
    """Core."""
    import warnings


    def compute(data, dim=0):
        """Compute along a dimension."""
        return data


    def mean(values, weights=None):
        """Arithmetic mean of values, optionally weighted."""
        return sum(values) / len(values)


    def old_mean(values, weights=None):
        """Mean of values."""
        warnings.warn("old_mean is deprecated, use updlib.core.mean instead", DeprecationWarning, stacklevel=2)
        return mean(values, weights)


    def scale(x, factor=1):
        """Scale x by a factor."""
        return x * factor
    '''

CORE_3 = '''
    """Core."""
    import warnings


    def compute(data, dim=0):
        """Compute along a dimension."""
        return data


    def mean(values, weights=None):
        """Arithmetic mean of values, optionally weighted."""
        return sum(values) / len(values)


    def old_mean(values, weights=None):
        """Mean of values."""
        warnings.warn("old_mean is deprecated, use updlib.core.mean instead", DeprecationWarning, stacklevel=2)
        return mean(values, weights)


    def resize(x, factor=1):
        """Scale x by a factor."""
        return x * factor


    def scale(x, factor=1):
        """Removed."""
        raise RuntimeError("scale was removed in updlib 3.0; use updlib.core.resize instead.")
    '''

RELEASES = {
    "1.0": {
        "updlib/__init__.py": '"""updlib 1.0."""\nfrom updlib.core import compute, old_mean, scale\n',
        "updlib/core.py": CORE_1,
    },
    "2.0": {
        "updlib/__init__.py": '"""updlib 2.0."""\nfrom updlib.core import compute, mean, old_mean, scale\n',
        "updlib/core.py": CORE_2,
    },
    "3.0": {
        "updlib/__init__.py": '"""updlib 3.0."""\nfrom updlib.core import compute, mean, old_mean, resize, scale\n',
        "updlib/core.py": CORE_3,
    },
}

#: Code written against updlib 1.0 (the data builder mines it; the findings step counts on it).
CORPUS = {
    "stats.py": '''
        import updlib


        def average(xs):
            """Average of xs."""
            return updlib.old_mean(xs)


        def weighted(xs, w):
            total = updlib.old_mean(xs, weights=w)
            return total * 2


        def centred(xs):
            middle = updlib.old_mean(xs)
            return [x - middle for x in xs]


        def along(data):
            return updlib.compute(data, axis=1)


        def along_rows(data, n):
            out = updlib.compute(data, axis=0)
            return out[:n]


        def smooth(data):
            return [updlib.compute(d, axis=2) for d in data]


        def doubled(x):
            return updlib.scale(x, factor=2)


        def tripled(values):
            return [updlib.scale(v, factor=3) for v in values]
        ''',
}


def write_releases(folder: Path, versions: tuple[str, ...] = ("1.0", "2.0", "3.0")) -> Path:
    """A ``--dist`` / ``--index`` folder with ``updlib-<version>/`` trees."""
    for version in versions:
        for name, text in RELEASES[version].items():
            path = folder / f"updlib-{version}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


def write_corpus(folder: Path) -> Path:
    """A mining corpus: one source ``app-0.1/`` using updlib 1.0."""
    for name, text in CORPUS.items():
        path = folder / "app-0.1" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder


def write_standing_set(folder: Path) -> Path:
    """Two CODEMENV-format tasks (``easy_code.jsonl``) on this interpreter's standard library."""
    here = "{}.{}".format(*sys.version_info[:2])
    tasks = [
        ("add", "def add(a, b):\n    return a + b", "print(add(2, 3))\nprint(add(-1, 1))", "5\n0"),
        ("shout", "def shout(s):\n    return s.upper()", "print(shout('a'))", "A"),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "easy_code.jsonl").open("w", encoding="utf-8") as handle:
        for number, (name, function, driver, expected) in enumerate(tasks):
            row = {
                "code_id": f"standing-{number}-{name}",
                "package": "python",
                "origin_version": here,
                "compare_version": here,
                "solution_function": function,
                "solution_function_script": f"{function}\n\n\n{driver}\n",
                "message": expected,
                "update": "Nothing changed: keep the behaviour.",
            }
            handle.write(json.dumps(row) + "\n")
    return folder
