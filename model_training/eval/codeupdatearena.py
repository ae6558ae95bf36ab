"""CodeUpdateArena (MIT): records, the program that runs one unit test, and running a solution.

The benchmark file ``arena-ungrouped.jsonl`` (670 records) is published only on the model hub
(``leo-liuzy/CodeUpdateArena``): pass its path; without it :func:`load_arena` fails with that message.
The one-shot ``example_datum.json`` of the upstream repository (nested ``update`` / ``prog_syn``) is read
by :func:`from_example_datum`.

A unit test runs as upstream's test bed runs it, in its own program: the imports (the update's keep the
original function reachable as ``old_<name>``), the new implementation, the statement that installs it
over the package's function (``setattr(<module>, '<name>', <name>)``), the solution, the unit test, and a
call of the test. A solution passes when every unit test passes. Not done yet: the paper's evaluation
prompt (its template is not in the upstream snapshot here) and model generation.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_training.eval.codemenv import CodemenvError
from model_training.eval.sandbox import Limits, Verdict, run_program

HUB_HINT = "arena-ungrouped.jsonl is published on the model hub as dataset leo-liuzy/CodeUpdateArena (670 records)"


@dataclass(frozen=True)
class ArenaRecord:
    """One program-synthesis example and the update it depends on."""

    update_id: str
    prog_syn_id: str
    api_path: str
    package: str
    update_description: str
    new_signature: str
    update_docstring: str
    imports: list[str]
    new_impl: str
    scenario: str
    problem: str
    solution_signature: str
    unit_tests: list[str]
    prog_syn_imports: list[str]
    ref_solution: str

    @property
    def function_name(self) -> str:
        return self.api_path.rsplit(".", 1)[-1]

    @property
    def install_statement(self) -> str:
        """Puts the new implementation in place of the package's function."""
        module, name = self.api_path.rsplit(".", 1)
        return f"setattr({module}, {name!r}, {name})"


def _list(value: Any) -> list[str]:
    """A list field that the flat file may store as text (JSON or a Python literal)."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if not isinstance(value, str) or not value.strip():
        return []
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(value)
        except (ValueError, SyntaxError):
            continue
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    return value.splitlines()


def from_example_datum(datum: dict[str, Any]) -> ArenaRecord:
    """The nested schema of upstream's ``data/example_datum.json``."""
    update, prog_syn = datum["update"], datum["prog_syn"]
    return ArenaRecord(
        update_id=str(datum.get("specific_update_id", "")),
        prog_syn_id=str(datum.get("prog_syn_id", "")),
        api_path=str(update["api_path"]),
        package=str(update.get("package") or datum.get("package", "")),
        update_description=str(update.get("update_description", "")),
        new_signature=str(update.get("new_function_signature", "")),
        update_docstring=str(update.get("update_docstring", "")),
        imports=_list(update.get("imports")),
        new_impl=str(update["new_impl"]),
        scenario=str(prog_syn.get("scenario", "")),
        problem=str(prog_syn.get("problem", "")),
        solution_signature=str(prog_syn.get("solution_signature", "")),
        unit_tests=_list(prog_syn.get("unit_tests")),
        prog_syn_imports=_list(prog_syn.get("imports")),
        ref_solution=str(prog_syn["ref_solution"]),
    )


def from_flat(row: dict[str, Any]) -> ArenaRecord:
    """The 17 flat fields of ``arena-ungrouped.jsonl`` (per its Croissant description)."""
    try:
        return ArenaRecord(
            update_id=str(row["update_id"]),
            prog_syn_id=str(row["prog_syn_id"]),
            api_path=str(row["function_path"]),
            package=str(row["package"]),
            update_description=str(row.get("description", "")),
            new_signature=str(row.get("signature", "")),
            update_docstring=str(row.get("docstring", "")),
            imports=_list(row.get("imports")),
            new_impl=str(row["implementation"]),
            scenario=str(row.get("scenario", "")),
            problem=str(row.get("problem", "")),
            solution_signature=str(row.get("solution_signature", "")),
            unit_tests=_list(row.get("unit_tests")),
            prog_syn_imports=_list(row.get("prog_syn_imports")),
            ref_solution=str(row["ref_solution"]),
        )
    except KeyError as exc:
        raise CodemenvError(f"CodeUpdateArena record {row.get('prog_syn_id')!r}: no field {exc}") from exc


def load_arena(path: str | os.PathLike[str] | None) -> list[ArenaRecord]:
    if not path or not Path(path).is_file():
        raise CodemenvError(f"no CodeUpdateArena file at {path!r}: {HUB_HINT}; pass its path")
    with open(path, encoding="utf-8") as handle:
        return [from_flat(json.loads(line)) for line in handle if line.strip()]


def _test_name(unit_test: str) -> str:
    for node in ast.parse(unit_test).body:
        if isinstance(node, ast.FunctionDef):
            return node.name
    raise CodemenvError("unit test without a function")


def unit_test_program(record: ArenaRecord, solution: str, unit_test: str, *, with_update: bool = True) -> str:
    """One unit test's program; ``with_update=False`` leaves the package's function as it was."""
    # All imports first, once each: re-running `old_<name> = module.<name>` after the install would bind
    # old_<name> to the new function, which then calls itself (upstream also runs them only up front).
    imports = list(dict.fromkeys([*record.imports, *record.prog_syn_imports]))
    parts = [
        "\n".join(imports),
        record.new_impl,
        record.install_statement if with_update else "",
        solution,
        unit_test,
        f"{_test_name(unit_test)}()",
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def run_solution(
    record: ArenaRecord, solution: str, *, python: str | None = None, limits: Limits | None = None
) -> tuple[bool, list[Verdict]]:
    """Every unit test in its own sandboxed program; passed when all pass."""
    verdicts = [
        run_program(unit_test_program(record, solution, test), python=python, limits=limits)
        for test in record.unit_tests
    ]
    return bool(verdicts) and all(v.passed for v in verdicts), verdicts
