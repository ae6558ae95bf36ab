"""PYD048 ``GenericModel`` -> ``BaseModel`` (safe rename) and RC008 custom-type hooks (reported only)."""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.model import Site
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_custom_type_hooks import PydanticCustomTypeHooks

from .conftest import Pipeline, make_kb
from .test_pydantic_optional_default import shipped


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(make_kb(shipped("PYD048", "PYD106", "PYD107")))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from typing import Generic, List, TypeVar

            from pydantic import BaseModel
            from pydantic.generics import GenericModel

            T = TypeVar("T")


            class Page(GenericModel, Generic[T]):
                items: List[T]
                total: int
            """,
            """\
            from typing import Generic, List, TypeVar

            from pydantic import BaseModel

            T = TypeVar("T")


            class Page(BaseModel, Generic[T]):
                items: List[T]
                total: int
            """,
            id="base-model-already-imported",
        ),
        pytest.param(
            """\
            from typing import Generic, TypeVar

            from pydantic.generics import GenericModel

            DataT = TypeVar("DataT")


            class Response(GenericModel, Generic[DataT]):
                data: DataT
            """,
            """\
            from typing import Generic, TypeVar
            from pydantic import BaseModel


            DataT = TypeVar("DataT")


            class Response(BaseModel, Generic[DataT]):
                data: DataT
            """,
            id="fastapi-response",
        ),
    ],
)
def test_generic_model(pipeline: Pipeline, before: str, after: str) -> None:
    result = pipeline.check(before, after, "PYD048")
    assert all(finding.safety is FixSafety.SAFE for finding in result.findings)


def test_hooks_are_reported_without_a_fix(pipeline: Pipeline) -> None:
    assert isinstance(rule_by_code("RC008"), PydanticCustomTypeHooks)
    source = """\
    from pydantic import BaseModel


    class PhoneNumber(str):
        @classmethod
        def __get_validators__(cls):
            yield cls.validate

        @classmethod
        def __modify_schema__(cls, field_schema):
            field_schema.update(pattern="^[0-9]+$")

        @classmethod
        def validate(cls, v):
            return cls(v)


    class Contact(BaseModel):
        phone: PhoneNumber
    """
    result = pipeline.run(source)
    assert [(f.code, f.site, f.safety, f.range.start.line) for f in result.findings] == [
        ("PYD106", Site.RULE, FixSafety.DISPLAY_ONLY, 5),
        ("PYD107", Site.RULE, FixSafety.DISPLAY_ONLY, 9),
    ]
    assert "__get_pydantic_core_schema__" in result.findings[0].message
    assert result.source == textwrap.dedent(source)


def test_hooks_need_a_pydantic_import(pipeline: Pipeline) -> None:
    source = """\
    class Money:
        @classmethod
        def __get_validators__(cls):
            yield cls
    """
    assert pipeline.run(source).findings == []
