"""``recode-train update`` end to end on CPU: the tiny model and three releases of a library written here.

The first update (updlib 1.0 -> 2.0) is killed in the middle of the evaluation (after the current
model was scored, before the new one) and resumed: the steps before it, training included, are not
redone, nor is the current model's evaluation, and the new adapter is promoted (the decision is forced with a
negative margin: a random tiny model scores the same before and after two GRPO steps). The
second update (2.0 -> 3.0) continues from the adapter the first promoted and is refused (a
negative tolerance makes "as good on the standing set" impossible), with the numbers in the
report. The review gate and ``--watch`` run only the cheap steps (``stop_after``).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.update.conftest import World, done_markers, events, make_world, recode_train


@dataclass
class FirstRun:
    world: World
    run: Path
    killed: Any
    markers_before: dict[str, int]
    current_scores: int
    new_scored_before: bool
    resumed: Any
    markers_after: dict[str, int]


@pytest.fixture(scope="module")
def first(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    world = make_world(tmp_path_factory.mktemp("update"), tiny_base)
    config = world.config("promote", decision={"new_changes_margin": -1.0})
    args = ("update", "updlib", "--from", "1.0", "--to", "2.0", "--config", str(config))
    killed = recode_train(*args, cwd=world.root, env={"RECODE_UPDATE_TEST_KILL": "evaluate"})
    run = world.root / "runs" / "updlib-1.0-2.0"
    before = done_markers(run)
    current = run / "06-evaluate" / "current.json"
    current_scores = current.stat().st_mtime_ns if current.exists() else 0
    new_scored_before = (run / "06-evaluate" / "new.json").exists()
    resumed = recode_train(*args, cwd=world.root)
    yield FirstRun(world, run, killed, before, current_scores, new_scored_before, resumed, done_markers(run))


def report(run: Path) -> dict[str, Any]:
    data = json.loads((run / "report.json").read_text())
    assert isinstance(data, dict)
    return data


def test_a_run_killed_in_a_step_resumes_there(first: FirstRun) -> None:
    assert first.killed.returncode == -signal.SIGKILL, first.killed.stderr[-2000:]
    # The evaluation had begun (the current model scored), no marker.
    assert set(first.markers_before) == {"scrape", "review", "findings", "mine", "train"}
    assert first.current_scores and not first.new_scored_before
    assert first.resumed.returncode == 0, first.resumed.stderr[-3000:]
    # The steps done before the kill were skipped, not redone: same markers, "skip" events from the rerun.
    assert {step: first.markers_after[step] for step in first.markers_before} == first.markers_before
    rerun = [e for e in events(first.run) if e["pid"] != events(first.run)[0]["pid"]]
    assert [(e["step"], e["event"]) for e in rerun[:6]] == [
        ("scrape", "skip"),
        ("review", "skip"),
        ("findings", "skip"),
        ("mine", "skip"),
        ("train", "skip"),
        ("evaluate", "start"),
    ]
    assert "[5/8] train: done before, skipped" in first.resumed.stderr
    # Within the evaluation, the model scored before the kill is not scored again.
    assert (first.run / "06-evaluate" / "current.json").stat().st_mtime_ns == first.current_scores
    assert "evaluating the current model" not in first.resumed.stderr
    assert "evaluating the new model" in first.resumed.stderr


def test_the_first_update_scrapes_mines_trains_evaluates_registers_and_promotes(first: FirstRun) -> None:
    from serving.registry import AdapterRegistry

    data = report(first.run)
    assert data["status"] == "done"
    results = data["results"]
    assert results["scrape"]["kinds"] == {"keyword_rename": 1, "rename": 1}
    assert results["review"]["accepted"] == 2
    overlay = (first.world.root / "kb" / "overlay.jsonl").read_text()
    assert "updlib.old_mean" in overlay and "updlib.compute" in overlay
    # What users got at once: recode-migrate finds and fixes the six old uses in the corpus.
    assert results["findings"]["findings"] == 6 and results["findings"]["safe_fixes"] == 6
    # Mined, split by change family: one family trains, the other is held out.
    mine = results["mine"]
    assert mine["train"] > 0 and mine["heldout"] > 0
    assert all(min(row["train"], row["heldout"]) == 0 for row in mine["families"].values())
    assert results["train"]["parent"] is None  # nothing was promoted: from the base model
    evaluate = results["evaluate"]
    for which in ("current", "new"):
        assert evaluate[which]["standing"]["tasks"] == 2
        assert evaluate[which]["new_changes"]["n"] == mine["heldout"]
    name = results["register"]["name"]
    version = AdapterRegistry(first.world.registry).get(name)
    version.verify()
    assert version.data_hash == mine["data_hash"]
    assert version.scores["standing.pass@1"] == evaluate["new"]["standing"]["pass@1"]
    lineage = json.loads((version.path / "training.json").read_text())["lineage"]
    assert lineage["parent"] is None and lineage["from"] == "1.0" and lineage["to"] == "2.0"
    assert results["promote"]["promoted"] and results["promote"]["decision"]["promote"]
    assert AdapterRegistry(first.world.registry).history("recode")[-1].promoted == name
    markdown = (first.run / "report.md").read_text()
    assert f"| metric | current (base model) | new ({name}) |" in markdown
    assert "| standing set pass@1 |" in markdown and "**PROMOTED**" in markdown
    assert "6 new findings" in markdown


def test_the_next_update_continues_from_the_promoted_adapter_and_is_refused(first: FirstRun) -> None:
    from serving.registry import AdapterRegistry

    world = first.world
    promoted = report(first.run)["results"]["register"]["name"]
    config = world.config("refuse", decision={"standing_tolerance": -1.0, "new_changes_margin": -1.0})
    result = recode_train("update", "updlib", "--from", "2.0", "--to", "3.0", "--config", str(config), cwd=world.root)
    assert result.returncode == 0, result.stderr[-3000:]
    run = world.root / "runs" / "updlib-2.0-3.0"
    results = report(run)["results"]
    # old_mean is still deprecated in 3.0: the same fact again is not news.
    assert results["review"]["already_known"] == ["updlib.old_mean"]
    assert results["review"]["accepted"] == 1
    assert results["train"]["parent"] == promoted
    decision = results["promote"]["decision"]
    assert not decision["promote"] and not results["promote"]["promoted"]
    assert not decision["standing_ok"]
    assert "standing set pass@1: new 0.0000 vs current 0.0000 (tolerance -1): worse" in decision["reasons"]
    new_name = results["register"]["name"]
    registry = AdapterRegistry(world.registry)
    lineage = json.loads((registry.get(new_name).path / "training.json").read_text())["lineage"]
    assert lineage["parent"] == promoted
    assert registry.history("recode")[-1].promoted == promoted  # the current one stays
    markdown = (run / "report.md").read_text()
    assert f"| metric | current ({promoted}) | new ({new_name}) |" in markdown
    assert "**KEPT the current adapter**" in markdown and "worse" in markdown
    assert f"keep {promoted}" in result.stderr


def test_review_stops_until_a_person_approves(tiny_base: Path, tmp_path: Path) -> None:
    world = make_world(tmp_path, tiny_base)
    config = world.config("review", review=True, stop_after="findings")
    run = tmp_path / "runs" / "updlib-1.0-2.0"
    waiting = recode_train("update", "updlib", "--from", "1.0", "--to", "2.0", "--config", str(config), cwd=tmp_path)
    assert waiting.returncode == 0, waiting.stderr[-2000:]
    assert waiting.stdout.startswith("awaiting-review")
    assert not (tmp_path / "kb" / "overlay.jsonl").exists()
    assert set(done_markers(run)) == {"scrape"}
    scraped = [json.loads(line) for line in (run / "01-scrape" / "scraped.jsonl").read_text().splitlines()]
    keep = next(e["id"] for e in scraped if e["old"] == "updlib.old_mean")
    approved = recode_train("update", "--approve", str(run), "--accept", keep, cwd=tmp_path)
    assert approved.returncode == 0, approved.stderr[-2000:]
    assert approved.stdout.startswith("stopped")
    overlay = (tmp_path / "kb" / "overlay.jsonl").read_text()
    assert "updlib.old_mean" in overlay and "updlib.compute" not in overlay
    findings = report(run)["results"]["findings"]
    assert findings["findings"] == 3 and set(findings["per_change"]) == {keep}


def test_watch_runs_the_loop_for_each_new_release_once(tiny_base: Path, tmp_path: Path) -> None:
    world = make_world(tmp_path, tiny_base)
    config = world.config("watch", stop_after="mine")
    args = ("update", "--watch", "updlib", "--index", str(world.dist), "--config", str(config))
    first = recode_train(*args, "--since", "1.0", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    outcome = json.loads(first.stdout)["updlib"]
    assert [(r["from"], r["to"], r["status"]) for r in outcome["runs"]] == [
        ("1.0", "2.0", "stopped"),
        ("2.0", "3.0", "stopped"),
    ]
    state = json.loads((tmp_path / "runs" / "watch.json").read_text())
    assert state["updlib"]["last_handled"] == "3.0"
    again = recode_train(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["updlib"]["runs"] == []
    assert "newer: none" in again.stderr
