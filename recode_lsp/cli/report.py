"""Output formats: text, json, sarif and github, plus unified diffs."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from recode_lsp import __version__
from recode_lsp.cli.runner import FileResult, Record, summarise
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.line_diff import Opcode, line_opcodes

FORMATS = ("text", "json", "sarif", "github")
INFORMATION_URI = "https://github.com/recode-migrate/recode"


def relative(path: str, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside it (string work only: no realpath)."""
    absolute = os.path.abspath(path)
    base, prefix = _base(root, os.getcwd())
    if absolute == base:
        return "."
    if absolute.startswith(prefix):
        # Both are normal absolute paths: what ``os.path.relpath`` gives, without its work per file.
        return absolute[len(prefix) :].replace(os.sep, "/")
    return Path(path).as_posix()


@functools.lru_cache(maxsize=16)
def _base(root: Path, cwd: str) -> tuple[str, str]:
    """``root`` made absolute (against ``cwd``), and that with one trailing separator."""
    base = os.path.join(cwd, root) if not os.path.isabs(root) else os.fspath(root)
    base = os.path.normpath(base)
    return base, base.rstrip(os.sep) + os.sep


def place(record: Record) -> str:
    """``LINE:COL``, or ``cell N:LINE:COL`` for a finding in a notebook (as ruff writes it)."""
    cell = getattr(record, "cell", None)
    return f"cell {cell}:{record.line}:{record.column}" if cell else f"{record.line}:{record.column}"


def fix_marker(record: Record, unsafe: bool) -> str:
    if record.safety == "safe":
        return "[*] "
    if record.safety == "unsafe":
        return "[*] " if unsafe else "[unsafe] "
    return ""


def write_text(
    out: TextIO,
    results: Sequence[FileResult],
    root: Path,
    unsafe: bool,
    mode: str,
    *,
    summary: bool = True,
    findings: bool = True,
) -> None:
    """The human report: one line per finding (unless ``findings`` is false), then the summary."""
    for result in results if findings else ():
        notes = _cell_notes(result)
        if not (result.records or result.error or result.not_fixed or notes):
            continue
        name = relative(result.path, root)
        if result.error:
            out.write(f"{name}: error: {result.error} (file left untouched)\n")
        out.writelines(f"{name}:cell {cell}: warning: {note}\n" for cell, note in notes)
        out.writelines(
            f"{name}:{place(record)}: {record.code} {fix_marker(record, unsafe)}{record.message}\n"
            for record in result.records
        )
        for record, reason in result.not_fixed:
            if record.safety != "display":
                out.write(f"{name}:{place(record)}: {record.code} not fixed: {reason}\n")
        for record in result.model_fixed:
            out.write(f"{name}:{place(record)}: {record.code} model fix [unsafe]: passed validation\n")
        for record, reason in result.model_rejected:
            out.write(f"{name}:{place(record)}: {record.code} model fix rejected: {reason}\n")
    if summary:
        write_summary(out, results, summarise(results), unsafe, mode)


def statistics(results: Sequence[FileResult], kb: KnowledgeBase, unsafe: bool) -> list[dict[str, object]]:
    """Findings counted per rule id (``--statistics``), the most frequent first, as ruff counts them."""
    counts: dict[str, int] = {}
    records: dict[str, Record] = {}
    for result in results:
        for record in result.records:
            counts[record.code] = counts.get(record.code, 0) + 1
            records.setdefault(record.code, record)
    rows: list[dict[str, object]] = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        record = records[code]
        change = kb.by_id.get(code)
        rows.append(
            {
                "code": code,
                "name": change.old if change is not None else record.message,
                "library": record.library,
                "count": count,
                "fix": record.safety,
                "fixable": record.safety == "safe" or (record.safety == "unsafe" and unsafe),
            }
        )
    return rows


def write_statistics(out: TextIO, rows: Sequence[dict[str, object]]) -> None:
    """``COUNT  ID  [*] NAME`` per rule id (``[*]``: fixed by --apply, ``[unsafe]``: with --unsafe-fixes)."""
    for row in rows:
        marker = "[*] " if row["fixable"] else ("[unsafe] " if row["fix"] == "unsafe" else "")
        out.write(f"{row['count']:>5}\t{row['code']}\t{marker}{row['name']}\n")


def write_fixes(out: TextIO, results: Sequence[FileResult], root: Path, mode: str) -> None:
    """``--show-fixes``: the fixes applied (``--diff``: that would be), per file and rule id."""
    fixed = [result for result in results if result.fixed or result.model_fixed]
    total = sum(len(result.fixed) + len(result.model_fixed) for result in fixed)
    verb = "Fixed" if mode == "apply" else "Would fix"
    if not total:
        out.write("No fixes applied.\n" if mode == "apply" else "No fixes to apply.\n")
        return
    out.write(f"{verb} {_plural(total, 'finding')}:\n")
    for result in fixed:
        out.write(f"- {relative(result.path, root)}:\n")
        counts: dict[str, int] = {}
        for record in result.fixed:
            counts[record.code] = counts.get(record.code, 0) + 1
        out.writelines(f"    {count} x {code}\n" for code, count in sorted(counts.items()))
        for record in result.model_fixed:
            out.write(f"    1 x {record.code} (model fix, line {record.line})\n")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def write_summary(
    out: TextIO, results: Sequence[FileResult], summary: dict[str, object], unsafe: bool, mode: str
) -> None:
    total = summary["findings"]
    by_library = summary["by_library"]
    by_safety = summary["by_safety"]
    assert isinstance(by_library, dict) and isinstance(by_safety, dict)
    unreadable = sum(1 for r in results if r.error)
    fixed = sum(len(r.fixed) for r in results)
    changed_files = sum(1 for r in results if r.new_text is not None)
    if not total and not unreadable:
        out.write(f"All checks passed ({len(results)} files).\n")
        return
    libraries = ", ".join(f"{name} {count}" for name, count in by_library.items())
    out.write(
        f"Found {total} finding{'s' if total != 1 else ''} "
        f"({summary['errors']} error{'s' if summary['errors'] != 1 else ''}, "
        f"{summary['warnings']} warning{'s' if summary['warnings'] != 1 else ''}) "
        f"in {summary['files_with_findings']} of {len(results)} files"
        + (f": {libraries}" if libraries else "")
        + ".\n"
    )
    safe = by_safety.get("safe", 0)
    unsafe_count = by_safety.get("unsafe", 0)
    display = by_safety.get("display", 0)
    out.write(f"Fixes: {safe} safe, {unsafe_count} unsafe, {display} display-only")
    if unsafe_count and not unsafe:
        out.write(" (unsafe fixes need --unsafe-fixes)")
    out.write(".\n")
    counted = f"{_plural(fixed, 'finding')} in {_plural(changed_files, 'file')}"
    if mode == "apply":
        out.write(f"Fixed {counted}.\n")
    elif mode == "diff":
        out.write(f"Would fix {counted}.\n")
    elif safe or (unsafe and unsafe_count):
        out.write("Run with --diff to see the fixes, --apply to write them.\n")
    if unreadable:
        out.write(f"{unreadable} file{'s' if unreadable != 1 else ''} could not be checked (left untouched).\n")


def _cell_notes(result: FileResult) -> list[tuple[int, str]]:
    """``notebooks.cell_notes``, without importing the notebook code for a file that has no cells."""
    if not getattr(result, "unchecked_cells", None):
        return []
    from recode_lsp.cli.notebooks import cell_notes

    return cell_notes(result)


def record_json(record: Record, name: str) -> dict[str, object]:
    cell = getattr(record, "cell", None)
    found: dict[str, object] = {
        "path": name,
        "code": record.code,
        "library": record.library,
        "severity": record.severity,
        "fix": record.safety,
        "message": record.message,
        "site": record.site,
        "location": {"line": record.line, "column": record.column},
        "end_location": {"line": record.end_line, "column": record.end_column},
    }
    if cell:
        found["cell"] = cell
    return found


def write_json(
    out: TextIO,
    results: Sequence[FileResult],
    root: Path,
    *,
    diffs: Sequence[FileDiff] | None = None,
    targets: dict[str, dict[str, str | None]] | None = None,
    test_gate: dict[str, object] | None = None,
) -> None:
    """The JSON report; with ``--diff``, ``diffs`` holds each fixed file's patch (stdout stays one document).

    ``targets`` (the resolved target of each library and where it came from) and ``test_gate``
    (``--apply --test``) go in the summary.
    """
    findings: list[dict[str, object]] = []
    errors: list[dict[str, str]] = []
    fixed: list[dict[str, object]] = []
    warnings: list[dict[str, object]] = []
    for result in results:
        notes = _cell_notes(result)
        if not (result.records or result.error or result.fixed or notes):
            continue
        name = relative(result.path, root)
        findings.extend(record_json(record, name) for record in result.records)
        if result.error:
            errors.append({"path": name, "error": result.error})
        warnings.extend({"path": name, "cell": cell, "warning": note} for cell, note in notes)
        fixed.extend(record_json(record, name) for record in result.fixed)
    document: dict[str, object] = {
        "tool": {"name": "recode-migrate", "version": __version__},
        "findings": findings,
        "fixed": fixed,
        "errors": errors,
        # Inputs checked only in part (a notebook cell that is not Python); only when there are any.
        **({"warnings": warnings} if warnings else {}),
        "summary": {
            **summarise(results),
            "files": len(results),
            **({"targets": targets} if targets is not None else {}),
            **({"test_gate": test_gate} if test_gate is not None else {}),
        },
    }
    if diffs is not None:
        document["diffs"] = [diff.as_json() for diff in diffs]
    out.write(json.dumps(document))  # dumps, not dump: only the one-shot encoder is in C
    out.write("\n")


def write_sarif(
    out: TextIO,
    results: Sequence[FileResult],
    root: Path,
    kb: KnowledgeBase,
    *,
    diffs: Sequence[FileDiff] | None = None,
) -> None:
    """SARIF 2.1.0; with ``--diff``, the patches go in the run's property bag (``properties.diffs``)."""
    used = sorted({record.code for result in results for record in result.records})
    rule_index = {code: index for index, code in enumerate(used)}
    rules = []
    for code in used:
        change = kb.by_id[code]
        rule: dict[str, object] = {
            "id": code,
            "name": change.old.replace(".", "-"),
            "shortDescription": {"text": change.message()},
            "fullDescription": {"text": change.note or change.message()},
            "help": {"text": f"{change.message()}\nSource: {change.source}"},
            "properties": {"library": change.library, "kind": change.kind.value, "fix": change.fix.value},
        }
        rules.append(rule)
    sarif_results = []
    for result in results:
        if not result.records:
            continue
        name = relative(result.path, root)
        for record in result.records:
            cell = getattr(record, "cell", None)
            sarif_results.append(
                {
                    # A notebook's finding: the region counts lines in this cell (SARIF has no cells).
                    **({"properties": {"cell": cell}} if cell else {}),
                    "ruleId": record.code,
                    "ruleIndex": rule_index[record.code],
                    "level": "error" if record.is_error else "warning",
                    "message": {"text": record.message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": name, "uriBaseId": "%SRCROOT%"},
                                "region": {
                                    "startLine": record.line,
                                    "startColumn": record.column,
                                    "endLine": record.end_line,
                                    "endColumn": record.end_column,
                                },
                            }
                        }
                    ],
                }
            )
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{relative(r.path, root)}: {r.error}"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": relative(r.path, root), "uriBaseId": "%SRCROOT%"}}}
            ],
        }
        for r in results
        if r.error
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "recode-migrate",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
                "results": sarif_results,
                **({"properties": {"diffs": [diff.as_json() for diff in diffs]}} if diffs is not None else {}),
            }
        ],
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def write_github(out: TextIO, results: Sequence[FileResult], root: Path) -> None:
    """GitHub Actions workflow commands: one annotation per finding."""
    for result in results:
        if not (result.records or result.error):
            continue
        name = _github_escape(relative(result.path, root), True)
        if result.error:
            out.write(f"::error file={name},title=recode-migrate::{_github_escape(result.error)}\n")
        for record in result.records:
            level = "error" if record.is_error else "warning"
            if getattr(record, "cell", None):
                # A notebook's lines are not the JSON file's: the place goes in the message.
                title = _github_escape(record.code, True)
                text = _github_escape(f"{place(record)}: {record.message}")
                out.write(f"::{level} file={name},title={title}::{text}\n")
                continue
            out.write(
                f"::{level} file={name},line={record.line},col={record.column},"
                f"endLine={record.end_line},endColumn={record.end_column},"
                f"title={_github_escape(record.code, True)}::{_github_escape(record.message)}\n"
            )


@dataclass(frozen=True)
class FileDiff:
    """One file's fixes as a unified diff of its bytes (what ``git apply`` reads)."""

    #: The path as the report prints it (relative to the report root when inside it).
    path: str
    #: The patch: ``--- a/PATH`` / ``+++ b/PATH`` headers and hunks, byte for byte.
    patch: bytes
    #: The file's encoding: ``patch.decode(encoding)`` is the patch as text (for JSON and SARIF).
    encoding: str

    def as_json(self) -> dict[str, str]:
        """The diff for a machine format; ``diff.encode(encoding)`` gives back the exact patch."""
        return {
            "path": self.path,
            "encoding": self.encoding,
            "diff": self.patch.decode(self.encoding, "surrogateescape"),
        }


def _git_lines(data: bytes) -> list[bytes]:
    """Lines as git sees them: ended by "\\n" only (a CR stays part of its line)."""
    lines = data.split(b"\n")
    ends = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        ends.append(lines[-1])
    return ends


def _grouped(opcodes: list[Opcode], context: int = 3) -> list[list[Opcode]]:
    """Hunks with ``context`` lines around each change (``SequenceMatcher.get_grouped_opcodes``)."""
    codes = list(opcodes) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _hunk_range(start: int, stop: int) -> bytes:
    length = stop - start
    if length == 1:
        return b"%d" % (start + 1)
    return b"%d,%d" % (start + 1 if length else start, length)


def unified_diff_bytes(path: str, original: bytes, new: bytes, root: Path) -> bytes:
    """A unified diff of ``original`` -> ``new`` that ``git apply`` applies byte for byte.

    Built on bytes, not decoded text: CRLF, lone CR, a BOM and a legacy encoding stay exactly as
    in the file, and a last line without a newline gets git's "\\ No newline at end of file".
    Time and memory are about linear in the file's size (:func:`line_opcodes`).
    """
    name = relative(path, root).encode("utf-8", "surrogateescape")
    a, b = _git_lines(original), _git_lines(new)
    groups = _grouped(line_opcodes(a, b))
    if not groups:
        return b""
    chunks = [b"--- a/" + name + b"\n", b"+++ b/" + name + b"\n"]

    def emit(prefix: bytes, line: bytes) -> None:
        chunks.append(prefix + line)
        if not line.endswith(b"\n"):
            chunks.append(b"\n\\ No newline at end of file\n")

    for group in groups:
        first, last = group[0], group[-1]
        chunks.append(b"@@ -%s +%s @@\n" % (_hunk_range(first[1], last[2]), _hunk_range(first[3], last[4])))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in a[i1:i2]:
                    emit(b" ", line)
                continue
            for line in a[i1:i2]:
                emit(b"-", line)
            for line in b[j1:j2]:
                emit(b"+", line)
    return b"".join(chunks)


def file_diff(result: FileResult, root: Path) -> FileDiff | str | None:
    """The diff of one fixed file against its bytes on disk; a message when it cannot be made.

    The original is read again (not re-encoded from the decoded text), so the patch's context
    is exactly what ``git apply`` will find.
    """
    if result.new_bytes is None:
        return None
    if result.path.endswith(".ipynb"):
        from recode_lsp.cli.notebooks import notebook_diff

        return notebook_diff(result, root)
    from recode_lsp.cli.files import DecodeError, decode_source
    from recode_lsp.engine.digest import digest

    try:
        original = Path(result.path).read_bytes()
        encoding = decode_source(original).encoding
    except (OSError, DecodeError) as exc:
        return f"cannot read it again for the diff: {exc}"
    read_digest = getattr(result, "read_digest", None)
    if read_digest is not None and digest(original) != read_digest:
        return "the file changed during the run; run again"
    if original == result.new_bytes:
        return None
    patch = unified_diff_bytes(result.path, original, result.new_bytes, root)
    return FileDiff(relative(result.path, root), patch, encoding)


def unified_diff(result: FileResult, root: Path) -> str:
    """The diff as text (tests and callers that want a string); see :func:`unified_diff_bytes`."""
    diff = file_diff(result, root)
    return diff.patch.decode(diff.encoding, "surrogateescape") if isinstance(diff, FileDiff) else ""
