"""Systems under test: what each does to a task's old program before it is run.

- ``unchanged``: the old program as is (the floor);
- ``rules``: the engine's safe fixes alone (detect + fix + validate, as ``recode-migrate --apply``
  with ``--target LIB==VER``), no model; ``rules-unsafe`` also applies the fixes marked unsafe
  (``--unsafe-fixes``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from model_training.eval.codemenv import Task

if TYPE_CHECKING:
    from recode_lsp.engine.knowledge import KnowledgeBase


@dataclass(frozen=True)
class Migrated:
    """The program a system produced, and how many fixes it applied (``None``: not a rule system)."""

    program: str
    fixes: int | None = None
    error: str | None = None


System = Callable[[Task], Migrated]
SYSTEMS = ("unchanged", "rules", "rules-unsafe")


def unchanged(task: Task) -> Migrated:
    return Migrated(task.program)


def target_of(task: Task) -> tuple[str, str]:
    """The ``--target`` of a task: ``python==VER`` for the standard library, ``LIB==VER`` otherwise."""
    return ("python" if task.is_stdlib else task.package, task.target_version)


def rules_system(kb: KnowledgeBase | None = None, *, unsafe: bool = False) -> System:
    """The engine's fixes on the whole program (its driver code uses no changed API, so only the
    function's calls change)."""
    from recode_lsp.engine import DetectOptions, analyse, detect, fix_and_validate, load_knowledge_base
    from recode_lsp.engine.versions import Version

    knowledge = kb if kb is not None else load_knowledge_base()

    def run(task: Task) -> Migrated:
        library, version = target_of(task)
        try:
            # Host tasks (HumanEval) have no target: the engine's defaults, as a plain `recode-migrate`.
            targets: dict[str, Version | None] = {} if task.environment == "host" else {library: Version(version)}
            options = DetectOptions(targets=targets)
            analysis = analyse(task.program)
            findings = detect(task.program, knowledge, options, analysis=analysis)
            outcome = fix_and_validate(analysis, findings, knowledge, options, unsafe=unsafe)
        except Exception as exc:  # noqa: BLE001 - a crash of the engine is that task's rules failure
            return Migrated(task.program, 0, f"{type(exc).__name__}: {exc}")
        return Migrated(outcome.source, len(outcome.applied))

    return run


def make_system(name: str) -> System:
    if name == "unchanged":
        return unchanged
    if name == "rules":
        return rules_system()
    if name == "rules-unsafe":
        return rules_system(unsafe=True)
    raise ValueError(f"unknown system {name!r} (choose from {', '.join(SYSTEMS)})")
