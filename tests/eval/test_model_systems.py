"""The ``model`` and ``rules+model`` systems against a real HTTP model server on loopback.

The server (``http.server`` in a thread, the real HTTP stack) answers each chat request from its
content: a correct migration for the task that uses ``np.cast["f8"]``, prose without code for any
other. ``np.cast`` is gone from NumPy 2 (installed here) and no rule can rewrite it (a display-only
finding), so ``unchanged`` and ``rules`` fail those tasks and only a model answer can pass them.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest

from model_training.cli import main as train_main
from model_training.eval import run
from model_training.eval.codemenv import Task
from model_training.eval.envs import EnvCache, EnvResult
from model_training.eval.sandbox import Limits
from model_training.eval.systems import ModelConfig, make_system, sample_seed
from tests.models.openai_server import closed_port_url, completion

CAST = 'def convert(x):\n    return np.cast["f8"](x)'
CAST_FIXED = 'def convert(x):\n    return np.asarray(x, dtype="f8")'
OTHER = 'def convert(x):\n    return np.cast["i4"](x)'
LIMITS = Limits(wall_seconds=30, cpu_seconds=30)


def task(task_id: str, function: str, expected: str) -> Task:
    program = f"import numpy as np\n\n\n{function}\n\n\nprint(convert([1, 2]).tolist())\n"
    return Task(
        f"easy/{task_id}",
        "easy",
        "numpy",
        "1.26",
        "2.0",
        program,
        function,
        expected,
        update="numpy.cast was removed in NumPy 2.0; use numpy.asarray(x, dtype=...) instead.",
        model_source=function,
    )


TASKS = [task("f8", CAST, "[1.0, 2.0]\n"), task("i4", OTHER, "[1, 2]\n")]


class HostEnvs(EnvCache):
    """Every (library, version) is this interpreter (NumPy 2 here)."""

    def __init__(self) -> None:
        super().__init__(Path("/nonexistent"))

    def python_for(self, library: str, version: str, *, stdlib: bool = False) -> EnvResult:
        return EnvResult(sys.executable)


class ModelServer:
    """An OpenAI-compatible chat server whose answer is ``answer(request body)``; records every body."""

    def __init__(self, answer: Callable[[dict[str, Any]], str]) -> None:
        self.bodies: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                owner.bodies.append(body)
                text = answer(body)
                data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def scripted(body: dict[str, Any]) -> str:
    user = body["messages"][1]["content"]
    if 'np.cast["f8"]' in user:
        return completion("np.cast is gone; np.asarray takes the dtype.", CAST_FIXED + "\n")
    return " I would rather not. </think> no code here"


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer(scripted) as running:
        yield running


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {(r["task_id"], r["system"], r["sample"]): r for r in rows}


def test_model_systems_score_scripted_migrations(tmp_path: Path, server: ModelServer) -> None:
    config = ModelConfig(server.url, "recode-test", timeout=20, temperature=0.7, top_p=0.9)
    out = tmp_path / "res.jsonl"
    systems = ["unchanged", "rules", "model", "rules+model"]
    rows = run.evaluate(
        TASKS, systems, out, envs=HostEnvs(), limits=LIMITS, jobs=2, self_check=False, model=config, samples=2
    )
    got = by_key(rows)
    assert len(rows) == 2 * (1 + 1 + 2 + 2)  # deterministic systems: one sample; model systems: two
    for sample in (0, 1):
        for system in ("model", "rules+model"):
            row = got[("easy/f8", system, sample)]
            assert row["passed"] is True, row
            seed = sample_seed("easy/f8", sample)
            assert (row["temperature"], row["top_p"], row["seed"], row["model"]) == (0.7, 0.9, seed, "recode-test")
            assert not got[("easy/i4", system, sample)]["passed"]
        no_code = got[("easy/i4", "model", sample)]
        assert no_code["system_error"] == "the model's answer has no code" and no_code["reason"] == "no_program"
        reasons = got[("easy/i4", "rules+model", sample)]["model_info"]["reasons"]
        assert reasons == ["the model returned no code"]
    assert got[("easy/f8", "rules+model", 0)]["model_info"] == {"asked": 1, "accepted": 1, "rejected": 0}
    assert not got[("easy/f8", "unchanged", 0)]["passed"] and not got[("easy/f8", "rules", 0)]["passed"]
    # Sampling settings reach the server, with a seed per sample (the CLI's model fixes ask with 0).
    assert {(b["temperature"], b["top_p"], b["model"]) for b in server.bodies} == {(0.7, 0.9, "recode-test")}
    seeds = {sample_seed(t.task_id, i) for t in TASKS for i in (0, 1)}
    assert {b["seed"] for b in server.bodies} == seeds and len(seeds) == 4  # distinct per task and sample
    assert len(server.bodies) == 2 * 2 * 2
    cells = run.summarize(rows)["cells"]
    assert cells["model/numpy/easy"]["pass@1"] == 0.5 and cells["model/numpy/easy"]["samples"] == 4
    assert cells["model/numpy/easy"]["pass@5"] is None  # 2 samples per task: pass@5 is not defined
    assert cells["model/numpy/easy"]["model_errors"] == 2
    assert cells["rules/numpy/easy"]["pass@1"] == 0.0
    # A rerun asks nothing: every sample is in the file.
    again = run.evaluate(
        TASKS, systems, out, envs=HostEnvs(), limits=LIMITS, jobs=2, self_check=False, model=config, samples=2
    )
    assert len(again) == len(rows) and len(server.bodies) == 8


def test_no_code_fails_even_where_the_old_code_passes(tmp_path: Path, server: ModelServer) -> None:
    """A model that answers without code migrated nothing: that sample fails, it does not inherit the
    old program's pass (``unchanged`` passes this task: its old code works with the new version)."""
    works = task("works", 'def convert(x):\n    return np.asarray(x, dtype="i4")', "[1, 2]\n")
    rows = run.evaluate(
        [works],
        ["unchanged", "model"],
        tmp_path / "r.jsonl",
        envs=HostEnvs(),
        limits=LIMITS,
        self_check=False,
        model=ModelConfig(server.url),
    )
    got = by_key(rows)
    assert got[("easy/works", "unchanged", 0)]["passed"] is True
    model_row = got[("easy/works", "model", 0)]
    assert (model_row["passed"], model_row["reason"], model_row["changed"]) == (False, "no_program", False)
    cell = run.summarize(rows)["cells"]["model/numpy/easy"]
    assert (cell["pass@1"], cell["errors"], cell["model_errors"]) == (0.0, 0, 1)


def test_pass_at_5_with_five_samples(tmp_path: Path, server: ModelServer) -> None:
    config = ModelConfig(server.url, temperature=1.0)
    rows = run.evaluate(
        TASKS,
        ["model"],
        tmp_path / "r.jsonl",
        envs=HostEnvs(),
        limits=LIMITS,
        self_check=False,
        model=config,
        samples=5,
    )
    cell = run.summarize(rows)["cells"]["model/numpy/easy"]
    assert (cell["pass@1"], cell["pass@5"], cell["samples"]) == (0.5, 0.5, 10)
    assert "| numpy | easy | 2 | 2 | 10 | 5 | 50.0% | 50.0% |" in run.markdown(run.summarize(rows))


def test_server_down_gives_errors_and_is_retried_on_rerun(tmp_path: Path, server: ModelServer) -> None:
    down = ModelConfig(closed_port_url() + "/v1", timeout=5, retries=0)
    out = tmp_path / "res.jsonl"
    rows = run.evaluate(
        TASKS[:1], ["model", "rules+model"], out, envs=HostEnvs(), limits=LIMITS, self_check=False, model=down
    )
    for row in rows:
        assert row["passed"] is False and row["model_outage"] is True
        assert "cannot reach the model server" in row["system_error"] or "unavailable" in row["system_error"]
    cell = run.summarize(rows)["cells"]["model/numpy/easy"]
    assert (cell["ran"], cell["pass@1"], cell["model_errors"]) == (1, 0.0, 1)
    # The server is back: the outage samples are asked again, and the newest row counts.
    up = ModelConfig(server.url)
    rows = run.evaluate(
        TASKS[:1], ["model", "rules+model"], out, envs=HostEnvs(), limits=LIMITS, self_check=False, model=up
    )
    assert [row["passed"] for row in rows] == [True, True]
    assert len(out.read_text().splitlines()) == 4


def test_answer_that_breaks_the_program_fails_that_sample_only(tmp_path: Path) -> None:
    with ModelServer(lambda body: completion("sure", "import os\nos.kill(os.getppid(), 9)\n")) as nonsense:
        config = ModelConfig(nonsense.url)
        rows = run.evaluate(
            TASKS[:1], ["model"], tmp_path / "r.jsonl", envs=HostEnvs(), limits=LIMITS, self_check=False, model=config
        )
    [row] = rows
    assert row["status"] == "run" and row["passed"] is False and row["changed"] is True


def test_model_systems_need_an_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="needs a model"):
        make_system("model")
    he = tmp_path / "he.jsonl"
    he.write_text(
        json.dumps(
            {
                "task_id": "t/0",
                "prompt": "def f():\n",
                "canonical_solution": "    return 1\n",
                "test": "def check(c):\n    assert c() == 1\n",
                "entry_point": "f",
            }
        )
        + "\n"
    )
    code = train_main(
        ["eval", "humaneval", "--humaneval", str(he), "--out", str(tmp_path / "o.jsonl"), "--systems", "model"]
    )
    assert code == 2 and "need --model URL" in capsys.readouterr().err


def test_humaneval_model_cli_and_report(
    tmp_path: Path, server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """HumanEval through the CLI with a model that keeps the code (the specificity check), then `eval report`."""
    keep = ModelServer(
        lambda body: completion(
            "nothing to change", body["messages"][1]["content"].split("```python\n")[1].split("```")[0]
        )
    )
    he = tmp_path / "he.jsonl"
    he.write_text(
        json.dumps(
            {
                "task_id": "t/0",
                "prompt": "def f():\n",
                "canonical_solution": "    return 1\n",
                "test": "def check(c):\n    assert c() == 1\n",
                "entry_point": "f",
            }
        )
        + "\n"
    )
    out = tmp_path / "he-run.jsonl"
    try:
        code = train_main(
            [
                "eval",
                "humaneval",
                "--humaneval",
                str(he),
                "--out",
                str(out),
                "--systems",
                "unchanged,model",
                "--model",
                keep.url,
                "--samples",
                "1",
            ]
        )
    finally:
        keep.stop()
    assert code == 0
    report = capsys.readouterr().out
    assert "### model" in report and "| humaneval | humaneval | 1 | 1 | 1 | 1 | 100.0% | n/a |" in report
    assert out.with_suffix(".md").is_file() and out.with_suffix(".summary.json").is_file()


def test_local_transformers_model(tmp_path: Path) -> None:
    """``--model local:PATH``: the tiny random model through transformers, no server; noise, but every
    sample is generated with the run's sampling, executed and recorded."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from model_training.tiny_model import build_tiny_qwen2

    base = build_tiny_qwen2(tmp_path / "tiny")
    config = ModelConfig(f"local:{base}", max_tokens=8, temperature=0.9, top_p=0.95)
    rows = run.evaluate(
        TASKS[:1],
        ["model", "rules+model"],
        tmp_path / "r.jsonl",
        envs=HostEnvs(),
        limits=LIMITS,
        jobs=2,
        self_check=False,
        model=config,
        samples=2,
    )
    assert len(rows) == 4 and all(row["status"] == "run" and not row.get("model_outage") for row in rows)
    for row in rows:
        if row["system"] == "model":
            assert row["model_info"]["answer"].startswith("Let me solve this step by step.\n<think>")
        else:
            assert row["model_info"]["asked"] == 1
        assert (row["endpoint"], row["temperature"], row["top_p"]) == (f"local:{base}", 0.9, 0.95)
