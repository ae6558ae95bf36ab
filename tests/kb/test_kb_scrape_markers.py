"""``recode-kb scrape``: deprecations found the way real libraries write them (issue 12, curation defects).

Each test writes two (or more) small releases of a library modelled on one real library's idiom
and checks exactly the entries the scraper makes of them: kind, versions, replacement and fix.
"""

from __future__ import annotations

from pathlib import Path

from recode_lsp.kb import overlay
from tests.kb.fixture_lib import write_release
from tests.kb.test_kb_scrape import recode_kb

COLUMNS = (
    "kind",
    "old",
    "old_keyword",
    "new",
    "new_keyword",
    "replacement",
    "deprecated_in",
    "removed_in",
    "restored_in",
    "fix",
)


def scrape(tmp_path: Path, library: str, releases: dict[str, dict[str, str]]) -> list[overlay.ScrapedEntry]:
    """Write ``releases`` (version -> files) and scrape them as one chain, offline."""
    dist = tmp_path / "dist"
    for version, files in releases.items():
        write_release(dist / f"{library}-{version}", files)
    out = tmp_path / f"{library}.jsonl"
    result = recode_kb(
        "scrape", library, "--versions", ",".join(releases), "--dist", str(dist), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "left out" not in result.stderr
    return overlay.loads(out.read_text(), str(out))


def rows(entries: list[overlay.ScrapedEntry]) -> set[tuple[object, ...]]:
    return {tuple(e.record.get(k) for k in COLUMNS) for e in entries}


def by_old(entries: list[overlay.ScrapedEntry]) -> dict[tuple[str, str | None], overlay.ScrapedEntry]:
    return {(e.record["old"], e.record["old_keyword"]): e for e in entries}


# --- deprecations of the old release, removals in the new one -----------------------------------

CARRY_OLD = {
    "dlib/__init__.py": '''
        import warnings

        from typing_extensions import deprecated


        def new_f(x):
            """Do it."""
            return x


        @deprecated("old_f is deprecated since 0.9; use new_f instead.")
        def old_f(x):
            """Do it."""
            return x


        def older(x):
            warnings.warn("older is deprecated, use dlib.new_f instead", DeprecationWarning)
            return x


        def fit(X, n_iter=None, max_iter=10):
            if n_iter is not None:
                warnings.warn("n_iter is deprecated since 0.8; use max_iter instead.", FutureWarning)
            return X


        class Modern:
            """The new way."""


        _deprecated_names = {"Legacy": "dlib.Legacy is deprecated, use dlib.Modern instead."}


        def __getattr__(name):
            if name in _deprecated_names:
                warnings.warn(_deprecated_names[name], DeprecationWarning)
                return Modern
            raise AttributeError(name)
        ''',
}
CARRY_NEW = {
    "dlib/__init__.py": '''
        def new_f(x):
            """Do it."""
            return x


        def fit(X, max_iter=10):
            return X


        class Modern:
            """The new way."""
        ''',
}


COMPAT_OLD = "def helper(x):\n    return x\n"
#: A module that warns when imported.
COMPAT_NEW = (
    "import warnings\n\nwarnings.warn('dlib.compat is deprecated since 1.5 and will be removed in 3.0; "
    "use dlib.new_f instead', DeprecationWarning)\n\n\n" + COMPAT_OLD
)


def test_deprecations_in_the_old_release_carry_over_to_the_removal(tmp_path: Path) -> None:
    old = {**CARRY_OLD, "dlib/compat.py": COMPAT_OLD}
    new = {**CARRY_NEW, "dlib/compat.py": COMPAT_NEW}
    entries = scrape(tmp_path, "dlib", {"1.0": old, "2.0": new})
    assert rows(entries) == {
        # a module that warns when imported (not a drop-in for a module: display only)
        ("removal_with_replacement", "dlib.compat", None, None, None, "`dlib.new_f`", "1.5", None, None, "display"),
        # deprecated_in from the old marker's message, the replacement from it too
        ("rename", "dlib.old_f", None, "dlib.new_f", None, None, "0.9", "2.0", None, "safe"),
        ("rename", "dlib.older", None, "dlib.new_f", None, None, "1.0", "2.0", None, "safe"),
        # a keyword deprecated in the old release, gone in the new one: the old message names its successor
        # "use max_iter instead" says which keyword to pass now, not that it means the same: unsafe
        ("keyword_rename", "dlib.fit", "n_iter", None, "max_iter", None, "0.8", "2.0", None, "unsafe"),
        # a name only the old release's __getattr__ table handed out
        ("removal_with_replacement", "dlib.Legacy", None, None, None, "`dlib.Modern`", "1.0", "2.0", None, "display"),
    }
    fit = by_old(entries)["dlib.fit", "n_iter"]
    assert fit.record["note"] == "n_iter is deprecated since 0.8; use max_iter instead."
    # Provenance: the removal in the new release and the warning in the old one.
    assert [(e["what"], e["old_version"]) for e in fit.provenance["evidence"]] == [
        ("parameter removed", "1.0"),
        ("warnings.warn (deprecation)", "1.0"),
    ]


# --- matplotlib: decorators applied by assignment -----------------------------------------------

API = """
    import functools
    import warnings


    class MlibDeprecationWarning(DeprecationWarning):
        pass


    def warn_deprecated(since, *, message="", alternative="", removal=""):
        warnings.warn(message or f"deprecated since {since}", MlibDeprecationWarning)


    def deprecated(since, *, message="", name="", alternative="", removal=""):
        def deco(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                warn_deprecated(since, message=message, alternative=alternative, removal=removal)
                return func(*args, **kwargs)

            return wrapper

        return deco
    """
CM_OLD = '''
    def get_cmap(name=None, lut=None):
        """Get a colormap."""
        return name


    def register(name, cmap=None):
        """Register a colormap."""
        return name


    def register_cmap(name, cmap=None):
        """Register a colormap."""
        return name
    '''
CM_NEW = '''
    from mlib import _api


    def _get_cmap(name=None, lut=None):
        """Get a colormap."""
        return name


    get_cmap = _api.deprecated(
        "3.7",
        name="get_cmap",
        alternative="``mlib.colormaps[name]`` or ``mlib.colormaps.get_cmap(obj)``",
    )(_get_cmap)


    def register_cmap(name, cmap=None):
        """Register a colormap."""
        return name


    register = _api.deprecated("3.7", removal="3.9", alternative=":func:`~mlib.cm.register_cmap`")(register_cmap)
    '''


def test_decorator_applied_by_assignment(tmp_path: Path) -> None:
    init = "from mlib import cm\n"
    old = {"mlib/__init__.py": init, "mlib/_api.py": API, "mlib/cm.py": CM_OLD}
    new = {"mlib/__init__.py": init, "mlib/_api.py": API, "mlib/cm.py": CM_NEW}
    entries = scrape(tmp_path, "mlib", {"3.6": old, "3.7": new})
    assert rows(entries) == {
        # several names in alternative=: said as it is, display only
        (
            "removal_with_replacement",
            "mlib.cm.get_cmap",
            None,
            None,
            None,
            "mlib.colormaps[name] or mlib.colormaps.get_cmap(obj)",
            "3.7",
            None,
            None,
            "display",
        ),
        # one name, same signature: a safe rename
        ("rename", "mlib.cm.register", None, "mlib.cm.register_cmap", None, None, "3.7", None, None, "safe"),
    }
    register = by_old(entries)["mlib.cm.register", None].record
    assert (
        register["note"] == "Deprecated since 3.7, to be removed in 3.9. Use :func:`~mlib.cm.register_cmap` instead."
    )


# --- JAX: a deprecation table handed to a __getattr__ factory -----------------------------------

JAX_DEPRECATIONS = """
    import warnings


    def deprecation_getattr(module, deprecations):
        def getattr(name):
            if name in deprecations:
                message, fn = deprecations[name]
                if fn is None:  # the deprecation was finalised
                    raise AttributeError(message)
                warnings.warn(message, DeprecationWarning, stacklevel=2)
                return fn
            raise AttributeError(f"module {module!r} has no attribute {name!r}")

        return getattr
    """
TREE_OLD = '''
    def leaf(x):
        """Is x a leaf."""
        return x


    def strict_leaf(x):
        """Is x a leaf."""
        return x


    def old_map(f, x):
        """Map."""
        return x


    def tree_map(f, x):
        """Map."""
        return x
    '''
TREE_NEW = '''
    from jlib._src.tree_impl import leaf as _leaf


    def strict_leaf(x):
        """Is x a leaf."""
        return x


    def tree_map(f, x):
        """Map."""
        return x


    _deprecations = {
        # Added in 0.4.30
        "leaf": (
            "jlib.tree.leaf is deprecated as of jlib 0.4.30; use jlib.tree.strict_leaf instead.",
            _leaf,
        ),
        # Finalized in 0.5
        "old_map": ("jlib.tree.old_map was removed in jlib 0.5; use jlib.tree.tree_map", None),
    }

    import typing as _typing

    if _typing.TYPE_CHECKING:
        from jlib._src.tree_impl import leaf as leaf
    else:
        from jlib._src.deprecations import deprecation_getattr as _deprecation_getattr

        __getattr__ = _deprecation_getattr(__name__, _deprecations)
        del _deprecation_getattr
    del _typing
    '''


def test_deprecation_table_given_to_a_getattr_factory(tmp_path: Path) -> None:
    common = {"jlib/__init__.py": "from jlib import tree\n", "jlib/_src/__init__.py": ""}
    common["jlib/_src/deprecations.py"] = JAX_DEPRECATIONS
    old = {**common, "jlib/tree.py": TREE_OLD}
    new = {**common, "jlib/tree.py": TREE_NEW, "jlib/_src/tree_impl.py": 'def leaf(x):\n    """Is x a leaf."""\n'}
    entries = scrape(tmp_path, "jlib", {"0.4": old, "0.5": new})
    assert rows(entries) == {
        # an entry with an object warns: deprecated (the version from "deprecated as of jlib 0.4.30")
        ("rename", "jlib.tree.leaf", None, "jlib.tree.strict_leaf", None, None, "0.4.30", None, None, "safe"),
        # an entry whose object is None raises: removed
        ("rename", "jlib.tree.old_map", None, "jlib.tree.tree_map", None, None, None, "0.5", None, "safe"),
    }
    assert {e.provenance["evidence"][0]["what"] for e in entries} == {"__getattr__ table"}


# --- messages, keyword attribution, scikit-learn idioms ------------------------------------------

VALIDATION = """
    import functools
    import warnings


    def _deprecate_positional_args(func=None, *, version="1.3"):
        def _inner(f):
            @functools.wraps(f)
            def inner_f(*args, **kwargs):
                if len(args) > 1:
                    warnings.warn(
                        f"Pass {args[1:]} as keyword args. From version {version} passing these as "
                        "positional arguments will result in an error",
                        FutureWarning,
                    )
                return f(*args, **kwargs)

            return inner_f

        return _inner(func) if func is not None else _inner
    """
SK_OLD = """
    def smooth(x, sigma=1.0, width=None):
        return x


    def solve(a, b, tol=None, rtol=None):
        return a


    def compat_solve(a, b, tol=None, rtol=None):
        return a


    def select(x, method="auto", n=1):
        return x


    def other(x, y=None):
        return x


    class Ensemble:
        def __init__(self, estimator=None, n_estimators=10, base_estimator="deprecated"):
            self.estimator = estimator
            self.base_estimator = base_estimator


    class Regressor:
        def __init__(self, loss="squared_error", n_iter="deprecated", max_iter=100):
            self.loss = loss
            self.n_iter = n_iter
            self.max_iter = max_iter

        def fit(self, X):
            return self
    """
SK_NEW = """
    import warnings

    from slib.validation import _deprecate_positional_args


    def smooth(x, sigma=1.0, width=None):
        if width is not None:
            warnings.warn("The width parameter is deprecated. Please use`sigma` instead.", DeprecationWarning)
        return x


    def solve(a, b, tol=None, rtol=None):
        if rtol is None and tol is not None:
            warnings.warn("'tol' is deprecated since version 1.2 in favour of 'rtol'.", DeprecationWarning)
        return a


    def compat_solve(a, b, tol=None, rtol=None):
        warnings.warn(
            "compat_solve is deprecated as of version 1.1 and will be removed in 1.4. Use slib.base.solve instead.",
            DeprecationWarning,
        )
        return a


    @_deprecate_positional_args(version="1.4")
    def select(x, method="auto", n=1):
        if method == "legacy":
            warnings.warn("method='legacy' is deprecated since version 1.2.", FutureWarning)
        return x


    @_deprecate_positional_args
    def other(x, y=None):
        return x


    class Ensemble:
        def __init__(self, estimator=None, n_estimators=10, base_estimator="deprecated"):
            self.estimator = estimator
            self.base_estimator = base_estimator

        def _validate_estimator(self):
            if self.base_estimator != "deprecated":
                warnings.warn(
                    "`base_estimator` was renamed to `estimator` in version 1.2 and will be removed in 1.4.",
                    FutureWarning,
                )
            return self.estimator


    class Regressor:
        def __init__(self, loss="squared_error", n_iter="deprecated", max_iter=100):
            self.loss = loss
            self.n_iter = n_iter
            self.max_iter = max_iter

        def fit(self, X):
            if self.loss == "squared_loss":
                warnings.warn(
                    "The loss 'squared_loss' was deprecated in v1.0 and will be removed in version 1.2. "
                    "Use `loss='squared_error'` which is equivalent.",
                    FutureWarning,
                )
            if self.n_iter != "deprecated":
                warnings.warn("'n_iter' was renamed to 'max_iter' in version 1.1 and will be removed in 1.3.")
            return self
    """


def test_messages_keywords_and_scikit_learn_idioms(tmp_path: Path) -> None:
    init = "from slib.base import Ensemble, Regressor, compat_solve, other, select, smooth, solve\n"
    old = {"slib/__init__.py": init, "slib/base.py": SK_OLD, "slib/validation.py": VALIDATION}
    new = {"slib/__init__.py": init, "slib/base.py": SK_NEW, "slib/validation.py": VALIDATION}
    entries = scrape(tmp_path, "slib", {"1.1": old, "1.2": new})
    assert rows(entries) == {
        # "Please use`sigma`" (no space before the backtick)
        ("keyword_rename", "slib.smooth", "width", None, "sigma", None, "1.2", None, None, "unsafe"),
        # about `tol`, though the condition tests `rtol` first and the message names it too (as the successor)
        ("keyword_rename", "slib.solve", "tol", None, "rtol", None, "1.2", None, None, "unsafe"),
        # "deprecated as of version 1.1"
        ("rename", "slib.compat_solve", None, "slib.base.solve", None, None, "1.1", None, None, "safe"),
        # a value of a parameter: calls that pass it; the positional-arguments decorator adds nothing
        ("behaviour_change", "slib.select", "method", None, None, None, "1.2", None, None, "display"),
        # renames warned about in methods, on `self.<parameter>` (scikit-learn's fit / _validate_*)
        ("keyword_rename", "slib.Ensemble", "base_estimator", None, "estimator", None, "1.2", None, None, "safe"),
        ("keyword_rename", "slib.Regressor", "n_iter", None, "max_iter", None, "1.1", None, None, "safe"),
        ("behaviour_change", "slib.Regressor", "loss", None, None, None, "1.0", None, None, "display"),
    }
    assert "slib.other" not in {e.record["old"] for e in entries}


# --- seaborn: UserWarning/FutureWarning and `deprecated` sentinel defaults --------------------------

SEA_OLD = '''
    def barplot(data=None, x=None, errorbar=("ci", 95), ci=95, errwidth=None):
        return data


    def distplot(a=None, bins=None):
        """Flexibly plot a distribution."""
        return a


    def kdeplot(data=None, bw=None, bw_method="scott", bw_adjust=1):
        return data


    def violinplot(data=None, scale="area", density_norm="area"):
        return data
    '''
SEA_TYPING = """
    class Deprecated:
        def __repr__(self):
            return "<deprecated>"


    deprecated = Deprecated()
    """
SEA_UTILS = """
    import warnings

    from sealib._typing import deprecated


    def _deprecate_ci(errorbar, ci):
        if ci is not deprecated and ci != "deprecated":
            if ci is None:
                errorbar = None
            else:
                errorbar = ("ci", ci)
            msg = (
                "\\n\\nThe `ci` parameter is deprecated. "
                f"Use `errorbar={repr(errorbar)}` for the same effect.\\n"
            )
            warnings.warn(msg, FutureWarning, stacklevel=3)
        return errorbar
    """
SEA_NEW = '''
    import warnings

    from sealib import utils
    from sealib._typing import deprecated


    def barplot(data=None, x=None, errorbar=("ci", 95), ci=deprecated, errwidth=deprecated):
        errorbar = utils._deprecate_ci(errorbar, ci)
        return data


    def distplot(a=None, bins=None):
        """Flexibly plot a distribution."""
        msg = "`distplot` is a deprecated function and will be removed in sealib v0.14.0."
        warnings.warn(msg, UserWarning, stacklevel=2)
        return a


    def kdeplot(data=None, bw=None, bw_method="scott", bw_adjust=1):
        if bw is not None:
            msg = "The `bw` parameter is deprecated in favor of `bw_method` and `bw_adjust`."
            warnings.warn(msg, UserWarning)
        return data


    def violinplot(data=None, scale=deprecated, density_norm="area"):
        if scale is not deprecated:
            density_norm = scale
            msg = (
                "\\n\\nThe `scale` parameter has been renamed and will be removed "
                f"in v0.15.0. Pass `density_norm={scale!r}` for the same effect."
            )
            warnings.warn(msg, FutureWarning, stacklevel=3)
        return data
    '''


def test_user_warnings_and_sentinel_defaults(tmp_path: Path) -> None:
    init = "from sealib.plots import barplot, distplot, kdeplot, violinplot\n"
    old = {"sealib/__init__.py": init, "sealib/plots.py": SEA_OLD}
    new = {
        "sealib/__init__.py": init,
        "sealib/_typing.py": SEA_TYPING,
        "sealib/utils.py": SEA_UTILS,
        "sealib/plots.py": SEA_NEW,
    }
    entries = scrape(tmp_path, "sealib", {"0.12": old, "0.13": new})
    assert rows(entries) == {
        # `ci=deprecated`: the message comes from the helper the parameter is handed to; its
        # replacement takes another value (errorbar=("ci", 95)), so no rename
        ("signature_change", "sealib.barplot", "ci", None, None, None, "0.13", None, None, "display"),
        ("signature_change", "sealib.barplot", "errwidth", None, None, None, "0.13", None, None, "display"),
        # UserWarning saying "deprecated"
        ("removal", "sealib.distplot", None, None, None, None, "0.13", None, None, "display"),
        # two successors named: no one-to-one rename
        ("signature_change", "sealib.kdeplot", "bw", None, None, None, "0.13", None, None, "display"),
        # "Pass `density_norm={scale!r}`": the old value under the new name
        ("keyword_rename", "sealib.violinplot", "scale", None, "density_norm", None, "0.13", None, None, "safe"),
    }
    notes = {key: e.record["note"] for key, e in by_old(entries).items()}
    assert (
        notes["sealib.barplot", "ci"]
        == "The `ci` parameter is deprecated. Use `errorbar={repr(errorbar)}` for the same effect."
    )
    assert notes["sealib.barplot", "errwidth"] == (
        "Parameter `errwidth` is deprecated (its default is the `deprecated` sentinel)."
    )


# --- an announced removal that has come; keywords restored in a chain ---------------------------

R_OLD = """
    def fit(X, n_iter=None):
        return X


    def transform(X, axis=0):
        return X


    def keep(X):
        return X
    """
R_NEW = """
    import warnings

    from typing_extensions import deprecated


    def fit(X, **kwargs):
        if "n_iter" in kwargs:
            warnings.warn("n_iter is deprecated since 1.0 and will be removed in 1.5.", FutureWarning)
        return X


    def transform(X):
        return X


    @deprecated("keep is deprecated and will be removed in 1.5.")
    def keep(X):
        return X


    def _old():
        return 1


    _deprecated_names = {"old_name": "old_name is deprecated and will be removed in 1.5."}


    def __getattr__(name):
        if name in _deprecated_names:
            warnings.warn(_deprecated_names[name], DeprecationWarning)
            return _old
        raise AttributeError(name)
    """


def test_announced_removal_that_has_come(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "rlib", {"1.0": {"rlib/__init__.py": R_OLD}, "2.0": {"rlib/__init__.py": R_NEW}})
    assert rows(entries) == {
        # "will be removed in 1.5", now 2.0, and no longer a parameter: a removal
        ("signature_change", "rlib.fit", "n_iter", None, None, None, "1.0", "2.0", None, "display"),
        # 1.5 has come, but both are still there (one through __getattr__): deprecations
        ("removal", "rlib.keep", None, None, None, None, "2.0", None, None, "display"),
        ("removal", "rlib.old_name", None, None, None, None, "2.0", None, None, "display"),
        ("signature_change", "rlib.transform", "axis", None, None, None, None, "2.0", None, "display"),
    }


def test_keyword_removed_and_restored_in_a_chain(tmp_path: Path) -> None:
    releases = {
        "1.0": {"rlib/__init__.py": R_OLD},
        "2.0": {"rlib/__init__.py": R_NEW},
        "3.0": {"rlib/__init__.py": "def fit(X):\n    return X\n\n\ndef transform(X, axis=0):\n    return X\n"},
    }
    entries = scrape(tmp_path, "rlib", releases)
    assert rows(entries) == {
        ("signature_change", "rlib.fit", "n_iter", None, None, None, "1.0", "2.0", None, "display"),
        ("removal", "rlib.keep", None, None, None, None, "2.0", "3.0", None, "display"),
        ("removal", "rlib.old_name", None, None, None, None, "2.0", "3.0", None, "display"),
        # gone in 2.0, back in 3.0
        ("signature_change", "rlib.transform", "axis", None, None, None, None, "2.0", "3.0", "display"),
    }
