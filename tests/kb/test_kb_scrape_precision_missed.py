"""``recode-kb scrape`` recall (issue 12): deprecations and removals the curators had to add by hand.

PyTorch's raising stubs defined in ``torch/_linalg_utils.py`` and exposed by ``torch/__init__.py``
(``torch.symeig``, ``eig``, ``lstsq``, ``solve``), warnings inside ``if sys.version_info`` branches,
modules that warn when imported, and Scrapy's ``Old = create_deprecated_class("Old", New)``.
"""

from __future__ import annotations

from pathlib import Path

from tests.kb.test_kb_scrape_markers import by_old, rows, scrape

LINALG_OLD = {
    "tlib/__init__.py": '''
        __all__ = ["symeig", "matmul"]


        def symeig(input, eigenvectors=False, upper=True):
            """Eigenvalues of a symmetric matrix."""
            return input


        def matmul(a, b):
            """Matrix product."""
            return a
        ''',
    "tlib/linalg.py": '''
        def eigh(A, UPLO="L"):
            """Eigenvalues of a symmetric matrix."""
            return A


        def eig(A):
            """Eigenvalues of a square matrix."""
            return A
        ''',
}
LINALG_NEW = {
    "tlib/__init__.py": """
        from tlib._linalg_utils import _symeig as symeig, eig

        __all__ = ["matmul"]


        def matmul(a, b):
            \"\"\"Matrix product.\"\"\"
            return a
        """,
    "tlib/_linalg_utils.py": """
        def _symeig(input, eigenvectors=False, upper=True, *, out=None):
            raise RuntimeError(
                "This function was deprecated since version 1.9 and is now removed. "
                "Please use the `tlib.linalg.eigh` function instead."
            )


        def eig(self, eigenvectors=False, *, e=None, v=None):
            raise RuntimeError(
                "This function was deprecated since version 1.9 and is now removed. "
                "`tlib.linalg.eig` should be used instead."
            )
        """,
    "tlib/linalg.py": LINALG_OLD["tlib/linalg.py"],
}


def test_raising_stubs_exposed_by_the_package_init_are_removals(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "tlib", {"1.12": LINALG_OLD, "2.0": LINALG_NEW})
    assert rows(entries) == {
        # defined in a private module, imported into ``tlib/__init__.py`` (not in its ``__all__``)
        (
            "removal_with_replacement",
            "tlib.symeig",
            None,
            None,
            None,
            "`tlib.linalg.eigh`",
            "1.9",
            "2.0",
            None,
            "display",
        ),
        # ``eig`` came from compiled code in 1.12 (no source): the stub alone says it is gone
        ("removal_with_replacement", "tlib.eig", None, None, None, "`tlib.linalg.eig`", "1.9", "2.0", None, "display"),
    }
    assert by_old(entries)["tlib.symeig", None].provenance["evidence"][0]["what"] == "raising stub"


VERSIONS_OLD = {
    "slib/__init__.py": "",
    "slib/utils/__init__.py": "",
    "slib/utils/py36.py": '''
        def pairwise(iterable):
            """Pairs of consecutive items."""
            return iterable
        ''',
    "slib/utils/gz.py": '''
        def gunzip(data):
            """Decompress."""
            return data
        ''',
    "slib/utils/misc.py": '''
        def load_object(path):
            """Load an object by its import path."""
            return path


        def walk_modules(path):
            """Modules under path."""
            return [path]
        ''',
}
VERSIONS_NEW = {
    "slib/__init__.py": "",
    "slib/utils/__init__.py": "",
    # a module that warns when imported, on some interpreters only
    "slib/utils/py36.py": '''
        import sys
        import warnings

        if sys.version_info >= (3, 8):
            warnings.warn("slib.utils.py36 is deprecated, use itertools instead.", DeprecationWarning)


        def pairwise(iterable):
            """Pairs of consecutive items."""
            return iterable
        ''',
    # a module that warns when imported
    "slib/utils/gz.py": '''
        import warnings

        warnings.warn("slib.utils.gz is deprecated and will be removed.", DeprecationWarning, stacklevel=2)


        def gunzip(data):
            """Decompress."""
            return data
        ''',
    "slib/utils/misc.py": '''
        import sys
        import warnings


        def load_object(path):
            """Load an object by its import path."""
            if sys.version_info >= (3, 12):
                warnings.warn("load_object is deprecated; use importlib instead.", DeprecationWarning)
            return path


        def walk_modules(path):
            """Modules under path."""
            return [path]
        ''',
}


def test_warnings_under_interpreter_tests_and_at_import(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "slib", {"2.11": VERSIONS_OLD, "2.13": VERSIONS_NEW})
    assert rows(entries) == {
        # ``if sys.version_info`` says nothing about the call: the function is deprecated, not a behaviour
        ("removal", "slib.utils.misc.load_object", None, None, None, None, "2.13", None, None, "display"),
        # a module that warns when imported is deprecated as a whole
        ("removal", "slib.utils.gz", None, None, None, None, "2.13", None, None, "display"),
        ("removal", "slib.utils.py36", None, None, None, None, "2.13", None, None, "display"),
    }


DEPRECATE = '''
    import warnings


    class SlibDeprecationWarning(Warning):
        """Warning category for deprecated features."""


    def create_deprecated_class(
        name,
        new_class,
        clsdict=None,
        warn_category=SlibDeprecationWarning,
        warn_once=True,
        subclass_warn_message="{cls} inherits from deprecated class {old}, please inherit from {new}.",
        instance_warn_message="{cls} is deprecated, instantiate {new} instead.",
    ):
        class DeprecatedClass(new_class.__class__):
            deprecated_class = None
            warned_on_subclass = False

            def __init__(cls, name, bases, clsdict_):
                meta = cls.__class__
                old = meta.deprecated_class
                if old in bases and not (warn_once and meta.warned_on_subclass):
                    meta.warned_on_subclass = True
                    msg = subclass_warn_message.format(cls=cls, old=old, new=new_class)
                    warnings.warn(msg, warn_category, stacklevel=2)
                super().__init__(name, bases, clsdict_)

            def __call__(cls, *args, **kwargs):
                old = DeprecatedClass.deprecated_class
                if cls is old:
                    msg = instance_warn_message.format(cls=cls, new=new_class)
                    warnings.warn(msg, warn_category, stacklevel=2)
                return super().__call__(*args, **kwargs)

        deprecated_cls = DeprecatedClass(name, (new_class,), clsdict or {})
        DeprecatedClass.deprecated_class = deprecated_cls
        return deprecated_cls
    '''
LINKS_OLD = '''
    class LxmlLinkExtractor:
        """Extract links."""

        def __init__(self, allow=(), deny=()):
            self.allow = allow


    class BaseSgmlLinkExtractor:
        """Extract links with sgmllib."""

        def __init__(self, allow=(), deny=()):
            self.allow = allow
    '''
LINKS_NEW = '''
    from slib.utils.deprecate import create_deprecated_class


    class LxmlLinkExtractor:
        """Extract links."""

        def __init__(self, allow=(), deny=()):
            self.allow = allow


    BaseSgmlLinkExtractor = create_deprecated_class("BaseSgmlLinkExtractor", LxmlLinkExtractor)
    '''


def test_create_deprecated_class_assignments_are_deprecations(tmp_path: Path) -> None:
    old = {"slib/__init__.py": "", "slib/linkextractors.py": LINKS_OLD}
    new = {
        "slib/__init__.py": "",
        "slib/linkextractors.py": LINKS_NEW,
        "slib/utils/__init__.py": "",
        "slib/utils/deprecate.py": DEPRECATE,
    }
    entries = scrape(tmp_path, "slib", {"2.6": old, "2.7": new})
    links = "slib.linkextractors"
    assert rows(entries) == {
        # the same constructor: a safe rename
        (
            "rename",
            f"{links}.BaseSgmlLinkExtractor",
            None,
            f"{links}.LxmlLinkExtractor",
            None,
            None,
            "2.7",
            None,
            None,
            "safe",
        )
    }
    assert by_old(entries)[f"{links}.BaseSgmlLinkExtractor", None].provenance["evidence"][0]["what"] == (
        "create_deprecated_class()"
    )
