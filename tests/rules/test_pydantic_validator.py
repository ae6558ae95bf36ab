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
        pytest.param(
            """\
            from typing import List, Optional

            from pydantic import BaseModel, validator


            class Item(BaseModel):
                slug: Optional[str] = None
                lengths: List[int] = []  #: filled in

                @validator("slug", "lengths", always=True)
                def default_slug(cls, v, values):
                    return v or "x"
            """,
            """\
            from typing import List, Optional

            from pydantic import BaseModel, field_validator, Field


            class Item(BaseModel):
                slug: Optional[str] = Field(None, validate_default=True)
                lengths: List[int] = Field([], validate_default=True)  #: filled in

                @field_validator("slug", "lengths")
                @classmethod
                def default_slug(cls, v, info):
                    return v or "x"
            """,
            id="always-true-moves-to-the-fields",
        ),
        pytest.param(
            """\
            import pydantic


            class Item(pydantic.BaseModel):
                slug: str = pydantic.Field(
                    "",
                    description="made from the title",
                )

                @pydantic.validator("slug", always=True, pre=True)
                def default_slug(cls, v):
                    return v or "x"
            """,
            """\
            import pydantic


            class Item(pydantic.BaseModel):
                slug: str = pydantic.Field(
                    "",
                    description="made from the title", validate_default=True,
                )

                @pydantic.field_validator("slug", mode="before")
                @classmethod
                def default_slug(cls, v):
                    return v or "x"
            """,
            id="always-true-on-a-field-call",
        ),
        pytest.param(
            # LangChain 0.0.200's LengthBasedExampleSelector: annotated ``values``, a project base.
            """\
            from typing import Dict, List

            from pydantic import BaseModel, validator

            from langchain.prompts.example_selector.base import BaseExampleSelector


            class LengthBasedExampleSelector(BaseExampleSelector, BaseModel):
                examples: List[dict]
                example_text_lengths: List[int] = []  #: :meta private:

                @validator("example_text_lengths", always=True)
                def calculate_example_text_lengths(cls, v: List[int], values: Dict) -> List[int]:
                    if v:
                        return v
                    return [len(eg) for eg in values["examples"]]
            """,
            """\
            from typing import Dict, List

            from pydantic import BaseModel, field_validator, Field

            from langchain.prompts.example_selector.base import BaseExampleSelector


            class LengthBasedExampleSelector(BaseExampleSelector, BaseModel):
                examples: List[dict]
                example_text_lengths: List[int] = Field([], validate_default=True)  #: :meta private:

                @field_validator("example_text_lengths")
                @classmethod
                def calculate_example_text_lengths(cls, v: List[int], info) -> List[int]:
                    if v:
                        return v
                    return [len(eg) for eg in info.data["examples"]]
            """,
            id="langchain-always-true-annotated-values",
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


@pytest.mark.parametrize(
    "source",
    [
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
            from typing import Optional

            from pydantic import BaseModel, validator


            class Item(BaseModel):
                slug: Optional[str]

                @validator("slug", always=True)
                def default_slug(cls, v):
                    return v or "x"
            """,
            id="always-on-a-field-without-default",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, Field, validator


            class Item(BaseModel):
                slug: str = Field(..., min_length=1)

                @validator("slug", always=True)
                def default_slug(cls, v):
                    return v
            """,
            id="always-on-a-required-field",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, validator


            class Base(BaseModel):
                slug: str = ""


            class Item(Base):
                @validator("slug", always=True)
                def default_slug(cls, v):
                    return v
            """,
            id="always-on-an-inherited-field",
        ),
    ],
)
def test_display_only(source: str) -> None:
    """No edit keeps the meaning: the decorator is reported by the name's display-only entry,
    whose message says what V2 wants, and nothing is fixed (the rule used to offer a fix)."""
    result = Pipeline(make_kb(shipped(CODE, "PYD045"))).run(source)
    decorator_line = (
        textwrap.dedent(source)
        .splitlines()
        .index(next(line for line in textwrap.dedent(source).splitlines() if line.lstrip().startswith("@")))
    )
    at_decorator = [f for f in result.findings if f.range.start.line == decorator_line]
    assert [(f.code, f.safety) for f in at_decorator] == [("PYD045", FixSafety.DISPLAY_ONLY)]
    assert "validate_default=True" in at_decorator[0].message
    assert "each_item" in at_decorator[0].message
    assert result.source == textwrap.dedent(source)


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


def test_always_true_beside_another_validator(pipeline: Pipeline) -> None:
    """Both sites share one edit of the import line (``field_validator`` and ``Field``); apart,
    each fix would leave the other's ``validator`` undefined and both were rejected."""
    result = pipeline.run(
        """\
        from pydantic import BaseModel, validator


        class Item(BaseModel):
            slug: str = ""
            name: str

            @validator("name")
            def n(cls, v):
                return v

            @validator("slug", always=True)
            def s(cls, v, values):
                return v or values.get("name")
        """
    )
    assert result.outcome.skipped == []
    assert result.source.startswith("from pydantic import BaseModel, field_validator, Field\n")
    assert '    slug: str = Field("", validate_default=True)\n' in result.source
    assert "validator(" not in result.source.replace("field_validator(", "")
