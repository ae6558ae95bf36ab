"""RC005 pydantic-root-validator: ``@root_validator`` -> ``@model_validator(mode=...)``."""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_root_validator import PydanticRootValidator

from .conftest import Pipeline, make_kb
from .test_pydantic_optional_default import shipped

CODE = "PYD105"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(make_kb(shipped(CODE)))


def test_registered() -> None:
    assert isinstance(rule_by_code("RC005"), PydanticRootValidator)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel, root_validator


            class Range(BaseModel):
                low: int
                high: int

                @root_validator(pre=True, allow_reuse=True)
                def default_high(cls, values):
                    values.setdefault("high", values.get("low"))
                    return values

                @root_validator(skip_on_failure=True)
                def ordered(cls, values):
                    if values["low"] > values.get("high"):
                        raise ValueError("low > high")
                    return values
            """,
            """\
            from pydantic import BaseModel, model_validator


            class Range(BaseModel):
                low: int
                high: int

                @model_validator(mode="before")
                @classmethod
                def default_high(cls, values):
                    values.setdefault("high", values.get("low"))
                    return values

                @model_validator(mode="after")
                def ordered(self):
                    if self.low > self.high:
                        raise ValueError("low > high")
                    return self
            """,
            id="pre-and-skip-on-failure",
        ),
        pytest.param(
            """\
            import pydantic


            class Login(pydantic.BaseModel):
                user: str
                token: str = ""

                @pydantic.root_validator
                def need_token(cls, values):
                    assert values["token"] or values["user"] == "guest", "token required"
                    return values
            """,
            """\
            import pydantic


            class Login(pydantic.BaseModel):
                user: str
                token: str = ""

                @pydantic.model_validator(mode="after")
                def need_token(self):
                    assert self.token or self.user == "guest", "token required"
                    return self
            """,
            id="bare-decorator-qualified",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, root_validator


            class Range(BaseModel):
                low: int
                high: int

                @root_validator(skip_on_failure=True)
                def clamp(cls, values):
                    values["high"] = max(values["low"], values["high"])
                    return values
            """,
            """\
            from pydantic import BaseModel, model_validator


            class Range(BaseModel):
                low: int
                high: int

                @model_validator(mode="after")
                def clamp(self):
                    values = self.__dict__
                    values["high"] = max(values["low"], values["high"])
                    return self
            """,
            id="writes-values-on-the-instance-dict",
        ),
        pytest.param(
            """\
            from typing import Dict

            from pydantic import BaseModel, root_validator


            class Range(BaseModel):
                low: int

                @root_validator()
                def check(cls, values: Dict) -> Dict:
                    \"\"\"Say which class.\"\"\"
                    if values.get("high"):
                        raise ValueError(cls.__name__)
                    return values
            """,
            """\
            from typing import Dict

            from pydantic import BaseModel, model_validator


            class Range(BaseModel):
                low: int

                @model_validator(mode="after")
                def check(self) -> "Range":
                    \"\"\"Say which class.\"\"\"
                    values = self.__dict__
                    cls = type(self)
                    if values.get("high"):
                        raise ValueError(cls.__name__)
                    return self
            """,
            id="annotated-unknown-field-and-cls",
        ),
        pytest.param(
            # LangChain 0.0.200's shape: the pydantic base is in another module of the project.
            """\
            from typing import Dict

            from pydantic import Extra, root_validator

            from langchain.chat_models.base import BaseChatModel


            class ChatOpenAI(BaseChatModel):
                openai_api_key: str = ""

                class Config:
                    \"\"\"Configuration for this pydantic object.\"\"\"

                    extra = Extra.ignore

                @root_validator(pre=True)
                def build_extra(cls, values: Dict) -> Dict:
                    return values

                @root_validator()
                def validate_environment(cls, values: Dict) -> Dict:
                    values["openai_api_key"] = values["openai_api_key"] or "key"
                    return values
            """,
            """\
            from typing import Dict

            from pydantic import Extra, model_validator

            from langchain.chat_models.base import BaseChatModel


            class ChatOpenAI(BaseChatModel):
                openai_api_key: str = ""

                class Config:
                    \"\"\"Configuration for this pydantic object.\"\"\"

                    extra = Extra.ignore

                @model_validator(mode="before")
                @classmethod
                def build_extra(cls, values: Dict) -> Dict:
                    return values

                @model_validator(mode="after")
                def validate_environment(self) -> "ChatOpenAI":
                    values = self.__dict__
                    values["openai_api_key"] = values["openai_api_key"] or "key"
                    return self
            """,
            id="model-base-in-another-module",
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
            from pydantic import BaseModel, root_validator


            class Range(BaseModel):
                low: int

                @root_validator(skip_on_failure=True)
                def check(cls, values):
                    return {k: v for k, v in values.items()}
            """,
            id="returns-new-dict",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, root_validator


            class Range(BaseModel):
                low: int

                @root_validator(skip_on_failure=True)
                def check(cls, values):
                    values = dict(values)
                    return values
            """,
            id="rebinds-values",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, root_validator


            class Range(BaseModel):
                low: int

                @root_validator(skip_on_failure=True)
                def check(cls, values):
                    check = lambda: values
                    return values
            """,
            id="closure-keeps-values",
        ),
    ],
)
def test_unsupported_shape(pipeline: Pipeline, source: str) -> None:
    result = pipeline.unchanged(source, CODE)
    assert result.findings[0].safety is FixSafety.UNSAFE


def test_never_leaves_skip_on_failure_or_values_signature(pipeline: Pipeline) -> None:
    """bump-pydantic's defect: ``model_validator(skip_on_failure=True)`` on ``(cls, values)``."""
    result = pipeline.run(
        """\
        from pydantic import BaseModel, root_validator


        class A(BaseModel):
            x: int

            @root_validator(skip_on_failure=True)
            def check(cls, values):
                return values
        """
    )
    assert "skip_on_failure" not in result.source
    assert "def check(self):" in result.source
    compile(result.source, "<fixed>", "exec")


def test_not_fooled(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import root_validator


    class NotAModel:
        @root_validator(pre=True)
        def f(cls, values):
            return values
    """
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)
