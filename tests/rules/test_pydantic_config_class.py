"""RC002 pydantic-config-class: ``class Config:`` -> ``model_config = ConfigDict(...)``."""

from __future__ import annotations

import ast
import builtins
import textwrap
from typing import TYPE_CHECKING

import pytest

from recode_lsp.engine.changes import FixSafety, Severity
from recode_lsp.engine.detector import DetectOptions
from recode_lsp.engine.model import Site
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.pydantic_config_class import PydanticConfigClass
from recode_lsp.engine.versions import Version

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import Pipeline

CODE = "PYD101"


def test_registered() -> None:
    rule = rule_by_code("RC002")
    assert isinstance(rule, PydanticConfigClass)
    assert rule.name == "pydantic-config-class"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                name: str

                class Config:
                    orm_mode = True
                    allow_population_by_field_name = True
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class User(BaseModel):
                name: str

                model_config = ConfigDict(from_attributes=True, populate_by_name=True)
            """,
            id="renamed-keys-added-to-existing-import",
        ),
        pytest.param(
            """\
            \"\"\"Models.\"\"\"
            import pydantic


            class User(pydantic.BaseModel):
                class Config:
                    anystr_strip_whitespace = True
                    min_anystr_length = 1
                    max_anystr_length = 10
                    validate_all = True
            """,
            """\
            \"\"\"Models.\"\"\"
            import pydantic


            class User(pydantic.BaseModel):
                model_config = pydantic.ConfigDict(
                    str_strip_whitespace=True,
                    str_min_length=1,
                    str_max_length=10,
                    validate_default=True,
                )
            """,
            id="module-alias-and-long-line",
        ),
        pytest.param(
            """\
            import json

            from pydantic.main import BaseModel


            class Base(BaseModel):
                pass


            class User(Base):
                class Config:
                    anystr_lower = True
            """,
            """\
            import json

            from pydantic.main import BaseModel
            from pydantic import ConfigDict


            class Base(BaseModel):
                pass


            class User(Base):
                model_config = ConfigDict(str_to_lower=True)
            """,
            id="inherited-base-and-new-import",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, ConfigDict, Extra


            class A(BaseModel):
                class Config:
                    extra = Extra.forbid
                    allow_mutation = False


            class B(BaseModel):
                class Config:
                    extra = 'ignore'
                    frozen = True
                    arbitrary_types_allowed = True
            """,
            """\
            from pydantic import BaseModel, ConfigDict, Extra


            class A(BaseModel):
                model_config = ConfigDict(extra="forbid", frozen=True)


            class B(BaseModel):
                model_config = ConfigDict(extra='ignore', frozen=True, arbitrary_types_allowed=True)
            """,
            id="extra-and-allow-mutation-two-models",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:  # see docs
                    # ORM objects
                    orm_mode = True  # for SQLAlchemy rows
                    schema_extra = {
                        "example": {"name": "x"},  # shown in the docs
                    }
                    keep_untouched = property, int
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class User(BaseModel):
                model_config = ConfigDict(  # see docs
                    # ORM objects
                    from_attributes=True,  # for SQLAlchemy rows
                    json_schema_extra={
                        "example": {"name": "x"},  # shown in the docs
                    },
                    ignored_types=(property, int),
                )
            """,
            id="comments-and-multiline-values-kept",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class Outer:
                class User(BaseModel):
                    id: int

                    class Config:
                        orm_mode: bool = True

                    def name(self) -> str:
                        return "x"
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class Outer:
                class User(BaseModel):
                    id: int

                    model_config = ConfigDict(from_attributes=True)

                    def name(self) -> str:
                        return "x"
            """,
            id="nested-model-annotated-key",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class A(BaseModel):
                class Config: orm_mode = True


            class B(BaseModel):
                class Config:  # nothing to set
                    pass
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class A(BaseModel):
                model_config = ConfigDict(from_attributes=True)


            class B(BaseModel):
                model_config = ConfigDict()  # nothing to set
            """,
            id="one-line-body-and-pass",
        ),
        pytest.param(
            """\
            from pydantic_settings import BaseSettings


            class Settings(BaseSettings):
                class Config:
                    env_prefix = "APP_"
                    case_sensitive = True
            """,
            """\
            from pydantic_settings import BaseSettings, SettingsConfigDict


            class Settings(BaseSettings):
                model_config = SettingsConfigDict(env_prefix="APP_", case_sensitive=True)
            """,
            id="settings",
        ),
    ],
)
def test_fix(pipeline: Pipeline, before: str, after: str) -> None:
    pipeline.check(before, after, CODE)


def test_noop(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import BaseModel, ConfigDict


    class User(BaseModel):
        model_config = ConfigDict(from_attributes=True)
    """
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    orm_mode = True
                    fields = {"name": {"alias": "username"}}
            """,
            id="removed-key",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    allow_mutation = True
            """,
            id="allow-mutation-not-false",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    orm_mode = True

                    @staticmethod
                    def schema_extra(schema):
                        schema.pop("title")
            """,
            id="method-in-body",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    extra = EXTRA_MODE
            """,
            id="extra-not-literal",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class Base(BaseModel):
                class Config:
                    orm_mode = True


            class User(Base):
                class Config(Base.Config):
                    validate_all = True
            """,
            id="config-with-base-and-referenced",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    orm_mode = True


            ORM = User.Config.orm_mode
            """,
            id="config-referenced",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel, ConfigDict


            class User(BaseModel):
                model_config = ConfigDict(frozen=True)

                class Config:
                    orm_mode = True
            """,
            id="model-config-already-set",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel
            from myapp import ConfigDict


            class User(BaseModel):
                class Config:
                    orm_mode = True
            """,
            id="config-dict-name-taken",
        ),
    ],
)
def test_unsupported_shape(pipeline: Pipeline, source: str) -> None:
    result = pipeline.unchanged(source, CODE)
    assert all(finding.code == CODE for finding, _ in result.outcome.skipped)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            from pydantic import BaseModel

            DOC = "class Config: orm_mode = True"  # class Config:


            class User(BaseModel):
                name: str
            """,
            id="string-and-comment",
        ),
        pytest.param(
            """\
            import dataclasses


            class Job:
                class Config:
                    orm_mode = True
            """,
            id="not-a-model",
        ),
        pytest.param(
            """\
            from pydantic.v1 import BaseModel


            class User(BaseModel):
                class Config:
                    orm_mode = True
            """,
            id="v1-compat-layer-stays-v1",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                def f(self):
                    class Config:
                        orm_mode = True
                    return Config
            """,
            id="config-class-inside-a-method",
        ),
    ],
)
def test_not_fooled(pipeline: Pipeline, source: str) -> None:
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


def test_finding_is_unsafe_and_needs_opt_in(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import BaseModel


    class User(BaseModel):
        class Config:
            orm_mode = True
    """
    result = pipeline.run(source, unsafe=False)
    [finding] = result.findings
    assert finding.safety is FixSafety.UNSAFE
    assert finding.site is Site.RULE
    assert finding.severity is Severity.WARNING
    # The header, from ``class`` to the end of ``Config``.
    assert (finding.range.start.line, finding.range.start.column) == (4, 4)
    assert (finding.range.end.line, finding.range.end.column) == (4, 16)
    assert not result.outcome.changed
    assert result.source == textwrap.dedent(source)


def test_version_aware(pipeline: Pipeline) -> None:
    source = """\
    from pydantic import BaseModel


    class User(BaseModel):
        class Config:
            orm_mode = True
    """
    assert pipeline.run(source, options=DetectOptions(targets={"pydantic": Version("1.10")})).findings == []
    [finding] = pipeline.run(source, options=DetectOptions(targets={"pydantic": Version("2.5")})).findings
    assert finding.severity is Severity.WARNING


def test_without_knowledge_base_entry_finds_nothing(pipeline_without: Callable[..., Pipeline]) -> None:
    result = pipeline_without(CODE).run(
        """\
        from pydantic import BaseModel


        class User(BaseModel):
            class Config:
                orm_mode = True
        """
    )
    assert result.findings == []


def _undefined_names(source: str) -> set[str]:
    tree = ast.parse(source)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".", 1)[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    loaded = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return loaded - bound


def test_two_rules_inserting_imports_in_one_pass(pipeline: Pipeline) -> None:
    result = pipeline.run(
        """\
        from pydantic.main import BaseModel
        from sqlalchemy.engine import create_engine

        engine = create_engine("sqlite://")
        engine.execute("DELETE FROM users")


        class User(BaseModel):
            class Config:
                orm_mode = True
        """
    )
    assert _undefined_names(result.source) == set()
