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

__all__ = ["ModelEdit", "ModelRun", "ModelSettings", "apply_model_fixes", "propose_for_text", "wants_model"]


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


@dataclass(frozen=True)
class ModelEdit:
    """One validated model fix: replace ``[start, end)`` of the text it was asked on with ``text``."""

    record: Record
    start: int
    end: int
    text: str


def propose_for_text(
    path: str,
    text: str,
    kb: KnowledgeBase,
    settings: RunSettings,
    model: ModelSettings,
    client: ModelClient,
    names: object,
    run: ModelRun,
    *,
    disjoint: bool = False,
) -> tuple[str, list[ModelEdit], list[tuple[Record, str]]] | None:
    """Ask the model about each display-only finding of ``text``, from the last to the first.

    Returns the text with every accepted fix, the accepted fixes as edits (in source order), and
    the rejected findings with the reason. With ``disjoint`` (``--test`` keeps any subset), a
    fix that rewrites text an earlier accepted fix changed is rejected, so the edits are
    disjoint edits of ``text``; without, it is kept and only the whole text counts.
    None when ``text`` does not parse. A server outage is recorded in ``run`` and ends the asking.
    """
    from recode_lsp.engine.detector import SourceError, detect
    from recode_lsp.model_fix import propose_sync

    try:
        findings = detect(text, kb, settings.options, path)
    except SourceError:
        return None
    todo = sorted(
        (f for f in findings if f.safety is FixSafety.DISPLAY_ONLY), key=lambda f: f.start_offset, reverse=True
    )
    current = text
    rewritten_from: int | None = None  # start of the lowest region the model rewrote so far
    accepted: list[ModelEdit] = []
    rejected: list[tuple[Record, str]] = []
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
            path,
            name_exists=names if callable(names) else None,
            max_tokens=model.max_tokens,
        )
        run.asked += 1
        region = proposal.edits_region
        if proposal.ok and proposal.new_source is not None and region is not None and proposal.new_text is not None:
            if disjoint and rewritten_from is not None and region[1] > rewritten_from:
                # It rewrites text an accepted fix changed: not one fix of ``text`` on its own.
                rejected.append((Record.of(finding), "overlaps another model fix"))
                run.rejected += 1
                continue
            current = proposal.new_source
            rewritten_from = region[0]
            accepted.append(ModelEdit(Record.of(finding), region[0], region[1], proposal.new_text))
            run.accepted += 1
        elif client.state != "closed":
            run.outage = proposal.reason  # the server is down: no more questions this run
            break
        else:
            rejected.append((Record.of(finding), proposal.reason))
            run.rejected += 1
    accepted.reverse()
    return current, accepted, rejected


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

    try:
        source = decode_source(Path(result.path).read_bytes())
    except (OSError, DecodeError):
        return  # it changed since the pool read it; the rule results stand
    current = result.new_text if result.new_text is not None else source.text
    proposed = propose_for_text(result.path, current, kb, settings, model, client, names, run)
    if proposed is None:
        return
    current, accepted, rejected = proposed
    result.model_rejected.extend(rejected)
    if not accepted:
        return
    records = [edit.record for edit in accepted]
    result.model_fixed.extend(records)
    if write:
        result.fixed.extend(records)
        if result.original_text is None:
            result.original_text = source.text
        result.new_text = current
        result.new_bytes = source.encode(current)
