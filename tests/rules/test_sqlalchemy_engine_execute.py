"""RC003 engine-execute: ``engine.execute(sql)`` -> ``with engine.begin() as conn: ...``."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from recode_lsp.engine.changes import FixSafety, Severity
from recode_lsp.engine.detector import DetectOptions
from recode_lsp.engine.model import Site
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.sqlalchemy_engine_execute import EngineExecute
from recode_lsp.engine.versions import Version

if TYPE_CHECKING:
    from .conftest import Pipeline

CODE = "SA101"


def test_registered() -> None:
    rule = rule_by_code("RC003")
    assert isinstance(rule, EngineExecute)
    assert rule.name == "engine-execute"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from sqlalchemy import create_engine

            engine = create_engine("sqlite://")
            engine.execute("DELETE FROM users")
            """,
            """\
            from sqlalchemy import create_engine, text

            engine = create_engine("sqlite://")
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM users"))
            """,
            id="string-wrapped-in-text-import-merged",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            engine.execute("DELETE FROM users WHERE id = :id", {"id": 5})  # cleanup
            """,
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            with engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": 5})  # cleanup
            """,
            id="module-alias-parameters-comment",
        ),
        pytest.param(
            """\
            import sqlalchemy
            from sqlalchemy import text

            engine = sqlalchemy.create_engine("sqlite://")
            engine.execute(f"DROP TABLE {name}")
            """,
            """\
            import sqlalchemy
            from sqlalchemy import text

            engine = sqlalchemy.create_engine("sqlite://")
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE {name}"))
            """,
            id="f-string-existing-text-import",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            users = sa.table("users")
            engine.execute(users.delete())
            """,
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            users = sa.table("users")
            with engine.begin() as conn:
                conn.execute(users.delete())
            """,
            id="statement-object-not-wrapped",
        ),
        pytest.param(
            """\
            from sqlalchemy import create_engine
            from sqlalchemy.engine import Engine


            def reset(engine: Engine, conn) -> None:
                if conn:
                    engine.execute(
                        \"\"\"
                        DELETE FROM users
                        \"\"\",
                        [{"id": 1}, {"id": 2}],
                    )
            """,
            """\
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import Engine


            def reset(engine: Engine, conn) -> None:
                if conn:
                    with engine.begin() as connection:
                        connection.execute(
                            text(\"\"\"
                        DELETE FROM users
                        \"\"\"),
                            [{"id": 1}, {"id": 2}],
                        )
            """,
            id="nested-block-multiline-conn-taken",
        ),
    ],
)
def test_fix(pipeline: Pipeline, before: str, after: str) -> None:
    pipeline.check(before, after, CODE)


def test_connection_names_taken(pipeline: Pipeline) -> None:
    pipeline.check(
        """\
        import sqlalchemy as sa

        conn = connection = conn_1 = None
        engine = sa.create_engine("sqlite://")
        engine.execute(sa.select(1))
        """,
        """\
        import sqlalchemy as sa

        conn = connection = conn_1 = None
        engine = sa.create_engine("sqlite://")
        with engine.begin() as conn_2:
            conn_2.execute(sa.select(1))
        """,
        CODE,
    )


def test_tab_indentation(pipeline: Pipeline) -> None:
    pipeline.check(
        'import sqlalchemy as sa\nengine = sa.create_engine("x")\nif engine:\n\tengine.execute(sa.select(1))\n',
        'import sqlalchemy as sa\nengine = sa.create_engine("x")\nif engine:\n'
        "\twith engine.begin() as conn:\n\t\tconn.execute(sa.select(1))\n",
        CODE,
    )


def test_noop(pipeline: Pipeline) -> None:
    source = """\
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM users"))
    """
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            rows = engine.execute("SELECT * FROM users")
            """,
            id="result-assigned",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            print(engine.execute("SELECT 1").scalar())
            """,
            id="inside-expression",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            engine.execute("DELETE FROM users WHERE id = :id", id=5)
            """,
            id="keyword-parameters",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            engine.execute("DELETE FROM users WHERE id = ?", (5,))
            """,
            id="tuple-parameters",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            engine.execute(*statements)
            """,
            id="starred",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            if engine: engine.execute("DELETE FROM users")
            """,
            id="shares-its-line",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            engine.execute("DELETE FROM a"); engine.execute("DELETE FROM b")
            """,
            id="semicolons",
        ),
        pytest.param(
            """\
            from sqlalchemy import create_engine

            engine = create_engine("sqlite://")
            text = "DELETE FROM users"
            engine.execute("DELETE FROM users")
            """,
            id="text-name-taken",
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
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            SQL = "engine.execute('DELETE FROM users')"  # engine.execute(SQL)
            """,
            id="string-and-comment",
        ),
        pytest.param(
            """\
            import subprocess


            class Engine:
                def execute(self, command):
                    subprocess.run(command)


            engine = Engine()
            engine.execute("ls")
            """,
            id="local-class-named-engine",
        ),
        pytest.param(
            """\
            import sqlalchemy as sa

            engine = sa.create_engine("sqlite://")
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))


            def run(engine):
                engine.execute("SELECT 1")
            """,
            id="connection-and-untyped-parameter",
        ),
    ],
)
def test_not_fooled(pipeline: Pipeline, source: str) -> None:
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


def test_finding_is_unsafe_and_needs_opt_in(pipeline: Pipeline) -> None:
    source = """\
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    engine.execute("DELETE FROM users")
    """
    result = pipeline.run(source, unsafe=False)
    [finding] = result.findings
    assert finding.safety is FixSafety.UNSAFE
    assert finding.site is Site.MEMBER
    assert (finding.range.start.line, finding.range.start.column) == (3, 7)
    assert not result.outcome.changed
    assert result.source == textwrap.dedent(source)


@pytest.mark.parametrize(
    ("target", "severity"),
    [("1.3", None), ("1.4", Severity.WARNING), ("2.0", Severity.ERROR)],
)
def test_version_aware(pipeline: Pipeline, target: str, severity: Severity | None) -> None:
    source = """\
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://")
    engine.execute("DELETE FROM users")
    """
    result = pipeline.run(source, options=DetectOptions(targets={"sqlalchemy": Version(target)}))
    assert [f.severity for f in result.findings] == ([] if severity is None else [severity])
