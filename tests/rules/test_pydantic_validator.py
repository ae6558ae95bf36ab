"""RC004 pydantic-validator: ``@validator(...)`` -> ``@field_validator(...)`` + ``@classmethod``."""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_validator import PydanticValidator

from .conftest import Pipeline, make_kb
from .test_pydantic_optional_default import shipped

CODE = "PYD104"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(make_kb(shipped(CODE)))


def test_registered() -> None:
    assert isinstance(rule_by_code("RC004"), PydanticValidator)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel, EmailStr, validator


            class UserCreate(BaseModel):
                email: EmailStr
                password: str
                password2: str

                @validator("email", pre=True, allow_reuse=True)
                def lower(cls, v):
                    return v.lower()

                @validator("password2")
                def passwords_match(cls, v, values):
                    if "password" in values and v != values["password"]:
                        raise ValueError("passwords do not match")
                    return v
            """,
            """\
            from pydantic import BaseModel, EmailStr, field_validator


            class UserCreate(BaseModel):
                email: EmailStr
                password: str
                password2: str

                @field_validator("email", mode="before")
                @classmethod
                def lower(cls, v):
                    return v.lower()

                @field_validator("password2")
                @classmethod
                def passwords_match(cls, v, info):
                    if "password" in info.data and v != info.data["password"]:
                        raise ValueError("passwords do not match")
                    return v
            """,
            id="fastapi-user-create-import-renamed",
        ),
        pytest.param(
            """\
            import pydantic


            class Item(pydantic.BaseModel):
                name: str
                tags: list

                @pydantic.validator("name", "tags", pre=False, always=False, check_fields=False)
                @classmethod
                def not_empty(cls, value):
                    assert value, "empty"
                    return value
            """,
            """\
            import pydantic


            class Item(pydantic.BaseModel):
                name: str
                tags: list

                @pydantic.field_validator("name", "tags", check_fields=False)
                @classmethod
                def not_empty(cls, value):
                    assert value, "empty"
                    return value
            """,
            id="qualified-existing-classmethod-check-fields",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, field_validator, validator


            class A(BaseModel):
                x: int

                @field_validator("x")
                @classmethod
                def positive(cls, v):
                    return abs(v)

                @validator("*", pre=True)
                def strip(cls, v):
                    return v.strip() if isinstance(v, str) else v
            """,
            """\
            from pydantic import BaseModel, field_validator


            class A(BaseModel):
                x: int

                @field_validator("x")
                @classmethod
                def positive(cls, v):
                    return abs(v)

                @field_validator("*", mode="before")
                @classmethod
                def strip(cls, v):
                    return v.strip() if isinstance(v, str) else v
            """,
            id="star-and-already-imported-import-dropped",
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
            from typing import Optional

            from pydantic import BaseModel, validator


            class Item(BaseModel):
                slug: Optional[str] = None

                @validator("slug", always=True)
                def default_slug(cls, v, values):
                    return v or "x"
            """,
            id="always-true",
        ),
        pytest.param(
            """\
            from typing import List

            from pydantic import BaseModel, validator


            class Item(BaseModel):
                tags: List[str]

                @validator("tags", each_item=True)
                def lower(cls, v):
                    return v.lower()
            """,
            id="each-item",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, validator


            class Item(BaseModel):
                a: int

                @validator("a")
                def check(cls, v, values, field, config):
                    return v
            """,
            id="field-and-config-parameters",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, validator


            class Item(BaseModel):
                a: int

                @validator("a")
                def check(cls, v, values):
                    values = dict(values)
                    return v
            """,
            id="values-rebound",
        ),
    ],
)
def test_unsupported_shape(pipeline: Pipeline, source: str) -> None:
    result = pipeline.unchanged(source, CODE)
    assert result.findings[0].safety is FixSafety.UNSAFE


def test_not_fooled(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import BaseModel
    from myapp.checks import validator


    class Item(BaseModel):
        a: int

        @validator("a")
        def check(cls, v):
            return v


    class Plain:
        @validator("a")
        def check(cls, v):
            return v
    """
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


def test_unsafe_needs_opt_in(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import BaseModel, validator


    class Item(BaseModel):
        a: int

        @validator("a")
        def check(cls, v):
            return v
    """
    result = pipeline.run(source, unsafe=False)
    [finding] = result.findings
    assert finding.safety is FixSafety.UNSAFE
    assert result.source == textwrap.dedent(source)
    assert (finding.range.start.line, finding.range.start.column) == (6, 5)


def test_unsupported_site_keeps_the_old_import(pipeline: Pipeline) -> None:
    result = pipeline.run(
        """\
        from pydantic import BaseModel, validator


        class Item(BaseModel):
            a: int
            b: list

            @validator("a")
            def check(cls, v):
                return v

            @validator("b", each_item=True)
            def items(cls, v):
                return v
        """
    )
    assert "from pydantic import BaseModel, validator, field_validator\n" in result.source
    assert '    @field_validator("a")\n    @classmethod\n' in result.source
    assert '    @validator("b", each_item=True)\n' in result.source
