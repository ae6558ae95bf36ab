"""Data builder v2: split by change family and snippet, complete targets, caps, the mechanical minority."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import pytest

from model_training.cli import main as cli_main
from model_training.data import build as builder
from model_training.data.check import check, load_splits, remaining_changes
from recode_lsp.engine import load_knowledge_base

LEGACY = Path(__file__).parent / "fixtures" / "legacy_src"


def fake(change_id: str, family: str, old: str, library: str = "lib", mechanical: bool = True) -> dict:
    return {"dependency": library, "change_id": change_id, "family": family, "old_code": old, "mechanical": mechanical}


def test_changes_of_one_family_go_to_one_split() -> None:
    # 20 families of two changes each: by change id alone the two halves would be split apart.
    entries = [fake(f"C{f}{half}", f"F{f}", f"x = {f}{half}{n}") for f in range(20) for half in "ab" for n in range(3)]
    assignment = builder.assign_splits(entries, seed=3)
    for f in range(20):
        assert assignment[f"C{f}a"] == assignment[f"C{f}b"]
    assert set(assignment.values()) == set(builder.SPLITS)


def test_one_snippet_under_two_families_goes_to_one_split() -> None:
    # F0..F9 each own one snippet; F0 and F5 also share one, differing only by a comment and blank lines.
    entries = [fake(f"C{f}", f"F{f}", f"y = {f}") for f in range(10)]
    entries += [fake("C0", "F0", "z = 1\n"), fake("C5", "F5", "# note\n\nz = 1  # same\n")]
    for seed in range(10):
        assignment = builder.assign_splits(entries, seed)
        assert assignment["C0"] == assignment["C5"]
        splits = {name: [e for e in entries if assignment[e["change_id"]] == name] for name in builder.SPLITS}
        assert builder.leaks(splits) == (0, [])


def test_leaks_are_found() -> None:
    splits = {
        "train": [fake("A", "F", "a = 1"), fake("B", "G", "b = 1")],
        "test": [fake("C", "F", "c = 1"), fake("D", "H", "b = 1  # comment")],
    }
    assert builder.leaks(splits) == (1, ["F"])


def test_caps_per_family_and_the_mechanical_share() -> None:
    entries = [fake(f"C{i % 4}", "F", f"x = {i}") for i in range(12)] + [fake("D", "G", "y = 1")]
    capped = builder.cap_per_family(entries, 5, seed=0)
    assert Counter(e["family"] for e in capped) == {"F": 5, "G": 1}
    assert builder.cap_per_family(entries, 0, seed=0) == entries
    # 7 non-mechanical entries: 30% mechanical allows 3 of the 13 mechanical ones (3 / 10 = 30%).
    mixed = entries + [fake(f"T{i}", f"T{i}", f"t = {i}", mechanical=False) for i in range(7)]
    kept = builder.cap_mechanical(mixed, 0.3, seed=0)
    mechanical = [e for e in kept if e["mechanical"]]
    assert len(kept) == 10 and len(mechanical) == 3
    assert len({e["change_id"] for e in mechanical}) == 3  # spread over changes, not one change's entries
    assert builder.cap_mechanical(mixed, 1.0, seed=0) == mixed
    assert builder.cap_mechanical(entries, 0.3, seed=0) == []  # nothing but mechanical entries


@pytest.fixture(scope="module")
def built() -> builder.BuildResult:
    return builder.build(LEGACY, jobs=1, seed=0, max_mechanical_share=1.0)


def test_targets_are_complete(built: builder.BuildResult) -> None:
    # The fixture's functions often hold two old APIs; a one-change fix leaves the other in new_code.
    assert built.stats[builder.INCOMPLETE_TARGET] >= 5
    kb = load_knowledge_base()
    assert built.total >= 5
    for entries in built.splits.values():
        for entry in entries:
            assert remaining_changes(entry["dependency"], entry["new_version"], entry["new_code"], kb) == []
            assert entry["target_origin"] == "rule" and entry["mechanical"]
    loose = builder.build(LEGACY, jobs=1, seed=0, max_mechanical_share=1.0, complete_targets=False)
    assert loose.total > built.total


def test_data_check_on_a_built_set_is_clean(built: builder.BuildResult, tmp_path: Path, capsys) -> None:
    builder.write_result(built, tmp_path, seed=0)
    assert set(load_splits([tmp_path])) == set(builder.SPLITS)
    assert cli_main(["data", "check", str(tmp_path), "--strict"]) == 0
    out = capsys.readouterr().out
    assert "snippets in two splits: 0" in out and "change families in two splits: 0" in out
    assert "incomplete targets: 0" in out


def test_the_default_build_keeps_mechanical_entries_a_minority(tmp_path: Path, capsys) -> None:
    # A rule-only build has no non-mechanical entry: at 30% nothing is left, and the CLI says why.
    assert builder.build(LEGACY, jobs=1, seed=0).total == 0
    code = builder.main(["--corpus", str(LEGACY), "--out", str(tmp_path), "--jobs", "1", "--min-entries", "1"])
    assert code == 1
    assert "mechanical" in capsys.readouterr().err


# --------------------------------------------------------------------------- teacher targets

OPS = """import numpy as np


def transpose_copy(a):
    return np.fastCopyAndTranspose(a)


def char_of(dt):
    return np.sctype2char(dt)


def show(x):
    np.disp(x)


def total(values):
    return np.product(values)
"""

GOOD = (
    "<answer>\n```python\nimport numpy as np\n\ndef transpose_copy(a):\n"
    "    return np.asarray(a).T.copy()\n```\n</answer>"
)
STILL_OLD = (
    "<answer>\n```python\nimport numpy as np\n\ndef char_of(dt):\n    return np.sctype2char(dt)\n```\n</answer>"
)


class Teacher:
    """An OpenAI-compatible chat server on loopback answering by the prompt's content."""

    def __init__(self, answer: Callable[[str], str]) -> None:
        self.answer = answer
        self.prompts: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                user = next(m["content"] for m in body["messages"] if m["role"] == "user")
                owner.prompts.append(user)
                message = {"role": "assistant", "content": owner.answer(user)}
                data = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def scripted(user: str) -> str:
    if "fastCopyAndTranspose" in user:
        return GOOD  # the right migration
    if "sctype2char" in user:
        return STILL_OLD  # still the old API: the engine rejects it
    return "Sure! Just update numpy."  # no code at all


@pytest.fixture()
def teach_corpus(tmp_path: Path) -> Path:
    package = tmp_path / "corpus" / "teachapp-1.0" / "teachapp"
    package.mkdir(parents=True)
    (package / "ops.py").write_text(OPS, encoding="utf-8")
    return tmp_path / "corpus"


def test_teacher_answers_are_kept_only_when_the_engine_validates_them(teach_corpus: Path, tmp_path: Path) -> None:
    with Teacher(scripted) as teacher:
        result = builder.build(
            teach_corpus, jobs=1, seed=0, max_mechanical_share=1.0, teacher=builder.TeacherSettings(teacher.url)
        )
    assert len(teacher.prompts) == 3  # one per display-only use: fastCopyAndTranspose, sctype2char, disp
    got = [e for entries in result.splits.values() for e in entries]
    teacher_entries = [e for e in got if e["target_origin"] == "teacher"]
    assert [e["change_id"] for e in teacher_entries] == ["NPY019"]
    (entry,) = teacher_entries
    assert "np.fastCopyAndTranspose(a)" in entry["old_code"]
    assert entry["new_code"] == "import numpy as np\n\ndef transpose_copy(a):\n    return np.asarray(a).T.copy()\n"
    assert not entry["mechanical"] and entry["provenance"]["teacher"] == "teacher"
    assert result.stats["teacher: answer rejected by the engine"] == 2
    # The rule entry (np.product) is still there, marked as such.
    assert {e["change_id"]: e["target_origin"] for e in got} == {"NPY019": "teacher", "NPY042": "rule"}
    # Written and checked: the origin is in the file; 1 of 2 entries mechanical.
    builder.write_result(result, tmp_path / "built", seed=0)
    report = check(load_splits([tmp_path / "built"]))
    assert report.origins == {"teacher": 1, "rule": 1}
    assert report.mechanical == 1 and report.ok


def test_a_garbage_teacher_adds_nothing_and_the_mechanical_cap_applies(teach_corpus: Path) -> None:
    with Teacher(lambda user: "```python\ndef f(:\n```") as teacher:
        result = builder.build(teach_corpus, jobs=1, seed=0, teacher=builder.TeacherSettings(teacher.url))
    assert len(teacher.prompts) == 3
    assert result.stats["teacher: answer rejected by the engine"] == 3
    assert result.total == 0  # no teacher entry, so the one mechanical entry is over 30%
