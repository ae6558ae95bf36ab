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
from model_training.eval.systems import MODEL_SYSTEMS, ModelConfig, make_system, sample_seed

log = logging.getLogger(__name__)
REFERENCE = "reference"
#: The reason of a sample whose system produced no program (no answer, no code in it).
NO_PROGRAM = "no_program"


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
    if task.requirements:
        return envs.python_with(task.package, version, task.requirements)
    return envs.python_for(task.package, version, stdlib=task.is_stdlib)


def finished_samples(results: Path) -> set[tuple[str, str, int]]:
    """``(task_id, system, sample)`` of every row already in ``results``, for a resumed run to skip; a
    sample that could not reach the model (``model_outage``) is not finished: it is asked again."""
    return {
        (row["task_id"], row["system"], int(row.get("sample", 0)))
        for row in latest(read_results(results))
        if not row.get("model_outage")
    }


def latest(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, system, sample), the last one written (a rerun redoes outages)."""
    keyed: dict[tuple[str, str, int], dict[str, Any]] = {}
    for row in rows:
        keyed[(row["task_id"], row["system"], int(row.get("sample", 0)))] = dict(row)
    return list(keyed.values())


def samples_of(system: str, samples: int) -> int:
    """Deterministic systems give one sample per task; the model systems ``samples``."""
    return samples if system in MODEL_SYSTEMS else 1


def evaluate(
    tasks: Sequence[Task],
    systems: Sequence[str],
    results: Path,
    *,
    envs: EnvCache,
    limits: Limits | None = None,
    jobs: int = 2,
    self_check: bool = True,
    model: ModelConfig | None = None,
    samples: int = 1,
    progress: bool | None = None,
) -> list[dict[str, Any]]:
    """Run what is not in ``results`` yet, append it there, and return every row for these tasks.

    ``jobs`` samples are generated and run at once (model requests included). A sample whose model
    could not be reached is written with ``model_outage`` and asked again on rerun. ``progress``: a
    progress bar on stderr (None: only when stderr is a terminal)."""
    limits = limits or Limits(wall_seconds=60, cpu_seconds=60)
    done = finished_samples(results)
    wanted = ([REFERENCE] if self_check else []) + list(systems)
    todo = [
        (task, name, sample)
        for task in tasks
        for name in wanted
        for sample in range(samples_of(name, samples))
        if (task.task_id, name, sample) not in done
    ]
    # Environments first, one at a time: pip runs are heavy and each (library, version) is made once.
    for task, name, _ in todo:
        _env(envs, task, task.origin_version if name == REFERENCE else task.target_version)
    made = {name: make_system(name, model) for name in systems}
    results.parent.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[Task, str, int]) -> dict[str, Any]:
        task, name, sample = item
        version = task.origin_version if name == REFERENCE else task.target_version
        env = _env(envs, task, version)
        row: dict[str, Any] = {
            "task_id": task.task_id,
            "system": name,
            "split": task.split,
            "package": task.package,
            "stdlib": task.is_stdlib,
            "version": version,
            "sample": sample,
        }
        if env.note:
            row["env_note"] = env.note
        if name in MODEL_SYSTEMS and model is not None:
            row.update(model.record(), seed=sample_seed(task.task_id, sample))
        program: str | None = task.program
        fixes, error = None, None
        if name != REFERENCE:
            migrated = made[name](task, sample)
            program, fixes, error = migrated.program, migrated.fixes, migrated.error
            row["changed"] = program is not None and program != task.program
            if migrated.model:
                row["model_info"] = migrated.model
            if migrated.outage:
                row["model_outage"] = True
        if fixes is not None:
            row["fixes"] = fixes
        if error:
            row["system_error"] = error
        if env.python is None:
            row.update(status="env_unavailable", passed=None)
            return row
        if program is None:  # the system produced nothing to run: that sample fails
            row.update(status="run", passed=False, reason=NO_PROGRAM, exit_status=None, seconds=0.0, output_bytes=0)
            return row
        verdict = run_program(program, python=env.python, limits=limits, expected_stdout=task.expected_stdout)
        row.update(status="run", **verdict.as_dict())
        row["stdout_head"] = verdict.stdout[:400]
        row["stderr_tail"] = verdict.stderr[-400:]
        return row

    from tqdm import tqdm

    bar = tqdm(
        total=len(todo),
        desc="eval",
        unit="run",
        disable=(not sys.stderr.isatty()) if progress is None else not progress,
    )
    with results.open("a", encoding="utf-8") as out, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for count, row in enumerate(pool.map(one, todo), 1):
            out.write(json.dumps(row) + "\n")
            out.flush()
            bar.update(1)
            if bar.disable and (count % 20 == 0 or count == len(todo)):
                log.info("%d/%d runs done", count, len(todo))
    bar.close()
    ids = {task.task_id for task in tasks}
    return [row for row in latest(read_results(results)) if row["task_id"] in ids]


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per system, library group and split (``all`` too): counts, broken tasks, and unbiased pass@1 and
    pass@5 over the tasks that ran and are not broken (pass@5 only where every such task has 5 samples).

    ``tasks``, ``ran``, ``broken`` and ``env_unavailable`` count tasks; ``samples``, ``passed``,
    ``changed``, ``timeouts``, ``errors`` (the program crashed or hit a limit) and ``model_errors`` (the
    system could not produce a program: no answer, no code, an engine crash) count samples."""
    rows = latest(rows)
    reference = {row["task_id"]: row for row in rows if row["system"] == REFERENCE}
    broken = {tid for tid, row in reference.items() if row["status"] == "run" and not row["passed"]}
    unverified = {tid for tid, row in reference.items() if row["status"] != "run"}
    sample_fields = ("samples", "passed", "changed", "timeouts", "errors", "model_errors")
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
        tid = row["task_id"]
        for key in keys:
            cell = table.setdefault((row["system"], *key), {"task_state": {}, **dict.fromkeys(sample_fields, 0)})
            if tid in broken:
                cell["task_state"][tid] = "broken"
                continue
            if row["status"] != "run":
                cell["task_state"].setdefault(tid, "env_unavailable")
                continue
            state = cell["task_state"].get(tid)
            n, c = state if isinstance(state, tuple) else (0, 0)
            cell["task_state"][tid] = (n + 1, c + bool(row["passed"]))
            cell["samples"] += 1
            cell["passed"] += bool(row["passed"])
            cell["changed"] += bool(row.get("changed"))
            cell["timeouts"] += row.get("reason") == "timeout"
            cell["errors"] += row.get("reason") not in ("ok", "wrong_output", "timeout", NO_PROGRAM)
            cell["model_errors"] += bool(row.get("system_error"))
    out: dict[str, Any] = {"broken": sorted(broken), "reference_unverified": len(unverified), "cells": {}}
    order = {"all": "~"}  # "all" rows after the named ones
    for (system, group, split), cell in sorted(table.items(), key=lambda kv: [order.get(k, k) for k in kv[0]]):
        states = cell.pop("task_state")
        counts = [state for state in states.values() if isinstance(state, tuple)]
        ran = {tid for tid, state in states.items() if isinstance(state, tuple)}
        tasks = {
            "tasks": len(states),
            "ran": len(counts),
            "broken": sum(state == "broken" for state in states.values()),
            "unverified": len(ran & unverified),
            "env_unavailable": sum(state == "env_unavailable" for state in states.values()),
        }
        cell = {**tasks, **cell}
        cell["pass@1"] = mean_pass_at_k(counts, 1) if counts else None
        cell["pass@5"] = mean_pass_at_k(counts, 5) if counts and min(n for n, _ in counts) >= 5 else None
        out["cells"][f"{system}/{group}/{split}"] = {"system": system, "group": group, "split": split, **cell}
    return out


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def markdown(summary: Mapping[str, Any]) -> str:
    """A table per system: a row per library group and split."""
    lines: list[str] = []
    systems = sorted({cell["system"] for cell in summary["cells"].values()})
    for system in systems:
        lines += [
            f"### {system}",
            "",
            (
                "| library | split | tasks | ran | samples | passed | pass@1 | pass@5 | broken | env unavailable "
                "| changed | timeouts | errors | model errors |"
            ),
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for cell in summary["cells"].values():
            if cell["system"] != system:
                continue
            lines.append(
                f"| {cell['group']} | {cell['split']} | {cell['tasks']} | {cell['ran']} | {cell['samples']} | "
                f"{cell['passed']} | {_rate(cell['pass@1'])} | {_rate(cell['pass@5'])} | {cell['broken']} | "
                f"{cell['env_unavailable']} | {cell['changed']} | {cell['timeouts']} | {cell['errors']} | "
                f"{cell['model_errors']} |"
            )
        lines.append("")
    lines.append(
        f"Broken tasks (reference fails with its origin version): {len(summary['broken'])}; "
        f"tasks whose reference could not be run (origin version not installable here): "
        f"{summary['reference_unverified']}. pass@k (unbiased, 1 - C(n-c,k)/C(n,k)) is over tasks that ran and are "
        "not broken; pass@5 needs 5 samples per task. Counts of passed, changed, timeouts and errors are of samples."
    )
    return "\n".join(lines) + "\n"
