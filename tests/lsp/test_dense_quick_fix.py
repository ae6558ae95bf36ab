"""Quick fixes of ``from typing import List`` and its uses, in the real server over stdio.

A use of an imported name whose new name is a builtin (``List[int]`` -> ``list[int]``) is fixed
at its own site, as ruff's UP006 does: the other uses stay, and so does the import while
anything still uses it (the last use also drops it). Fixing the import together with every use
was a rewrite of the whole module, validated on all of it (about a second per quick fix on a
finding-dense module: issue 13); that stays the job of fix-all. Each test is a before/after pair.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest_asyncio
from lsprotocol import types
from pytest_lsp import client_capabilities

from recode_lsp.engine.edits import PositionMap
from tests.lsp.conftest import PROFILES, Session, Starter

PYPROJECT = '[project]\nname = "fixture"\n\n[tool.recode]\ntargets = ["numpy==2.0", "python==3.12"]\n'

MODULE = textwrap.dedent(
    """\
    from typing import Dict, List


    def total(values: List[int]) -> int:
        return sum(values)


    def table(rows: List[str]) -> Dict[str, int]:
        return {row: len(row) for row in rows}
    """
)


@pytest_asyncio.fixture
async def typed(start: Starter, project: Path, profile: str) -> Session:
    """A session on a project that targets Python 3.12 (``typing.List`` is deprecated there)."""
    (project / "pyproject.toml").write_text(PYPROJECT)
    return await start(client_capabilities(PROFILES[profile]))


async def _actions_at(session: Session, uri: str, needle: str, occurrence: int = 0) -> list[types.CodeAction]:
    """The quick fixes listed for the ``occurrence``-th ``needle`` of the document (0: the first)."""
    text = session.texts[uri]
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    (first_line, first_char), (last_line, last_char) = PositionMap(text).range(
        start, start + len(needle), session.encoding
    )
    result = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=first_line, character=first_char),
                end=types.Position(line=last_line, character=last_char),
            ),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def _quick_fix(session: Session, uri: str, needle: str, occurrence: int = 0) -> str:
    """The document after the first offered fix at ``needle`` (resolved as an editor would)."""
    actions = await _actions_at(session, uri, needle, occurrence)
    fix = next(a for a in actions if a.title.startswith("Replace with"))
    resolved = fix if fix.edit is not None else await session.client.code_action_resolve_async(fix)
    assert resolved.edit is not None, resolved.disabled
    return session.apply(uri, resolved.edit)


async def test_one_use_is_fixed_alone_and_the_import_stays(typed: Session) -> None:
    uri = typed.open("typed.py", MODULE)
    await typed.diagnostics(uri)
    after = await _quick_fix(typed, uri, "List", occurrence=2)  # ``rows: List[str]``
    assert after == MODULE.replace("rows: List[str]", "rows: list[str]")
    compile(after, "typed.py", "exec")


async def test_the_last_use_also_drops_its_import(typed: Session) -> None:
    uri = typed.open("typed.py", MODULE)
    await typed.diagnostics(uri)
    after = await _quick_fix(typed, uri, "Dict", occurrence=1)  # the only use of ``Dict``
    assert after == MODULE.replace("from typing import Dict, List", "from typing import List").replace(
        "-> Dict[str, int]", "-> dict[str, int]"
    )


async def test_an_import_still_used_has_no_quick_fix(typed: Session) -> None:
    """Only fix-all rewrites every use with the import (ruff offers no fix there either)."""
    uri = typed.open("typed.py", MODULE)
    await typed.diagnostics(uri)
    titles = [a.title for a in await _actions_at(typed, uri, "List")]
    assert titles and not any(title.startswith("Replace with") for title in titles), titles
    assert "Ignore PY117 on this line" in titles
    fix_all = await typed.actions(uri, only=["source.fixAll.recode"])
    (action,) = fix_all
    resolved = action if action.edit is not None else await typed.client.code_action_resolve_async(action)
    assert resolved.edit is not None
    assert typed.apply(uri, resolved.edit) == textwrap.dedent(
        """\


        def total(values: list[int]) -> int:
            return sum(values)


        def table(rows: list[str]) -> dict[str, int]:
            return {row: len(row) for row in rows}
        """
    )


async def test_a_shadowed_builtin_is_refused_at_that_use_only(typed: Session) -> None:
    source = textwrap.dedent(
        """\
        from typing import List


        class Rows:
            list = []
            items: List[str] = []


        def names(values: List[str]) -> List[str]:
            return values
        """
    )
    uri = typed.open("shadow.py", source)
    await typed.diagnostics(uri)
    # In the class body ``list`` is the class attribute: that use keeps ``List``.
    (refused,) = [a for a in await _actions_at(typed, uri, "List", occurrence=1) if a.title.startswith("Replace")]
    resolved = await typed.client.code_action_resolve_async(refused) if refused.edit is None else refused
    assert resolved.edit is None and resolved.disabled is not None
    assert "shadowed" in resolved.disabled.reason
    # Elsewhere the builtin is what ``list`` means: fixed.
    after = await _quick_fix(typed, uri, "List", occurrence=2)
    assert after == source.replace("values: List[str]", "values: list[str]")


async def test_a_removed_name_is_still_fixed_with_its_import(typed: Session) -> None:
    """``numpy.float`` is gone in NumPy 2: the import cannot stay, so import and uses go together."""
    source = "from numpy import float\n\nx = float(1)\ny = float(2)\n"
    uri = typed.open("removed.py", source)
    await typed.diagnostics(uri)
    assert await _quick_fix(typed, uri, "float", occurrence=1) == "\nx = float(1)\ny = float(2)\n"
