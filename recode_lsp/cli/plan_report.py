"""The upgrade plan as a Markdown or HTML file with a chart (``--plan-report FILE.md|FILE.html``).

The chart is an inline SVG bar chart per library: one bar per target version, errors stacked on
warnings, marked when the version needs only safe fixes. No script, no style sheet, nothing
fetched: the file is complete as written.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from recode_lsp.cli.plan import (
    NEWEST,
    ORDER_RULE,
    LibraryPlan,
    Plan,
    apply_command,
    describe_name,
    describe_raise,
    describe_versions,
)

#: The heading of the ``--too-new`` part.
TOO_NEW_TITLE = "Pins that would have to rise for the code's too-new names"

ERROR_COLOUR = "#c0392b"
WARNING_COLOUR = "#e6a23c"
_BAR = 34
_GAP = 18
_HEIGHT = 160
_TOP = 24
_BOTTOM = 44


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def chart_svg(item: LibraryPlan) -> str:
    """An SVG bar chart of the findings per target version of one library."""
    rows = item.rows
    peak = max((row.findings for row in rows), default=0) or 1
    width = _GAP + len(rows) * (_BAR + _GAP) + 110
    total = _TOP + _HEIGHT + _BOTTOM
    title = f"{item.display_name}: findings per target version"
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
            f'viewBox="0 0 {width} {total}" role="img" aria-label="{html.escape(title)}">'
        ),
        f"<title>{html.escape(title)}</title>",
        f'<line x1="{_GAP / 2}" y1="{_TOP + _HEIGHT}" x2="{width - 110}" y2="{_TOP + _HEIGHT}" stroke="#555"/>',
    ]
    for index, row in enumerate(rows):
        x = _GAP + index * (_BAR + _GAP)
        error_height = round(_HEIGHT * row.errors / peak)
        warning_height = round(_HEIGHT * row.warnings / peak)
        base = _TOP + _HEIGHT
        if warning_height:
            parts.append(
                f'<rect x="{x}" y="{base - warning_height}" width="{_BAR}" height="{warning_height}" '
                f'fill="{WARNING_COLOUR}"><title>{_plural(row.warnings, "warning")}</title></rect>'
            )
        if error_height:
            parts.append(
                f'<rect x="{x}" y="{base - warning_height - error_height}" width="{_BAR}" height="{error_height}" '
                f'fill="{ERROR_COLOUR}"><title>{_plural(row.errors, "error")}</title></rect>'
            )
        top = base - warning_height - error_height
        mark = " \u2713" if row.safe_only and not row.current else ""
        parts.append(
            f'<text x="{x + _BAR / 2}" y="{top - 6}" text-anchor="middle" font-size="12" '
            f'font-family="sans-serif">{row.findings}{mark}</text>'
        )
        label = str(row.version) + (" now" if row.current else "") + (" *" if NEWEST in row.kinds else "")
        parts.append(
            f'<text x="{x + _BAR / 2}" y="{base + 16}" text-anchor="middle" font-size="11" '
            f'font-family="sans-serif">{html.escape(label)}</text>'
        )
    legend_x = width - 100
    for offset, (colour, name) in enumerate(((ERROR_COLOUR, "errors"), (WARNING_COLOUR, "warnings"))):
        y = _TOP + offset * 18
        parts.append(f'<rect x="{legend_x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 18}" y="{y + 11}" font-size="12" font-family="sans-serif">{name}</text>')
    parts.append(
        f'<text x="{legend_x}" y="{_TOP + 50}" font-size="11" font-family="sans-serif">\u2713 safe fixes only</text>'
    )
    parts.append(
        f'<text x="{legend_x}" y="{_TOP + 66}" font-size="11" font-family="sans-serif">* newest release</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _table_rows(item: LibraryPlan) -> list[list[str]]:
    rows = []
    for row in item.rows:
        notes = []
        if row.current:
            notes.append("now")
        if NEWEST in row.kinds:
            notes.append("newest release")
        if row.released is False:
            notes.append("not released yet")
        if not row.current:
            notes.append("safe fixes only" if row.safe_only else "needs unsafe or manual fixes")
        counts = (row.findings, row.errors, row.warnings, row.safe, row.unsafe, row.display, row.files)
        rows.append([str(row.version), *map(str, counts), ", ".join(notes)])
    return rows


_HEADERS = ["target", "findings", "errors", "warnings", "safe", "unsafe", "display-only", "files", "notes"]


def markdown(plan: Plan) -> str:
    lines = [
        f"# Upgrade plan for `{plan.root.name or plan.root}`",
        "",
        f"{_plural(plan.files, 'Python file')} checked.",
        "",
    ]
    if plan.order:
        lines += ["## Order to upgrade in", "", f"Rule: {ORDER_RULE}.", ""]
        for number, (library, reason) in enumerate(plan.order, 1):
            item = next(item for item in plan.libraries if item.library == library)
            goal = item.goal
            assert goal is not None
            lines.append(f"{number}. **{library} \u2192 {goal.version}**: {reason}  ")
            lines.append(f"   `{apply_command(library, goal, plan.paths)}`")
        lines.append("")
    for item in plan.libraries:
        lines += [f"## {item.display_name}", "", describe_versions(item) + ".", ""]
        if item.requires:
            lines += [f"Requires {', '.join(item.requires)}.", ""]
        safe = item.safe_upgrade
        if safe is not None:
            lines += [
                (
                    f"Can be raised to **{safe.version}** with safe fixes only: "
                    f"`{apply_command(item.library, safe, plan.paths)}`"
                ),
                "",
            ]
        lines.append("| " + " | ".join(_HEADERS) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * 7 + ["---"]) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in _table_rows(item)]
        lines += ["", chart_svg(item), ""]
    if plan.too_new is not None:
        lines += [f"## {TOO_NEW_TITLE}", ""]
        if not plan.too_new:
            lines += ["None: every name and keyword the code uses exists in the versions it is on.", ""]
        for raised in plan.too_new:
            lines += [f"### {describe_raise(raised)}", ""]
            lines += [f"- `{name.label}`: {describe_name(name).split(': ', 1)[1]}" for name in raised.names]
            lines.append("")
    return "\n".join(lines)


def html_document(plan: Plan) -> str:
    title = f"Upgrade plan for {plan.root.name or plan.root}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{_plural(plan.files, 'Python file')} checked.</p>",
    ]
    if plan.order:
        parts += ["<h2>Order to upgrade in</h2>", f"<p>Rule: {html.escape(ORDER_RULE)}.</p>", "<ol>"]
        for library, reason in plan.order:
            item = next(item for item in plan.libraries if item.library == library)
            goal = item.goal
            assert goal is not None
            parts.append(
                f"<li><strong>{html.escape(library)} \u2192 {goal.version}</strong>: {html.escape(reason)}<br>"
                f"<code>{html.escape(apply_command(library, goal, plan.paths))}</code></li>"
            )
        parts.append("</ol>")
    for item in plan.libraries:
        parts += [f"<h2>{html.escape(item.display_name)}</h2>", f"<p>{html.escape(describe_versions(item))}.</p>"]
        if item.requires:
            parts.append(f"<p>Requires {html.escape(', '.join(item.requires))}.</p>")
        safe = item.safe_upgrade
        if safe is not None:
            parts.append(
                f"<p>Can be raised to <strong>{safe.version}</strong> with safe fixes only: "
                f"<code>{html.escape(apply_command(item.library, safe, plan.paths))}</code></p>"
            )
        parts.append('<table border="1" cellspacing="0" cellpadding="4">')
        parts.append("<tr>" + "".join(f"<th>{html.escape(name)}</th>" for name in _HEADERS) + "</tr>")
        for row in _table_rows(item):
            parts.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
        parts += ["</table>", chart_svg(item)]
    if plan.too_new is not None:
        parts.append(f"<h2>{html.escape(TOO_NEW_TITLE)}</h2>")
        if not plan.too_new:
            parts.append("<p>None: every name and keyword the code uses exists in the versions it is on.</p>")
        for raised in plan.too_new:
            parts += [f"<h3>{html.escape(describe_raise(raised))}</h3>", "<ul>"]
            for name in raised.names:
                said = describe_name(name).split(": ", 1)[1]
                parts.append(f"<li><code>{html.escape(name.label)}</code>: {html.escape(said)}</li>")
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(path: Path, plan: Plan) -> None:
    """Write the plan to ``path``: HTML for ``.html`` / ``.htm``, Markdown otherwise (atomically)."""
    text = html_document(plan) if path.suffix.lower() in (".html", ".htm") else markdown(plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
