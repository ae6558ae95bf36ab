"""Training data and inference build the same prompt for the same usage site.

For every entry the builder mines from the legacy fixture, the language server's model fix
(:mod:`recode_lsp.model_fix`) is asked about the same site of the same file; the conversation it
would send must equal the training row's: same update document (one builder), same old code
(the same region, with the same imports and context classes), same version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model_training.data import build as builder
from model_training.data.recode_data import ReCodeRecord, to_prompt_record
from recode_lsp import model_fix
from recode_lsp.engine import DetectOptions, detect, load_knowledge_base

LEGACY = Path(__file__).parent / "fixtures" / "legacy_src"


@pytest.fixture(scope="module")
def built() -> list[dict]:
    # Every site the fixture gives (no mechanical cap, incomplete targets kept): alignment, not the mix.
    result = builder.build(LEGACY, jobs=1, seed=0, max_mechanical_share=1.0, complete_targets=False)
    return [entry for split in builder.SPLITS for entry in result.splits[split]]


def served_messages(entry: dict) -> list[dict[str, str]]:
    """The messages the model fix would send for the entry's first site."""
    provenance = entry["provenance"]
    source_folder = next(p for p in LEGACY.iterdir() if builder.source_label(p.name) == provenance["source"])
    path = source_folder / provenance["path"]
    source = path.read_text(encoding="utf-8")
    kb = load_knowledge_base()
    options = DetectOptions()
    module = builder._module_name(Path(provenance["path"]))
    findings = [
        f
        for f in detect(source, kb, options, provenance["path"], module)
        if f.code == entry["change_id"] and f.range.start.line + 1 == provenance["line"]
    ]
    assert findings, (provenance, entry["change_id"])
    prepared = model_fix._prepare(source, findings[0], kb, options, None, None)
    assert isinstance(prepared, model_fix._Prepared), prepared
    return prepared.messages


def test_every_training_prompt_is_the_served_prompt(built: list[dict]) -> None:
    assert len(built) >= 10
    for entry in built:
        record = ReCodeRecord(
            **{
                k: entry[k]
                for k in ("dependency", "new_version", "description", "update_info", "old_code", "new_code")
            }
        )
        assert to_prompt_record(record)["prompt"] == served_messages(entry), entry["provenance"]


def test_imports_and_context_classes_are_on_both_sides(built: list[dict]) -> None:
    # The cases that drifted before: a snippet with its imports, and a member use that needs
    # its receiver's class. Both must be in training and served prompts alike.
    with_context = [e for e in built if e["provenance"]["context"]]
    assert with_context, "the fixture has a member use that needs its class"
    for entry in with_context:
        user = served_messages(entry)[1]["content"]
        assert entry["old_code"].strip("\n") in user
        assert "class " in entry["old_code"] and entry["old_code"].startswith(("from ", "import "))


def test_update_info_is_the_inference_document() -> None:
    kb = load_knowledge_base()
    change = kb.by_id["NPY042"]
    assert builder.update_info(change) == model_fix.describe_update(change, None, "2.0")


def test_the_training_unit_is_the_served_region() -> None:
    # A use in a nested class body (no function around it): inference sends the top-level
    # statement, so the builder must take the outer class, not the nested one.
    import ast

    source = "import numpy as np\n\n\nclass Outer:\n    class Inner:\n        x = np.float_(1)\n\n    y = 2\n"
    [finding] = [f for f in detect(source, load_knowledge_base(), DetectOptions()) if "float_" in f.message]
    tree = ast.parse(source)
    unit = builder.innermost_unit(
        builder.module_units(tree, builder._line_starts(source), len(source)), finding.start_offset
    )
    region = model_fix.enclosing_region(source, finding, tree)
    assert unit is not None and region is not None
    assert builder.snippet(source, tree, unit) == model_fix.prompt_code(
        source, tree, source[region.start : region.end], [ast.parse(source[region.start : region.end])]
    )
    assert unit.key[0] == "Outer"
