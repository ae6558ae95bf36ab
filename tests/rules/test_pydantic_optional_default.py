"""RC006 pydantic-optional-default: ``x: Optional[X]`` (no default) -> ``x: Optional[X] = None``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import recode_lsp.engine
from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.model import Site
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_optional_default import PydanticOptionalDefault

from .conftest import Pipeline, make_kb

CODE = "PYD103"
SHIPPED = Path(recode_lsp.engine.__file__).parent / "data" / "pydantic.jsonl"


def shipped(*ids: str) -> list[dict[str, object]]:
    """The shipped knowledge-base records with these ids (the rule reads the real entry)."""
    records = [json.loads(line) for line in SHIPPED.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [record for record in records if record["id"] in ids]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(make_kb(shipped(CODE)))


def test_registered() -> None:
    assert isinstance(rule_by_code("RC006"), PydanticOptionalDefault)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from typing import List, Optional

            from pydantic import BaseModel


            class Item(BaseModel):
                name: str
                description: Optional[str]
                price: float
                tax: Optional[float]
                tags: List[str] = []
            """,
            """\
            from typing import List, Optional

            from pydantic import BaseModel


            class Item(BaseModel):
                name: str
                description: Optional[str] = None
                price: float
                tax: Optional[float] = None
                tags: List[str] = []
            """,
            id="fastapi-item",
        ),
        pytest.param(
            """\
            import typing as t

            import pydantic


            class Base(pydantic.BaseModel):
                pass


            class Event(Base):
                payload: t.Any
                source: t.Union[str, None]  # where it came from
                target: "str"
                owner: int | None
                extra: None | dict
            """,
            """\
            import typing as t

            import pydantic


            class Base(pydantic.BaseModel):
                pass


            class Event(Base):
                payload: t.Any = None
                source: t.Union[str, None] = None  # where it came from
                target: "str"
                owner: int | None = None
                extra: None | dict = None
            """,
            id="union-any-pipe-inherited",
        ),
        pytest.param(
            """\
            from typing import Optional

            from sqlmodel import Field, SQLModel


            class HeroBase(SQLModel):
                name: str = Field(index=True)
                secret_name: str
                age: Optional[int]
            """,
            """\
            from typing import Optional

            from sqlmodel import Field, SQLModel


            class HeroBase(SQLModel):
                name: str = Field(index=True)
                secret_name: str
                age: Optional[int] = None
            """,
            id="sqlmodel",
        ),
        pytest.param(
            """\
            from typing import Optional

            from pydantic import BaseSettings


            class Settings(BaseSettings):
                sentry_dsn: Optional[str]
            """,
            """\
            from typing import Optional

            from pydantic import BaseSettings


            class Settings(BaseSettings):
                sentry_dsn: Optional[str] = None
            """,
            id="settings",
        ),
    ],
)
def test_fix(pipeline: Pipeline, before: str, after: str) -> None:
    pipeline.check(before, after, CODE)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            from typing import ClassVar, Optional

            from pydantic import BaseModel, Field


            class Item(BaseModel):
                a: Optional[str] = None
                b: Optional[str] = Field(None, description="b")
                c: Optional[str] = ...
                d: ClassVar[Optional[int]]
                _cache: Optional[dict]
                e: "Optional[int]"
                f: list[Optional[int]]
            """,
            id="defaults-classvar-private-string-nested",
        ),
        pytest.param(
            """\
            from dataclasses import dataclass
            from typing import Optional


            @dataclass
            class Row:
                name: Optional[str]


            class Plain:
                name: Optional[str]
            """,
            id="not-a-model",
        ),
        pytest.param(
            """\
            from typing import Optional

            from pydantic import BaseModel


            class Item(BaseModel):
                def f(self) -> None:
                    x: Optional[int]
            """,
            id="local-annotation-in-method",
        ),
    ],
)
def test_not_fooled(pipeline: Pipeline, source: str) -> None:
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


def test_safe_fix_needs_no_opt_in(pipeline: Pipeline) -> None:
    source = """\
    from typing import Optional

    from pydantic import BaseModel


    class Item(BaseModel):
        description: Optional[str]
    """
    result = pipeline.run(source, unsafe=False)
    [finding] = result.findings
    assert finding.safety is FixSafety.SAFE
    assert finding.site is Site.RULE
    assert (finding.range.start.line, finding.range.start.column) == (6, 4)
    assert result.source.endswith("    description: Optional[str] = None\n")
