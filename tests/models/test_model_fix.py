"""Model fixes end to end: prompt, a scripted OpenAI-compatible server on loopback, validation.

Only a valid migration may be offered; every other answer (does not parse, still uses the old
API, no code, a timeout, a 500...) is rejected with a reason a user can read.
"""

from __future__ import annotations

import ast
import textwrap
import time

import pytest

from recode_lsp.api_docs import ApiDoc
from recode_lsp.engine import DetectOptions, Finding, detect
from recode_lsp.engine.versions import Version
from recode_lsp.model_client import ModelClient
from recode_lsp.model_fix import describe_update, enclosing_region, propose, propose_sync
from recode_lsp.prompt import ASSISTANT_PREFIX, build_messages
from tests.conftest import make_kb
from tests.models.openai_server import Reply, ScriptedServer, Status, closed_port_url, completion

KB = make_kb(
    [
        {
            "id": "NPY001",
            "library": "numpy",
            "old": "numpy.float_",
            "kind": "rename",
            "new": "numpy.float64",
            "removed_in": "2.0",
            "note": "Alias of numpy.float64, removed in NumPy 2.0.",
            "doc": "Double-precision (64-bit) floating-point scalar type.",
        },
        {
            "id": "NPY002",
            "library": "numpy",
            "old": "numpy.in1d",
            "kind": "rename",
            "new": "numpy.isin",
            "deprecated_in": "2.0",
            "fix": "unsafe",
        },
    ]
)
OPTIONS = DetectOptions(targets={"numpy": Version("2.0")})

SOURCE = textwrap.dedent(
    '''\
    import numpy as np


    def scale(values):
        """Scale values."""
        factor = np.float_(2)
        return [v * factor for v in values]


    def other():
        return np.float_(1)
    '''
)
OLD_FUNCTION = textwrap.dedent(
    '''\
    def scale(values):
        """Scale values."""
        factor = np.float_(2)
        return [v * factor for v in values]'''
)
NEW_FUNCTION = OLD_FUNCTION.replace("np.float_", "np.float64")


def first_finding(source: str = SOURCE) -> Finding:
    return detect(source, KB, OPTIONS)[0]


def client_for(server: ScriptedServer, **kwargs: object) -> ModelClient:
    return ModelClient(server.url, "recode-test", **kwargs)  # type: ignore[arg-type]


async def run(server: ScriptedServer, answer: str, source: str = SOURCE, **kwargs: object):  # type: ignore[no-untyped-def]
    server.then(Reply(answer))
    client = client_for(server)
    try:
        return await propose(source, first_finding(source), KB, OPTIONS, client, **kwargs)  # type: ignore[arg-type]
    finally:
        await client.aclose()


# --- the valid migration ----------------------------------------------------------------


async def test_valid_migration_is_offered(server: ScriptedServer) -> None:
    result = await run(server, completion("np.float_ is np.float64 in NumPy 2.", NEW_FUNCTION + "\n"))
    assert result.ok, result.reason
    assert result.new_source == SOURCE.replace(OLD_FUNCTION, NEW_FUNCTION)
    ast.parse(result.new_source)
    # The finding is gone; the other function's use is untouched (outside the region).
    assert [f.range.start.line for f in detect(result.new_source, KB, OPTIONS)] == [10]
    start, end = result.edits_region or (0, 0)
    assert SOURCE[start:end] == OLD_FUNCTION
    assert SOURCE[:start] + (result.new_text or "") + SOURCE[end:] == result.new_source
    assert result.raw_answer is not None and result.raw_answer.startswith(ASSISTANT_PREFIX)
    assert result.reason == "the model's migration of numpy.float_ passed validation"
    [edit] = result.edits
    assert (edit.start, edit.end, edit.text) == (start, end, NEW_FUNCTION)


async def test_request_is_the_shared_recode_prompt(server: ScriptedServer) -> None:
    result = await run(server, completion("ok", NEW_FUNCTION))
    finding = first_finding()
    # The region comes with the module-level imports it uses, as training snippets do.
    old_code = "import numpy as np\n\n" + OLD_FUNCTION
    expected = build_messages("numpy", "2.0", describe_update(finding.change, None, "2.0"), old_code)
    assert result.prompt_messages == expected
    [request] = server.requests
    assert request.body["messages"] == expected
    assert request.body["model"] == "recode-test"
    assert request.body["continue_final_message"] is True
    assert request.body["add_generation_prompt"] is False
    system, user, assistant = expected
    assert system["role"] == "system"
    assert assistant == {"role": "assistant", "content": ASSISTANT_PREFIX}
    assert "numpy performed an API update in version 2.0" in user["content"]
    assert "Alias of numpy.float64, removed in NumPy 2.0." in user["content"]
    assert "Double-precision (64-bit) floating-point scalar type." in user["content"]
    assert f"```python\n{old_code}\n```" in user["content"]


async def test_current_docs_go_into_the_update_information(server: ScriptedServer) -> None:
    docs = ApiDoc(
        "numpy.float64",
        "float64(x=0, /)",
        "Double-precision floating-point number type, compatible with Python float.",
        "fetched",
        "2.0.2",
        "from NumPy 2.0.2 fetched from the package index",
        "class",
    )
    result = await run(server, completion("ok", NEW_FUNCTION), docs=docs)
    assert result.ok, result.reason
    user = server.requests[0].body["messages"][1]["content"]
    assert "`numpy.float64` in NumPy 2.0.2:\n    float64(x=0, /)\n" in user
    assert "compatible with Python float." in user
    assert "Use `numpy.float64`: `numpy.float_` was removed in NumPy 2.0" in user


async def test_method_answer_is_reindented(server: ScriptedServer) -> None:
    source = textwrap.dedent(
        """\
        import numpy as np


        class Scaler:
            def scale(self, values):
                if values:
                    return np.float_(values[0])
                return None
        """
    )
    answer = "def scale(self, values):\n    if values:\n        return np.float64(values[0])\n    return None\n"
    result = await run(server, completion("rename", answer), source=source)
    assert result.ok, result.reason
    assert result.new_source == source.replace("np.float_", "np.float64")
    user = server.requests[0].body["messages"][1]["content"]
    # Dedented for the model, after the imports it uses.
    assert "```python\nimport numpy as np\n\ndef scale(self, values):\n    if values:" in user


async def test_repeated_imports_in_the_answer_are_dropped(server: ScriptedServer) -> None:
    result = await run(server, completion("ok", "import numpy as np\n\n\n" + NEW_FUNCTION))
    assert result.ok, result.reason
    assert result.new_source == SOURCE.replace(OLD_FUNCTION, NEW_FUNCTION)


async def test_top_level_statement_region(server: ScriptedServer) -> None:
    source = "import numpy as np\n\nx = np.float_(1)\ny = 2\n"
    result = await run(server, completion("ok", "x = np.float64(1)"), source=source)
    assert result.ok, result.reason
    assert result.new_source == "import numpy as np\n\nx = np.float64(1)\ny = 2\n"
    assert result.edits_region == (source.index("x ="), source.index("\ny"))


async def test_selection_region(server: ScriptedServer) -> None:
    start = SOURCE.index("    factor")
    end = SOURCE.index("    return [v")
    result = await run(server, completion("ok", "factor = np.float64(2)\n"), selection=(start + 6, end - 3))
    assert result.ok, result.reason
    assert result.new_source == SOURCE.replace("factor = np.float_(2)", "factor = np.float64(2)")


def test_propose_sync(server: ScriptedServer) -> None:
    server.then(Reply(completion("ok", NEW_FUNCTION)))
    result = propose_sync(SOURCE, first_finding(), KB, OPTIONS, client_for(server))
    assert result.ok, result.reason


# --- rejections -------------------------------------------------------------------------


async def test_answer_that_does_not_parse(server: ScriptedServer) -> None:
    broken = "def scale(values):\n    factor = np.float64(2\n    return factor\n"
    result = await run(server, completion("oops", broken))
    assert not result.ok
    assert result.new_source is None and result.edits_region is None and result.edits == []
    assert result.reason.startswith("the model's answer does not parse (line ")
    assert result.raw_answer is not None


async def test_answer_that_still_uses_the_old_api(server: ScriptedServer) -> None:
    result = await run(server, completion("nothing to do", OLD_FUNCTION))
    assert not result.ok
    assert result.reason == "the model's answer still uses numpy.float_"


async def test_timeout_is_rejected_within_the_timeout(server: ScriptedServer) -> None:
    server.then(Reply(completion("late", NEW_FUNCTION), delay=5))
    client = client_for(server, timeout=0.5)
    started = time.monotonic()
    result = await propose(SOURCE, first_finding(), KB, OPTIONS, client)
    assert time.monotonic() - started < 2.5  # the server would answer after 5 s
    assert not result.ok
    assert result.reason == "the model server timed out after 0.5 s"
    assert result.raw_answer is None
    assert result.prompt_messages  # what would have been asked is still shown
    await client.aclose()


async def test_server_error_is_rejected(server: ScriptedServer) -> None:
    server.then(Status(500, '{"message": "engine crashed"}'))
    client = client_for(server)
    result = await propose(SOURCE, first_finding(), KB, OPTIONS, client)
    assert not result.ok
    assert result.reason == "the model server answered 500 Internal Server Error: engine crashed"
    await client.aclose()


async def test_garbage_without_code_is_rejected(server: ScriptedServer) -> None:
    result = await run(server, "I think you should update numpy. Good luck!")
    assert not result.ok
    assert result.reason == "the model returned no code"
    empty = await run(server, completion("hmm", "\n"))
    assert empty.reason == "the model returned no code"


async def test_server_down_is_rejected() -> None:
    client = ModelClient(closed_port_url(), "recode-test", backoff=0.01)
    result = await propose(SOURCE, first_finding(), KB, OPTIONS, client)
    assert not result.ok
    assert "connection refused" in result.reason
    await client.aclose()


async def test_answer_introducing_another_outdated_api(server: ScriptedServer) -> None:
    answer = NEW_FUNCTION.replace("return [v * factor for v in values]", "return np.in1d(values, [factor])")
    result = await run(server, completion("ok", answer))
    assert not result.ok
    assert result.reason.startswith("the model's answer introduces NPY002: ")
    assert "`numpy.in1d` " in result.reason


async def test_answer_dropping_the_function(server: ScriptedServer) -> None:
    result = await run(server, completion("only the changed line", "factor = np.float64(2)"))
    assert not result.ok
    assert result.reason == "the model's answer drops `scale`"


async def test_answer_with_an_undefined_name(server: ScriptedServer) -> None:
    answer = NEW_FUNCTION.replace("np.float64(2)", "to_float64(2)")
    result = await run(server, completion("ok", answer))
    assert not result.ok
    assert result.reason == "the model's answer uses undefined name(s): to_float64"


async def test_answer_with_a_name_missing_in_the_target_version(server: ScriptedServer) -> None:
    answer = NEW_FUNCTION.replace("np.float64", "np.double64")
    asked: list[tuple[str, str]] = []

    def exists(name: str, library: str) -> bool | None:
        asked.append((name, library))
        return name in {"numpy.float64"}

    result = await run(server, completion("ok", answer), name_exists=exists)
    assert not result.ok
    assert result.reason == "the model's answer uses `numpy.double64`, which does not exist in NumPy 2.0"
    assert ("numpy.double64", "numpy") in asked


async def test_file_that_does_not_parse_is_not_sent(server: ScriptedServer) -> None:
    finding = first_finding()
    client = client_for(server)
    result = await propose(SOURCE + "\ndef broken(:\n", finding, KB, OPTIONS, client)
    assert not result.ok
    assert result.reason.startswith("the file does not parse")
    assert server.requests == []
    await client.aclose()


# --- helpers ----------------------------------------------------------------------------


def test_enclosing_region_includes_decorators_and_prefers_the_innermost_function() -> None:
    source = textwrap.dedent(
        """\
        import numpy as np


        @decorate
        def outer():
            def inner():
                return np.float_(1)
            return inner
        """
    )
    region = enclosing_region(source, first_finding(source))
    assert region is not None
    assert source[region.start : region.end] == "    def inner():\n        return np.float_(1)"
    assert (region.indent, region.kind, region.defines) == ("    ", "function", frozenset({"inner"}))
    decorated = "import numpy as np\n\n@decorate\ndef f():\n    return np.float_(1)\n"
    region = enclosing_region(decorated, first_finding(decorated))
    assert region is not None
    assert decorated[region.start : region.end] == "@decorate\ndef f():\n    return np.float_(1)"


@pytest.mark.parametrize("targets", [{}, {"numpy": Version("2.1")}])
def test_prompt_version_is_the_target_else_the_change(targets: dict[str, Version]) -> None:
    from recode_lsp.model_fix import target_version

    expected = "2.1" if targets else "2.0"
    assert target_version(first_finding().change, DetectOptions(targets=targets)) == expected
