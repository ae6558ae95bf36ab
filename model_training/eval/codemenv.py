"""CODEMENV (ACL 2025 Findings) migration tasks, read from a path the user gives.

The data has no licence: it is read where it lies (``--codemenv DIR`` or ``$RECODE_CODEMENV``), never
copied into the project. A task's program is its ``solution_function_script`` (the old function plus a
driver that prints one line per input case); it passes when run in an environment with the task's
``compare_version`` it prints ``message``. Upstream asks an LLM to write the driver and to compare
outputs; here the dataset's own driver is run and outputs are compared exactly (trailing spaces aside),
so the numbers are deterministic.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("easy", "hard")
ENV_VAR = "RECODE_CODEMENV"
#: CODEMENV's standard-library "packages" (versions are Python versions).
STDLIB = frozenset({"math", "os", "python", "itertools", "re", "random", "csv"})
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


class CodemenvError(Exception):
    """The data is missing or malformed."""


@dataclass(frozen=True)
class Task:
    """One migration task: run ``program`` (old code) moved from ``origin_version`` to ``target_version``."""

    task_id: str
    split: str
    package: str
    origin_version: str
    target_version: str
    program: str
    function: str
    #: ``None``: exit status 0 passes (HumanEval's asserts).
    expected_stdout: str | None
    #: ``"host"``: a bare environment of the running Python, whatever the package (HumanEval).
    environment: str = ""
    #: What changed in the API (the ``<doc>`` of the model's prompt).
    update: str = ""
    #: The code the model is asked to migrate; its answer replaces this text of ``program``
    #: (empty: the whole program).
    model_source: str = ""
    #: Pinned extra packages the environment needs besides ``package==version`` (GitChameleon).
    requirements: tuple[str, ...] = ()

    @property
    def is_stdlib(self) -> bool:
        return self.package in STDLIB


def strip_fence(text: str) -> str:
    """The code inside a single Markdown ```python fence (the text itself when there is none)."""
    match = _FENCE.match(text)
    return match.group(1) if match else text


def program_of(script: str) -> str:
    """The runnable program of a ``solution_function_script``: unfenced, and without bare ``python`` lines
    (the ``import`` field of the ``python`` tasks is the word ``python``, pasted in as a line; upstream's
    runner deletes every ``python`` substring, which hides it)."""
    lines = strip_fence(script).split("\n")
    return "\n".join(line for line in lines if line.strip() != "python")


def resolve_dir(path: str | os.PathLike[str] | None) -> Path:
    """The CODEMENV folder from the argument or ``$RECODE_CODEMENV``; an error naming both otherwise."""
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen:
        raise CodemenvError(f"no CODEMENV data: pass --codemenv DIR or set ${ENV_VAR} (folder with easy_code.jsonl)")
    folder = Path(chosen)
    if not (folder / "easy_code.jsonl").is_file():
        raise CodemenvError(f"{folder}: no easy_code.jsonl (CODEMENV's eval_data folder expected)")
    return folder


def load_tasks(
    folder: str | os.PathLike[str] | None,
    *,
    splits: Sequence[str] = SPLITS,
    packages: Sequence[str] | None = None,
    limit_per_package: int | None = None,
) -> list[Task]:
    """Tasks in file order, filtered by package; ``limit_per_package`` keeps the first N per (split, package)."""
    root = resolve_dir(folder)
    tasks: list[Task] = []
    for split in splits:
        if split not in SPLITS:
            raise CodemenvError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
        seen: dict[str, int] = {}
        for row in _rows(root / f"{split}_code.jsonl"):
            package = str(row.get("package", ""))
            if packages is not None and package not in packages:
                continue
            if limit_per_package is not None and seen.get(package, 0) >= limit_per_package:
                continue
            seen[package] = seen.get(package, 0) + 1
            tasks.append(_task(row, split))
    return tasks


def _rows(path: Path) -> Iterator[dict[str, object]]:
    if not path.is_file():
        raise CodemenvError(f"{path}: missing")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CodemenvError(f"{path}:{number}: {exc}") from exc


def update_info(row: dict[str, object]) -> str:
    """The update as CODEMENV states it: the change in words, then the old and new signatures."""
    parts = [str(row.get("update") or "").strip()]
    if row.get("signature") and row.get("compare_signature"):
        parts.append(f"Old signature: {row['signature']}\nNew signature: {row['compare_signature']}")
    return "\n".join(part for part in parts if part)


def _task(row: dict[str, object], split: str) -> Task:
    try:
        program = program_of(str(row["solution_function_script"]))
        function = str(row["solution_function"])
        return Task(
            task_id=f"{split}/{row['code_id']}",
            split=split,
            package=str(row["package"]),
            origin_version=str(row["origin_version"]),
            target_version=str(row["compare_version"]),
            program=program,
            function=function,
            expected_stdout=str(row["message"]),
            update=update_info(row),
            # The function alone, as the training snippets were, where the driver quotes it verbatim
            # (427 of 587 tasks); else the whole program.
            model_source=function.strip() if function.strip() and function.strip() in program else "",
        )
    except KeyError as exc:
        raise CodemenvError(f"{split} task {row.get('code_id')!r}: no field {exc}") from exc
