"""CodeUpdateArena (MIT): records, the program that runs one unit test, and running a solution.

The benchmark file ``arena-ungrouped.jsonl`` (670 records) is published only on the model hub
(``leo-liuzy/CodeUpdateArena``): pass its path; without it :func:`load_arena` fails with that message.
The one-shot ``example_datum.json`` of the upstream repository (nested ``update`` / ``prog_syn``) is read
by :func:`from_example_datum`.

A unit test runs as upstream's test bed runs it, in its own program: the imports (the update's keep the
original function reachable as ``old_<name>``), the new implementation, the statement that installs it
over the package's function (``setattr(<module>, '<name>', <name>)``), the solution, the unit test, and a
call of the test. A solution passes when every unit test passes.

The paper's evaluation ("prepend": the update document in the prompt; upstream ``scripts/prepend.sh``,
``configs/prepend.yaml``, ``src/test_beds/test_bed.py``) is :func:`paper_prompt`: upstream's
``prompts/instruction_style_one_shot.jinja2`` verbatim ([INST] update note with the old and the new
signature and the update's docstring, then one worked example, then the task's scenario, problem,
solution signature and one public unit test in [TEST]), sent as the user turn with an empty system
turn as upstream sends it to GPT-4; the answer's code is read as upstream's ``InstructTemplate`` reads
it (:func:`extract_solution`: the first ``[PYTHON]...[/PYTHON]``, else the first fenced block).
:func:`evaluate_arena` generates ``samples`` answers per record through the project's model client,
runs each record's unit tests one by one in the sandbox, and writes result rows that
:func:`model_training.eval.run.summarize` reports (unbiased pass@1 / pass@5; the ``reference`` system
is the self-check: the record's own solution must pass).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_training.eval.codemenv import CodemenvError
from model_training.eval.sandbox import Limits, Verdict, run_program

if TYPE_CHECKING:
    from model_training.eval.systems import ModelConfig

log = logging.getLogger(__name__)

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
    #: The package function's signature before the update, as upstream writes it
    #: (``itertools.dropwhile(predicate,iterable,/):``); empty when the record does not carry it.
    old_signature: str = ""

    @property
    def function_name(self) -> str:
        return self.api_path.rsplit(".", 1)[-1]

    @property
    def install_statement(self) -> str:
        """Puts the new implementation in place of the package's function."""
        module, name = self.api_path.rsplit(".", 1)
        return f"setattr({module}, {name!r}, {name})"


def _literal_list(text: str) -> list[str] | None:
    """``text`` read as a JSON or Python list literal; None when it is not one."""
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    return None


def _list(value: Any) -> list[str]:
    """A list field that the flat file may store as text (JSON or a Python literal)."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if not isinstance(value, str) or not value.strip():
        return []
    parsed = _literal_list(value)
    return parsed if parsed is not None else value.splitlines()


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
        old_signature=str(update.get("old_signature") or ""),
    )


def _unit_tests(value: Any) -> list[str]:
    """Unit tests stored as a list, or as one text of test functions (upstream splits it on blank lines;
    a test with a blank line inside would be cut, so each top-level function is taken whole)."""
    if not isinstance(value, str):
        return _list(value)
    parsed = _literal_list(value)
    if parsed is not None:
        return parsed
    try:
        tree = ast.parse(value)
    except SyntaxError:
        return [part for part in value.split("\n\n") if part.strip()]
    tests = [ast.get_source_segment(value, node) for node in tree.body if isinstance(node, ast.FunctionDef)]
    return [test for test in tests if test]


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
            unit_tests=_unit_tests(row.get("unit_tests")),
            prog_syn_imports=_list(row.get("prog_syn_imports")),
            ref_solution=str(row["ref_solution"]),
            old_signature=str(row.get("old_signature") or ""),
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


# --------------------------------------------------------------------------- the paper's prompt
#
# From leo-liuzy/CodeUpdateArena, commit 836e2d157739fd53f9cde421913eb5949d4eeeb8:
# ``prompts/instruction_style_one_shot.jinja2`` (PAPER_TEMPLATE, verbatim) and the one-shot example of
# ``data/example_datum.json`` (ONE_SHOT: the fields the template uses), under this licence:
#
#   MIT License
#
#   Copyright (c) 2024 <anonymized>
#
#   Permission is hereby granted, free of charge, to any person obtaining a copy
#   of this software and associated documentation files (the "Software"), to deal
#   in the Software without restriction, including without limitation the rights
#   to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
#   copies of the Software, and to permit persons to whom the Software is
#   furnished to do so, subject to the following conditions:
#
#   The above copyright notice and this permission notice shall be included in all
#   copies or substantial portions of the Software.
#
#   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
#   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
#   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
#   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
#   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
#   OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
#   SOFTWARE.

PAPER_SOURCE = "leo-liuzy/CodeUpdateArena@836e2d157739fd53f9cde421913eb5949d4eeeb8"

PAPER_TEMPLATE = """[INST]
Update note:
There's an recent update to a function `{{old_function_signature}}` --- {{update_description}}. The function now has a new function signature --- `{{new_function_signature}}`.
Here's a detailed documentation about the update:
[DOC]
{{update_docstring}}
[/DOC]

Your task is to write a Python solution to a problem in a real-world scenario.
The Python code must be between [PYTHON] and [/PYTHON] tags.

Scenario: {{example_scenario}}
Problem: {{example_problem}}
Solution signature: {{example_solution_signature}}
[TEST]
{{example_unit_tests}}
[/TEST]
[/INST]
[PYTHON]
{{example_solution}}
[/PYTHON]

[INST] Scenario: {{scenario}}
Problem: {{problem}}
Solution signature: {{solution_signature}}
[TEST]
{{unit_tests}}
[/TEST]
[/INST]"""  # noqa: E501 - verbatim

ONE_SHOT = {
    "scenario": (
        "Anna is a data scientist who is working on a large dataset. As part of her data cleaning tasks, she needs "
        "to filter out irrelevant entries from the top of her dataset. Anna notices a pattern that the first few "
        "entries that meet a certain condition are usually irrelevant for her analysis. However, she does not want "
        "to remove all entries that meet this condition, as the entries that occur later in the dataset containing "
        "the condition can provide significant insights."
    ),
    "problem": (
        "Given a Python list of data entries and the maximum number of entries to be dropped from the top of the "
        "dataset that meet a specified condition, write a Python function that takes these as input and returns "
        "the filtered dataset. The function should remove only the first few entries from the top of the dataset "
        "that meet the condition as specified, and leave the rest intact."
    ),
    "solution_signature": "def filter_dataset_entries(data_entries: List[Any], max_drop: int) -> List[Any]:",
    "unit_test": (
        "def test_zero_max_drop():\n"
        "    # A scenario where max drop is 0.\n"
        "    # This will test that the function does nothing and returns the original dataset.\n"
        "    data_entries = [11, 22, 33, 44]\n"
        "    max_drop = 0\n"
        "    result = filter_dataset_entries(data_entries, max_drop)\n"
        "    expected_result = data_entries\n"
        "    \n"
        "    assert result == expected_result, f'Expected {expected_result}, but got {result}'\n"
        "    "
    ),
    "ref_solution": (
        "from typing import Any, List\n"
        "import itertools\n"
        "\n"
        "def filter_dataset_entries(data_entries: List[Any], max_drop: int) -> List[Any]:\n"
        "    # We need to ensure that max_drop is a positive integer.\n"
        "    if not isinstance(max_drop, int) or max_drop < 0:\n"
        "        # If max_drop is not an integer or less than zero, we raise an error.\n"
        '        raise ValueError("max_drop must be a positive integer")\n'
        "    \n"
        "    # The condition for the dropwhile function is unspecified in the problem statement. \n"
        "    # Let's assume for our current implementation that we want to filter out all 'None' entries from the "
        "top of the list.\n"
        "    def condition(x): \n"
        "        return x is None\n"
        "    \n"
        "    # The dropwhile function from itertools will drop elements from data_entries according to the "
        "condition\n"
        '    # The new "count" parameter is used here to limit the number of elements dropped.\n'
        "    iterator = itertools.dropwhile(condition, data_entries, count=max_drop)\n"
        "    \n"
        "    # The dropwhile function returns an iterator. We need to convert that back into a list\n"
        "    # to get the final result.\n"
        "    result = list(iterator)\n"
        "    \n"
        "    # Return the final result\n"
        "    return result\n"
    ),
}

#: Upstream shows the first unit test of each example (``num_public_unit_tests: 1``).
PUBLIC_UNIT_TESTS = 1


def render(template: str, values: dict[str, str]) -> str:
    """``{{name}}`` replaced by ``values[name]``: what jinja2 does with this template (no blocks, no filters)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda match: str(values[match.group(1)]), template)


def _public_tests(tests: Sequence[str]) -> str:
    return "\n\n".join(f"# Unit Test {index}\n{test}" for index, test in enumerate(tests[:PUBLIC_UNIT_TESTS]))


def paper_prompt(record: ArenaRecord, old_signature: str | None = None) -> str:
    """The paper's prompt for ``record`` (upstream ``OneShotTestBed.prepare_prompt``), one-shot on its example."""
    return render(
        PAPER_TEMPLATE,
        {
            "old_function_signature": old_signature if old_signature is not None else record.old_signature,
            "new_function_signature": record.new_signature,
            "update_description": record.update_description,
            "update_docstring": record.update_docstring,
            "example_scenario": ONE_SHOT["scenario"],
            "example_problem": ONE_SHOT["problem"],
            "example_solution_signature": ONE_SHOT["solution_signature"],
            "example_unit_tests": _public_tests([ONE_SHOT["unit_test"]]),
            "example_solution": ONE_SHOT["ref_solution"],
            "scenario": record.scenario,
            "problem": record.problem,
            "solution_signature": record.solution_signature,
            "unit_tests": _public_tests(record.unit_tests),
        },
    )


def paper_messages(prompt: str) -> list[dict[str, str]]:
    """As upstream asks GPT-4 (``call_openai_chat(client, "", user_prompt=prompt)``): an empty system turn."""
    return [{"role": "system", "content": ""}, {"role": "user", "content": prompt}]


def extract_solution(text: str) -> str:
    """Upstream's ``InstructTemplate.solution_extractor``: [PYTHON]...[/PYTHON], else a fenced block, else ""."""
    matches = re.findall(r"\[PYTHON\](.*?)\[/PYTHON\]", text, re.DOTALL)
    if matches:
        return str(matches[0])
    matches = re.findall(r"```(?:python)?(.*?)```", text, re.DOTALL)
    return str(matches[0]) if matches else ""


_SIGNATURE_PROBE = """
import importlib, inspect
path = {path!r}
module_name, _, name = path.rpartition('.')
try:
    target = getattr(importlib.import_module(module_name), name)
    print(path + str(inspect.signature(target)).replace(' ', '') + ':')
except Exception:
    print(path + '():')
"""


def probe_old_signature(record: ArenaRecord, *, python: str | None = None, limits: Limits | None = None) -> str:
    """The package function's signature before the update, read in the sandbox with ``python``.

    Upstream reads it from the installed package (``UpdatedFunction(api_path).function_signature``: the
    arguments without spaces, then ``:``); a record that carries ``old_signature`` is used as it is.
    """
    if record.old_signature:
        return record.old_signature
    verdict = run_program(_SIGNATURE_PROBE.format(path=record.api_path), python=python, limits=limits)
    line = verdict.stdout.strip().splitlines()[-1:] if verdict.passed else []
    return line[0] if line else f"{record.api_path}():"


# --------------------------------------------------------------------------- generation and scoring

SPLIT = "arena"
ARENA_SYSTEMS = ("model",)


def _row(record: ArenaRecord, system: str, sample: int) -> dict[str, Any]:
    package = record.package or record.api_path.split(".", 1)[0]
    return {
        "benchmark": "codeupdatearena",
        "task_id": record.prog_syn_id,
        "update_id": record.update_id,
        "api_path": record.api_path,
        "system": system,
        "split": SPLIT,
        "package": package,
        "stdlib": package in sys.stdlib_module_names,
        "sample": sample,
    }


def score(record: ArenaRecord, solution: str, *, python: str | None, limits: Limits) -> dict[str, Any]:
    """Run every unit test in its own sandboxed program; the fields of a result row."""
    if not solution.strip():
        return {"status": "run", "passed": False, "reason": "no_program", "tests": len(record.unit_tests)}
    passed, verdicts = run_solution(record, solution, python=python, limits=limits)
    failed = [v for v in verdicts if not v.passed]
    return {
        "status": "run",
        "passed": passed,
        "reason": "ok" if passed else (failed[0].reason if failed else "no_tests"),
        "tests": len(verdicts),
        "tests_passed": sum(v.passed for v in verdicts),
        "seconds": round(sum(v.seconds for v in verdicts), 3),
        "stderr_tail": failed[0].stderr[-400:] if failed else "",
    }


def evaluate_arena(
    records: Sequence[ArenaRecord],
    systems: Sequence[str],
    results: Path,
    *,
    model: ModelConfig | None = None,
    samples: int = 1,
    python: str | None = None,
    limits: Limits | None = None,
    jobs: int = 2,
    self_check: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Generate and score what is not in ``results`` yet (JSON lines, appended); return every row of these records.

    ``model`` answers the paper's prompt ``samples`` times per record (seeded per sample, through
    :func:`model_training.eval.systems._client_factory`: the project's model client or ``local:PATH``);
    ``reference`` (with ``self_check``) runs each record's own solution. A request that fails is an
    error of that sample; one that could not reach the server (``model_outage``) is asked again on rerun.
    """
    from model_training.eval.run import REFERENCE, finished_samples, latest, read_results
    from model_training.eval.systems import _client_factory, sample_seed
    from recode_lsp.model_client import ModelError, ModelUnavailable

    unknown = [name for name in systems if name not in ARENA_SYSTEMS]
    if unknown:
        raise CodemenvError(f"CodeUpdateArena systems: {', '.join(ARENA_SYSTEMS)} (not {', '.join(unknown)})")
    if "model" in systems and model is None:
        raise CodemenvError("the model system needs --model URL")
    limits = limits or Limits(wall_seconds=30, cpu_seconds=30)
    done = finished_samples(results)
    wanted = ([REFERENCE] if self_check else []) + list(systems)
    todo = [
        (record, name, sample)
        for record in records
        for name in wanted
        for sample in range(samples if name == "model" else 1)
        if (record.prog_syn_id, name, sample) not in done
    ]
    client_of = _client_factory(model) if model is not None else None
    signatures: dict[str, str] = {}

    def one(item: tuple[ArenaRecord, str, int]) -> dict[str, Any]:
        record, name, sample = item
        row = _row(record, name, sample)
        if name == REFERENCE:
            row.update(score(record, record.ref_solution, python=python, limits=limits))
            return row
        assert model is not None and client_of is not None
        if record.prog_syn_id not in signatures:
            signatures[record.prog_syn_id] = probe_old_signature(record, python=python)
        prompt = paper_prompt(record, signatures[record.prog_syn_id])
        client = client_of()
        client.seed = sample_seed(record.prog_syn_id, sample)
        row.update(model.record(), template="codeupdatearena-paper", seed=client.seed)
        before = client.outages
        try:
            answer = client.complete_sync(
                paper_messages(prompt), max_tokens=model.max_tokens, temperature=model.temperature
            )
        except ModelError as exc:
            row.update(status="run", passed=False, reason="no_program", system_error=str(exc))
            if isinstance(exc, ModelUnavailable) or client.outages > before:
                row["model_outage"] = True
            return row
        solution = extract_solution(answer)
        row["model_info"] = {"asked": 1, "answer": answer[:2000]}
        if not solution.strip():
            row["system_error"] = "the model's answer has no code"
        row.update(score(record, solution, python=python, limits=limits))
        return row

    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a", encoding="utf-8") as out, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for count, row in enumerate(pool.map(one, todo), 1):
            out.write(json.dumps(row) + "\n")
            out.flush()
            if progress is not None:
                progress(count, len(todo))
            elif count % 20 == 0 or count == len(todo):
                log.info("%d/%d CodeUpdateArena runs done", count, len(todo))
    ids = {record.prog_syn_id for record in records}
    return [row for row in latest(read_results(results)) if row["task_id"] in ids]


def load_records(path: str | os.PathLike[str] | None) -> list[ArenaRecord]:
    """``arena-ungrouped.jsonl`` (flat rows), or a JSON file with one upstream-style nested datum or a list of them."""
    if path and Path(path).is_file() and str(path).endswith(".json"):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else [data]
        return [from_example_datum(item) if "update" in item else from_flat(item) for item in items]
    return load_arena(path)
