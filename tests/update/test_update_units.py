"""The update loop's decision and held-out split, on plain data (no model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model_training.update.config import DecisionSettings, UpdateConfig, load_update_config
from model_training.update.steps import RunContext, decide, split_heldout


def context(tmp_path: Path, **decision: float) -> RunContext:
    config = UpdateConfig(decision=DecisionSettings(**decision))  # type: ignore[arg-type]
    ctx = RunContext(tmp_path, "updlib", "1.0", "2.0", config, "updlib-2.0-x")
    ctx.done["train"] = {"parent": "v1"}
    return ctx


def scores(standing: float | None, changes: float | None) -> dict[str, Any]:
    return {"standing": {"pass@1": standing}, "new_changes": {"reward": changes}}


def test_promote_needs_as_good_on_standing_and_better_on_new_changes(tmp_path: Path) -> None:
    ctx = context(tmp_path, standing_tolerance=0.02)
    assert decide({"current": scores(0.50, 1.0), "new": scores(0.49, 1.1)}, ctx)["promote"]  # within tolerance
    worse = decide({"current": scores(0.50, 1.0), "new": scores(0.47, 2.0)}, ctx)
    assert not worse["promote"] and not worse["standing_ok"]
    assert "standing set pass@1: new 0.4700 vs current 0.5000 (tolerance 0.02): worse" in worse["reasons"]
    assert worse["summary"].startswith("keep v1: ")
    tie = decide({"current": scores(0.50, 1.0), "new": scores(0.50, 1.0)}, ctx)
    assert not tie["promote"] and not tie["better_on_new_changes"]  # equal is not better
    unmeasured = decide({"current": scores(0.5, None), "new": scores(0.5, None)}, ctx)
    assert not unmeasured["promote"]


def test_the_smallest_family_is_held_out_when_the_builder_holds_out_none() -> None:
    def entry(family: str, n: int) -> dict[str, Any]:
        return {"change_id": family, "family": family, "old_code": f"x{n}", "dependency": "updlib"}

    train = [entry("a", 1), entry("a", 2), entry("a", 3), entry("b", 4)]
    kept, held = split_heldout({"train": train, "validation": [], "test": []})
    assert [e["family"] for e in held] == ["b"] and len(kept) == 3
    kept, held = split_heldout({"train": train[:2], "validation": [], "test": []})
    assert held == [] and len(kept) == 2  # one family: nothing to hold out
    kept, held = split_heldout({"train": train[:3], "validation": [entry("v", 9)], "test": [entry("b", 4)]})
    assert [e["family"] for e in held] == ["b"] and len(kept) == 4


def test_a_misspelt_key_is_an_error(tmp_path: Path) -> None:
    import pytest

    from model_training.train.config import ConfigError

    path = tmp_path / "update.yaml"
    path.write_text("decision:\n  standing_tolerence: 0.1\n")
    with pytest.raises(ConfigError, match="did you mean 'standing_tolerance'"):
        load_update_config(path)
