"""Engine values as LSP values: ranges in the client's encoding, edits, workspace edits.

The engine counts code points and string offsets; the client counts code units of the
position encoding agreed at initialisation (UTF-16 unless the client offered UTF-8 or
UTF-32). Every position sent or received goes through :class:`~recode_lsp.engine.edits.PositionMap`.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from recode_lsp.engine.edits import PositionMap
from recode_lsp.engine.model import Position, TextEdit


def lsp_range(positions: PositionMap, start: int, end: int, encoding: str) -> types.Range:
    (start_line, start_character), (end_line, end_character) = positions.range(start, end, encoding)
    return types.Range(
        start=types.Position(line=start_line, character=start_character),
        end=types.Position(line=end_line, character=end_character),
    )


def engine_position(positions: PositionMap, position: types.Position, encoding: str) -> Position:
    """An LSP position as the engine's (line, code-point column)."""
    offset = positions.offset(position.line, position.character, encoding)
    line, column = positions.position(offset, "utf-32")
    return Position(line, column)


def text_edits(positions: PositionMap, edits: Sequence[TextEdit], encoding: str) -> list[types.TextEdit]:
    return [types.TextEdit(range=lsp_range(positions, e.start, e.end, encoding), new_text=e.text) for e in edits]


def workspace_edit(
    uri: str, version: int | None, edits: list[types.TextEdit], document_changes: bool
) -> types.WorkspaceEdit:
    """Edits of one document, versioned when the client supports ``documentChanges``."""
    if document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                    edits=list(edits),
                )
            ]
        )
    return types.WorkspaceEdit(changes={uri: list(edits)})
