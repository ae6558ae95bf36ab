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


#: Tests that share one xdist worker (``--dist loadgroup``, as the README's test command runs them):
#: each of these starts vLLM's CPU build, and two such servers at once are more than CI's two cores
#: and 24 GiB can carry; the editors' tests each drive a whole editor (Neovim, or code-server and
#: Chromium) with timeouts sized for one at a time.
SHARED_WORKER_GROUPS = {
    "vllm": ("tests/serving/test_server.py", "tests/eval/test_model_vllm.py", "tests/update/test_update_serving.py"),
    "editors": ("tests/editors/",),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for group, prefixes in SHARED_WORKER_GROUPS.items():
            if item.nodeid.startswith(prefixes):
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def dedent():
    return lambda text: textwrap.dedent(text)
