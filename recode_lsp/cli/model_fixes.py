"""``recode-migrate --model URL``: the served ReCode model proposes fixes where no rule can.

Findings without a mechanical fix (display-only) are sent to the model, one at a time, after
the process pool has checked and rule-fixed every file: the pool's workers stay free of HTTP,
and one client (one circuit breaker) serves the whole run. Each proposal goes through
:func:`recode_lsp.model_fix.propose_sync`, which validates it like a rule fix; only a validated
proposal is kept, and it is always *unsafe* (``--diff`` shows it, ``--apply`` writes it only
with ``--unsafe-fixes``).

Within a file the findings are taken from the last to the first, on the text the rule fixes
left, so an accepted edit never moves the offsets of the findings still to do; a finding
inside a region the model already rewrote is not asked about again.

When the server is down or stops answering, the client's circuit breaker opens after the first
outage (one timeout, not one per finding); the run then prints one message and asks no more,
and the rule fixes are reported and written as without a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recode_lsp.cli.runner import FileResult, Record, RunSettings
from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.knowledge import KnowledgeBase

if TYPE_CHECKING:
    from recode_lsp.model_client import ModelClient

__all__ = ["ModelRun", "ModelSettings", "apply_model_fixes", "wants_model"]


@dataclass(frozen=True)
class ModelSettings:
    """Where the model is served and how long one answer may take."""

    endpoint: str
    name: str = "recode"
    timeout: float = 60.0
    max_tokens: int = 1024


@dataclass
class ModelRun:
    """What the model did in one run."""

    asked: int = 0
    accepted: int = 0
    rejected: int = 0
    #: Why the model server could not be used (None: it answered every time it was asked).
    outage: str | None = None


def wants_model(result: FileResult) -> bool:
    """Whether ``result`` has a finding only the model can fix."""
    return result.error is None and any(r.safety == FixSafety.DISPLAY_ONLY.value for r in result.records)


def apply_model_fixes(
    results: list[FileResult],
    kb: KnowledgeBase,
    settings: RunSettings,
    model: ModelSettings,
    *,
    write: bool,
    client: ModelClient | None = None,
) -> ModelRun:
    """Ask the model about every display-only finding; put validated fixes into ``results``.

    ``write``: the fixed text replaces ``new_text``/``new_bytes`` (``--diff``, or ``--apply``
    with ``--unsafe-fixes``); otherwise the validated fixes are only reported.
    """
    from recode_lsp.model_client import ModelClient

    run = ModelRun()
    if client is None:
        client = ModelClient(model.endpoint, model.name, timeout=model.timeout)
    names = None
    if settings.installed:
        from recode_lsp.engine.names import InstalledNames

        names = InstalledNames(settings.options.targets, settings.installed)
    for result in results:
        if run.outage is not None:
            break
        if wants_model(result):
            _fix_file(result, kb, settings, model, client, names, run, write)
    return run


def _fix_file(
    result: FileResult,
    kb: KnowledgeBase,
    settings: RunSettings,
    model: ModelSettings,
    client: ModelClient,
    names: object,
    run: ModelRun,
    write: bool,
) -> None:
    from recode_lsp.cli.files import DecodeError, decode_source
    from recode_lsp.engine.detector import SourceError, detect
    from recode_lsp.model_fix import propose_sync

    try:
        source = decode_source(Path(result.path).read_bytes())
    except (OSError, DecodeError):
        return  # it changed since the pool read it; the rule results stand
    current = result.new_text if result.new_text is not None else source.text
    try:
        findings = detect(current, kb, settings.options, result.path)
    except SourceError:
        return
    todo = sorted(
        (f for f in findings if f.safety is FixSafety.DISPLAY_ONLY), key=lambda f: f.start_offset, reverse=True
    )
    rewritten_from: int | None = None  # start of the highest region the model rewrote so far
    accepted: list[Record] = []
    for finding in todo:
        if rewritten_from is not None and finding.start_offset >= rewritten_from:
            continue  # inside a region the model already rewrote
        proposal = propose_sync(
            current,
            finding,
            kb,
            settings.options,
            client,
            None,
            result.path,
            name_exists=names if callable(names) else None,
            max_tokens=model.max_tokens,
        )
        run.asked += 1
        if proposal.ok and proposal.new_source is not None and proposal.edits_region is not None:
            current = proposal.new_source
            rewritten_from = proposal.edits_region[0]
            accepted.append(Record.of(finding))
            run.accepted += 1
        elif client.state != "closed":
            run.outage = proposal.reason  # the server is down: no more questions this run
            break
        else:
            result.model_rejected.append((Record.of(finding), proposal.reason))
            run.rejected += 1
    if not accepted:
        return
    accepted.reverse()
    result.model_fixed.extend(accepted)
    if write:
        result.fixed.extend(accepted)
        if result.original_text is None:
            result.original_text = source.text
        result.new_text = current
        result.new_bytes = source.encode(current)
