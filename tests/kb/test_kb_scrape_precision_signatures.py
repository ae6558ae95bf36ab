"""``recode-kb scrape`` precision (issue 12): parameters, read from the ``.py`` sources.

A keyword rename needs evidence (a message, the same default and a similar name, or a signature
whose only change is that name), never the position alone, and never to a private parameter
(PyTorch's ``prepare_fx(backend_config_dict=)`` was paired with ``_equalization_config``). A ``.pyi``
stub's rewrite (NumPy's: ``__a`` for ``a``, ``...`` for a default, an attribute for a function) is
no change of the API, while the implementation's removals are (NumPy 2.4's ``reshape(newshape=)``,
``nanpercentile(interpolation=)``, ``array2string(style=)``, in a private module re-exported by the
package).
"""

from __future__ import annotations

from pathlib import Path

from tests.kb.test_kb_scrape_markers import rows, scrape

FX_OLD = '''
    def prepare_fx(model, qconfig_dict, prepare_custom_config_dict=None, equalization_qconfig_dict=None,
                   backend_config_dict=None):
        """Prepare a model for quantization."""
        return model
    '''
FX_NEW = '''
    def prepare_fx(model, qconfig_mapping, example_inputs, prepare_custom_config=None, _equalization_config=None,
                   backend_config=None):
        """Prepare a model for quantization."""
        return model
    '''


def test_keyword_renames_need_evidence_not_a_position(tmp_path: Path) -> None:
    old = {"tlib/__init__.py": "", "tlib/quantize_fx.py": FX_OLD}
    new = {"tlib/__init__.py": "", "tlib/quantize_fx.py": FX_NEW}
    entries = scrape(tmp_path, "tlib", {"1.12": old, "2.0": new})
    fx = "tlib.quantize_fx.prepare_fx"
    assert rows(entries) == {
        # the same default and the old name spelled out in the new one
        (
            "keyword_rename",
            fx,
            "prepare_custom_config_dict",
            None,
            "prepare_custom_config",
            None,
            None,
            "2.0",
            None,
            "safe",
        ),
        ("keyword_rename", fx, "backend_config_dict", None, "backend_config", None, None, "2.0", None, "safe"),
        # no evidence (``qconfig_mapping`` is no spelling of ``qconfig_dict``; ``_equalization_config``
        # is private, though at the place of ``backend_config_dict``... and of the same default)
        ("signature_change", fx, "qconfig_dict", None, None, None, None, "2.0", None, "display"),
        ("signature_change", fx, "equalization_qconfig_dict", None, None, None, None, "2.0", None, "display"),
    }


NPY_OLD = {
    "nlib/__init__.py": """
        from nlib._core import reshape
        from nlib._core.arrayprint import array2string
        from nlib._core.multiarray import concatenate
        from nlib._core.nanfunctions import nanpercentile, percentile
        from nlib._core.umath import add
        from nlib._core.tools import concat, fit, softplus
        """,
    # The package re-exports through a star import; the stub only annotates ``__all__``.
    "nlib/_core/__init__.py": "from .fromnumeric import *\n",
    "nlib/_core/fromnumeric.py": '''
        __all__ = ["reshape"]


        def reshape(a, newshape=None, order="C", *, shape=None):
            """Gives a new shape to an array."""
            return a
        ''',
    "nlib/_core/fromnumeric.pyi": """
        __all__: list[str]

        def reshape(a, newshape, order=...): ...
        """,
    # A Python stand-in for compiled code: its signature is the dispatcher's, rewritten at will.
    "nlib/_core/multiarray.py": '''
        from nlib._core import _umath
        from nlib._core.overrides import array_function_from_c_func_and_dispatcher


        @array_function_from_c_func_and_dispatcher(_umath.concatenate)
        def concatenate(arrays, axis=None, out=None):
            """Join arrays along an axis."""
            return arrays
        ''',
    "nlib/_core/overrides.py": """
        def array_function_from_c_func_and_dispatcher(implementation):
            def decorator(dispatcher):
                return implementation

            return decorator
        """,
    "nlib/_core/arrayprint.py": '''
        _NoValue = object()


        def array2string(a, max_line_width=None, style=_NoValue):
            """Return a string representation of an array."""
            return str(a)
        ''',
    "nlib/_core/nanfunctions.py": '''
        def percentile(a, q, axis=None):
            """Percentile."""
            return a


        def nanpercentile(a, q, axis=None, *, interpolation=None):
            """Percentile, ignoring NaNs."""
            return a
        ''',
    # C code: only the stubs say what the parameters are (rewritten between releases).
    "nlib/_core/umath.pyi": """
        def add(__x1, __x2, out=None): ...
        """,
    "nlib/multiarray.pyi": """
        class dtype:
            def newbyteorder(self, __new_order=...): ...
            def setfield(self, val, dtype, offset=...): ...
        """,
    "nlib/_core/tools.py": '''
        def concat(objs, sort=False):
            """Concatenate."""
            return objs


        def softplus(x, beta=1):
            """Softplus."""
            return x


        def fit(x, lr=0.01):
            """Fit."""
            return x
        ''',
}
NPY_NEW = {
    **NPY_OLD,
    "nlib/_core/fromnumeric.py": '''
        __all__ = ["reshape"]


        def reshape(a, /, shape=None, order="C", *, copy=None):
            """Gives a new shape to an array."""
            return a
        ''',
    "nlib/_core/multiarray.py": NPY_OLD["nlib/_core/multiarray.py"].replace("axis=None", "axis=0"),
    "nlib/_core/fromnumeric.pyi": """
        from typing import overload

        __all__: list[str]

        @overload
        def reshape(a, /, shape: int, order=...): ...
        @overload
        def reshape(a, /, shape: tuple[int, ...], order=...): ...
        """,
    "nlib/_core/arrayprint.py": '''
        def array2string(a, max_line_width=None):
            """Return a string representation of an array."""
            return str(a)
        ''',
    "nlib/_core/arrayprint.pyi": """
        def array2string(a, max_line_width=...): ...
        """,
    "nlib/_core/nanfunctions.py": '''
        def percentile(a, q, axis=None):
            """Percentile."""
            return a


        def nanpercentile(a, q, axis=None):
            """Percentile, ignoring NaNs."""
            return a
        ''',
    # The stub says "same as percentile": an attribute where the source has a function.
    "nlib/_core/nanfunctions.pyi": """
        from typing import Final

        def percentile(a, q, axis=...): ...

        nanpercentile: Final = percentile
        """,
    "nlib/_core/umath.pyi": """
        def add(x1, x2, /, out=..., *, where=...): ...
        """,
    "nlib/multiarray.pyi": """
        class dtype:
            def newbyteorder(self, new_order=..., /): ...
            def setfield(self, val, dtype, offset=0): ...
        """,
    "nlib/_core/tools.py": '''
        from nlib._core import lib


        def concat(objs, sort=lib.no_default):
            """Concatenate."""
            return objs


        def softplus(x, beta=1.0):
            """Softplus."""
            return x


        def fit(x, lr=0.001):
            """Fit."""
            return x
        ''',
    "nlib/_core/lib.py": "no_default = object()\n",
}


def test_signatures_come_from_the_implementation_not_the_stubs(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "nlib", {"2.1": NPY_OLD, "2.4": NPY_NEW})
    assert rows(entries) == {
        ("signature_change", "nlib.reshape", "newshape", None, None, None, None, "2.4", None, "display"),
        ("signature_change", "nlib.nanpercentile", "interpolation", None, None, None, None, "2.4", None, "display"),
        ("signature_change", "nlib.array2string", "style", None, None, None, None, "2.4", None, "display"),
        # a real change of a default (``sort`` got a "not given" sentinel, ``beta`` the same value)
        ("behaviour_change", "nlib.fit", None, None, None, None, None, "2.4", None, "display"),
    }
