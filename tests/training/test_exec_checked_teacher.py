"""Execution-checked teacher targets: where a snippet can run, the answer must behave as the old code did.

The library pair is the standard library across a change that one interpreter can run: PY073,
``datetime.datetime.utcfromtimestamp`` (deprecated in Python 3.12, not removed), so the old code and the
answer both run under "Python 3.12", which this interpreter stands in for (``approximate_python``). The
old code gives a naive datetime; ``fromtimestamp(ts, timezone.utc)`` gives an aware one (a different
value that the engine still accepts: the old API is gone), ``.replace(tzinfo=None)`` of it the same one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model_training.data import build as builder
from model_training.data.check import check, load_splits
from model_training.data.exec_check import ExecCheckSettings, program, why_not_runnable
from tests.training.test_data_v2 import Teacher

DATES = """import datetime

EPOCH = datetime.datetime.utcfromtimestamp(0)

DAY_ONE = datetime.datetime.utcfromtimestamp(86400)


def stamp(ts):
    return datetime.datetime.utcfromtimestamp(ts)
"""

SAME = (
    "<answer>\n```python\nimport datetime\n\n"
    "EPOCH = datetime.datetime.fromtimestamp(0, datetime.timezone.utc).replace(tzinfo=None)\n```\n</answer>"
)
DIFFERENT = (
    "<answer>\n```python\nimport datetime\n\n"
    "DAY_ONE = datetime.datetime.fromtimestamp(86400, datetime.timezone.utc)\n```\n</answer>"
)
FUNCTION = (
    "<answer>\n```python\nimport datetime\n\ndef stamp(ts):\n"
    "    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)\n```\n</answer>"
)


def scripted(user: str) -> str:
    if "EPOCH" in user:
        return SAME
    if "DAY_ONE" in user:
        return DIFFERENT
    return FUNCTION


@pytest.fixture()
def dates_corpus(tmp_path: Path) -> Path:
    package = tmp_path / "corpus" / "datesapp-1.0" / "datesapp"
    package.mkdir(parents=True)
    (package / "dates.py").write_text(DATES, encoding="utf-8")
    return tmp_path / "corpus"


@pytest.fixture(scope="module")
def env_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("exec-envs"))


def test_what_can_run() -> None:
    roots = {"numpy"}
    assert why_not_runnable("import numpy as np\n\nX = np.arange(3)\n", roots) is None
    assert why_not_runnable("import numpy as np\n\ndef f(a):\n    return np.sum(a)\n", roots) == (
        "no module-level code (definitions only)"
    )
    assert why_not_runnable("import os\n\nX = os.getcwd()\n", roots) == "imports os"
    assert why_not_runnable("import pandas\n\nX = pandas.Series()\n", roots) == "imports pandas"
    assert why_not_runnable("X = open('f').read()\n", roots) == "calls open"
    assert why_not_runnable("from . import thing\n\nX = thing\n", roots) == "relative import"
    assert why_not_runnable("import numpy as np\n\nnp.arange(3)\n", roots) == "no module-level value to compare"
    assert why_not_runnable("import numpy as np\n\nprint(np.arange(3))\n", roots) is None


def test_the_program_prints_public_values_only() -> None:
    source = program("import math\n\nA = math.sqrt(4)\n_hidden = 1\nf = math.floor\nB, C = 1, [2]\n")
    namespace: dict[str, object] = {}
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "main.py", "exec"), namespace)  # noqa: S102 - our own program
    assert out.getvalue().splitlines() == ["A = 2.0", "B = 1", "C = [2]"]


def build_with_teacher(
    corpus: Path,
    teacher: builder.TeacherSettings,
    exec_check: ExecCheckSettings,
    max_mechanical_share: float = 1.0,
) -> builder.BuildResult:
    """The data builder over ``corpus`` (one job, seed 0) with ``teacher`` and the execution check."""
    return builder.build(
        corpus, jobs=1, seed=0, max_mechanical_share=max_mechanical_share, teacher=teacher, exec_check=exec_check
    )


def test_an_answer_that_behaves_the_same_is_execution_checked_and_one_that_differs_is_dropped(
    dates_corpus: Path, env_root: str, tmp_path: Path
) -> None:
    settings = ExecCheckSettings(env_root=env_root, approximate_python=True)
    with Teacher(scripted) as teacher:
        result = build_with_teacher(dates_corpus, builder.TeacherSettings(teacher.url), settings)
    assert len(teacher.prompts) == 3
    got = {e["provenance"]["unit_line"]: e for entries in result.splits.values() for e in entries}
    # EPOCH (line 3): ran under both releases, printed the same value: kept, execution-checked.
    # DAY_ONE (line 5): validated by the engine but prints an aware datetime: dropped.
    # stamp (line 8): a function alone has no inputs, so it cannot run: kept as a teacher entry.
    assert {line: e["target_origin"] for line, e in got.items()} == {3: "execution-checked", 8: "teacher"}
    assert got[3]["provenance"]["execution"]["status"] == "same"
    assert got[3]["provenance"]["execution"]["releases"] == "python 3.12 -> 3.12"
    assert "datetime.datetime(1970, 1, 1, 0, 0)" in got[3]["provenance"]["execution"]["detail"]
    assert got[8]["provenance"]["execution"]["status"] == "not runnable"
    assert result.stats["teacher: ran and behaved differently"] == 1
    assert result.stats["teacher: execution-checked"] == 1
    builder.write_result(result, tmp_path / "built", seed=0)
    report = check(load_splits([tmp_path / "built"]))
    assert report.origins == {"execution-checked": 1, "teacher": 1}


def test_without_the_check_both_runnable_answers_stay_teacher(dates_corpus: Path) -> None:
    with Teacher(scripted) as teacher:
        result = build_with_teacher(
            dates_corpus, builder.TeacherSettings(teacher.url), ExecCheckSettings(enabled=False)
        )
    origins = sorted(e["target_origin"] for entries in result.splits.values() for e in entries)
    assert origins == ["teacher", "teacher", "teacher"]


def test_the_tiny_model_as_teacher_runs_end_to_end_and_keeps_nothing_unvalidated(
    tiny_qwen2: Path, dates_corpus: Path, env_root: str
) -> None:
    """The real tiny random model, served on loopback through transformers, answers garbage: every answer is
    asked for and rejected, only the rule entry is left (and, at the default mechanical share, nothing)."""
    from model_training.eval.local_model import LocalModel
    from tests.training.test_data_v2 import OPS

    (dates_corpus / "datesapp-1.0" / "datesapp" / "ops.py").write_text(OPS, encoding="utf-8")
    local = LocalModel(str(tiny_qwen2))
    answers: list[str] = []

    def answer(user: str) -> str:
        messages = [{"role": "user", "content": user}]
        answers.append(local.generate(messages, max_tokens=48, temperature=1.0, top_p=1.0, seed=len(answers)))
        return answers[-1]

    settings = ExecCheckSettings(env_root=env_root, approximate_python=True)
    with Teacher(answer) as teacher:
        teacher_settings = builder.TeacherSettings(teacher.url, max_tokens=48)
        result = build_with_teacher(dates_corpus, teacher_settings, settings)
        capped = build_with_teacher(dates_corpus, teacher_settings, settings, builder.DEFAULT_MECHANICAL_SHARE)
    # Six display-only sites (three datetime, three numpy), asked twice (two builds), all answered.
    assert len(teacher.prompts) == 12 and len(answers) == 12 and all(isinstance(a, str) for a in answers)
    asked = result.stats["teacher: sites asked"]
    assert asked == 6 and result.stats["teacher: answer rejected by the engine"] == asked
    entries = [e for split in result.splits.values() for e in split]
    assert [(e["change_id"], e["target_origin"]) for e in entries] == [("NPY042", "rule")]
    assert capped.total == 0  # no teacher entry, so the one mechanical entry is over the 30% share
