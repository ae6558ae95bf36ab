"""The one fix pipeline (select -> fix -> validate -> split into units), as every client uses it.

Before/after sources go through :func:`recode_lsp.engine.pipeline.run_fix_pipeline`; the CLI
(``recode-migrate --apply``, a real subprocess) and the language server's document
(:class:`recode_lsp.engine.document.DocumentAnalysis`) must give the same module for the same input.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine import DetectOptions, analyse, detect, load_knowledge_base
from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis
from recode_lsp.engine.names import InstalledNames
from recode_lsp.engine.pipeline import PipelineResult, run_fix_pipeline
from recode_lsp.engine.versions import Version, installed_versions

KB = load_knowledge_base()
TARGETS = {"numpy": "2.0", "python": "3.12", "pydantic": "2.8", "pandas": "2.0"}
OPTIONS = DetectOptions(targets={library: Version(version) for library, version in TARGETS.items()})


def code_of(old: str) -> str:
    """The shipped id of the change of ``old`` (ids are data, not hard-coded here)."""
    return next(change.id for change in KB.changes if change.old == old and change.old_keyword is None)


def pipeline(source: str, *, unsafe: bool = True, **kwargs: object) -> PipelineResult:
    analysis = analyse(source, "example.py")
    findings = detect(source, KB, OPTIONS, "example.py", analysis=analysis)
    return run_fix_pipeline(
        analysis=analysis, findings=findings, kb=KB, options=OPTIONS, unsafe=unsafe, path="example.py", **kwargs
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    targets = [f"--target={library}=={version}" for library, version in TARGETS.items()]
    return subprocess.run(
        [sys.executable, "-m", "recode_lsp", *args, *targets, "--no-cache", "--allow-dirty"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
        timeout=120,
    )


TYPING_SETS = "from typing import AbstractSet, Set\n\n\ndef f(a: AbstractSet[int], b: Set[int]) -> None:\n    pass\n"
TYPING_SETS_FIXED = "from collections.abc import Set\n\n\ndef f(a: Set[int], b: set[int]) -> None:\n    pass\n"

PYDANTIC_CONFIG = textwrap.dedent(
    """\
    import numpy as np
    from pydantic import BaseModel


    class User(BaseModel):
        name: str

        class Config:
            orm_mode = True
            title = np.float_.__name__
    """
)
PYDANTIC_CONFIG_FIXED = textwrap.dedent(
    """\
    import numpy as np
    from pydantic import BaseModel, ConfigDict


    class User(BaseModel):
        name: str

        model_config = ConfigDict(from_attributes=True, title=np.float64.__name__)
    """
)


# --- the validator is given the original module ------------------------------------------


def test_a_pre_existing_undefined_name_does_not_reject_valid_fixes() -> None:
    """``undefined_thing`` was undefined before the fix: it is not the fix's doing.

    One fix of the batch is refused (its new name does not exist in the target version), so the
    pipeline splits the batch into units and checks the passing ones together again; that
    check must compare with the original module too.
    """
    source = "import numpy as np\n\nprint(undefined_thing)\nx = np.float_(1)\ny = np.Inf\nz = np.complex_(2)\n"

    def name_exists(qname: str, library: str) -> bool | None:
        return qname != "numpy.complex128"

    result = pipeline(source, unsafe=False, name_exists=name_exists)
    assert (
        result.source
        == "import numpy as np\n\nprint(undefined_thing)\nx = np.float64(1)\ny = np.inf\nz = np.complex_(2)\n"
    )
    assert sorted(f.code for f in result.applied) == sorted([code_of("numpy.float_"), code_of("numpy.Inf")])
    [(finding, reason)] = result.skipped
    assert finding.code == code_of("numpy.complex_")
    assert "numpy.complex128" in reason


def test_a_pre_existing_undefined_name_alone() -> None:
    result = pipeline("import numpy as np\nprint(undefined_thing)\nx = np.float_(1)\n")
    assert result.source == "import numpy as np\nprint(undefined_thing)\nx = np.float64(1)\n"
    assert result.skipped == []


def test_a_fix_that_shadows_a_builtin_is_refused() -> None:
    source = "import numpy as np\n\nx = np.float_(1)\n"

    result = pipeline(source)
    assert result.source == "import numpy as np\n\nx = np.float64(1)\n"
    # The validation the pipeline runs is the validator's: a new module-level builtin binding fails.
    from recode_lsp.engine.validator import Baseline, check_fix

    baseline = Baseline(analysis=analyse(source), findings=detect(source, KB, OPTIONS))
    verdict = check_fix(
        baseline=baseline,
        fixed=baseline.findings,
        new_source="from numpy import float64 as float\n\nx = float(1)\n",
        kb=KB,
        options=OPTIONS,
    )
    assert not verdict.ok
    assert "shadow the builtin" in verdict.reason


# --- a fixed point in one run -------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(TYPING_SETS, TYPING_SETS_FIXED, id="typing-abstractset-and-set"),
        pytest.param(PYDANTIC_CONFIG, PYDANTIC_CONFIG_FIXED, id="pydantic-config-overlapping-a-fix"),
    ],
)
def test_one_pipeline_call_reaches_the_fixed_point(before: str, after: str) -> None:
    result = pipeline(before)
    assert result.source == after
    assert not any("run again" in reason for _, reason in result.skipped)
    again = pipeline(result.source)
    assert again.source == result.source
    assert again.applied == []


def test_findings_fixed_in_later_rounds_are_reported_where_they_were() -> None:
    result = pipeline(TYPING_SETS)
    where = sorted((f.code, f.range.start.line, f.range.start.column) for f in result.applied)
    abstract_set, typing_set = code_of("typing.AbstractSet"), code_of("typing.Set")
    # Every finding of the original module, at its place in the original module.
    assert where == sorted([(abstract_set, 0, 19), (typing_set, 0, 32), (abstract_set, 3, 9), (typing_set, 3, 30)])
    assert result.rounds == 2


def test_a_selected_fix_is_one_round() -> None:
    """A quick fix does what was asked; the next one is offered on the new text."""
    analysis = analyse(TYPING_SETS)
    findings = detect(TYPING_SETS, KB, OPTIONS, analysis=analysis)
    chosen = [f for f in findings if f.code == code_of("typing.Set")]
    result = run_fix_pipeline(
        analysis=analysis, findings=findings, kb=KB, options=OPTIONS, unsafe=False, selected=chosen
    )
    assert (
        result.source
        == "from typing import AbstractSet\n\n\ndef f(a: AbstractSet[int], b: set[int]) -> None:\n    pass\n"
    )
    assert result.rounds == 1


@pytest.mark.parametrize("source", [TYPING_SETS, PYDANTIC_CONFIG], ids=["typing", "pydantic"])
def test_one_apply_equals_applying_until_stable(tmp_path: Path, source: str) -> None:
    once, stable = tmp_path / "once", tmp_path / "stable"
    for folder in (once, stable):
        folder.mkdir()
        (folder / "module.py").write_text(source)
    assert cli("--apply", "--unsafe-fixes", ".", cwd=once).returncode in (0, 1)
    for _ in range(6):
        previous = (stable / "module.py").read_text()
        cli("--apply", "--unsafe-fixes", ".", cwd=stable)
        if (stable / "module.py").read_text() == previous:
            break
    assert (once / "module.py").read_text() == (stable / "module.py").read_text()
    # A second run changes nothing.
    before = (once / "module.py").read_text()
    second = cli("--apply", "--unsafe-fixes", ".", cwd=once)
    assert (once / "module.py").read_text() == before, second.stdout + second.stderr


def test_one_diff_is_complete(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(PYDANTIC_CONFIG)
    result = cli("--diff", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "+    model_config = ConfigDict(from_attributes=True, title=np.float64.__name__)" in result.stdout
    assert "run again" not in result.stdout + result.stderr


# --- the CLI and the language server agree ------------------------------------------------

SAME_RESULT = {
    "undefined-name": "import numpy as np\nprint(undefined_thing)\nx = np.float_(1)\n",
    "typing-sets": TYPING_SETS,
    "pydantic-config": PYDANTIC_CONFIG,
    "list-rebound": textwrap.dedent(
        """\
        import xml.etree.ElementTree as ET

        list = [1, 2]
        root = ET.fromstring("<a><b/></a>")
        children = root.getchildren()
        """
    ),
    "float-rebound": "import numpy as np\n\nfloat = np.float32\ny = np.asfarray([1, 2])\n",
    "issubclass-parameter": "import numpy as np\n\n\ndef sub(issubclass, a, b):\n    return np.issubclass_(a, b)\n",
    "builtin-import": "from numpy import alltrue\n\nok = alltrue([True])\nx = 1\n",
    "mixed": textwrap.dedent(
        """\
        import numpy as np
        import pandas as pd
        from typing import List, Dict


        def load(path) -> List[Dict[str, float]]:
            df = pd.read_csv(path)
            for name, column in df.iteritems():
                print(name, np.float_(column.sum()))
            return []
        """
    ),
}


@pytest.mark.parametrize("name", sorted(SAME_RESULT))
def test_the_language_server_and_the_cli_fix_alike(tmp_path: Path, name: str) -> None:
    source = SAME_RESULT[name]
    (tmp_path / "module.py").write_text(source)
    cli("--apply", "--unsafe-fixes", ".", cwd=tmp_path)
    by_cli = (tmp_path / "module.py").read_text()

    context = AnalysisContext(KB, OPTIONS, unsafe=True, name_exists=_installed_names())
    document = DocumentAnalysis.run(source, str(tmp_path / "module.py"), context)
    assert document.fix_all().source == by_cli


def _installed_names() -> InstalledNames | None:
    """The name check the CLI uses: the versions installed in this interpreter."""
    installed = installed_versions(KB.libraries)
    return InstalledNames(OPTIONS.targets, installed) if installed else None
