"""RC007 ``__root__`` -> ``RootModel`` and RC010 ``Field(const=)`` / ``Field(allow_mutation=)``."""

from __future__ import annotations

import pytest

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_field_keywords import PydanticFieldKeywords
from recode_lsp.engine.rules.pydantic_root_model import PydanticRootModel

from .conftest import Pipeline, make_kb
from .test_pydantic_optional_default import shipped


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(make_kb(shipped("PYD109", "PYD037", "PYD041")))


def test_registered() -> None:
    assert isinstance(rule_by_code("RC007"), PydanticRootModel)
    assert isinstance(rule_by_code("RC010"), PydanticFieldKeywords)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from typing import List

            from pydantic import BaseModel


            class Tags(BaseModel):
                \"\"\"Tags of a post.\"\"\"

                __root__: List[str]

                def __iter__(self):
                    return iter(self.__root__)
            """,
            """\
            from typing import List

            from pydantic import RootModel


            class Tags(RootModel):
                \"\"\"Tags of a post.\"\"\"

                root: List[str]

                def __iter__(self):
                    return iter(self.root)
            """,
            id="only-root-model-import-renamed",
        ),
        pytest.param(
            """\
            from typing import Dict

            import pydantic


            class Item(pydantic.BaseModel):
                name: str


            class Inventory(pydantic.BaseModel):
                __root__: Dict[str, Item] = {}
            """,
            """\
            from typing import Dict

            import pydantic


            class Item(pydantic.BaseModel):
                name: str


            class Inventory(pydantic.RootModel):
                root: Dict[str, Item] = {}
            """,
            id="qualified-with-default",
        ),
    ],
)
def test_root_model(pipeline: Pipeline, before: str, after: str) -> None:
    result = pipeline.check(before, after, "PYD109")
    assert all(finding.safety is FixSafety.UNSAFE for finding in result.findings)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            from typing import List

            from pydantic import BaseModel


            class Tags(BaseModel):
                __root__: List[str]


            def first(tags: Tags) -> str:
                return tags.__root__[0]
            """,
            id="read-outside-the-class",
        ),
        pytest.param(
            """\
            from typing import List

            from pydantic import BaseModel


            class Tags(BaseModel):
                __root__: List[str]

                class Config:
                    extra = "forbid"
            """,
            id="config",
        ),
    ],
)
def test_root_model_unsupported(pipeline: Pipeline, source: str) -> None:
    pipeline.unchanged(source, "PYD109")


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel, Field


            class Pet(BaseModel):
                kind: str = Field("cat", const=True, description="always a cat")
                legs: int = Field(default=4, const=True)
            """,
            """\
            from pydantic import BaseModel, Field
            from typing import Literal


            class Pet(BaseModel):
                kind: Literal["cat"] = Field("cat", description="always a cat")
                legs: Literal[4] = Field(default=4)
            """,
            "PYD037",
            id="const",
        ),
        pytest.param(
            """\
            import pydantic


            class Account(pydantic.BaseModel):
                id: int = pydantic.Field(..., allow_mutation=False, title="Id")
            """,
            """\
            import pydantic


            class Account(pydantic.BaseModel):
                id: int = pydantic.Field(..., frozen=True, title="Id")
            """,
            "PYD041",
            id="allow-mutation",
        ),
    ],
)
def test_field_keywords(pipeline: Pipeline, before: str, after: str, code: str) -> None:
    pipeline.check(before, after, code)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel, Field

            DEFAULT = "cat"


            class Pet(BaseModel):
                kind: str = Field(DEFAULT, const=True)
            """,
            "PYD037",
            id="const-non-literal-default",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, Field


            class Pet(BaseModel):
                name: str = Field(..., allow_mutation=True)
            """,
            "PYD041",
            id="allow-mutation-true",
        ),
    ],
)
def test_field_keywords_unsupported(pipeline: Pipeline, source: str, code: str) -> None:
    pipeline.unchanged(source, code)
