"""Helpers of the excerpt tests: a cancel check that never cancels, and random edits of a module."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis


def never() -> None:
    """A cancel check that never cancels."""
    return


def random_edits(
    source: str,
    context: AnalysisContext,
    rng: random.Random,
    *,
    rounds: int,
    first_line: int,
    targets: Sequence[str],
    snippets: Sequence[str],
) -> Iterator[tuple[DocumentAnalysis, DocumentAnalysis]]:
    """Insert ``rounds`` lines ``TARGET = SNIPPET`` at random lines from ``first_line`` on, at the
    indentation found there (module level, class bodies, functions). For each edit that parses,
    yield the incremental analysis of the new version and the whole module's analysis of it."""
    current = DocumentAnalysis.run(source, "m.py", context)
    for _ in range(rounds):
        lines = source.splitlines(keepends=True)
        index = rng.randrange(first_line, len(lines))
        line = lines[index]
        indent = line[: len(line) - len(line.lstrip())] if line.strip() else ""
        lines.insert(index, f"{indent}{rng.choice(targets)} = {rng.choice(snippets)}\n")
        source = "".join(lines)
        analysis = DocumentAnalysis.run(source, "m.py", context, previous=current)
        if not analysis.ok:
            source = current.source
            continue
        current = analysis
        yield analysis, DocumentAnalysis.run(source, "m.py", context)
