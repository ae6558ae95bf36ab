"""Run CODEMENV tasks through the systems in the sandbox; results as JSON lines; a Markdown report.

One JSON line per (task, system): ``system`` is ``reference`` for the self-check (the old program in an
environment with its *origin* version must print the expected output; a task whose reference fails is
*broken* and left out of every pass rate), or a system name (the program it produced, run with the
*target* version). Lines already in the results file are skipped on rerun, so a run can be resumed.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from model_training.eval.codemenv import Task
from model_training.eval.envs import EnvCache, EnvResult
from model_training.eval.passk import mean_pass_at_k
from model_training.eval.sandbox import Limits, run_program
from model_training.eval.systems import make_system

log = logging.getLogger(__name__)
REFERENCE = "reference"


def read_results(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by an interrupted run is redone
    return rows


def library_group(task: Task | Mapping[str, Any]) -> str:
    package = task.package if isinstance(task, Task) else str(task["package"])
    stdlib = task.is_stdlib if isinstance(task, Task) else bool(task.get("stdlib"))
    return "stdlib" if stdlib else package


def _env(envs: EnvCache, task: Task, version: str) -> EnvResult:
    if task.environment == "host":
        return envs.python_for("python", "{}.{}".format(*sys.version_info[:2]), stdlib=True)
    return envs.python_for(task.package, version, stdlib=task.is_stdlib)


def evaluate(
    tasks: Sequence[Task],
    systems: Sequence[str],
    results: Path,
    *,
    envs: EnvCache,
    limits: Limits | None = None,
    jobs: int = 2,
    self_check: bool = True,
) -> list[dict[str, Any]]:
    """Run what is not in ``results`` yet, append it there, and return every row for these tasks."""
    limits = limits or Limits(wall_seconds=60, cpu_seconds=60)
    done = {(row["task_id"], row["system"]) for row in read_results(results)}
    wanted = ([REFERENCE] if self_check else []) + list(systems)
    todo = [(task, name) for task in tasks for name in wanted if (task.task_id, name) not in done]
    # Environments first, one at a time: pip runs are heavy and each (library, version) is made once.
    for task, name in todo:
        _env(envs, task, task.origin_version if name == REFERENCE else task.target_version)
    made = {name: make_system(name) for name in systems}
    results.parent.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[Task, str]) -> dict[str, Any]:
        task, name = item
        version = task.origin_version if name == REFERENCE else task.target_version
        env = _env(envs, task, version)
        row: dict[str, Any] = {
            "task_id": task.task_id,
            "system": name,
            "split": task.split,
            "package": task.package,
            "stdlib": task.is_stdlib,
            "version": version,
            "sample": 0,
        }
        if env.note:
            row["env_note"] = env.note
        program, fixes, error = task.program, None, None
        if name != REFERENCE:
            migrated = made[name](task)
            program, fixes, error = migrated.program, migrated.fixes, migrated.error
            row["changed"] = program != task.program
        if fixes is not None:
            row["fixes"] = fixes
        if error:
            row["system_error"] = error
        if env.python is None:
            row.update(status="env_unavailable", passed=None)
            return row
        verdict = run_program(program, python=env.python, limits=limits, expected_stdout=task.expected_stdout)
        row.update(status="run", **verdict.as_dict())
        row["stdout_head"] = verdict.stdout[:400]
        row["stderr_tail"] = verdict.stderr[-400:]
        return row

    with results.open("a", encoding="utf-8") as out, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for count, row in enumerate(pool.map(one, todo), 1):
            out.write(json.dumps(row) + "\n")
            out.flush()
            if count % 20 == 0 or count == len(todo):
                log.info("%d/%d runs done", count, len(todo))
    ids = {task.task_id for task in tasks}
    return [row for row in read_results(results) if row["task_id"] in ids]


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per system, library group and split (``all`` too): counts, broken tasks, and pass@1 over the tasks
    that ran and are not broken."""
    rows = list(rows)
    reference = {row["task_id"]: row for row in rows if row["system"] == REFERENCE}
    broken = {tid for tid, row in reference.items() if row["status"] == "run" and not row["passed"]}
    unverified = {tid for tid, row in reference.items() if row["status"] != "run"}
    fields = ("tasks", "ran", "passed", "broken", "unverified", "env_unavailable", "timeouts", "errors", "changed")
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    scored = [row for row in rows if row["system"] != REFERENCE]
    splits: dict[str, set[str]] = {}
    for row in scored:
        splits.setdefault(library_group(row), set()).add(row["split"])
    every_split = set().union(*splits.values()) if splits else set()
    for row in scored:
        group = library_group(row)
        keys = {(group, row["split"])}
        if len(splits[group]) > 1:  # an "all" row only where it adds something
            keys.add((group, "all"))
        if len(splits) > 1:
            keys.add(("all", row["split"]))
            if len(every_split) > 1:
                keys.add(("all", "all"))
        for key in keys:
            cell = table.setdefault((row["system"], *key), {**dict.fromkeys(fields, 0), "counts": []})
            cell["tasks"] += 1
            if row["task_id"] in broken:
                cell["broken"] += 1
                continue
            if row["status"] != "run":
                cell["env_unavailable"] += 1
                continue
            cell["ran"] += 1
            cell["unverified"] += row["task_id"] in unverified
            cell["passed"] += bool(row["passed"])
            cell["changed"] += bool(row.get("changed"))
            cell["timeouts"] += row.get("reason") == "timeout"
            cell["errors"] += row.get("reason") not in ("ok", "wrong_output", "timeout")
            cell["counts"].append((1, int(bool(row["passed"]))))
    out: dict[str, Any] = {"broken": sorted(broken), "reference_unverified": len(unverified), "cells": {}}
    order = {"all": "~"}  # "all" rows after the named ones
    for (system, group, split), cell in sorted(table.items(), key=lambda kv: [order.get(k, k) for k in kv[0]]):
        counts = cell.pop("counts")
        cell["pass@1"] = mean_pass_at_k(counts, 1) if counts else None
        out["cells"][f"{system}/{group}/{split}"] = {"system": system, "group": group, "split": split, **cell}
    return out


def markdown(summary: Mapping[str, Any]) -> str:
    """One table: a row per system, library group and split."""
    lines = [
        (
            "| system | library | split | tasks | ran | passed | pass@1 | broken | env unavailable | changed "
            "| timeouts | errors |"
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in summary["cells"].values():
        rate = "n/a" if cell["pass@1"] is None else f"{100 * cell['pass@1']:.1f}%"
        lines.append(
            f"| {cell['system']} | {cell['group']} | {cell['split']} | {cell['tasks']} | {cell['ran']} | "
            f"{cell['passed']} | {rate} | {cell['broken']} | {cell['env_unavailable']} | {cell['changed']} | "
            f"{cell['timeouts']} | {cell['errors']} |"
        )
    lines.append("")
    lines.append(
        f"Broken tasks (reference fails with its origin version): {len(summary['broken'])}; "
        f"tasks whose reference could not be run (origin version not installable here): "
        f"{summary['reference_unverified']}. pass@1 is over tasks that ran and are not broken (n = 1, deterministic)."
    )
    return "\n".join(lines) + "\n"
