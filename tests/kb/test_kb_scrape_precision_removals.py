"""``recode-kb scrape`` precision (issue 12): what is still reachable is never a removal.

Curators found 747 of PyTorch's 1,776 candidates still importable: ``__all__`` and star re-exports
were misread, inherited methods and instance attributes taken for removed API, and pandas' removals
found under the defining path (``pandas.core.frame.DataFrame.applymap``) were not merged with the
deprecation found under the public one. Each test writes two small releases modelled on the real
code and checks exactly the entries the scraper makes of them.
"""

from __future__ import annotations

from pathlib import Path

from tests.kb.test_kb_scrape_markers import by_old, rows, scrape

# --- torch: names reachable through __all__, star imports, imports and base classes ------------

REACH_OLD = {
    "tlib/__init__.py": """
        from tlib import jit, onnx, optim, quantization
        """,
    "tlib/onnx/__init__.py": '''
        producer_name = "tlib"


        def export(model):
            """Export a model."""
            return model


        def old_export(model):
            """Export a model the old way."""
            return model
        ''',
    "tlib/quantization/__init__.py": """
        from .quantize import *
        """,
    "tlib/quantization/quantize.py": '''
        __all__ = ["quantize_dynamic", "default_qconfig"]

        default_qconfig = object()


        def quantize_dynamic(model):
            """Quantize a model."""
            return model
        ''',
    "tlib/jit/__init__.py": '''
        import logging

        from tlib.jit._script import is_scripting, script

        log = logging.getLogger(__name__)


        def trace(fn):
            """Trace a function."""
            return fn
        ''',
    "tlib/jit/_script.py": '''
        def is_scripting():
            """Whether the code is being scripted."""
            return False


        def script(fn):
            """Script a function."""
            return fn
        ''',
    "tlib/optim/__init__.py": '''
        class ReduceLROnPlateau:
            """Reduce the learning rate on a plateau."""

            def __init__(self, optimizer, patience=10):
                self.optimizer = optimizer
                self.patience = patience
                self.best = None


        class GradScaler:
            """Scale gradients."""

            def scale(self, outputs):
                """Scale the outputs."""
                return outputs

            def step(self, optimizer):
                """Step the optimizer."""
                return optimizer
        ''',
    "tlib/distributed/__init__.py": """
        from tlib import optim
        """,
}
REACH_NEW = {
    "tlib/__init__.py": """
        from tlib import jit, onnx, optim, quantization
        """,
    # ``producer_name`` now comes in through a star import of a private module, ``export`` through
    # an ``__all__`` built from another module's.
    "tlib/onnx/__init__.py": """
        from tlib.onnx import _exporter
        from tlib.onnx._constants import *
        from tlib.onnx._exporter import export

        __all__ = ["export"] + _exporter.__all__
        """,
    "tlib/onnx/_constants.py": """
        producer_name = "tlib"
        """,
    "tlib/onnx/_exporter.py": '''
        __all__ = ["export"]


        def export(model):
            """Export a model."""
            return model
        ''',
    # ``__all__.extend(...)`` of a submodule's ``__all__``.
    "tlib/quantization/__init__.py": """
        from tlib.quantization import quantize
        from tlib.quantization.quantize import *

        __all__ = []
        __all__.extend(quantize.__all__)
        """,
    "tlib/quantization/quantize.py": REACH_OLD["tlib/quantization/quantize.py"],
    # ``is_scripting`` is still imported, though the new ``__all__`` does not list it; the logger went.
    "tlib/jit/__init__.py": '''
        from tlib.jit._script import is_scripting, script

        __all__ = ["script", "trace"]


        def trace(fn):
            """Trace a function."""
            return fn
        ''',
    "tlib/jit/_script.py": REACH_OLD["tlib/jit/_script.py"],
    # ``best`` is no longer set in ``__init__`` (an instance attribute, not API); ``GradScaler`` now
    # inherits ``scale`` and ``step`` from a base class.
    "tlib/optim/__init__.py": '''
        from tlib.optim._base import _GradScalerBase


        class ReduceLROnPlateau:
            """Reduce the learning rate on a plateau."""

            def __init__(self, optimizer, patience=10):
                self.optimizer = optimizer
                self.patience = patience
                self._reset()

            def _reset(self):
                self._best = None


        class GradScaler(_GradScalerBase):
            """Scale gradients."""
        ''',
    "tlib/optim/_base.py": '''
        class _GradScalerBase:
            def scale(self, outputs):
                """Scale the outputs."""
                return outputs

            def step(self, optimizer):
                """Step the optimizer."""
                return optimizer
        ''',
    # ``from tlib import optim`` in ``tlib.distributed`` was never its API.
    "tlib/distributed/__init__.py": """
        \"\"\"Distributed.\"\"\"
        """,
}


def test_names_still_reachable_are_not_removals(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "tlib", {"1.0": REACH_OLD, "2.0": REACH_NEW})
    # The one real removal, and nothing for what is still there under the same path.
    assert rows(entries) == {("removal", "tlib.onnx.old_export", None, None, None, None, None, "2.0", None, "display")}


# --- pandas: one entry per object, under its public name ---------------------------------------

FRAME_OLD = {
    "plib/__init__.py": """
        from plib.core.frame import DataFrame
        """,
    "plib/core/__init__.py": "",
    "plib/core/frame.py": '''
        import warnings


        class DataFrame:
            """A table."""

            def map(self, func):
                """Apply func to each element."""
                return self

            def applymap(self, func):
                """Apply func to each element."""
                warnings.warn(
                    "DataFrame.applymap has been deprecated. Use DataFrame.map instead.",
                    FutureWarning,
                    stacklevel=2,
                )
                return self.map(func)

            def to_gbq(self, destination):
                """Write to BigQuery."""
                return destination
        ''',
}
FRAME_NEW = {
    "plib/__init__.py": FRAME_OLD["plib/__init__.py"],
    "plib/core/__init__.py": "",
    "plib/core/frame.py": '''
        class DataFrame:
            """A table."""

            def map(self, func):
                """Apply func to each element."""
                return self
        ''',
}


def test_removal_merges_with_the_deprecation_under_the_public_path(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "plib", {"2.2": FRAME_OLD, "3.0": FRAME_NEW})
    assert rows(entries) == {
        # deprecated in 2.2 under plib.DataFrame, removed in 3.0 under plib.core.frame.DataFrame: one entry
        ("rename", "plib.DataFrame.applymap", None, "plib.DataFrame.map", None, None, "2.2", "3.0", None, "safe"),
        ("removal", "plib.DataFrame.to_gbq", None, None, None, None, None, "3.0", None, "display"),
    }
    applymap = by_old(entries)["plib.DataFrame.applymap", None]
    assert [e["what"] for e in applymap.provenance["evidence"]] == ["removed", "warnings.warn (deprecation)"]


# --- numpy: names deleted again, bound only under __main__ or at run time ----------------------

NPY_OLD = {
    "nlib/__init__.py": """
        import os

        from nlib.lib import Arrayterator, ndindex

        __all__ = ["ndindex", "Arrayterator", "float_"]
        __all__.remove("Arrayterator")
        del Arrayterator

        float_ = float

        use_hugepage = os.environ.get("NLIB_HUGEPAGE")
        del use_hugepage
        """,
    "nlib/lib.py": '''
        import os


        class Arrayterator:
            """Buffered iterator."""


        class ndindex:
            """An N-dimensional iterator."""


        rocm_version_h = "rocm_version.h"
        if os.path.isfile(rocm_version_h):
            RE_MAJOR = "major"

        if __name__ == "__main__":
            temp = ndindex()
        ''',
}
NPY_NEW = {
    "nlib/__init__.py": """
        from nlib.lib import ndindex

        __all__ = ["ndindex"]
        """,
    "nlib/lib.py": '''
        class Arrayterator:
            """Buffered iterator."""


        class ndindex:
            """An N-dimensional iterator."""


        rocm_version_h = "rocm_version.h"
        ''',
}


def test_names_the_old_release_never_kept_are_not_removals(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "nlib", {"1.26": NPY_OLD, "2.0": NPY_NEW})
    # ``Arrayterator`` and ``use_hugepage`` were deleted again, ``RE_MAJOR`` bound only on some
    # machines, ``temp`` only when run as a script: only ``float_`` was API, and went.
    assert rows(entries) == {("removal", "nlib.float_", None, None, None, None, None, "2.0", None, "display")}


# --- torch: names only compiled code binds, and a __getattr__ that hands out deprecated ones -----

COMPILED_OLD = {
    "tlib/__init__.py": """
        from tlib._C import *

        has_mkldnn = True
        """,
    "tlib/_C/__init__.pyi": """
        def is_autocast_enabled() -> bool: ...
        def set_autocast_enabled(enabled: bool) -> None: ...
        """,
}
COMPILED_NEW = {
    "tlib/__init__.py": '''
        import warnings

        from tlib._C import *


        def _mkldnn_is_available():
            """Whether MKL-DNN is available."""
            return True


        _deprecated_attrs = {"has_mkldnn": _mkldnn_is_available}


        def __getattr__(name):
            replacement = _deprecated_attrs.get(name)
            if replacement is not None:
                warnings.warn(f"'{name}' is deprecated, please use '{replacement.__name__}()'", stacklevel=2)
                return replacement()
            raise AttributeError(name)
        ''',
    # The stub no longer lists them (they are bound by the compiled module all the same).
    "tlib/_C/__init__.pyi": """
        def set_autocast_enabled(device_type: str, enabled: bool) -> None: ...
        """,
}


def test_names_bound_at_run_time_are_not_removals(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "tlib", {"2.0": COMPILED_OLD, "2.4": COMPILED_NEW})
    # ``is_autocast_enabled`` comes from ``from tlib._C import *`` in both releases: not a removal.
    # ``has_mkldnn`` is handed out by ``__getattr__`` with a warning: deprecated, not removed.
    assert rows(entries) == {("removal", "tlib.has_mkldnn", None, None, None, None, "2.4", None, None, "display")}
    assert by_old(entries)["tlib.has_mkldnn", None].record["note"].startswith("'has_mkldnn' is deprecated")
