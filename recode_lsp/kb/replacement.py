"""What a deprecation message says: the replacement it names ("use X instead", resolved to a real
name), the version it was deprecated in and the version it announces for the removal."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator

_NAME = r"(?P<quote>[`'\"]*)(?P<name>\.?[A-Za-z_][\w.]*(?:\(\))?)[`'\"]*"
#: Between a word and the name: spaces, or none before a quote (``Please use`x```).
_GAP = r"(?:\s+|(?=[`'\"]))"
#: Phrases that introduce the replacement, most telling first; from the eighth on ("X should be
#: used", "use X", "alias of X") the phrase is common in prose, so an unquoted X must look like code
#: there (``a.b``, ``a_b``, ``f()``, ``CamelCase``), not a word ("use its methods").
_STRONG = 7
_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\buse{_GAP}{_NAME}\s+instead",
        rf"\buse\s+the\s+{_NAME}\s+(?:function|method|class|module|attribute|property)\b",
        rf"\brenamed\s+(?:to|as){_GAP}{_NAME}",
        rf"\bmoved\s+(?:to|into){_GAP}{_NAME}",
        rf"\bin\s+favou?r\s+of{_GAP}{_NAME}",
        rf"\breplaced\s+(?:by|with){_GAP}{_NAME}",
        rf"\binstead,?\s+use{_GAP}{_NAME}",
        rf"{_NAME}\s+should\s+be\s+used\b",
        rf"\b(?:please\s+)?use{_GAP}{_NAME}",
        rf"\b(?:is\s+)?(?:an\s+)?alias\s+(?:of|for){_GAP}{_NAME}",
    )
]
#: Words that follow "use" but are no replacement.
_NOT_NAMES = {"the", "a", "an", "it", "this", "that", "of", "is", "and", "or", "with", "instead", "them", "these"}


def _version(group: str) -> str:
    return rf"v?(?P<{group}>\d+(?:\.\d+)+)\b"


#: A word naming the library or "version" between the phrase and the number (``in SciPy 1.12``).
_WORD = r"(?:(?:version|release)\s+)?(?:[A-Za-z][\w-]*\s+)?"
_DEPRECATED_IN = re.compile(
    rf"\bdeprecated\s+(?:as\s+of|since|starting\s+(?:in|with|from)|in|from)\s+{_WORD}{_version('version')}|"
    rf"\b(?:renamed|moved)(?:\s+(?:to|into)\s+\S+)?\s+in\s+{_WORD}{_version('renamed')}",
    re.IGNORECASE,
)
_REMOVED_IN = re.compile(
    rf"\b(?:be\s+removed|removal|be\s+dropped)\s+(?:in|from|by|with|as\s+of)\s+{_WORD}{_version('version')}",
    re.IGNORECASE,
)


def deprecated_in(message: str) -> str | None:
    """The version a message says the API was deprecated in ("deprecated since version 1.2",
    "deprecated as of SciPy 1.12.0", "was deprecated in v1.1"), or None."""
    match = _DEPRECATED_IN.search(message)
    return (match.group("version") or match.group("renamed")) if match else None


def removal_in(message: str) -> str | None:
    """The version a message announces the removal for ("will be removed in 1.4"), or None."""
    match = _REMOVED_IN.search(message)
    return match.group("version") if match else None


def assigned_value(message: str, name: str) -> str | None:
    """What the message passes to ``name`` in a ``name=VALUE`` suggestion ("Pass `density_norm={scale}`"),
    or None when it shows no value."""
    value = r"(?P<value>'[^']*'|\"[^\"]*\"|\{[^}]*\}|\([^)]*\)|\[[^\]]*\]|[^\s`'\",;)]+)"
    match = re.search(rf"(?<![\w.]){re.escape(name)}\s*=(?!=)\s*{value}", message)
    return match.group("value") if match else None


def candidates(message: str) -> Iterator[str]:
    """Names the message offers as the replacement, best first (without backticks or ``()``)."""
    seen: set[str] = set()
    for index, pattern in enumerate(_PATTERNS):
        for match in pattern.finditer(message):
            written = match.group("name").rstrip(".")
            name = written.removesuffix("()").rstrip(".")
            if not name or name.lower() in _NOT_NAMES or name in seen:
                continue
            if index >= _STRONG and not match.group("quote") and not _looks_like_code(written):
                continue
            if re.match(r"\((?!\))", message[match.end("name") :]):
                continue  # ``pd.Series(obj).value_counts()``, ``next(ndindex)``: an expression, not a name
            seen.add(name)
            yield name


def _looks_like_code(text: str) -> bool:
    """``a.b``, ``a_b``, ``f()`` or ``CamelCase``: a name, not an English word."""
    return bool(re.search(r"[._]|\(\)$|[a-z][A-Z]|^[A-Z][a-z]+[A-Z]", text))


def keyword_candidates(message: str) -> Iterator[str]:
    """Names a message about a parameter offers as its new name: :func:`candidates`, then the names
    it tells to pass (``Pass `density_norm=...```)."""
    seen: set[str] = set()
    for name in candidates(message):
        seen.add(name)
        yield name
    shown = r"\b(?:pass|use|set|specify|try)(?:ing)?\s+[`'\"]*(?P<name>[A-Za-z_]\w*)\s*=(?!=)"
    for match in re.finditer(shown, message, re.IGNORECASE):
        name = match.group("name")
        if name not in seen:
            seen.add(name)
            yield name


def offers_several(message: str) -> bool:
    """Whether the replacement the message names is several names ("use `atol` and `rtol`",
    "in favor of `bw_method` and `bw_adjust`"): no one-to-one rename."""
    lead = r"\b(?:use|in\s+favou?r\s+of|replaced\s+(?:by|with)|renamed\s+to|pass)"
    name = r"[`'\"]*[A-Za-z_][\w.]*(?:\(\))?[`'\"]*"
    # The second must look like a name: quoted, dotted or with an underscore ("`atol` and `rtol`"),
    # or followed by what names are ("atol and rtol keywords"); not "`width_method` and will be".
    other = (
        r"(?:[`'\"][A-Za-z_][\w.]*(?:\(\))?[`'\"]|[A-Za-z_]\w*[._][\w.]*|"
        r"[A-Za-z_]\w*(?=\s+(?:instead|keywords?|parameters?|arguments?)\b))"
    )
    several = rf"{lead}{_GAP}{name}(?:\s*=\S*)?\s*(?:,|\band\b|\bor\b)\s*{other}"
    return re.search(several, message, re.IGNORECASE) is not None


def passes_old_value(message: str, new: str, old: str) -> bool:
    """Whether the message's ``new=VALUE`` suggestion, if any, passes the old parameter's value as it is
    (``density_norm={scale}``): a rename. ``errorbar={repr(errorbar)}`` or ``err_kws={...}`` is not."""
    value = assigned_value(message, new)
    if value is None:
        return True
    inner = value.removeprefix("{").removesuffix("}").removesuffix("!r")
    return inner in (old, f"repr({old})")


def resolve(
    candidate: str,
    *,
    old: str,
    top: str,
    exists: Callable[[str], bool],
    public: Collection[str] = (),
) -> str | None:
    """``candidate`` as a qualified name that exists in the new release, or None. The result always
    ends with the candidate as the message wrote it (its last component, or the whole dotted name):
    never a look-alike.

    A dotted candidate is tried as written; under the top package; with its first part taken as
    an abbreviation of the top package (``np.isin``, not ``dcp.save``); then beside ``old``. A bare
    name is tried beside ``old`` first, nearest owner first (``save`` next to
    ``torch.distributed.checkpoint.save_state_dict`` is ``torch.distributed.checkpoint.save``, not
    ``torch.save``). Last, the one public name ending with it.
    """
    text = candidate.lstrip(".")
    if not text:
        return None
    parts = text.split(".")
    owners = []
    owner = old.rpartition(".")[0]
    while owner:
        owners.append(f"{owner}.{text}")
        owner = owner.rpartition(".")[0]
    if len(parts) > 1:
        tries = [text]
        if abbreviates(parts[0], top):
            tries.append(".".join([top, *parts[1:]]))
        tries += [f"{top}.{text}", *owners]
    else:
        tries = [*owners, f"{top}.{text}"]
    for name in tries:
        if exists(name):
            return name
    suffix = "." + text
    matches = sorted(name for name in public if name.endswith(suffix))
    if not matches:
        return None
    if len(matches) == 1:
        return matches[0]

    # Several: the one closest to the old name, if only one is closest and it shares more than the
    # top package with it.
    def shared(name: str) -> int:
        count = 0
        for a, b in zip(name.split("."), old.split("."), strict=False):
            if a != b:
                break
            count += 1
        return count

    best = max(shared(name) for name in matches)
    closest = [name for name in matches if shared(name) == best]
    if len(closest) == 1 and best >= 2:
        return closest[0]
    return None


def abbreviates(short: str, top: str) -> bool:
    """``np`` for ``numpy``, ``pd`` for ``pandas``, ``sk`` for ``sklearn``: same first letter, letters in order."""
    if short == top:
        return True
    if not short or not top or short[0] != top[0] or len(short) >= len(top):
        return False
    letters = iter(top)
    return all(c in letters for c in short)
