"""Finding messages: what to do first, names in backticks, the version history after.

An editor's Problems panel cuts a long message off at its width (about 120 characters at
1280 px), so the part the user acts on must come first.
"""

from __future__ import annotations

import pytest

from recode_lsp.engine.changes import ApiChange, code_spans
from tests.conftest import make_kb


def change(**record: object) -> ApiChange:
    (entry,) = make_kb([{"id": "T001", "library": "numpy", "old": "numpy.old", **record}]).changes
    return entry


@pytest.mark.parametrize(
    ("record", "message"),
    [
        # rename, module move and replacement template: "Use <new>: <old> <history>".
        (
            {
                "old": "numpy.float_",
                "kind": "rename",
                "new": "numpy.float64",
                "deprecated_in": "1.25",
                "removed_in": "2.0",
            },
            "Use `numpy.float64`: `numpy.float_` was removed in NumPy 2.0 (deprecated since 1.25)",
        ),
        (
            {"old": "numpy.float_", "kind": "rename", "new": "numpy.float64", "removed_in": "2.0"},
            "Use `numpy.float64`: `numpy.float_` was removed in NumPy 2.0",
        ),
        (
            {"old": "numpy.in1d", "kind": "module_move", "new": "numpy.isin", "deprecated_in": "1.25"},
            "Use `numpy.isin`: `numpy.in1d` is deprecated since NumPy 1.25",
        ),
        (
            {
                "old": "numpy.cast",
                "kind": "removal_with_replacement",
                "replacement": "numpy.asarray(arr, dtype=dtype) (np.cast[dtype](arr) was a dict)",
                "removed_in": "2.0",
            },
            (
                "Use `numpy.asarray(arr, dtype=dtype)` (`np.cast[dtype](arr)` was a dict): "
                "`numpy.cast` was removed in NumPy 2.0"
            ),
        ),
        # keyword rename: "Use <new>=: <f(old=...)> <history>".
        (
            {
                "old": "numpy.percentile",
                "kind": "keyword_rename",
                "old_keyword": "interpolation",
                "new_keyword": "method",
                "deprecated_in": "1.22",
                "removed_in": "2.4",
            },
            "Use `method=`: `numpy.percentile(interpolation=...)` was removed in NumPy 2.4 (deprecated since 1.22)",
        ),
        # removal with nothing to use instead: the history, then the note.
        (
            {
                "old": "numpy.set_numeric_ops",
                "kind": "removal",
                "removed_in": "2.0",
                "note": "Implement __array_ufunc__.",
            },
            "`numpy.set_numeric_ops` was removed in NumPy 2.0 with no direct replacement: Implement `__array_ufunc__`",
        ),
        (
            {"old": "numpy.compat", "kind": "removal", "deprecated_in": "1.26"},
            "`numpy.compat` is deprecated since NumPy 1.26 with no direct replacement",
        ),
        # signature change: the replacement, else the note (advice), else a generic hint; then the history.
        (
            {
                "old": "numpy.corrcoef",
                "kind": "signature_change",
                "old_keyword": "bias",
                "replacement": "ddof=",
                "deprecated_in": "1.10",
                "removed_in": "2.0",
            },
            "Use `ddof=`: `numpy.corrcoef(bias=...)` changed in NumPy 2.0 (deprecated since 1.10)",
        ),
        (
            {
                "old": "numpy.copy",
                "kind": "signature_change",
                "old_keyword": "copy",
                "note": "Remove the argument; it has no effect.",
                "deprecated_in": "2.1",
            },
            "Remove the argument; it has no effect: `numpy.copy(copy=...)` is deprecated since NumPy 2.1",
        ),
        (
            {"old": "numpy.histogram", "kind": "signature_change", "removed_in": "2.0"},
            "Check the new signature: `numpy.histogram` changed in NumPy 2.0",
        ),
        # behaviour change: advice first when the entry gives some, then the history and what changed.
        (
            {
                "old": "numpy.mode",
                "kind": "behaviour_change",
                "replacement": "pass keepdims=True to keep the old shape",
                "removed_in": "2.0",
                "note": "The keepdims default became False.",
            },
            (
                "Pass `keepdims=True` to keep the old shape: `numpy.mode` behaves differently since NumPy 2.0. "
                "The keepdims default became False"
            ),
        ),
        (
            {"old": "numpy.mode", "kind": "behaviour_change", "removed_in": "2.0", "note": "Returns a view."},
            "`numpy.mode` behaves differently since NumPy 2.0: Returns a view",
        ),
    ],
)
def test_the_message_says_what_to_do_before_the_version_history(record: dict[str, object], message: str) -> None:
    assert change(**record).message() == message


def test_code_in_a_replacement_is_marked_up_and_prose_is_not() -> None:
    assert code_spans("torch.export.save / torch.export.load (an ExportedProgram)") == (
        "`torch.export.save` / `torch.export.load` (an ExportedProgram)"
    )
    assert code_spans("pass filter='data' (or another filter), e.g. in 3.12.") == (
        "pass `filter='data'` (or another filter), e.g. in 3.12."
    )
    assert code_spans("the grouped object's index") == "the grouped object's index"
    assert code_spans("already `marked` up.here") == "already `marked` up.here"
