"""``recode-kb scrape`` precision (issue 12): what counts as a deprecation.

A deprecation helper must warn with a deprecation category (the standard ones, or the library's own
classes derived from them: pandas 3's ``Pandas4Warning``), not merely have "remove" or "warn" in its
name (PyTorch's ``RemovableHandle()``, ``os.remove``, ``_disable_user_warnings`` and loggers were
taken for helpers); how arguments are passed (``@deprecate_nonkeyword_arguments``) is no entry.
"""

from __future__ import annotations

from pathlib import Path

from tests.kb.test_kb_scrape_markers import by_old, rows, scrape

# --- torch: calls that only look like deprecation helpers --------------------------------------

HOOKS = '''
    import logging
    import os
    import warnings

    logger = logging.getLogger(__name__)


    class ParameterDict:
        """Parameters by name."""

        def remove(self, key):
            """Remove a parameter (deprecated)."""
            warnings.warn(f"ParameterDict.remove({key!r}) is deprecated, use del", DeprecationWarning)


    class RemovableHandle:
        """A handle that removes a hook."""

        def __init__(self, hooks):
            self.hooks = hooks

        def remove(self):
            """Remove the hook."""
            warn_once(self.hooks)


    def warn_once(message):
        warnings.warn(message, UserWarning)


    def _disable_user_warnings(func, regex=".*is deprecated, please use.*"):
        def wrapper(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, message=regex)
                return func(*args, **kwargs)

        return wrapper


    def _warn_deprecated(name, alternative):
        warnings.warn(f"{name} is deprecated, use {alternative} instead", FutureWarning, stacklevel=3)


    class Module:
        """A module."""

        def register_hook(self, hook):
            """Register a hook."""
            return RemovableHandle(hook)

        def save(self, path):
            """Save, replacing the file."""
            os.remove(path)
            return path

        def state_dict(self, *args):
            """The state."""
            if args:
                logger.warning("Positional args to state_dict are deprecated, use keywords")
            return {}

        @_disable_user_warnings
        def apply(self, fn):
            """Apply fn."""
            return fn

        def cuda_time(self):
            """Time on the device (old name)."""
            _warn_deprecated("cuda_time", "device_time")
            return self.device_time()

        def device_time(self):
            """Time on the device."""
            return 0
    '''


def test_only_helpers_that_warn_with_a_deprecation_category_deprecate(tmp_path: Path) -> None:
    old = {"tlib/__init__.py": HOOKS.replace('_warn_deprecated("cuda_time", "device_time")', "pass")}
    new = {"tlib/__init__.py": HOOKS}
    entries = scrape(tmp_path, "tlib", {"2.0": old, "2.4": new})
    # ``cuda_time`` calls a helper that warns with FutureWarning; ``ParameterDict.remove`` warns about
    # itself (no helper for every ``remove()``: ``os.remove``, ``RemovableHandle``); nothing else
    # deprecates anything (a logger, a warnings filter).
    assert rows(entries) == {
        ("rename", "tlib.Module.cuda_time", None, "tlib.Module.device_time", None, None, "2.4", None, None, "safe"),
        ("removal", "tlib.ParameterDict.remove", None, None, None, None, "2.0", None, None, "display"),
    }
    assert by_old(entries)["tlib.Module.cuda_time", None].provenance["evidence"][0]["what"] == "_warn_deprecated()"


# --- pandas 3: the library's own categories --------------------------------------------------

ERRORS = """
    class PandasChangeWarning(Warning):
        pass


    class PandasPendingDeprecationWarning(PandasChangeWarning, PendingDeprecationWarning):
        pass


    class PandasDeprecationWarning(PandasChangeWarning, DeprecationWarning):
        pass


    class PandasFutureWarning(PandasChangeWarning, FutureWarning):
        pass


    class Pandas4Warning(PandasDeprecationWarning):
        pass


    class Pandas5Warning(PandasPendingDeprecationWarning):
        pass


    _CurrentDeprecationWarning = Pandas4Warning
    """
DECORATORS = """
    import functools
    import warnings


    def deprecate_kwarg(klass, old_arg_name, new_arg_name):
        def _deprecate_kwarg(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                if old_arg_name in kwargs:
                    warnings.warn(f"the {old_arg_name!r} keyword is deprecated, use {new_arg_name!r} instead", klass)
                    kwargs[new_arg_name] = kwargs.pop(old_arg_name)
                return func(*args, **kwargs)

            return wrapper

        return _deprecate_kwarg


    def deprecate_nonkeyword_arguments(klass, allowed_args=None, name=None):
        def decorate(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                if len(args) > 1:
                    warnings.warn(f"all arguments of {name} except for self will be keyword-only", klass)
                return func(*args, **kwargs)

            return wrapper

        return decorate
    """
FRAME_OLD = '''
    class DataFrame:
        """A table."""

        def shift(self, periods=1):
            """Shift."""
            return self

        def first(self, offset):
            """Select initial periods."""
            return self

        def to_dict(self, orient="dict", into=dict):
            """As a dict."""
            return {}

        def quantile(self, q=0.5, interpolation="linear"):
            """Quantile."""
            return q
    '''
FRAME_NEW = '''
    import warnings

    from plib.errors import Pandas4Warning, PandasFutureWarning, _CurrentDeprecationWarning
    from plib.util import deprecate_kwarg, deprecate_nonkeyword_arguments


    class DataFrame:
        """A table."""

        def shift(self, periods=1, suffix=None):
            """Shift."""
            if suffix is not None:
                warnings.warn("The 'suffix' keyword in DataFrame.shift is deprecated.", Pandas4Warning)
            return self

        def first(self, offset):
            """Select initial periods."""
            warnings.warn("first is deprecated and will be removed in a future version.", PandasFutureWarning)
            return self

        @deprecate_nonkeyword_arguments(Pandas4Warning, allowed_args=["self"], name="to_dict")
        def to_dict(self, orient="dict", into=dict):
            """As a dict."""
            return {}

        @deprecate_kwarg(_CurrentDeprecationWarning, "interpolation", "method")
        def quantile(self, q=0.5, method="linear"):
            """Quantile."""
            return q
    '''


def test_library_warning_classes_derived_from_deprecation_categories_count(tmp_path: Path) -> None:
    old = {"plib/__init__.py": "from plib.frame import DataFrame\n", "plib/frame.py": FRAME_OLD}
    new = {
        "plib/__init__.py": "from plib.frame import DataFrame\n",
        "plib/frame.py": FRAME_NEW,
        "plib/errors.py": ERRORS,
        "plib/util.py": DECORATORS,
    }
    entries = scrape(tmp_path, "plib", {"2.2": old, "3.0": new})
    assert rows(entries) == {
        # warnings.warn with Pandas4Warning (a DeprecationWarning two classes up)
        ("signature_change", "plib.DataFrame.shift", "suffix", None, None, None, "3.0", None, None, "display"),
        # warnings.warn with PandasFutureWarning
        ("removal", "plib.DataFrame.first", None, None, None, None, "3.0", None, None, "display"),
        # a decorator warning with the class it is given (``_CurrentDeprecationWarning = Pandas4Warning``)
        (
            "keyword_rename",
            "plib.DataFrame.quantile",
            "interpolation",
            None,
            "method",
            None,
            "3.0",
            None,
            None,
            "safe",
        ),
        # ``@deprecate_nonkeyword_arguments`` (positional arguments become keyword-only): nothing for to_dict
    }


def test_deprecate_nonkeyword_arguments_of_pandas_2_makes_no_entry(tmp_path: Path) -> None:
    util = DECORATORS.replace(
        "def deprecate_nonkeyword_arguments(klass,", "def deprecate_nonkeyword_arguments(version,"
    )
    util = util.replace('will be keyword-only", klass)', 'will be keyword-only", FutureWarning)')
    new_frame = FRAME_OLD.replace(
        "        def to_dict(",
        '        @deprecate_nonkeyword_arguments(version="3.0", allowed_args=["self"], name="to_dict")\n'
        "        def to_dict(",
    )
    new = {
        "plib/__init__.py": "from plib.frame import DataFrame\n",
        "plib/frame.py": "    from plib.util import deprecate_nonkeyword_arguments\n" + new_frame,
        "plib/util.py": util,
    }
    old = {"plib/__init__.py": "from plib.frame import DataFrame\n", "plib/frame.py": FRAME_OLD}
    assert scrape(tmp_path, "plib", {"2.0": old, "2.1": new}) == []


# --- warnings about how an API behaves, not that it goes ---------------------------------------

BEHAVIOUR_OLD = '''
    class Function:
        """Base class of custom autograd functions (subclass it, call ``apply``)."""

        def __init__(self, *args):
            self.args = args


    def reset_max_memory_allocated(device=None):
        """Reset the peak memory statistics."""
        return device


    def to_pydatetime(values):
        """As datetime objects."""
        return values
    '''
BEHAVIOUR_NEW = '''
    import warnings


    class Function:
        """Base class of custom autograd functions (subclass it, call ``apply``)."""

        def __init__(self, *args):
            warnings.warn(
                f"{self.__class__} should not be instantiated. Instantiating an autograd function will "
                "raise an error in a future version.",
                DeprecationWarning,
            )
            self.args = args


    def to_pydatetime(values):
        """As datetime objects."""
        warnings.warn(
            "The behavior of DatetimeProperties.to_pydatetime is deprecated, in a future version this will "
            "return a Series containing python datetime objects instead of an ndarray.",
            FutureWarning,
        )
        return values


    def reset_max_memory_allocated(device=None):
        """Reset the peak memory statistics."""
        warnings.warn(
            "reset_max_memory_allocated now calls reset_peak_memory_stats, which resets /all/ peak memory stats.",
            FutureWarning,
        )
        return device
    '''


def test_warnings_about_behaviour_are_behaviour_changes(tmp_path: Path) -> None:
    old = {"tlib/__init__.py": BEHAVIOUR_OLD}
    new = {"tlib/__init__.py": BEHAVIOUR_NEW}
    entries = scrape(tmp_path, "tlib", {"2.0": old, "2.4": new})
    # Neither the class (users subclass it) nor the function is deprecated: how they behave changes.
    assert rows(entries) == {
        ("behaviour_change", "tlib.Function", None, None, None, None, "2.4", None, None, "display"),
        ("behaviour_change", "tlib.reset_max_memory_allocated", None, None, None, None, "2.4", None, None, "display"),
        # "The behavior of X is deprecated": X stays
        ("behaviour_change", "tlib.to_pydatetime", None, None, None, None, "2.4", None, None, "display"),
    }
