"""The ReCode rewards, branch by branch, with expected values worked out by hand in comments."""

from __future__ import annotations

import pytest

from model_training import rewards
from model_training.rewards import (
    change_set,
    em_star_reward,
    es_star_reward,
    format_reward,
    make_edit_aware_reward,
    normalise_code,
    recode_reward,
    similarity,
)
from recode_lsp.prompt import ASSISTANT_PREFIX
from tests.conftest import make_kb


def answer(code: str, think: str = " the alias was removed ") -> str:
    """A well-formed completion (what the model writes after the "<think>" prefill)."""
    return f"{think}</think>\n<answer>\n```python\n{code}\n```\n</answer>"


# --------------------------------------------------------------------------- constants


def test_the_paper_constants() -> None:
    assert (rewards.FORMAT_OK, rewards.FORMAT_BAD) == (1.0, -1.0)
    assert (rewards.ES_INVALID, rewards.ES_SCALE, rewards.ES_SHIFT) == (-2.0, 3.5, 1.5)
    assert (rewards.EM_EXACT, rewards.EM_DIFFERENT, rewards.EM_INVALID) == (2.0, -1.5, -2.0)


# --------------------------------------------------------------------------- format


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        # "<think>" + text = "<think> plan </think>\n<answer>...</answer>": the whole format.
        (answer("x = 1", " plan "), 1.0),
        # Only whitespace may follow </answer>.
        (answer("x = 1") + "\n  \n", 1.0),
        # No whitespace between the blocks is fine too.
        (" plan </think><answer>x</answer>", 1.0),
        # Text after </answer>.
        (answer("x = 1") + "\nDone.", -1.0),
        # No answer block at all.
        (" plan </think>\nx = 1", -1.0),
        # The think block is never closed.
        (" plan <answer>x</answer>", -1.0),
        # A nested <think> inside the think block.
        (" plan <think> more </think>\n<answer>x</answer>", -1.0),
        # The model re-opens <think> itself: prepending gives "<think><think>", nested.
        ("<think> plan </think>\n<answer>x</answer>", -1.0),
        # A second </think>: the block closes at the first, then " b </think>" is not an answer.
        (" a </think> b </think>\n<answer>x</answer>", -1.0),
        # Text between the think block and the answer.
        (" a </think>\nSo:\n<answer>x</answer>", -1.0),
        # A nested <answer> inside the answer.
        (" a </think><answer> <answer>x</answer> </answer>", -1.0),
        # Empty completion: "<think>" alone.
        ("", -1.0),
    ],
)
def test_format_reward_branches(completion: str, expected: float) -> None:
    assert format_reward([completion]) == [expected]


def test_format_reward_accepts_the_whole_turn_with_its_prefix() -> None:
    # The prefix already ends in "<think>", so nothing is prepended.
    assert format_reward([ASSISTANT_PREFIX + " plan </think>\n<answer>x</answer>"]) == [1.0]


def test_format_reward_accepts_conversational_completions() -> None:
    good = [{"role": "assistant", "content": answer("x = 1")}]
    bad = [{"role": "assistant", "content": "x = 1"}]
    # TRL puts the prefilled assistant text back in front of a conversational completion.
    with_prefix = [{"role": "assistant", "content": ASSISTANT_PREFIX + answer("x = 1")}]
    assert format_reward([good, bad, with_prefix]) == [1.0, -1.0, 1.0]


# --------------------------------------------------------------------------- normalise_code


def test_normalise_removes_comments_and_blank_lines() -> None:
    code = "x = 1  # one\n\n# a whole-line comment\n\ny = 2   \n"
    assert normalise_code(code) == "x = 1\ny = 2"


def test_normalise_keeps_hash_inside_strings() -> None:
    code = "s = '#not a comment'  # a comment\nt = \"a # b\"\nu = f'{s}#{t}'\n"
    assert normalise_code(code) == "s = '#not a comment'\nt = \"a # b\"\nu = f'{s}#{t}'"


def test_normalise_keeps_multiline_strings_intact() -> None:
    # The docstring's blank line and its "#" survive; lines ending inside it are not stripped.
    code = 'def f():\n    """Doc.\n\n    More # not a comment.   \n    """\n    return 1  # c\n'
    expected = 'def f():\n    """Doc.\n\n    More # not a comment.   \n    """\n    return 1'
    assert normalise_code(code) == expected


def test_normalise_crlf_and_empty() -> None:
    assert normalise_code("a = 1\r\n\r\nb = 2\r\n") == "a = 1\nb = 2"
    assert normalise_code("") == ""
    assert normalise_code("# only a comment\n\n") == ""


def test_normalise_falls_back_when_tokenize_fails() -> None:
    # "def f(:" leaves a bracket open, so tokenize raises; the quote-aware scanner takes over:
    # the "#" inside 'a # b', inside "#", and after an escaped quote are kept; real comments go.
    code = "def f(:\n    s = 'a # b'  # c\n\n    t = \"#\"\n    u = 'it\\'s # x'  # real\n"
    assert normalise_code(code) == "def f(:\n    s = 'a # b'\n    t = \"#\"\n    u = 'it\\'s # x'"


def test_normalise_fallback_keeps_triple_quoted_strings() -> None:
    # Unclosed "(" again; the blank line and the "# b" inside the triple-quoted string stay.
    code = 'x = (\n"""a\n\n# b"""\n# gone\n'
    assert normalise_code(code) == 'x = (\n"""a\n\n# b"""'


def test_normalise_fallback_bad_indentation() -> None:
    # An unindent that matches no outer level makes tokenize raise IndentationError.
    code = "if x:\n        a = 1  # c\n    b = 2\n"
    assert normalise_code(code) == "if x:\n        a = 1\n    b = 2"


# --------------------------------------------------------------------------- similarity


def test_similarity_by_hand() -> None:
    # Levenshtein("abcd", "abed") = 1 (c -> e), max length 4 -> 1 - 1/4 = 0.75.
    assert similarity("abcd", "abed") == 0.75
    # "kitten" -> "sitting": 3 edits, max length 7 -> 4/7.
    assert similarity("kitten", "sitting") == pytest.approx(4 / 7)
    # Both empty count as identical.
    assert similarity("", "") == 1.0
    # One empty: distance = the other's length -> 0.
    assert similarity("", "abc") == 0.0


# --------------------------------------------------------------------------- ES*


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        # Lev("abcd", "abed") = 1, max 4 -> 3.5 * 0.75 - 1.5 = 1.125.
        ("abcd", "abed", 1.125),
        # Identical -> 3.5 * 1 - 1.5 = 2.0 (the maximum).
        ("x = np.float64(1)", "x = np.float64(1)", 2.0),
        # Lev("ab", "cd") = 2, max 2 -> similarity 0 -> -1.5 (the minimum for valid code).
        ("ab", "cd", -1.5),
        # Lev("x = 1", "x = 10") = 1, max 6 -> 3.5 * 5/6 - 1.5 = 17/12.
        ("x = 1", "x = 10", 17 / 12),
        # Comments and blank lines are ignored on both sides -> identical -> 2.0.
        ("x = 1  # set x\n\n\ny = 2", "x = 1\n# note\ny = 2", 2.0),
        # '#' inside a string is kept: 's = "#a"' (8) vs 's = ""' (6): 2 insertions -> 1 - 2/8 -> 1.125.
        ('s = "#a"', 's = ""', 1.125),
        # An empty block parses; against an empty target both normalise to "" -> similarity 1 -> 2.0.
        ("", "", 2.0),
        # Empty prediction against "x": Lev = 1, max 1 -> 0 -> -1.5.
        ("", "x", -1.5),
    ],
)
def test_es_star_values(prediction: str, target: str, expected: float) -> None:
    assert es_star_reward([answer(prediction)], new_code=[target]) == [pytest.approx(expected)]


def test_es_star_invalid_branches() -> None:
    no_block = " plan </think>\n<answer>x = 1</answer>"  # no ```python block -> -2.0
    not_python = answer("def f(:\n    pass")  # the block does not parse -> -2.0
    other_fence = " </think><answer>```py\nx = 1\n```</answer>"  # only ```python counts -> -2.0
    assert es_star_reward([no_block, not_python, other_fence], new_code=["x = 1"] * 3) == [-2.0, -2.0, -2.0]


def test_es_star_reads_the_answer_block_not_a_draft() -> None:
    # The draft "abcd" in the reasoning is not read; the answer's "abed" equals the target (2.0),
    # as inference would apply it (recode_lsp.prompt.extract_code).
    completion = " try\n```python\nabcd\n```\n</think>\n<answer>\n```python\nabed\n```\n</answer>"
    assert es_star_reward([completion], new_code=["abed"]) == [2.0]
    # An answer without a ```python block is no answer, whatever the reasoning holds (-2.0).
    empty = " try\n```python\nabed\n```\n</think>\n<answer>abed</answer>"
    assert es_star_reward([empty], new_code=["abed"]) == [-2.0]


def test_es_star_conversational_and_fenced_target() -> None:
    conversational = [{"role": "assistant", "content": answer("abcd")}]
    # A target written as a ```python block is unwrapped to "abed" -> 1.125.
    assert es_star_reward([conversational], new_code=["```python\nabed\n```"]) == [1.125]


def test_es_star_missing_target_and_broadcast() -> None:
    assert es_star_reward([answer("abcd")], new_code=[None]) == [None]
    assert es_star_reward([answer("abcd"), answer("abed")], new_code="abed") == [1.125, 2.0]
    with pytest.raises(ValueError, match="2 values for 1 completions"):
        es_star_reward([answer("abcd")], new_code=["a", "b"])


# --------------------------------------------------------------------------- EM*


def test_em_star_branches() -> None:
    completions = [
        answer("x = 1  # set\n\ny = 2"),  # equal once comments and the blank line go -> +2.0
        answer("x = 1\ny = 3"),  # parses, differs -> -1.5
        " no block </think><answer>x = 1</answer>",  # no block -> -2.0
        answer("x = = 1"),  # does not parse -> -2.0
    ]
    assert em_star_reward(completions, new_code=["x = 1\ny = 2"] * 4) == [2.0, -1.5, -2.0, -2.0]


def test_em_star_keeps_strings() -> None:
    # '#b' inside the string is code, so these differ -> -1.5.
    assert em_star_reward([answer("s = 'a#b'")], new_code=["s = 'a'"]) == [-1.5]


# --------------------------------------------------------------------------- ReCode = format + ES*


def test_recode_reward_is_format_plus_es_star() -> None:
    completions = [
        answer("abcd"),  # format +1, ES* 1.125 -> 2.125
        answer("abed"),  # +1 + 2.0 -> 3.0, the maximum
        "```python\nabed\n```",  # no think/answer tags: -1 + 2.0 -> 1.0
        "no code at all",  # -1 + -2 -> -3.0, the minimum
        answer("ab"),  # +1 + ES*(ab, cd) -1.5 -> -0.5
    ]
    targets = ["abed", "abed", "abed", "abed", "cd"]
    assert recode_reward(completions, new_code=targets) == [2.125, 3.0, 1.0, -3.0, -0.5]


def test_recode_reward_range_and_missing_target() -> None:
    completions = [answer("x"), "junk", answer("def f(:"), answer("y = 2  # c")]
    scores = recode_reward(completions, new_code=["x = 1", "x", "x", "y = 2"])
    assert all(-3.0 <= s <= 3.0 for s in scores if s is not None)
    assert recode_reward([answer("x")], new_code=[None]) == [None]


def test_trl_passes_extra_columns() -> None:
    # TRL calls rewards with prompts, completion ids and every dataset column; all are accepted.
    scores = recode_reward(
        [answer("abcd")], prompts=["p"], completion_ids=[[1]], new_code=["abed"], old_code=["a"], library=["numpy"]
    )
    assert scores == [2.125]


# --------------------------------------------------------------------------- edit-aware variant

OLD = "import numpy as np\n\ndef f(x):\n    return np.float_(x)\n"
NEW = "import numpy as np\n\ndef f(x):\n    return np.float64(x)\n"


def test_change_set_by_hand() -> None:
    # One replaced line: its old text with "-", its new text with "+".
    assert change_set("a\nb\nc", "a\nB\nc") == "-b\n+B"
    # A pure deletion and a pure insertion.
    assert change_set("a\nb", "a") == "-b"
    assert change_set("a", "a\nb") == "+b"
    assert change_set("a\nb", "a\nb") == ""


def test_plain_es_star_barely_separates_a_copy_from_the_migration() -> None:
    # Normalised OLD is 52 characters (18 + 1 + 9 + 1 + 23), NEW 53; "float_" -> "float64" is
    # 2 edits -> 3.5 * (1 - 2/53) - 1.5 = 1.8679...: copying the old code scores almost 2.0.
    assert es_star_reward([answer(OLD)], new_code=[NEW]) == [pytest.approx(3.5 * 51 / 53 - 1.5)]


def test_edit_aware_scores_the_copy_low_and_the_migration_high() -> None:
    reward = make_edit_aware_reward()  # the shipped knowledge base, penalty 1.0
    scores = reward([answer(OLD), answer(NEW)], new_code=[NEW, NEW], old_code=[OLD, OLD])
    # Copy: its change set is empty, the target's is not -> similarity 0 -> -1.5; the detector
    # still finds NPY023 (numpy.float_) that it also finds in the old code -> -1.0 -> -2.5.
    # Migration: identical change sets -> 2.0, and no old API left -> 2.0.
    assert scores == [-2.5, 2.0]


def test_edit_aware_partial_credit_by_hand() -> None:
    reward = make_edit_aware_reward()
    # Target change set: "-    return np.float_(x)" (24) + "\n" + "+    return np.float64(x)" (25) = 50
    # characters; the prediction's differs in "64" -> "32": 2 edits -> 3.5 * 48/50 - 1.5 = 1.86.
    # numpy.float32 is not an old API, so no penalty.
    prediction = OLD.replace("float_", "float32")
    assert reward([answer(prediction)], new_code=[NEW], old_code=[OLD]) == [pytest.approx(1.86)]


def test_edit_aware_penalty_is_configurable() -> None:
    no_penalty = make_edit_aware_reward(penalty=0.0)
    half = make_edit_aware_reward(penalty=0.5)
    assert no_penalty([answer(OLD)], new_code=[NEW], old_code=[OLD]) == [-1.5]
    assert half([answer(OLD)], new_code=[NEW], old_code=[OLD]) == [-2.0]


def test_edit_aware_penalty_needs_the_same_change_as_the_old_code() -> None:
    # The answer migrates float_ but introduces numpy.NaN (NPY033), absent from the old code:
    # not the same change id, so no penalty; its change set differs from the target's, though.
    prediction = OLD.replace("np.float_(x)", "np.float64(x) + np.NaN")
    reward = make_edit_aware_reward()
    (score,) = reward([answer(prediction)], new_code=[NEW], old_code=[OLD])
    (unpenalised,) = make_edit_aware_reward(penalty=0.0)([answer(prediction)], new_code=[NEW], old_code=[OLD])
    assert score == unpenalised and -1.5 < score < 2.0


def test_edit_aware_with_a_given_knowledge_base() -> None:
    entry = {"id": "LIB001", "library": "lib", "old": "lib.old_name", "kind": "rename", "new": "lib.new_name"}
    kb = make_kb([{**entry, "removed_in": "2.0"}])
    old = "import lib\n\nlib.old_name()\n"
    new = "import lib\n\nlib.new_name()\n"
    reward = make_edit_aware_reward(kb=kb, penalty=1.0)
    # Copy: similarity 0 -> -1.5, LIB001 still found -> -2.5. Migration: 2.0.
    assert reward([answer(old), answer(new)], new_code=[new, new], old_code=[old, old]) == [-2.5, 2.0]


def test_edit_aware_invalid_fallback_and_format() -> None:
    reward = make_edit_aware_reward(penalty=1.0)
    # No block / not parsing -> -2.0 as in ES*.
    assert reward(["no code", answer("def f(:")], new_code=[NEW, NEW], old_code=[OLD, OLD]) == [-2.0, -2.0]
    # No old code: plain ES* (Lev("abcd", "abed") = 1 of 4 -> 1.125), no penalty.
    assert reward([answer("abcd")], new_code=["abed"], old_code=[None]) == [1.125]
    assert reward([answer("abcd")], new_code=[None], old_code=[OLD]) == [None]
    # include_format adds the format score: +1 + 2.0 = 3.0 for the migration, -1 + -2.5 for a bare copy.
    with_format = make_edit_aware_reward(include_format=True)
    bare_copy = f"```python\n{OLD}```"
    assert with_format([answer(NEW), bare_copy], new_code=[NEW, NEW], old_code=[OLD, OLD]) == [3.0, -3.5]
    assert with_format.__name__ == "edit_aware_recode_reward"
    assert reward.__name__ == "edit_aware_reward"


def test_registry() -> None:
    assert rewards.REWARDS["recode"] is recode_reward
    assert set(rewards.REWARDS) == {"format", "es_star", "em_star", "recode"}


def test_the_fast_path_agrees_with_tokenize() -> None:
    # Code without "#", triple quotes or backslash-newlines skips tokenize; same result.
    code = "def f(x):   \n\n    y = 'a b'  \n\n    return [\n        y,\n    ]\n"
    assert (
        normalise_code(code)
        == rewards._normalise_with_tokenize(code)
        == ("def f(x):\n    y = 'a b'\n    return [\n        y,\n    ]")
    )
