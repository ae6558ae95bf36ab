"""The ReCode rewards: format, ES* (modified edit similarity), EM* and their sum.

Every reward follows TRL's contract for custom reward functions::

    def reward(completions: list[str], **kwargs) -> list[float | None]

``completions`` are the texts the model wrote after the prefilled assistant turn
(:data:`recode_lsp.prompt.ASSISTANT_PREFIX`, which ends in ``<think>``). Conversational
completions (a list of ``{"role", "content"}`` messages per completion) are accepted too.
Extra dataset columns arrive as keyword arguments with one value per completion: the target
``new_code`` and, for the edit-aware variant, ``old_code``. A reward returns ``None`` for a
completion whose target is missing (TRL then ignores that reward for that sample).

The paper's constants (ReCode, Sec. 3):

==================  ============================================================
format              +1.0 when ``<think>...</think> <answer>...</answer>``, else -1.0
ES*                 -2.0 no answer code or it does not parse; else
                    ``3.5 * (1 - Lev(pred, target) / max(len)) - 1.5``, in [-1.5, 2.0]
EM*                 +2.0 equal after normalisation, -1.5 valid but different, -2.0 invalid
ReCode (GRPO/DAPO)  format + ES*, in [-3.0, 3.0]
==================  ============================================================

The answer's code is read by :func:`prediction`, i.e. :func:`recode_lsp.prompt.extract_code`, the
function inference uses to apply an answer (the ```python block inside ``<answer>``). Code is
compared after :func:`normalise_code` (``#`` comments and blank lines removed,
string literals kept). :func:`make_edit_aware_reward` is an option beyond the paper; its
formula is documented there.
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rapidfuzz.distance import Levenshtein

from recode_lsp.prompt import ASSISTANT_PREFIX, extract_code, extract_code_block

if TYPE_CHECKING:
    from recode_lsp.engine.knowledge import KnowledgeBase

#: A completion as TRL passes it: plain text, or a list of chat messages.
Completion = str | Sequence[Mapping[str, Any]]
RewardFunction = Callable[..., list[float | None]]

FORMAT_OK = 1.0
FORMAT_BAD = -1.0
ES_INVALID = -2.0
ES_SCALE = 3.5
ES_SHIFT = 1.5
EM_EXACT = 2.0
EM_DIFFERENT = -1.5
EM_INVALID = -2.0

_THINK_OPEN = "<think>"
# A think block with no nested think tag, optional whitespace, one answer block with no
# nested answer tag, then only whitespace (matched with re.fullmatch and DOTALL).
_FORMAT = re.compile(
    r"<think>(?:(?!</?think>).)*</think>\s*<answer>(?:(?!</?answer>).)*</answer>\s*",
    re.DOTALL,
)


# --------------------------------------------------------------------------- helpers


def completion_text(completion: Completion) -> str:
    """The text of one completion, plain or conversational.

    Args:
        completion: A string, or a list of ``{"role": ..., "content": ...}`` messages (TRL's
            conversational format); the contents of the messages are joined.

    Returns:
        The completion as one string.

    >>> completion_text([{"role": "assistant", "content": "a</think>"}])
    'a</think>'
    """
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, list):  # multimodal-style content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
        parts.append(str(content or ""))
    return "".join(parts)


def _column(kwargs: Mapping[str, Any], name: str, count: int) -> list[Any]:
    """The values of a dataset column, one per completion (a single value is broadcast)."""
    value = kwargs.get(name)
    if value is None or isinstance(value, str):
        return [value] * count
    values = list(value)
    if len(values) != count:
        raise ValueError(f"column {name!r} has {len(values)} values for {count} completions")
    return values


def _target_code(target: str) -> str:
    """A target is plain code; a target written as a ```python block is unwrapped."""
    if "```python" in target:
        block = extract_code_block(target)
        if block is not None:
            return block
    return target


def normalise_code(code: str) -> str:
    """Remove ``#`` comments and blank lines, keeping string literals intact.

    Uses :mod:`tokenize`, so a ``#`` inside a string is not a comment, and lines that end
    inside a multi-line string (a docstring's blank line) are kept as they are. Other lines
    lose trailing whitespace. When the code does not tokenize (unbalanced brackets, bad
    indentation) a line-based scanner that tracks quotes does the same job.

    Args:
        code: Python source, complete or not.

    Returns:
        The normalised source, lines joined by ``\\n`` with no trailing newline.

    >>> normalise_code("x = 1  # one\\n\\n# note\\ns = '#not a comment'\\n")
    "x = 1\\ns = '#not a comment'"
    """
    return _normalise_cached(code.replace("\r\n", "\n").replace("\r", "\n"))


@lru_cache(maxsize=4096)
def _normalise_cached(code: str) -> str:
    # In GRPO every completion of a group has the same target, and copies repeat: cache.
    if "#" not in code and '"""' not in code and "'''" not in code and "\\\n" not in code:
        # No comment, and no line can end inside a string: tokenize would change nothing else.
        return "\n".join(line.rstrip() for line in code.split("\n") if line.strip())
    try:
        return _normalise_with_tokenize(code)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _normalise_by_scanning(code)


def _normalise_with_tokenize(code: str) -> str:
    lines = code.split("\n")
    comment_at: dict[int, int] = {}  # 0-based line -> column where its comment starts
    protected: set[int] = set()  # 0-based lines whose end lies inside a token (a string)
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            comment_at[token.start[0] - 1] = token.start[1]
        elif token.end[0] > token.start[0] and token.type not in (tokenize.NEWLINE, tokenize.NL):
            protected.update(range(token.start[0] - 1, token.end[0] - 1))
    kept = []
    for number, line in enumerate(lines):
        if number in comment_at:
            line = line[: comment_at[number]]
        if number in protected:
            kept.append(line)
            continue
        line = line.rstrip()
        if line.strip():
            kept.append(line)
    return "\n".join(kept)


def _normalise_by_scanning(code: str) -> str:
    """Fallback for code that does not tokenize: a quote-aware scan, line by line."""
    kept: list[str] = []
    delimiter: str | None = None  # the open string's quote ("'", '"', "'''" or '"""')
    line: list[str] = []
    index = 0
    length = len(code)

    def end_line(inside_string: bool) -> None:
        text = "".join(line)
        if inside_string:
            kept.append(text)
        elif text.strip():
            kept.append(text.rstrip())
        line.clear()

    while index < length:
        char = code[index]
        if char == "\n":
            if delimiter is not None and len(delimiter) == 1:
                delimiter = None  # an unterminated one-line string ends with its line
            end_line(delimiter is not None)
            index += 1
            continue
        if delimiter is not None:
            if char == "\\" and index + 1 < length:
                line.append(code[index : index + 2])
                index += 2
                continue
            if code.startswith(delimiter, index):
                line.append(delimiter)
                index += len(delimiter)
                delimiter = None
                continue
            line.append(char)
            index += 1
            continue
        if char == "#":
            newline = code.find("\n", index)
            index = length if newline == -1 else newline
            continue
        if char in "'\"":
            delimiter = char * 3 if code.startswith(char * 3, index) else char
            line.append(delimiter)
            index += len(delimiter)
            continue
        line.append(char)
        index += 1
    end_line(delimiter is not None and len(delimiter) == 3)
    return "\n".join(kept)


def parses_as_python(code: str) -> bool:
    """Whether ``ast.parse`` accepts ``code`` (any failure, even running out of memory, is no)."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def similarity(a: str, b: str) -> float:
    """Character-level Levenshtein similarity ``1 - distance / max(len)``; two empty strings -> 1.0.

    >>> similarity("abcd", "abed")
    0.75
    """
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    return 1.0 - Levenshtein.distance(a, b) / longest


def prediction(completion: Completion) -> str | None:
    """The code a completion answers, read exactly as inference reads it (:func:`recode_lsp.prompt.extract_code`).

    The ```python block inside ``<answer>`` (a draft block in the reasoning is not read); without
    any ``<answer>`` tag, the first ```python block. None when there is no such block.
    """
    return extract_code(completion_text(completion))


# --------------------------------------------------------------------------- format


def format_score(completion: Completion) -> float:
    """The format reward of one completion (see :func:`format_reward`)."""
    text = completion_text(completion)
    if text.startswith(ASSISTANT_PREFIX):  # given the whole turn: keep its "<think>" onwards
        text = text[ASSISTANT_PREFIX.rindex(_THINK_OPEN) :]
    else:
        text = _THINK_OPEN + text
    return FORMAT_OK if _FORMAT.fullmatch(text) else FORMAT_BAD


def format_reward(completions: Sequence[Completion], **kwargs: Any) -> list[float | None]:
    """+1.0 when a completion has the ReCode answer format, else -1.0.

    The assistant turn was prefilled up to ``<think>``, so ``"<think>"`` is prepended to the
    completion (a completion that repeats the whole prefix is accepted as is). The text must
    then match, in full: a think block containing no other ``<think>``/``</think>``, optional
    whitespace, one ``<answer>...</answer>`` (no nested answer tag), and only whitespace after.

    Args:
        completions: Texts (or message lists) the model wrote after the prefill.
        **kwargs: Other dataset columns; unused.

    Returns:
        One score per completion.

    >>> format_reward([" plan </think>\\n<answer>\\n```python\\nx = 1\\n```\\n</answer>\\n", "no tags"])
    [1.0, -1.0]
    """
    return [format_score(completion) for completion in completions]


# --------------------------------------------------------------------------- ES* and EM*


def es_star(prediction: str | None, target: str) -> float:
    """ES* of one extracted prediction against its target (see :func:`es_star_reward`)."""
    if prediction is None or not parses_as_python(prediction):
        return ES_INVALID
    return ES_SCALE * similarity(normalise_code(prediction), normalise_code(_target_code(target))) - ES_SHIFT


def em_star(prediction: str | None, target: str) -> float:
    """EM* of one extracted prediction against its target (see :func:`em_star_reward`)."""
    if prediction is None or not parses_as_python(prediction):
        return EM_INVALID
    return EM_EXACT if normalise_code(prediction) == normalise_code(_target_code(target)) else EM_DIFFERENT


def es_star_reward(completions: Sequence[Completion], new_code: Any = None, **kwargs: Any) -> list[float | None]:
    """ES*, the paper's modified edit similarity.

    The prediction is the answer's code, :func:`prediction` (none: -2.0). Prediction
    and target are normalised (:func:`normalise_code`); a prediction that ``ast.parse``
    rejects scores -2.0; otherwise ``3.5 * (1 - Levenshtein(pred, target) / max(len(pred),
    len(target))) - 1.5``, character level (two empty strings count as identical). The
    range is therefore {-2.0} and [-1.5, 2.0].

    Args:
        completions: Texts (or message lists) the model wrote after the prefill.
        new_code: The target code, one per completion (the dataset column).
        **kwargs: Other dataset columns; unused.

    Returns:
        One score per completion; None where the target is missing.

    >>> es_star_reward(["</think><answer>```python\\nabcd\\n```</answer>"], new_code=["abed"])
    [1.125]
    """
    targets = _column({"new_code": new_code}, "new_code", len(completions))
    return [
        None if target is None else es_star(prediction(completion), target)
        for completion, target in zip(completions, targets, strict=True)
    ]


def em_star_reward(completions: Sequence[Completion], new_code: Any = None, **kwargs: Any) -> list[float | None]:
    """EM*: +2.0 when the prediction equals the target after normalisation.

    -1.5 when the prediction (:func:`prediction`) parses but differs, -2.0 when there is no
    answer code or it does not parse.

    Args:
        completions: Texts (or message lists) the model wrote after the prefill.
        new_code: The target code, one per completion.
        **kwargs: Other dataset columns; unused.

    Returns:
        One score per completion; None where the target is missing.

    >>> em_star_reward(["```python\\nx = 1  # set\\n```", "```python\\nx = 2\\n```"], new_code="x = 1")
    [2.0, -1.5]
    """
    targets = _column({"new_code": new_code}, "new_code", len(completions))
    return [
        None if target is None else em_star(prediction(completion), target)
        for completion, target in zip(completions, targets, strict=True)
    ]


def recode_reward(completions: Sequence[Completion], new_code: Any = None, **kwargs: Any) -> list[float | None]:
    """The reward of ReCode's GRPO and DAPO runs: format + ES*, in [-3.0, 3.0].

    Args:
        completions: Texts (or message lists) the model wrote after the prefill.
        new_code: The target code, one per completion.
        **kwargs: Other dataset columns; unused.

    Returns:
        One score per completion; None where the target is missing.

    >>> recode_reward([" ok </think>\\n<answer>\\n```python\\nabcd\\n```\\n</answer>"], new_code=["abed"])
    [2.125]
    """
    scores = es_star_reward(completions, new_code=new_code)
    return [None if es is None else format_score(c) + es for c, es in zip(completions, scores, strict=True)]


# --------------------------------------------------------------------------- edit-aware variant


def change_set(old: str, new: str) -> str:
    """What ``new`` changes in ``old``, line by line, as text.

    Both sides are compared as lists of lines with :class:`difflib.SequenceMatcher`; every
    non-equal block contributes its old lines prefixed ``-`` and its new lines prefixed
    ``+``, in order. Identical code gives the empty string.

    Args:
        old: The code before (normalised by the caller).
        new: The code after.

    Returns:
        The removed and added lines, one per line.

    >>> change_set("a = 1\\nb = np.float_\\n", "a = 1\\nb = np.float64\\n")
    '-b = np.float_\\n+b = np.float64'
    """
    old_lines = old.splitlines()
    new_lines = new.splitlines()
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        out.extend("-" + line for line in old_lines[i1:i2])
        out.extend("+" + line for line in new_lines[j1:j2])
    return "\n".join(out)


def make_edit_aware_reward(
    kb: KnowledgeBase | None = None, penalty: float = 1.0, include_format: bool = False
) -> RewardFunction:
    """An ES* that scores the edit, not the copy (an option beyond the paper).

    Plain ES* compares whole snippets, so copying a short old snippet unchanged already
    scores close to the maximum. This variant compares what changed instead. With ``P``,
    ``O`` and ``T`` the normalised prediction, old code and target::

        sim    = 1 - Lev(C(O, P), C(O, T)) / max(len)     (1.0 when both are empty)
        score  = 3.5 * sim - 1.5 - penalty * still_old

    where ``C(O, X)`` is :func:`change_set` (removed lines ``-``, added lines ``+``) and
    ``still_old`` is 1 when the detector (:func:`recode_lsp.engine.detect` with
    ``DetectOptions()``, i.e. the newest versions, over ``kb``) still finds in the prediction
    one of the change ids it finds in the old code, else 0. No ```python block, or a block that
    does not parse, scores -2.0 as in ES*. So the range is [-1.5 - penalty, 2.0] plus -2.0;
    copying the old code unchanged gives ``C(O, P) = ""`` against a non-empty target change,
    ``sim = 0``, and scores ``-1.5 - penalty`` when the old API is one the detector knows.
    A row without ``old_code`` falls back to plain ES* (no penalty).

    Args:
        kb: Knowledge base for the detector; None loads the shipped one on first use.
        penalty: Subtracted when the old API is still found in the answer (0 turns it off).
        include_format: Add :func:`format_reward`'s score, for a drop-in replacement of
            :func:`recode_reward` (range then [-3.5 - penalty, 3.0]).

    Returns:
        A reward function ``f(completions, new_code=..., old_code=..., **kwargs)``.

    >>> reward = make_edit_aware_reward(penalty=0.0)
    >>> reward(["```python\\nx = 1\\n```"], new_code=["x = 2"], old_code=["x = 1"])
    [-1.5]
    """
    state: dict[str, KnowledgeBase] = {}
    if kb is not None:
        state["kb"] = kb

    def knowledge() -> KnowledgeBase:
        if "kb" not in state:
            from recode_lsp.engine import load_knowledge_base

            state["kb"] = load_knowledge_base()
        return state["kb"]

    @lru_cache(maxsize=4096)
    def change_ids(code: str) -> frozenset[str]:
        from recode_lsp.engine import DetectOptions, SourceError, detect

        try:
            return frozenset(finding.code for finding in detect(code, knowledge(), DetectOptions()))
        except (SourceError, RecursionError, ValueError):
            return frozenset()

    def score(prediction: str | None, target: str, old: str | None) -> float:
        if old is None:
            return es_star(prediction, target)
        if prediction is None or not parses_as_python(prediction):
            return ES_INVALID
        old_norm = normalise_code(old)
        predicted = change_set(old_norm, normalise_code(prediction))
        wanted = change_set(old_norm, normalise_code(_target_code(target)))
        value = ES_SCALE * similarity(predicted, wanted) - ES_SHIFT
        if penalty and change_ids(old) & change_ids(prediction):
            value -= penalty
        return value

    def edit_aware_reward(
        completions: Sequence[Completion], new_code: Any = None, old_code: Any = None, **kwargs: Any
    ) -> list[float | None]:
        count = len(completions)
        targets = _column({"new_code": new_code}, "new_code", count)
        olds = _column({"old_code": old_code}, "old_code", count)
        formats = [format_score(c) if include_format else 0.0 for c in completions]
        out: list[float | None] = []
        for completion, target, old, fmt in zip(completions, targets, olds, formats, strict=True):
            out.append(None if target is None else fmt + score(prediction(completion), target, old))
        return out

    edit_aware_reward.__name__ = "edit_aware_recode_reward" if include_format else "edit_aware_reward"
    edit_aware_reward.__qualname__ = edit_aware_reward.__name__
    return edit_aware_reward


#: Name -> reward, for configs and scripts (TRL's ``reward_funcs_registry`` pattern).
REWARDS: dict[str, RewardFunction] = {
    "format": format_reward,
    "es_star": es_star_reward,
    "em_star": em_star_reward,
    "recode": recode_reward,
}
