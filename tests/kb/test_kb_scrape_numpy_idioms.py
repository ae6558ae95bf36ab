"""``recode-kb scrape`` on NumPy 1.x's idioms (issue 12: held-out recall on numpy 1.23 -> 1.25 was 1/14).

Each release written here is a small package built the way ``numpy/__init__.py`` and ``numpy/core`` are:

* ``__all__`` grown by ``__all__.extend(core.__all__)`` and by a helper, ``extend_all(fromnumeric)``, and a
  package ``__init__.pyi`` stub beside the star imports (griffe expanded those star imports before ``__all__``,
  so ``np.product`` was not public and its deprecation came out as ``numpy.core.product``);
* the deprecation warning in the private dispatcher that ``@array_function_dispatch(...)`` receives;
* ``__getattr__`` tables built by dict comprehensions over a literal list, ``.update(...)`` and
  ``table["name"] = ...``, read in ``try: ... = table[attr] except KeyError: ... else: warn(...)``;
* an alias of a builtin (``np.float``) whose replacement is the builtin, not a member named ``float``.
"""

from __future__ import annotations

from pathlib import Path

from tests.kb.test_kb_scrape_markers import by_old, scrape

FROMNUMERIC = '''
    __all__ = ["prod", "product", "around", "round_"]


    def prod(a, axis=None, dtype=None, out=None):
        """Product of array elements."""
        return a


    def around(a, decimals=0, out=None):
        """Round an array."""
        return a


    def product(*args, **kwargs):
        """Deprecated alias of prod."""
        return prod(*args, **kwargs)


    round_ = around
    '''

FROMNUMERIC_DEPRECATED = '''
    import warnings

    __all__ = ["prod", "product", "around", "round_"]


    def array_function_dispatch(dispatcher, verify=True):
        def decorator(implementation):
            return implementation
        return decorator


    def _prod_dispatcher(a, axis=None, dtype=None, out=None):
        return (a, out)


    @array_function_dispatch(_prod_dispatcher)
    def prod(a, axis=None, dtype=None, out=None):
        """Product of array elements."""
        return a


    def _around_dispatcher(a, decimals=None, out=None):
        return (a, out)


    @array_function_dispatch(_around_dispatcher)
    def around(a, decimals=0, out=None):
        """Round an array."""
        return a


    def _product_dispatcher(a, axis=None, dtype=None, out=None):
        # 2023-03-02, 1.25.0
        warnings.warn("`product` is deprecated as of NumPy 1.25.0, and will be "
                      "removed in NumPy 2.0. Please use `prod` instead.",
                      DeprecationWarning, stacklevel=3)
        return (a, out)


    @array_function_dispatch(_product_dispatcher, verify=False)
    def product(*args, **kwargs):
        """Deprecated alias of prod."""
        return prod(*args, **kwargs)


    def _round__dispatcher(a, decimals=None, out=None):
        warnings.warn("`round_` is deprecated as of NumPy 1.25.0, and will be "
                      "removed in NumPy 2.0. Please use `round` instead.",
                      DeprecationWarning, stacklevel=3)
        return (a, out)


    @array_function_dispatch(_round__dispatcher)
    def round_(a, decimals=0, out=None):
        """Deprecated alias of around."""
        return around(a, decimals=decimals, out=out)


    round = around
    __all__ += ["round"]
    '''

NUMERIC = """
    from . import fromnumeric
    from .fromnumeric import *

    __all__ = ["ones"]


    def ones(shape):
        return shape


    def extend_all(module):
        existing = set(__all__)
        mall = getattr(module, "__all__")
        for a in mall:
            if a not in existing:
                __all__.append(a)


    extend_all(fromnumeric)
    """

CORE_INIT = """
    from . import numeric
    from .numeric import *

    __all__ = ["char"]
    __all__ += numeric.__all__
    char = None
    """

OLD_INIT = """
    import builtins as _builtins

    __NUMPY_SETUP__ = False

    if __NUMPY_SETUP__:
        pass
    else:
        __all__ = ["ModuleDeprecationWarning"]
        __deprecated_attrs__ = {}

        from . import core
        from .core import *

        _msg = (
            "`np.{n}` is a deprecated alias for the builtin `{n}`. "
            "To silence this warning, use `{n}` by itself. {extended_msg}")
        _specific_msg = "If you specifically wanted the numpy scalar type, use `np.{}` here."
        _type_info = [
            ("float", _specific_msg.format("float64")),
            ("int", _specific_msg.format("int_")),
        ]
        __deprecated_attrs__.update({
            n: (getattr(_builtins, n), _msg.format(n=n, extended_msg=extended_msg))
            for n, extended_msg in _type_info
        })
        __deprecated_attrs__["typeDict"] = (core.char, "`np.typeDict` is a deprecated alias for `np.sctypeDict`.")

        __all__.extend(core.__all__)

        class ModuleDeprecationWarning(DeprecationWarning):
            pass

        def __getattr__(attr):
            import warnings
            try:
                val, msg = __deprecated_attrs__[attr]
            except KeyError:
                pass
            else:
                warnings.warn(msg, DeprecationWarning, stacklevel=2)
                return val
            raise AttributeError("module {!r} has no attribute {!r}".format(__name__, attr))
    """

NEW_INIT = """
    __NUMPY_SETUP__ = False

    if __NUMPY_SETUP__:
        pass
    else:
        __all__ = ["ModuleDeprecationWarning"]
        __deprecated_attrs__ = {}

        from . import core
        from .core import *

        _msg = (
            "module 'numpy' has no attribute '{n}'.\\n"
            "`np.{n}` was a deprecated alias for the builtin `{n}`. "
            "To avoid this error in existing code, use `{n}` by itself. {extended_msg}")
        _specific_msg = "If you specifically wanted the numpy scalar type, use `np.{}` here."
        _type_info = [
            ("float", _specific_msg.format("float64")),
            ("int", _specific_msg.format("int_")),
        ]
        __former_attrs__ = {
            n: _msg.format(n=n, extended_msg=extended_msg)
            for n, extended_msg in _type_info
        }

        _msg = "`np.{n}` is a deprecated alias for `{an}`.  (Deprecated NumPy 1.24)"
        _type_info = [
            ("bool8", core.char, "np.bool_"),
        ]
        __deprecated_attrs__.update({
            n: (alias, _msg.format(n=n, an=an)) for n, alias, an in _type_info})
        __deprecated_attrs__["typeDict"] = (core.char, "`np.typeDict` is a deprecated alias for `np.sctypeDict`.")

        __all__.extend(core.__all__)
        __all__.remove("round")

        bool_ = bool

        class ModuleDeprecationWarning(DeprecationWarning):
            pass

        def __getattr__(attr):
            import warnings
            try:
                val, msg = __deprecated_attrs__[attr]
            except KeyError:
                pass
            else:
                warnings.warn(msg, DeprecationWarning, stacklevel=2)
                return val
            if attr in __former_attrs__:
                raise AttributeError(__former_attrs__[attr])
            raise AttributeError("module {!r} has no attribute {!r}".format(__name__, attr))
    """

#: The package's stub declares only some names, as ``numpy/__init__.pyi`` does.
STUB = """
    from npx.core.fromnumeric import prod as prod

    class ModuleDeprecationWarning(DeprecationWarning): ...
    """


def release(init: str, fromnumeric: str) -> dict[str, str]:
    return {
        "npx/__init__.py": init,
        "npx/__init__.pyi": STUB,
        "npx/core/__init__.py": CORE_INIT,
        "npx/core/numeric.py": NUMERIC,
        "npx/core/fromnumeric.py": fromnumeric,
    }


def test_numpy_1x_deprecations_are_found_under_their_public_names(tmp_path: Path) -> None:
    releases = {"1.23": release(OLD_INIT, FROMNUMERIC), "1.25": release(NEW_INIT, FROMNUMERIC_DEPRECATED)}
    entries = by_old(scrape(tmp_path, "npx", releases))
    # The dispatcher's warning is about ``product``, reached as ``npx.product`` through two star imports
    # whose ``__all__`` grew by ``extend_all(...)`` and ``__all__.extend(...)``; a forwarder of
    # ``*args, **kwargs`` takes every call of ``prod``, so the rename is safe.
    product = entries[("npx.product", None)].record
    assert (product["kind"], product["new"], product["fix"], product["deprecated_in"]) == (
        "rename",
        "npx.prod",
        "safe",
        "1.25.0",
    )
    round_ = entries[("npx.round_", None)].record
    assert (round_["kind"], round_["new"], round_["fix"]) == ("rename", "npx.round", "safe")
    assert ("npx.core.product", None) not in entries
    assert ("npx.core.fromnumeric._product_dispatcher", None) not in entries
    # ``__deprecated_attrs__`` of a comprehension: deprecated in 1.23, removed by ``__former_attrs__`` in
    # 1.25; the replacement is the builtin, and the message has the loop's strings put in.
    float_ = entries[("npx.float", None)].record
    assert (float_["kind"], float_["new"], float_["fix"], float_["removed_in"]) == ("rename", "float", "safe", "1.25")
    assert "use `np.float64` here" in float_["note"]
    assert "{extended_msg}" not in float_["note"]
    assert entries[("npx.int", None)].record["new"] == "int"
    # ``table["name"] = ...`` and ``.update({comprehension})`` entries.
    type_dict = entries[("npx.typeDict", None)].record
    assert (type_dict["deprecated_in"], type_dict["removed_in"]) == ("1.23", None)
    bool8 = entries[("npx.bool8", None)].record
    assert bool8["deprecated_in"] == "1.25"
    assert bool8["note"] == "`np.bool8` is a deprecated alias for `np.bool_`. (Deprecated NumPy 1.24)"


CONF_OLD = '''
    def build_component_list(compdict, custom=None, convert=None):
        """Compose a component list from a dict of {name: order}."""
        return compdict
    '''
CONF_NEW = '''
    def build_component_list(compdict, *, convert=None):
        """Compose a component list from a dict of {name: order}."""
        return compdict
    '''
#: A package that imports another package's helper for its own use (Scrapy's ``scrapy.pipelines``).
PIPELINES = """
    from spx.utils.conf import build_component_list


    class ItemPipelineManager:
        def __init__(self, settings):
            self.components = build_component_list(settings)
    """


def test_a_name_is_reported_where_it_is_defined_not_where_a_sibling_package_imports_it(tmp_path: Path) -> None:
    def release(conf: str) -> dict[str, str]:
        return {
            "spx/__init__.py": "",
            "spx/utils/__init__.py": "",
            "spx/utils/conf.py": conf,
            "spx/pipelines/__init__.py": PIPELINES,
        }

    entries = by_old(scrape(tmp_path, "spx", {"2.8": release(CONF_OLD), "2.11": release(CONF_NEW)}))
    assert ("spx.utils.conf.build_component_list", "custom") in entries
    assert ("spx.pipelines.build_component_list", "custom") not in entries


DECORATORS = """
    import functools
    import warnings


    def deprecate_kwarg(old_arg_name, new_arg_name):
        def decorate(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                if old_arg_name in kwargs:
                    warnings.warn(
                        f"the '{old_arg_name}' keyword is deprecated, use '{new_arg_name}' instead.",
                        FutureWarning,
                    )
                    kwargs[new_arg_name] = kwargs.pop(old_arg_name)
                return func(*args, **kwargs)
            return wrapper
        return decorate
    """
FRAME_OLD = """
    from pdx._decorators import deprecate_kwarg


    class NDFrame:
        @deprecate_kwarg(old_arg_name="line_terminator", new_arg_name="lineterminator")
        def to_csv(self, path=None, sep=",", lineterminator=None):
            return path
    """
FRAME_NEW = """
    class NDFrame:
        def to_csv(self, path=None, sep=",", lineterminator=None):
            return path
    """


def test_a_keyword_only_a_decorator_took_is_removed_with_the_decorator(tmp_path: Path) -> None:
    """pandas 1.5 took ``to_csv(line_terminator=)`` through ``@deprecate_kwarg`` only; 2.0 dropped it."""

    def release(frame: str) -> dict[str, str]:
        return {
            "pdx/__init__.py": "from pdx.generic import NDFrame\n",
            "pdx/_decorators.py": DECORATORS,
            "pdx/generic.py": frame,
        }

    entries = by_old(scrape(tmp_path, "pdx", {"1.5": release(FRAME_OLD), "2.0": release(FRAME_NEW)}))
    record = entries[("pdx.NDFrame.to_csv", "line_terminator")].record
    assert (record["kind"], record["new_keyword"], record["deprecated_in"], record["removed_in"], record["fix"]) == (
        "keyword_rename",
        "lineterminator",
        "1.5",
        "2.0",
        "safe",
    )


#: Matplotlib's ``_api``: ``rename_parameter``'s docstring and ``delete_parameter``'s warning for the
#: arguments after the deleted one both speak of passing "positionally"; ``make_keyword_only`` is about that.
MPL_API = '''
    import functools
    import inspect
    import warnings


    def warn_deprecated(since, *, message="", name="", alternative=""):
        warnings.warn(message or f"{name} was deprecated in {since}", DeprecationWarning)


    def rename_parameter(since, old, new, func=None):
        """Decorator indicating that parameter *old* of *func* is renamed to *new*.

        If *new* is also passed but positionally, a TypeError will be raised by the
        underlying function during argument binding.
        """
        def wrapper(*args, **kwargs):
            if old in kwargs:
                warn_deprecated(since, message=f"The {old!r} parameter has been renamed {new!r}")
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return wrapper


    def delete_parameter(since, name, func=None):
        """Decorator indicating that parameter *name* of *func* is being deprecated."""
        def wrapper(*args, **kwargs):
            if len(args) > 3:
                warn_deprecated(since, message="Additional positional arguments are deprecated")
            if name in kwargs:
                warn_deprecated(since, name=repr(name))
            return func(*args, **kwargs)
        return wrapper


    def deprecated(since, *, message="", alternative=""):
        def decorate(obj):
            def wrapper(*args, **kwargs):
                warn_deprecated(since, message=message, alternative=alternative)
                return obj(*args, **kwargs)
            return wrapper
        return decorate


    def make_keyword_only(since, name, func=None):
        def wrapper(*args, **kwargs):
            warn_deprecated(since, message=f"Passing {name} positionally is deprecated")
            return func(*args, **kwargs)
        return wrapper
    '''
SCALE_OLD = """
    class LogTransform:
        def transform_non_affine(self, a):
            return a

        def set_params(self, base=None, numdecs=4):
            return base

        def draw(self, renderer, inframe=False):
            return renderer


    def get_scale_docs():
        return ""
    """
SCALE_NEW = """
    from mplx import _api


    class LogTransform:
        @_api.rename_parameter("3.8", "a", "values")
        def transform_non_affine(self, values):
            return values

        @_api.delete_parameter("3.8", "numdecs")
        def set_params(self, base=None, numdecs=4):
            return base

        @_api.make_keyword_only("3.8", "inframe")
        def draw(self, renderer, inframe=False):
            return renderer


    def get_scale_docs():
        _api.warn_deprecated(
            "3.8",
            message="The %(name)s %(obj_type)s was deprecated in Matplotlib %(since)s and will be removed "
            "%(removal)s.",
        )
        return ""
    """


def test_matplotlib_parameter_decorators_deprecate_and_still_accept(tmp_path: Path) -> None:
    def release(scale: str) -> dict[str, str]:
        return {"mplx/__init__.py": "", "mplx/_api.py": MPL_API, "mplx/scale.py": scale}

    entries = by_old(scrape(tmp_path, "mplx", {"3.7": release(SCALE_OLD), "3.9": release(SCALE_NEW)}))
    renamed = entries[("mplx.scale.LogTransform.transform_non_affine", "a")].record
    # ``a=`` still works in 3.9 (with a warning): deprecated, not removed.
    assert (renamed["kind"], renamed["new_keyword"], renamed["deprecated_in"], renamed["removed_in"]) == (
        "keyword_rename",
        "values",
        "3.8",
        None,
    )
    deleted = entries[("mplx.scale.LogTransform.set_params", "numdecs")].record
    assert (deleted["deprecated_in"], deleted["removed_in"]) == ("3.8", None)
    # A helper's %-template is filled in from what the marker knows.
    assert entries[("mplx.scale.get_scale_docs", None)].record["note"] == (
        "The get_scale_docs function was deprecated in Matplotlib 3.8 and will be removed in a future version."
    )
    assert ("mplx.scale.LogTransform.draw", "inframe") not in entries  # how it is passed, not the parameter


COLLECTIONS_OLD = """
    class PolyCollection:
        def span_where(self, x, ymin, ymax, where):
            return None

        def get_paths(self):
            return []


    class Axes:
        def fill_between(self, x, y1, y2=0):
            return None
    """
COLLECTIONS_NEW = """
    from mplx import _api


    class PolyCollection:
        @_api.deprecated("3.7", alternative="fill_between")
        def span_where(self, x, ymin, ymax, where):
            return None

        @_api.deprecated("3.7", alternative="get_path_list")
        def get_paths(self):
            return []


    class Axes:
        def fill_between(self, x, y1, y2=0):
            return None


    class PolyQuadMesh(PolyCollection):
        @_api.deprecated("3.7")
        def get_array(self):
            return None
    """


def test_a_bare_alternative_is_the_class_member_only_when_no_other_class_has_it(tmp_path: Path) -> None:
    """``alternative="fill_between"`` on a collection means ``Axes.fill_between`` (matplotlib 3.7), not a
    ``PolyCollection.fill_between`` that does not exist; a name no class has is the class's own."""

    def release(collections: str) -> dict[str, str]:
        return {"mplx/__init__.py": "", "mplx/_api.py": MPL_API, "mplx/collections.py": collections}

    entries = by_old(scrape(tmp_path, "mplx", {"3.6": release(COLLECTIONS_OLD), "3.7": release(COLLECTIONS_NEW)}))
    assert entries[("mplx.collections.PolyCollection.span_where", None)].record["replacement"] == "`fill_between`"
    assert entries[("mplx.collections.PolyCollection.get_paths", None)].record["replacement"] == (
        "`mplx.collections.PolyCollection.get_path_list`"
    )
    # A class the old release did not have, whose member the new one deprecates at once: no migration.
    assert ("mplx.collections.PolyQuadMesh.get_array", None) not in entries


PS_OLD = """
    psDefs = ["/_d { bind def } bind def"]
    """
PS_NEW = """
    from mplx import _api

    _psDefs = ["/_d { bind def } bind def"]


    @_api.caching_module_getattr
    class __getattr__:
        psDefs = _api.deprecated("3.8", obj_type="")(property(lambda self: _psDefs))
    """


def test_a_deprecated_property_of_a_module_getattr_class_is_a_deprecation_not_a_removal(tmp_path: Path) -> None:
    """Matplotlib serves deprecated module attributes from ``@caching_module_getattr class __getattr__``."""

    def release(ps: str) -> dict[str, str]:
        api = MPL_API + "\n\n    def caching_module_getattr(cls):\n        return cls\n"  # MPL_API is indented
        return {"mplx/__init__.py": "", "mplx/_api.py": api, "mplx/backend_ps.py": ps}

    entries = by_old(scrape(tmp_path, "mplx", {"3.7": release(PS_OLD), "3.9": release(PS_NEW)}))
    record = entries[("mplx.backend_ps.psDefs", None)].record
    assert (record["kind"], record["deprecated_in"], record["removed_in"]) == ("removal", "3.8", None)
