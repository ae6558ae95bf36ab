"""Finding-dense modules: the fix pipeline finds a failing fix without validating every unit alone.

Issue 11: a module with thousands of fixes was validated once per unit when one fix failed
(each validation re-parses and re-detects the whole module), so time grew with the square of
the module. The pipeline now halves the batch to find the failing units.
"""

from __future__ import annotations

import math

import pytest

from recode_lsp.engine import DetectOptions, analyse, detect, load_knowledge_base
from recode_lsp.engine import pipeline as pipeline_module
from recode_lsp.engine.pipeline import PipelineResult, run_fix_pipeline
from recode_lsp.engine.versions import Version

KB = load_knowledge_base()
OPTIONS = DetectOptions(targets={"numpy": Version("2.0"), "python": Version("3.12")})
UNITS = 120


def dense_module(units: int) -> str:
    body = "".join(f"x_{i} = np.float_({i}) + np.Inf\n" for i in range(units))
    return "import numpy as np\n\n" + body


def run(source: str, **kwargs: object) -> PipelineResult:
    analysis = analyse(source, "dense.py")
    findings = detect(source, KB, OPTIONS, "dense.py", analysis=analysis)
    return run_fix_pipeline(analysis=analysis, findings=findings, kb=KB, options=OPTIONS, path="dense.py", **kwargs)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The real validator, counted; a result that fixes line ``x_37`` is refused as well."""
    calls: list[str] = []
    real = pipeline_module.check_fix

    def counted(**kwargs: object) -> object:
        calls.append("")
        verdict = real(**kwargs)  # type: ignore[arg-type]
        if verdict.ok and "x_37 = np.float64(37)" in str(kwargs["new_source"]):
            return type(verdict)(False, "refused for the test")
        return verdict

    monkeypatch.setattr(pipeline_module, "check_fix", counted)
    return calls


def test_one_failing_fix_among_many_is_found_with_few_validations(validations: list[str]) -> None:
    source = dense_module(UNITS)
    result = run(source, max_rounds=1)

    expected = source.replace("np.float_(", "np.float64(").replace("np.Inf", "np.inf")
    expected = expected.replace("x_37 = np.float64(37)", "x_37 = np.float_(37)")
    assert result.source == expected
    [(finding, reason)] = result.skipped
    assert finding.range.start.line == 2 + 37
    assert reason == "fix rejected by the validator: refused for the test"
    # One unit per finding: validating each alone took UNITS + 2 validations.
    assert len(validations) <= 2 * math.ceil(math.log2(2 * UNITS)) + 2


def test_a_name_missing_in_the_target_is_refused_without_a_search(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = pipeline_module.check_fix

    def counted(**kwargs: object) -> object:
        calls.append("")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline_module, "check_fix", counted)
    source = dense_module(UNITS)

    result = run(source, name_exists=lambda qname, library: qname != "numpy.inf", max_rounds=1)

    assert result.source == source.replace("np.float_(", "np.float64(")
    assert len(result.skipped) == UNITS
    assert {reason for _, reason in result.skipped} == {
        "fix rejected by the validator: `numpy.inf` does not exist in the target version of numpy"
    }
    assert len(calls) == 2  # the batch, then the batch without the refused units


def test_what_is_kept_after_a_search_is_what_repeated_runs_give() -> None:
    """The split result is validated as a whole: fixing it again changes nothing."""
    source = dense_module(40)
    first = run(source, name_exists=lambda qname, library: qname != "numpy.inf")
    again = run(first.source, name_exists=lambda qname, library: qname != "numpy.inf")
    assert again.source == first.source
    assert "np.float_" not in first.source
