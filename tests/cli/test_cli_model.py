"""``recode-migrate --model URL``: model fixes for display-only findings, against a scripted server.

The scripted OpenAI-compatible server (``tests/models/openai_server.py``) answers what each test
needs: a valid migration, garbage, nothing in time. The real vLLM path is in
``tests/serving/test_server.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.models.conftest import server  # noqa: F401  (the scripted server fixture)
from tests.models.openai_server import Reply, ScriptedServer, closed_port_url, completion

CONVERT = textwrap.dedent(
    """\
    def convert(x):
        return np.cast["f8"](x)"""
)
CONVERTED = CONVERT.replace('np.cast["f8"](x)', 'np.asarray(x, dtype="f8")')
SOURCE = f"import numpy as np\n\n\n{CONVERT}\n\n\ndef other(y):\n    return np.float_(y)\n"
MORE = 'import numpy as np\n\n\ndef a(x):\n    return np.cast["i4"](x)\n\n\ndef b(x):\n    return np.cast["f4"](x)\n'


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recode_lsp", "--no-cache", "--allow-dirty", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "1"},
        check=False,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\n')
    (root / "mod.py").write_text(SOURCE)
    return root


def valid(server: ScriptedServer) -> None:  # noqa: F811
    server.then(Reply(completion("np.cast is gone; np.asarray takes the dtype.", CONVERTED + "\n")))


def test_diff_shows_validated_model_fix_with_rule_fixes(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    valid(server)
    result = run(project, "--diff", "--model", server.url + "/v1", "--model-name", "recode-v2", "mod.py")
    assert result.returncode == 1, result.stderr
    assert '+    return np.asarray(x, dtype="f8")' in result.stdout
    assert "+    return np.float64(y)" in result.stdout  # the rule fix is still there
    assert "mod.py:5:12: NPY007 model fix [unsafe]: passed validation" in result.stderr
    assert "the model fixed 1 of 1 findings" in result.stderr
    [request] = server.requests
    assert request.body["model"] == "recode-v2" and request.path == "/v1/chat/completions"
    assert (project / "mod.py").read_text() == SOURCE  # --diff writes nothing


def test_apply_needs_unsafe_fixes(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    valid(server)
    result = run(project, "--apply", "--model", server.url, "mod.py")
    assert "pass --unsafe-fixes" in result.stderr
    assert server.requests == []  # not even asked
    assert (project / "mod.py").read_text() == SOURCE.replace("np.float_", "np.float64")  # rule fixes applied
    result = run(project, "--apply", "--unsafe-fixes", "--model", server.url, "mod.py")
    assert result.returncode == 1, result.stderr
    assert CONVERTED in (project / "mod.py").read_text()


def test_garbage_answer_is_not_shown(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    server.then(Reply(completion("hmm", "def convert(x:\n    return np.cast[")))
    result = run(project, "--diff", "--model", server.url, "mod.py")
    assert "np.asarray" not in result.stdout and "np.cast" not in result.stdout
    assert "+    return np.float64(y)" in result.stdout
    assert "NPY007 model fix rejected: the model's answer does not parse" in result.stderr
    assert "0 of 1 findings" in result.stderr and "1 rejected" in result.stderr


def test_server_down_gives_one_message_and_rule_fixes_go_on(project: Path) -> None:
    (project / "more.py").write_text(MORE)
    url = closed_port_url()
    result = run(project, "--diff", "--model", url, ".")
    assert result.returncode == 1
    assert "+    return np.float64(y)" in result.stdout
    message = f"recode-migrate: the model server at {url} is unavailable"
    assert result.stderr.count(message) == 1 and "connection refused" in result.stderr
    assert "the rule fixes go on" in result.stderr


def test_a_hanging_server_costs_one_timeout(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    (project / "more.py").write_text(MORE)  # three display-only findings in two files
    server.then(Reply(completion("late", CONVERTED), delay=10))
    started = time.monotonic()
    result = run(project, "--diff", "--model", server.url, "--model-timeout", "1", ".")
    elapsed = time.monotonic() - started
    assert len(server.requests) == 1  # the circuit breaker: one question, not one per finding
    assert "timed out after 1 s" in result.stderr and result.stderr.count("is unavailable") == 1
    assert "+    return np.float64(y)" in result.stdout
    assert elapsed < 9


def test_check_mode_does_not_ask(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    result = run(project, "--model", server.url, "mod.py")
    assert result.returncode == 1
    assert "--model proposes fixes with --diff or --apply" in result.stderr
    assert server.requests == []


def test_json_report_counts_model_fixes_and_stays_valid(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    valid(server)
    result = run(project, "--diff", "--format", "json", "--model", server.url, "mod.py")
    document = json.loads(result.stdout.splitlines()[-1])
    schema = json.loads(resources.files("recode_lsp.cli").joinpath("schemas/report.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert sorted(f["code"] for f in document["fixed"]) == ["NPY007", "NPY023"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "localhost:8000"], "--model must be an http(s) URL"),
        (["--model", "http://x", "--model-timeout", "0"], "--model-timeout must be positive"),
        (["--model-timeout", "soon"], "invalid float value"),
    ],
)
def test_model_arguments_are_checked(project: Path, args: list[str], message: str) -> None:
    result = run(project, *args, "mod.py")
    assert result.returncode == 2 and message in result.stderr


def test_parser_defaults() -> None:
    from recode_lsp.cli.main import build_parser

    args = build_parser().parse_args(["x.py"])
    assert (args.model, args.model_name, args.model_timeout) == (None, "recode", 60.0)
