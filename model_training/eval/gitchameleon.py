"""GitChameleon (version-conditioned code generation) as sandboxed tasks: evaluation only.

The data has no licence: it is read where it lies (``--gitchameleon FILE`` or ``$RECODE_GITCHAMELEON``,
the ``final_fix_dataset.jsonl``), never copied into the project. A problem's program is
``starting_code + solution`` then its ``test`` (asserts); it passes when it exits with status 0, in an
environment with the problem's ``library==version`` and its pinned extra dependencies. The problems
were written for Python 3.7-3.10; here they run on the running interpreter, so only the (library,
version, extras) sets with wheels for it are covered, and ``eval gitchameleon`` reports how many.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from model_training.eval.codemenv import CodemenvError, Task

ENV_VAR = "RECODE_GITCHAMELEON"


def data_file(path: str | os.PathLike[str] | None) -> Path:
    chosen = path or os.environ.get(ENV_VAR)
    if not chosen:
        raise CodemenvError(f"no GitChameleon data: pass --gitchameleon FILE or set ${ENV_VAR}")
    found = Path(chosen)
    if found.is_dir():
        found = found / "final_fix_dataset.jsonl"
    if not found.is_file():
        raise CodemenvError(f"{found}: no such GitChameleon file (final_fix_dataset.jsonl expected)")
    return found


def load_tasks(
    path: str | os.PathLike[str] | None, *, libraries: set[str] | None = None, limit: int | None = None
) -> list[Task]:
    """One task per problem (file order), optionally only ``libraries``; its program is the reference."""
    tasks = []
    source = data_file(path)
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if libraries is not None and row["library"] not in libraries:
                    continue
                tasks.append(_task(row))
            except (json.JSONDecodeError, KeyError) as exc:
                raise CodemenvError(f"{source}:{number}: {exc}") from exc
            if limit is not None and len(tasks) >= limit:
                break
    return tasks


def _task(row: dict[str, str]) -> Task:
    program = f"{row['starting_code']}{row['solution']}\n\n{row['test']}\n"
    return Task(
        task_id=f"gitchameleon/{row['example_id']}",
        split="gitchameleon",
        package=row["library"],
        origin_version=row["version"],
        target_version=row["version"],
        program=program,
        function=row["solution"],
        expected_stdout=None,
        requirements=tuple(row.get("additional_dependencies", "").split()),
    )


def coverage(rows: list[dict[str, object]]) -> str:
    """Markdown: per library, how many problems ran here (their environment installs) and how many
    reference solutions pass; the rest are not installable on this Python (or their reference fails)."""
    table: dict[str, list[int]] = {}
    for row in rows:
        if row["system"] != "reference":
            continue
        cell = table.setdefault(str(row["package"]), [0, 0, 0, 0])
        cell[0] += 1
        if row["status"] == "run":
            cell[1] += 1
            cell[2] += bool(row["passed"])
        else:
            cell[3] += 1
    lines = [
        "| library | problems | installable (ran) | reference passes | reference fails | not installable |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    total = [0, 0, 0, 0]
    for library, (problems, ran, passed, missing) in sorted(table.items()):
        lines.append(f"| {library} | {problems} | {ran} | {passed} | {ran - passed} | {missing} |")
        total = [a + b for a, b in zip(total, (problems, ran, passed, missing), strict=True)]
    problems, ran, passed, missing = total
    lines.append(f"| all | {problems} | {ran} | {passed} | {ran - passed} | {missing} |")
    return "\n".join(lines) + "\n"
