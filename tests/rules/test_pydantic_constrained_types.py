"""RC009 pydantic-constrained-types: ``constr()`` / ``conint()`` / ``conlist()`` -> ``Annotated[...]``."""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_constrained_types import PydanticConstrainedTypes

from .conftest import Pipeline, make_kb
from .test_pydantic_optional_default import shipped

CODE = "PYD108"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(make_kb(shipped(CODE)))


def test_registered() -> None:
    assert isinstance(rule_by_code("RC009"), PydanticConstrainedTypes)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel, conint, conlist, constr


            class Item(BaseModel):
                name: constr(strip_whitespace=True, min_length=1, max_length=50)
                quantity: conint(gt=0, le=100)
                tags: conlist(str, min_items=1, max_items=5)
            """,
            """\
            from pydantic import BaseModel, Field, StringConstraints
            from typing import Annotated


            class Item(BaseModel):
                name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
                quantity: Annotated[int, Field(gt=0, le=100)]
                tags: Annotated[list[str], Field(min_length=1, max_length=5)]
            """,
            id="fastapi-item-imports-replaced",
        ),
        pytest.param(
            """\
            from typing import Annotated

            import pydantic


            class Price(pydantic.BaseModel):
                amount: pydantic.confloat(ge=0, allow_inf_nan=False)
                codes: pydantic.conset(item_type=int, max_items=3)
            """,
            """\
            from typing import Annotated

            import pydantic


            class Price(pydantic.BaseModel):
                amount: Annotated[float, pydantic.Field(ge=0, allow_inf_nan=False)]
                codes: Annotated[set[int], pydantic.Field(max_length=3)]
            """,
            id="qualified",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, condecimal


            class Invoice(BaseModel):
                total: condecimal(max_digits=10, decimal_places=2, ge=0)
            """,
            """\
            from pydantic import BaseModel, Field
            from typing import Annotated
            from decimal import Decimal


            class Invoice(BaseModel):
                total: Annotated[Decimal, Field(max_digits=10, decimal_places=2, ge=0)]
            """,
            id="condecimal-imports-decimal",
        ),
        pytest.param(
            """\
            from typing import Annotated

            from pydantic import BaseModel, condate


            class Invoice(BaseModel):
                due: condate(gt=None)
            """,
            """\
            from typing import Annotated

            from pydantic import BaseModel, Field
            from datetime import date


            class Invoice(BaseModel):
                due: Annotated[date, Field(gt=None)]
            """,
            id="condate-imports-date",
        ),
        pytest.param(
            """\
            import datetime as dt
            from decimal import Decimal
            from typing import Annotated

            import pydantic


            class Invoice(pydantic.BaseModel):
                total: pydantic.condecimal(decimal_places=2)
                due: pydantic.condate(ge=dt.date(2020, 1, 1))
            """,
            """\
            import datetime as dt
            from decimal import Decimal
            from typing import Annotated

            import pydantic


            class Invoice(pydantic.BaseModel):
                total: Annotated[Decimal, pydantic.Field(decimal_places=2)]
                due: Annotated[dt.date, pydantic.Field(ge=dt.date(2020, 1, 1))]
            """,
            id="condecimal-condate-reuse-imports",
        ),
    ],
)
def test_fix(pipeline: Pipeline, before: str, after: str) -> None:
    result = pipeline.check(before, after, CODE)
    assert all(finding.safety is FixSafety.SAFE for finding in result.findings)


def test_regex_and_alias_are_unsafe(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import BaseModel, constr

    Slug = constr(regex=r"^[a-z-]+$")


    class Post(BaseModel):
        slug: Slug
        code: constr(regex="[A-Z]{3}")
    """
    safe_run = pipeline.run(source, unsafe=False)
    assert [f.safety for f in safe_run.findings] == [FixSafety.UNSAFE, FixSafety.UNSAFE]
    assert safe_run.source == textwrap.dedent(source)
    result = pipeline.run(source)
    assert 'Slug = Annotated[str, StringConstraints(pattern=r"^[a-z-]+$")]\n' in result.source
    assert '    code: Annotated[str, StringConstraints(pattern="[A-Z]{3}")]\n' in result.source
    assert "constr" not in result.source


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            from pydantic import BaseModel, conlist


            class Item(BaseModel):
                tags: conlist(str, unique_items=True)
            """,
            id="unique-items",
        ),
        pytest.param(
            """\
            from pydantic import conint
            from sqlmodel import Field, SQLModel


            class Hero(SQLModel):
                age: conint(ge=0) = Field(default=None)
            """,
            id="field-is-sqlmodels",
        ),
    ],
)
def test_unsupported_shape(pipeline: Pipeline, source: str) -> None:
    pipeline.unchanged(source, CODE)


def test_not_fooled(pipeline: Pipeline) -> None:
    source = """\
    from mylib import constr


    def conint(gt):
        return gt


    X = constr(min_length=1)
    Y = conint(gt=1)
    """
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)
