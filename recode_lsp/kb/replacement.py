"""The replacement a deprecation message names ("use X instead"), resolved to a real name."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator

_NAME = r"[`'\"]*(?P<name>\.?[A-Za-z_][\w.]*(?:\(\))?)[`'\"]*"
#: Phrases that introduce the replacement, most telling first.
_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\buse\s+{_NAME}\s+instead",
        rf"\brenamed\s+(?:to|as)\s+{_NAME}",
        rf"\bmoved\s+(?:to|into)\s+{_NAME}",
        rf"\bin\s+favou?r\s+of\s+{_NAME}",
        rf"\breplaced\s+(?:by|with)\s+{_NAME}",
        rf"\binstead,?\s+use\s+{_NAME}",
        rf"\b(?:please\s+)?use\s+{_NAME}",
        rf"\b(?:is\s+)?(?:an\s+)?alias\s+(?:of|for)\s+{_NAME}",
    )
]
#: Words that follow "use" but are no replacement.
_NOT_NAMES = {"the", "a", "an", "it", "this", "that", "of", "is", "and", "or", "with", "instead", "them", "these"}


def candidates(message: str) -> Iterator[str]:
    """Names the message offers as the replacement, best first (without backticks or ``()``)."""
    seen: set[str] = set()
    for pattern in _PATTERNS:
        for match in pattern.finditer(message):
            name = match.group("name").rstrip(".").removesuffix("()").rstrip(".")
            if not name or name.lower() in _NOT_NAMES or name in seen:
                continue
            seen.add(name)
            yield name


def resolve(
    candidate: str,
    *,
    old: str,
    top: str,
    exists: Callable[[str], bool],
    public: Collection[str] = (),
) -> str | None:
    """``candidate`` as a qualified name that exists in the new release, or None.

    Tried in order: as written; under the top package; with its first part taken as an alias
    of the top package (``np.isin``); beside ``old`` (its class or module); then the one
    public name ending with it.
    """
    text = candidate.lstrip(".")
    if not text:
        return None
    parts = text.split(".")
    tries = [text, f"{top}.{text}"]
    if len(parts) > 1:
        tries.append(".".join([top, *parts[1:]]))
    owner = old.rpartition(".")[0]
    while owner:
        tries.append(f"{owner}.{text}")
        owner = owner.rpartition(".")[0]
    for name in tries:
        if exists(name):
            return name
    suffix = "." + text
    matches = sorted(name for name in public if name.endswith(suffix))
    if not matches:
        return None
    if len(matches) == 1:
        return matches[0]

    # Several: the one closest to the old name, if only one is closest.
    def shared(name: str) -> int:
        count = 0
        for a, b in zip(name.split("."), old.split("."), strict=False):
            if a != b:
                break
            count += 1
        return count

    best = max(shared(name) for name in matches)
    closest = [name for name in matches if shared(name) == best]
    if len(closest) == 1:
        return closest[0]
    shortest = min(len(name) for name in closest)
    short = [name for name in closest if len(name) == shortest]
    return short[0] if len(short) == 1 else None
