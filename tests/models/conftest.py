from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.models.openai_server import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer().start()
    try:
        yield scripted
    finally:
        scripted.stop()
