"""RC002 pydantic-config-class: a ``Config`` with a docstring, and custom keys that must survive."""

from __future__ import annotations

import pytest

from .conftest import Pipeline

CODE = "PYD101"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    \"\"\"Settings of the model.\"\"\"

                    orm_mode = True
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class User(BaseModel):
                model_config = ConfigDict(
                    # Settings of the model.
                    from_attributes=True,
                )
            """,
            id="one-line-docstring",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class Prompt(BaseModel):
                template: str

                class Config:
                    \"\"\"Configuration for this pydantic object.

                    Extra fields are rejected.
                    \"\"\"

                    extra = "forbid"
                    arbitrary_types_allowed = True
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class Prompt(BaseModel):
                template: str

                model_config = ConfigDict(
                    # Configuration for this pydantic object.
                    #
                    # Extra fields are rejected.
                    extra="forbid",
                    arbitrary_types_allowed=True,
                )
            """,
            id="langchain-multiline-docstring",
        ),
        pytest.param(
            """\
            from pydantic import BaseSettings


            class Settings(BaseSettings):
                database_url: str

                class Config:
                    env_prefix = "APP_"
                    env_file = ".env"
                    env_file_encoding = "utf-8"
                    env_nested_delimiter = "__"
                    case_sensitive = False
            """,
            """\
            from pydantic import BaseSettings
            from pydantic_settings import SettingsConfigDict


            class Settings(BaseSettings):
                database_url: str

                model_config = SettingsConfigDict(
                    env_prefix="APP_",
                    env_file=".env",
                    env_file_encoding="utf-8",
                    env_nested_delimiter="__",
                    case_sensitive=False,
                )
            """,
            id="settings-keys-never-dropped",
        ),
        pytest.param(
            """\
            from pydantic import BaseModel


            class User(BaseModel):
                class Config:
                    orm_mode = True
                    my_private_flag = True
            """,
            """\
            from pydantic import BaseModel, ConfigDict


            class User(BaseModel):
                model_config = ConfigDict(from_attributes=True, my_private_flag=True)
            """,
            id="custom-key-kept",
        ),
    ],
)
def test_fix(pipeline: Pipeline, before: str, after: str) -> None:
    pipeline.check(before, after, CODE)
