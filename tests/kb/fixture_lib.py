"""Two releases of a small library, ``kblib`` 1.0 and 2.0, written into a folder by the tests.

Every change the scraper must find is here once (see ``EXPECTED`` in test_kb_scrape.py).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

V1 = {
    "kblib/__init__.py": '''
        """kblib 1.0."""
        from kblib.core import Widget, compute, dropped, fit, legacy_load, load, old_mean, scale

        class Thing:
            """A thing."""

            def __init__(self, size: int = 1) -> None:
                self.size = size
        ''',
    "kblib/core.py": '''
        """Core functions."""


        def compute(data, axis=0):
            """Compute along an axis."""
            return data


        def dropped(x):
            """Gone in 2.0 without a successor."""
            return x


        def old_mean(values, weights=None):
            """Mean of values."""
            return sum(values) / len(values)


        def legacy_load(path, encoding="utf-8"):
            """Load a file the old way."""
            return open(path, encoding=encoding).read()


        def load(path, encoding="utf-8"):
            """Load a file."""
            return open(path, encoding=encoding).read()


        def fit(X, y=None, copy=None):
            """Fit a model."""
            return X


        def scale(x, factor=1):
            """Scale x."""
            return x * factor


        class Widget:
            """A widget."""

            def draw(self, canvas, color="red"):
                """Draw the widget."""
                return canvas

            def render(self, canvas, color="red"):
                """Render the widget on a canvas."""
                return canvas
        ''',
    "kblib/util.py": '''
        """Utilities."""


        def helper(first, second, *, strict=False):
            """Combine first and second into one value, strictly or not."""
            return (first, second)
        ''',
}

V2 = {
    "kblib/__init__.py": '''
        """kblib 2.0."""
        import warnings

        from kblib.core import Widget, compute, fit, legacy_load, load, mean, old_mean, scale

        class NewThing:
            """A thing, renamed."""

            def __init__(self, size: int = 1) -> None:
                self.size = size


        __deprecated_attrs__ = {
            "Thing": ("kblib.Thing is deprecated, use kblib.NewThing instead.", NewThing),
        }


        def __getattr__(name):
            if name in __deprecated_attrs__:
                message, value = __deprecated_attrs__[name]
                warnings.warn(message, DeprecationWarning, stacklevel=2)
                return value
            raise AttributeError(name)
        ''',
    "kblib/core.py": '''
        """Core functions."""
        import warnings

        from typing_extensions import deprecated


        def compute(data, dim=0):
            """Compute along a dimension."""
            return data


        def mean(values, weights=None):
            """Arithmetic mean of values, optionally weighted."""
            return sum(values) / len(values)


        def old_mean(values, weights=None):
            """Mean of values."""
            warnings.warn("old_mean is deprecated, use kblib.core.mean instead", DeprecationWarning, stacklevel=2)
            return mean(values, weights)


        def legacy_load(path, encoding="utf-8"):
            """Removed."""
            raise RuntimeError("legacy_load was removed in kblib 2.0; use kblib.core.load instead.")


        def load(path, encoding="utf-8"):
            """Load a file."""
            return open(path, encoding=encoding).read()


        def fit(X, y=None, copy=None):
            """Fit a model."""
            if copy is not None:
                warnings.warn("The copy parameter is deprecated and will be removed in 3.0.", FutureWarning)
            return X


        def scale(x, factor=2):
            """Scale x."""
            return x * factor


        class Widget:
            """A widget."""

            @deprecated("Widget.draw is deprecated; use render() instead.")
            def draw(self, canvas, color="red"):
                """Draw the widget."""
                return self.render(canvas, color)

            def render(self, canvas, color="red"):
                """Render the widget on a canvas."""
                return canvas
        ''',
    "kblib/tools.py": '''
        """Tools (helper moved here from kblib.util)."""


        def helper(first, second, *, strict=False):
            """Combine first and second into one value, strictly or not."""
            return (first, second)
        ''',
}


def write_release(root: Path, files: dict[str, str]) -> Path:
    """Write one release's files under ``root`` (an unpacked tree) and return ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def write_dist(folder: Path) -> Path:
    """A ``--dist`` folder holding both releases as unpacked trees ``kblib-1.0/`` and ``kblib-2.0/``."""
    write_release(folder / "kblib-1.0", V1)
    write_release(folder / "kblib-2.0", V2)
    return folder
