"""Shared helpers for the code-rule tests: a small inline knowledge base and the pipeline."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from recode_lsp.engine.detector import DetectOptions, analyse, detect
from recode_lsp.engine.fixer import FixOutcome
from recode_lsp.engine.knowledge import KnowledgeBase, iter_jsonl
from recode_lsp.engine.model import Finding
from recode_lsp.engine.validator import fix_and_validate

RECORDS: list[dict[str, object]] = [
    {
        "id": "PD101",
        "library": "pandas",
        "old": "pandas.DataFrame.append",
        "scope": "member",
        "kind": "removal_with_replacement",
        "replacement": "pandas.concat([df, other])",
        "deprecated_in": "1.4",
        "removed_in": "2.0",
        "fix": "unsafe",
        "rule": "RC001",
        "source": "test",
    },
    {
        "id": "PD102",
        "library": "pandas",
        "old": "pandas.Series.append",
        "scope": "member",
        "kind": "removal_with_replacement",
        "replacement": "pandas.concat([s, other])",
        "deprecated_in": "1.4",
        "removed_in": "2.0",
        "fix": "unsafe",
        "rule": "RC001",
        "source": "test",
    },
    {
        "id": "PYD101",
        "library": "pydantic",
        "old": "pydantic.BaseModel.Config",
        "scope": "member",
        "kind": "removal_with_replacement",
        "replacement": "model_config = ConfigDict(...)",
        "deprecated_in": "2.0",
        "fix": "unsafe",
        "rule": "RC002",
        "source": "test",
    },
    {
        "id": "SA101",
        "library": "sqlalchemy",
        "old": "sqlalchemy.engine.Engine.execute",
        "scope": "member",
        "kind": "removal_with_replacement",
        "replacement": "with engine.connect() as conn: conn.execute(...)",
        "deprecated_in": "1.4",
        "removed_in": "2.0",
        "fix": "unsafe",
        "rule": "RC003",
        "source": "test",
    },
]


def make_kb(records: list[dict[str, object]] = RECORDS) -> KnowledgeBase:
    text = "\n".join(json.dumps(record) for record in records)
    return KnowledgeBase(list(iter_jsonl(text, "test.jsonl")))


@dataclass
class Run:
    findings: list[Finding]
    outcome: FixOutcome

    @property
    def source(self) -> str:
        return self.outcome.source

    @property
    def skipped_codes(self) -> list[str]:
        return [finding.code for finding, _ in self.outcome.skipped]


class Pipeline:
    """Detection and fixing over an inline knowledge base, as ``recode --fix`` runs them."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def run(self, source: str, options: DetectOptions | None = None, unsafe: bool = True) -> Run:
        """Detect and fix ``source`` (dedented); ``unsafe`` is ``--unsafe-fixes``."""
        source = textwrap.dedent(source)
        options = options or DetectOptions()
        analysis = analyse(source)
        findings = detect(source, self.kb, options, analysis=analysis)
        outcome = fix_and_validate(analysis, findings, self.kb, options, unsafe=unsafe)
        return Run(findings, outcome)

    def check(self, before: str, after: str, code: str) -> Run:
        """Fix ``before``: the result is ``after``, every finding is ``code`` and was fixed."""
        result = self.run(before)
        assert result.findings, "nothing was found"
        assert {f.code for f in result.findings} == {code}
        assert result.outcome.skipped == []
        assert result.source == textwrap.dedent(after)
        return result

    def unchanged(self, source: str, code: str) -> Run:
        """``source`` is reported as ``code`` but left alone (the rule does not handle it)."""
        result = self.run(source)
        assert code in {f.code for f in result.findings}
        assert code in result.skipped_codes
        assert result.source == textwrap.dedent(source)
        return result


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline(make_kb())


@pytest.fixture(scope="session")
def pipeline_without() -> Callable[..., Pipeline]:
    """A pipeline whose knowledge base lacks the entries with the given ids."""

    def build(*ids: str) -> Pipeline:
        return Pipeline(make_kb([record for record in RECORDS if record["id"] not in ids]))

    return build
