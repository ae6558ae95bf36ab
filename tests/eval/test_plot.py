"""The PNG plot comparing runs, and the report's behaviour without matplotlib."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from model_training.cli import main as train_main
from model_training.eval import run
from model_training.eval.plot import PlotUnavailable, plot_runs


def rows(system: str, passed: list[bool], package: str = "numpy") -> list[dict[str, object]]:
    return [
        {
            "task_id": f"easy/{package}{i // 5}",
            "system": system,
            "split": "easy",
            "package": package,
            "stdlib": False,
            "sample": i % 5,
            "status": "run",
            "passed": ok,
            "reason": "ok" if ok else "wrong_output",
        }
        for i, ok in enumerate(passed)
    ]


def write(path: Path, data: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in data))
    return path


def test_plot_compares_runs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    one = run.summarize(
        rows("rules", [True] * 5 + [False] * 5) + rows("model", [True, False, False, False, False] * 2)
    )
    two = run.summarize(rows("model", [True] * 10, "pandas"))
    png = plot_runs({"base": one, "adapter": two}, tmp_path / "cmp.png", title="compare")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


def test_report_cli_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as when it is not installed
    with pytest.raises(PlotUnavailable, match="pip install matplotlib"):
        plot_runs({}, tmp_path / "x.png")
    results = write(tmp_path / "a.jsonl", rows("model", [True, False, False, False, False] * 2))
    assert train_main(["eval", "report", str(results), "--plot", str(tmp_path / "p.png")]) == 2
    captured = capsys.readouterr()
    assert "matplotlib is not installed" in captured.err
    # The tables are still printed: pass@1 = 1/5 on both tasks, pass@5 = 1 (one of five passes).
    assert "| numpy | easy | 2 | 2 | 10 | 2 | 20.0% | 100.0% |" in captured.out
    assert not (tmp_path / "p.png").exists()
    assert train_main(["eval", "report", str(tmp_path / "missing.jsonl"), "--plot", str(tmp_path / "q.png")]) == 2
