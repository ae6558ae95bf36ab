"""GitChameleon loading, environments with pinned extras, the reference self-check and the coverage table,
on problems written here in GitChameleon's schema (the real data has no licence: read from ../shared only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from model_training.cli import main as train_main
from model_training.eval import gitchameleon, run
from model_training.eval.codemenv import CodemenvError
from model_training.eval.envs import EnvCache, EnvResult

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmarks" / "gitchameleon"


def problem(example_id: str, library: str = "json", solution: str = "    return json.dumps(x)", extras: str = ""):
    return {
        "python_version": "3.10",
        "library": library,
        "version": "1.0",
        "additional_dependencies": extras,
        "problem": "serialise",
        "starting_code": "import json\ndef f(x):\n",
        "example_id": example_id,
        "test": "assert f([1]) == '[1]'",
        "solution": solution,
    }


class Envs(EnvCache):
    """Any set with extras is this interpreter; ``missing`` is not installable."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"))
        self.asked: list[tuple[str, str, tuple[str, ...]]] = []

    def python_with(self, library, version, extras):
        self.asked.append((library, version, tuple(extras)))
        return EnvResult(sys.executable)

    def python_for(self, library, version, *, stdlib=False):
        return EnvResult(None, "no wheel") if library == "missing" else EnvResult(sys.executable)


def test_reference_self_check_and_coverage(tmp_path: Path) -> None:
    data = tmp_path / "final_fix_dataset.jsonl"
    rows = [
        problem("0"),
        problem("1", solution="    return 'nope'"),
        problem("2", extras="dep==1.0 other==2.0"),
        problem("3", library="missing"),
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = gitchameleon.load_tasks(tmp_path)
    assert [t.requirements for t in tasks] == [(), (), ("dep==1.0", "other==2.0"), ()]
    assert tasks[0].program == "import json\ndef f(x):\n    return json.dumps(x)\n\nassert f([1]) == '[1]'\n"
    envs = Envs()
    results = run.evaluate(tasks, [], tmp_path / "r.jsonl", envs=envs, self_check=True)
    assert envs.asked and envs.asked[0] == ("json", "1.0", ("dep==1.0", "other==2.0"))
    passed = {r["task_id"]: r["passed"] for r in results}
    assert passed == {"gitchameleon/0": True, "gitchameleon/1": False, "gitchameleon/2": True, "gitchameleon/3": None}
    table = gitchameleon.coverage(results)
    assert "| json | 3 | 3 | 2 | 1 | 0 |" in table and "| missing | 1 | 0 | 0 | 0 | 1 |" in table
    assert "| all | 4 | 3 | 2 | 1 | 1 |" in table
    assert len(gitchameleon.load_tasks(data, libraries={"missing"})) == 1


def test_missing_data_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv(gitchameleon.ENV_VAR, raising=False)
    with pytest.raises(CodemenvError, match="RECODE_GITCHAMELEON"):
        gitchameleon.load_tasks(None)
    assert train_main(["eval", "gitchameleon", "--gitchameleon", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "final_fix_dataset.jsonl expected" in capsys.readouterr().err


def test_env_with_extras_is_its_own_cached_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = EnvCache(tmp_path)
    installs: list[list[str]] = []

    def install(folder: Path, reqs: list[str]) -> str:
        folder.mkdir(parents=True)
        installs.append(reqs)
        return ""

    monkeypatch.setattr(cache, "_install", install)
    one = cache.python_with("scipy", "1.9.2", ["numpy==1.21.6"])
    again = cache.python_with("scipy", "1.9.2", ["numpy==1.21.6"])
    plain = cache.python_for("scipy", "1.9.2")
    assert one == again and one.python != plain.python
    assert installs == [["scipy==1.9.2", "numpy==1.21.6"], ["scipy==1.9.2"]]


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"GitChameleon data not at {SHARED} (evaluation-only, never copied)")
def test_real_gitchameleon_loads() -> None:
    tasks = gitchameleon.load_tasks(SHARED)
    assert len(tasks) == 328 and len({t.package for t in tasks}) == 26
