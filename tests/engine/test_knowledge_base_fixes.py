"""Every shipped knowledge-base entry with a mechanical fix: a use is found, fixed and validated.

For each entry a small module that uses the old API in the simplest way is generated; the
test asserts the detector reports the entry, the fixer applies it, the validator accepts it,
and the detector no longer finds it. Entries fixed by a code rule have their own tests.
"""

from __future__ import annotations

import ast
import re

import pytest

from recode_lsp.engine import (
    ChangeKind,
    DetectOptions,
    Scope,
    TemplateOn,
    analyse,
    detect,
    fix_and_validate,
    load_knowledge_base,
)
from recode_lsp.engine.changes import ApiChange

KB = load_knowledge_base()

MECHANICAL = [c for c in KB.changes if c.has_mechanical_fix and c.rule is None]


def call_args(change: ApiChange) -> str:
    if change.template and change.template_on is TemplateOn.CALL:
        count = len(set(re.findall(r"\{arg([0-9])\}", change.template)))
        return "(" + ", ".join(f"a{i}" for i in range(count)) + ")"
    return ""


def usage(change: ApiChange) -> str:
    """A module that uses ``change.old`` once."""
    if change.scope is Scope.MEMBER:
        owner_module, _, owner = (change.owner_class or "").rpartition(".")
        member = change.old_name
        if change.kind is ChangeKind.KEYWORD_RENAME:
            expression = f"obj.{member}(x, {change.old_keyword}=1)"
        else:
            expression = f"obj.{member}{call_args(change)}"
        return f"import {owner_module} as _m\n\n\ndef use(obj: _m.{owner}, x, a0, a1):\n    return {expression}\n"
    module, _, name = change.old.rpartition(".")
    if not module:
        return f"import {name}\n"
    if change.old_value is not None:
        return f"import {module} as _m\n\nvalue = _m.{name}(x, {change.old_keyword}={change.old_value})\n"
    if change.kind is ChangeKind.KEYWORD_RENAME:
        return f"import {module} as _m\n\nvalue = _m.{name}(x, {change.old_keyword}=1)\n"
    return f"import {module} as _m\n\nvalue = _m.{name}{call_args(change)}\n"


def test_there_are_mechanical_entries_for_every_library() -> None:
    assert {c.library for c in MECHANICAL} >= {"numpy", "pandas", "pydantic", "python"}
    assert len(MECHANICAL) > 150


@pytest.mark.parametrize("change", MECHANICAL, ids=[c.id for c in MECHANICAL])
def test_entry_is_found_fixed_and_validated(change: ApiChange) -> None:
    source = usage(change)
    analysis = analyse(source)
    # Move to the version where this change bites (a later deprecation of the new name
    # is a different migration step).
    OPTIONS = DetectOptions(targets={change.library: change.removed_in or change.deprecated_in})
    findings = detect(source, KB, OPTIONS, analysis=analysis)
    assert change.id in [f.code for f in findings], f"{change.id} not found in:\n{source}"
    mine = [f for f in findings if f.code == change.id]
    assert all(f.fixable for f in mine), [f.safety for f in mine]
    outcome = fix_and_validate(analysis, findings, KB, OPTIONS, unsafe=True, selected=mine)
    assert change.id in [f.code for f in outcome.applied], f"not fixed: {outcome.skipped}\n{source}"
    ast.parse(outcome.source)
    assert change.id not in [f.code for f in detect(outcome.source, KB, OPTIONS)]
    if change.old_value is not None:
        assert f"{change.new_keyword or change.old_keyword}={change.new_value}" in outcome.source
    elif change.kind is ChangeKind.KEYWORD_RENAME:
        assert f"{change.new_keyword}=1" in outcome.source
    elif change.new and not change.template:
        assert change.new.rpartition(".")[2] in outcome.source
