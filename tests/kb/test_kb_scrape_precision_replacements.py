"""``recode-kb scrape`` precision (issue 12): a replacement is the name the message wrote.

Curators found replacements resolved to unrelated names: ``save_state_dict`` -> ``torch.save`` (the
message said ``save``, meaning the one beside it), ``Spider.log`` -> ``MiddlewareManager.methods``
(a word of the message, "methods", matched the one public name ending so), and methods moved to an
unrelated class's method of the same name (``DeferredBatchNorm.forward`` -> ``LPPool3d.forward``).
"""

from __future__ import annotations

from pathlib import Path

from tests.kb.test_kb_scrape_markers import rows, scrape

CHECKPOINT = '''
    import warnings


    def save(state_dict, storage_writer=None):
        """Save a distributed checkpoint."""
        return state_dict


    def save_state_dict(state_dict, storage_writer=None):
        """Save a distributed checkpoint."""
        warnings.warn(
            "'save_state_dict' is deprecated and will be removed in future versions. Please use 'save' instead.",
            FutureWarning,
        )
        return save(state_dict, storage_writer)


    def load_state_dict(state_dict):
        """Load a distributed checkpoint."""
        warnings.warn("load_state_dict is deprecated, use dcp.load instead", FutureWarning)
        return state_dict
    '''
SPIDER = '''
    import logging
    import warnings


    class Spider:
        """A spider."""

        @property
        def logger(self):
            """The spider's logger."""
            return logging.getLogger("spider")

        def log(self, message):
            """Log a message."""
            warnings.warn("Spider.log is deprecated; use the methods of its logger instead.", DeprecationWarning)
            self.logger.info(message)


    class MiddlewareManager:
        """Middlewares."""

        def __init__(self):
            self.methods = {}
    '''
TOP = '''
    def save(obj, f):
        """Save an object to a file."""
        return f
    '''
PIPE = '''
    class DeferredBatchNorm:
        """A batch norm whose statistics are deferred."""

        def forward(self, input, running_mean=None):
            """Normalise the input over the batch dimension, deferring the statistics."""
            return input
    '''
POOL = '''
    class LPPool3d:
        """Power-average pooling."""

        def forward(self, input, running_mean=None):
            """Normalise the input over the batch dimension, deferring the statistics."""
            return input
    '''


def test_replacements_are_the_names_the_messages_wrote(tmp_path: Path) -> None:
    old = {
        "tlib/__init__.py": "from tlib.serialization import save\n",
        "tlib/serialization.py": TOP,
        "tlib/distributed/__init__.py": "",
        "tlib/distributed/checkpoint.py": CHECKPOINT.replace("warnings.warn", "print"),
        "tlib/spiders.py": SPIDER.replace("warnings.warn", "print"),
        "tlib/pipe.py": PIPE,
    }
    new = {
        "tlib/__init__.py": "from tlib.serialization import save\n",
        "tlib/serialization.py": TOP,
        "tlib/distributed/__init__.py": "",
        "tlib/distributed/checkpoint.py": CHECKPOINT,
        "tlib/spiders.py": SPIDER,
        "tlib/pool.py": POOL,
    }
    entries = scrape(tmp_path, "tlib", {"2.0": old, "2.4": new})
    cp = "tlib.distributed.checkpoint"
    assert rows(entries) == {
        # ``save`` beside the old name, not ``tlib.save``; same signature: a safe rename
        ("rename", f"{cp}.save_state_dict", None, f"{cp}.save", None, None, "2.4", None, None, "safe"),
        # ``dcp`` is no abbreviation of ``tlib``: the text as written, not ``tlib.load``
        (
            "removal_with_replacement",
            f"{cp}.load_state_dict",
            None,
            None,
            None,
            "dcp.load",
            "2.4",
            None,
            None,
            "display",
        ),
        # "use the methods of its logger": no name at all
        ("removal", "tlib.spiders.Spider.log", None, None, None, None, "2.4", None, None, "display"),
        # the module went; its class's method is no other class's ``forward``
        ("removal", "tlib.pipe", None, None, None, None, None, "2.4", None, "display"),
    }


NUMPY_OLD = {
    "nlib/__init__.py": """
        from nlib.sets import in1d, isin
        """,
    "nlib/sets.py": '''
        def isin(element, test_elements):
            """Whether each element is in test_elements."""
            return element


        def in1d(ar1, ar2):
            """Whether each element of ar1 is in ar2."""
            return ar1
        ''',
}
NUMPY_NEW = {
    "nlib/__init__.py": """
        import nlib as np
        from nlib.sets import in1d, isin
        """,
    "nlib/sets.py": NUMPY_OLD["nlib/sets.py"].replace(
        '"""Whether each element of ar1 is in ar2."""',
        '"""Whether each element of ar1 is in ar2."""\n'
        "            import warnings\n\n"
        '            warnings.warn("`in1d` is deprecated. Use `np.isin` instead.", DeprecationWarning)',
    ),
}


def test_an_abbreviated_package_name_resolves_to_the_public_name(tmp_path: Path) -> None:
    entries = scrape(tmp_path, "nlib", {"1.26": NUMPY_OLD, "2.0": NUMPY_NEW})
    # ``np.isin``: ``np`` abbreviates ``nlib``; not ``nlib.np.isin`` through the module's own alias.
    assert rows(entries) == {
        ("removal_with_replacement", "nlib.in1d", None, None, None, "`nlib.isin`", "2.0", None, None, "display")
    }
