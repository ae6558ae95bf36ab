"""CODEMENV loading, environments, systems, self-check and the report, on tasks written here in CODEMENV's
schema (the real data has no licence and is only read from ../shared when present)."""

import json
import os
import sys
from pathlib import Path

import pytest

from model_training.cli import main as train_main
from model_training.eval import codemenv, run
from model_training.eval.codemenv import CodemenvError, Task, load_tasks, program_of
from model_training.eval.envs import EnvCache, EnvResult, requirement
from model_training.eval.sandbox import Limits
from model_training.eval.systems import rules_system, target_of

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmarks" / "codemenv"
SCRIPT = "```python\nimport {pkg}\n\ndef f(x):\n{body}\n\nfor x in [1, 2]:\n    print(f(x))\n```"


def row(code_id, pkg="fakelib", origin="1", target="2", body="    return x * 2", message="2\n4\n", hard=False):
    data = {
        "solution_function": f"def f(x):\n{body}",
        "solution_signature": "def f(x: int) -> int",
        "problem": "double it",
        "package": pkg,
        "import": f"import {pkg}",
        "origin_version": origin,
        "compare_version": target,
        "code_id": code_id,
        "case": "case1:1,\ncase2:2",
        "solution_function_script": SCRIPT.format(pkg="os" if pkg == "fakelib" else pkg, body=body),
        "message": message,
    }
    if hard:
        data.update(signature_list=[], update_list=[], version_type="high", combine_id="c", api_num=2)
    return data


def write_data(folder: Path, easy, hard=()):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "easy_code.jsonl").write_text("".join(json.dumps(r) + "\n" for r in easy))
    (folder / "hard_code.jsonl").write_text("".join(json.dumps(r) + "\n" for r in hard))
    return folder


class FakeEnvs(EnvCache):
    """Version "1" and "2" of ``fakelib`` are this interpreter; anything else is not installable."""

    def __init__(self):
        super().__init__(Path("/nonexistent"))

    def python_for(self, library, version, *, stdlib=False):
        if version in ("1", "2"):
            return EnvResult(sys.executable)
        return EnvResult(None, f"cannot install {library}=={version}")


def test_load_filters_and_limits(tmp_path):
    folder = write_data(
        tmp_path / "cm",
        [row("a"), row("b"), row("c", pkg="math"), row("d", pkg="numpy")],
        [row("h1", hard=True)],
    )
    tasks = load_tasks(folder, packages=["fakelib", "math"], limit_per_package=1)
    assert [t.task_id for t in tasks] == ["easy/a", "easy/c", "hard/h1"]
    assert tasks[1].is_stdlib and not tasks[0].is_stdlib
    assert tasks[0].program.startswith("import os\n") and "```" not in tasks[0].program
    assert target_of(tasks[1]) == ("python", "2")


def test_missing_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(codemenv.ENV_VAR, raising=False)
    with pytest.raises(CodemenvError, match="RECODE_CODEMENV"):
        load_tasks(None)
    with pytest.raises(CodemenvError, match="easy_code.jsonl"):
        load_tasks(tmp_path)
    assert train_main(["eval", "codemenv", "--out", str(tmp_path / "r.jsonl")]) == 2


def test_program_of_drops_the_bare_python_line():
    assert program_of("```python\npython\n\nprint(1)\n```") == "\nprint(1)"


def test_requirement_and_python_versions(tmp_path):
    assert requirement("numpy", "2.0") == "numpy==2.0.*"
    assert requirement("pandas", "1.0.0") == "pandas==1.0.0"
    cache = EnvCache(tmp_path)
    assert cache.python_for("math", "2.7", stdlib=True).python is None
    approx = EnvCache(tmp_path, approximate_python=True)
    assert approx.python_for("math", "2.7", stdlib=True).python is None  # only 3.8+ is approximated
    result = approx.python_for("math", "3.9", stdlib=True)
    assert result.python and "approximated" in result.note
    assert (
        tmp_path
        / f"python-{sys.version_info[0]}.{sys.version_info[1]}-py{sys.version_info[0]}{sys.version_info[1]}"
        / "READY"
    ).is_file()


def test_failed_install_is_remembered(tmp_path, monkeypatch):
    cache = EnvCache(tmp_path)
    calls = []
    monkeypatch.setattr(cache, "_install", lambda folder, reqs: calls.append(reqs) or "cannot install x==9: no")
    assert cache.python_for("x", "9").note == "cannot install x==9: no"
    assert EnvCache(tmp_path).python_for("x", "9").note == "cannot install x==9: no"  # from FAILED, no pip
    assert len(calls) == 1


def test_self_check_systems_resume_and_report(tmp_path):
    folder = write_data(
        tmp_path / "cm",
        [
            row("good"),  # reference passes; unchanged passes
            row("broken", message="99\n"),  # reference fails: broken, in no pass rate
            row("crash", body="    raise ValueError(x)"),  # reference ok? no: it crashes -> broken too
            row("noenv", target="3"),  # target not installable
        ],
    )
    tasks = load_tasks(folder)
    out = tmp_path / "res.jsonl"
    limits = Limits(wall_seconds=20, cpu_seconds=20)
    rows = run.evaluate(tasks, ["unchanged"], out, envs=FakeEnvs(), limits=limits, jobs=2)
    assert len(rows) == 8
    by = {(r["task_id"], r["system"]): r for r in rows}
    assert by[("easy/good", "reference")]["passed"] is True
    assert by[("easy/broken", "reference")]["reason"] == "wrong_output"
    assert by[("easy/noenv", "unchanged")]["status"] == "env_unavailable"
    summary = run.summarize(rows)
    assert summary["broken"] == ["easy/broken", "easy/crash"]
    cell = summary["cells"]["unchanged/fakelib/easy"]
    assert (cell["tasks"], cell["ran"], cell["passed"], cell["broken"], cell["env_unavailable"]) == (4, 1, 1, 2, 1)
    assert cell["pass@1"] == 1.0
    assert "### unchanged\n" in run.markdown(summary)
    assert "| fakelib | easy | 4 | 1 | 1 | 1 | 100.0% | n/a | 2 | 1 |" in run.markdown(summary)
    # A rerun runs nothing new: the file keeps one line per (task, system).
    again = run.evaluate(tasks, ["unchanged"], out, envs=FakeEnvs(), limits=limits)
    assert len(again) == 8 and len(out.read_text().splitlines()) == 8


def test_rules_system_fixes_a_removed_numpy_alias():
    task = Task(
        "easy/x",
        "easy",
        "numpy",
        "1.26",
        "2.0",
        "import numpy as np\n\ndef f():\n    return np.float_(1.5)\n\nprint(f())\n",
        "",
        "1.5\n",
    )
    migrated = rules_system()(task, 0)
    assert migrated.fixes and "np.float_" not in migrated.program and migrated.error is None


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"CODEMENV data not at {SHARED} (evaluation-only data, never copied)")
def test_real_codemenv_loads():
    tasks = load_tasks(SHARED)
    assert len(tasks) == 396 + 191
    assert all("```" not in t.program.split("\n", 1)[0] for t in tasks)
    assert {t.package for t in tasks} >= {"numpy", "pandas", "math", "os"}


def test_sandbox_run_cli(tmp_path, capsys):
    program = tmp_path / "p.py"
    program.write_text("print('hi')\n")
    assert train_main(["eval", "sandbox-run", str(program), "--timeout", "5"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["passed"] is True and verdict["reason"] == "ok" and "stdout" not in verdict
    program.write_text("while True:\n    pass\n")
    assert train_main(["eval", "sandbox-run", str(program), "--timeout", "1"]) == 1
    assert json.loads(capsys.readouterr().out)["reason"] in ("timeout", "cpu_limit")
    assert os.path.exists(program)
