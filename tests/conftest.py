"""Shared helpers: a knowledge base from inline records, and one-call detect/fix."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pytest

from recode_lsp.engine import DetectOptions, Finding, FixOutcome, KnowledgeBase, analyse, detect, fix_and_validate
from recode_lsp.engine.knowledge import iter_jsonl
from recode_lsp.engine.versions import Version

BASE = {"source": "test fixture"}


def make_kb(records: Iterable[Mapping[str, object]]) -> KnowledgeBase:
    text = "\n".join(json.dumps({**BASE, **record}) for record in records)
    return KnowledgeBase(list(iter_jsonl(text, "test.jsonl")))


@dataclass
class Migration:
    findings: list[Finding]
    outcome: FixOutcome

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def source(self) -> str:
        return self.outcome.source


def migrate(
    source: str,
    kb: KnowledgeBase,
    unsafe: bool = False,
    targets: Mapping[str, str] | None = None,
    dedent: bool = True,
) -> Migration:
    if dedent:
        source = textwrap.dedent(source)
    options = DetectOptions(targets={k: Version(v) for k, v in (targets or {}).items()})
    analysis = analyse(source)
    findings = detect(source, kb, options, analysis=analysis)
    outcome = fix_and_validate(analysis, findings, kb, options, unsafe=unsafe)
    return Migration(findings, outcome)


@pytest.fixture
def dedent():
    return lambda text: textwrap.dedent(text)
