"""A byte-level test that decides, without parsing, whether a file can have any finding.

Parsing is the expensive part of a run, and in a real repository most files that import a
library use none of its changed names. A finding needs an import of the library (every
old name is reached from one), and then one of: an imported old name, an attribute chain
from an imported name that spells an old qualified name, a changed member or keyword, an
alias re-bound to another name, or a code rule's trigger. The test looks for exactly
those with regular expressions over the raw bytes, and errs on the side of parsing: a file
it rejects has no finding the detector could report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from recode_lsp.engine.changes import ApiChange, Scope

_IMPORT = re.compile(
    rb"[ \t]*(?:from[ \t]+(?P<module>[\w.]+)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\r\n#;]*)"
    rb"|import[ \t]+(?P<modules>[^\r\n#;]*))"
)
_BOM = b"\xef\xbb\xbf"
_ALIAS = re.compile(rb"^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$")
_IDENTIFIER_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BLANK = frozenset(b" \t")
_OPEN_CALL = re.compile(rb"[ \t]*\(")


def _chain_before(data: bytes, dot: int) -> list[bytes]:
    """The dotted name that ends at the ``.`` at offset ``dot`` (``np.lib`` in ``np.lib.x``)."""
    parts: list[bytes] = []
    position = dot
    while len(parts) < 12:
        while position > 0 and data[position - 1] in _BLANK:
            position -= 1
        end = position
        while position > 0 and data[position - 1] in _IDENTIFIER_BYTES:
            position -= 1
        if position == end or data[position : position + 1].isdigit():
            return []
        parts.append(data[position:end])
        look = position
        while look > 0 and data[look - 1] in _BLANK:
            look -= 1
        if look > 0 and data[look - 1] == 46:  # another "." before: keep going
            position = look - 1
            continue
        return parts[::-1]  # a keyword (``and np.x``) or an operator ends the name
    return []


def _words(items: Iterable[str]) -> bytes:
    ordered = sorted(set(items), key=len, reverse=True)
    return b"|".join(re.escape(item.encode()) for item in ordered)


def _has_keyword(pattern: re.Pattern[bytes], data: bytes) -> bool:
    """``pattern`` (``name\\s*=``) found where ``name`` starts a word (a leading ``\\b`` is slow)."""
    for match in pattern.finditer(data):
        start = match.start()
        if start == 0 or not (data[start - 1 : start].isalnum() or data[start - 1] == 95):
            return True
    return False


def _call_arguments(data: bytes, position: int) -> bytes:
    """The text of the call that starts at ``position`` (``np.array|(x, copy=False)``).

    Parentheses are balanced by a plain scan; where strings or comments could fool it (a
    quote or ``#`` inside), the next 4 kB are returned instead, so the answer errs towards
    "may match".
    """
    index = position
    while index < len(data) and data[index] in _BLANK:
        index += 1
    if index >= len(data) or data[index] != 40:  # "("
        return b""
    depth = 0
    end = min(len(data), index + 4096)
    for cursor in range(index, end):
        byte = data[cursor]
        if byte in (34, 39, 35):  # a quote or "#": give up balancing
            return data[index:end]
        if byte in (40, 91, 123):
            depth += 1
        elif byte in (41, 93, 125):
            depth -= 1
            if depth == 0:
                return data[index : cursor + 1]
    return data[index:end]


def _called_with(data: bytes, name: bytes, keywords: re.Pattern[bytes]) -> bool:
    """Whether the imported ``name`` may be called with one of ``keywords`` here.

    ``x=`` anywhere in a file says little (``assert_array_equal(x=...)`` must be a call of that
    name). False only when every use of ``name`` outside an import line is a call whose
    arguments lack the keywords; any other use (a base class, an alias, an argument) may lead
    to such a call, so it answers True.
    """
    for match in re.finditer(rb"(?<![\w.])" + re.escape(name) + rb"\b", data):
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        if re.match(rb"[ \t]*(?:from|import)\b", data[line_start : match.start()]):
            continue
        call = _OPEN_CALL.match(data, match.end())
        if call is None or _has_keyword(keywords, _call_arguments(data, call.end() - 1)):
            return True
    return False


def _statement_starts(data: bytes) -> list[int]:
    """Offsets of lines that may start an import statement (found by ``bytes.find``).

    A line starts after LF or a lone CR (Python reads both as newlines), and the first
    line after a UTF-8 BOM.
    """
    starts: list[int] = []
    seen = -1
    position = data.find(b"import")
    while position != -1:
        line_start = data.rfind(b"\n", 0, position) + 1
        line_start = data.rfind(b"\r", line_start, position) + 1 or line_start  # within this line only
        if line_start == 0 and data.startswith(_BOM):
            line_start = len(_BOM)
        if line_start != seen:
            starts.append(line_start)
            seen = line_start
        position = data.find(b"import", position + 6)
    return starts


def import_bindings(data: bytes) -> list[tuple[bytes, bytes]]:
    """(local name, qualified target) for every absolute import statement in ``data``."""
    bindings: list[tuple[bytes, bytes]] = []
    for start in _statement_starts(data):
        match = _IMPORT.match(data, start)
        if match is None:
            continue
        module = match.group("module")
        if module is not None:
            if module.startswith(b"."):
                continue  # relative imports never reach a library
            names = match.group("names").strip().strip(b"()").replace(b"\\", b" ")
            for part in names.split(b","):
                if part.strip() == b"*":
                    bindings.append((b"*", module))  # ``from numpy.compat.py3k import *``: the module counts
                    continue
                alias = _ALIAS.match(part)
                if alias is None:
                    continue
                bindings.append((alias.group(2) or alias.group(1), module + b"." + alias.group(1)))
            continue
        for part in (match.group("modules") or b"").replace(b"\\", b" ").split(b","):
            alias = _ALIAS.match(part)
            if alias is None:
                continue
            target = alias.group(1)
            if alias.group(2):
                bindings.append((alias.group(2), target))
            else:
                root = target.split(b".", 1)[0]
                bindings.append((root, root))
                bindings.append((root, target))  # ``import a.b`` also makes ``a.b`` reachable
    return bindings


class Prefilter:
    """Built once per run from the changes that can count; ``may_match`` per file."""

    def __init__(
        self, changes: Iterable[ApiChange], rule_triggers: dict[str, tuple[bytes, ...]] | None = None
    ) -> None:
        self.changes = list(changes)
        self.roots = sorted({c.old.split(".", 1)[0].encode() for c in self.changes})
        self.root_set = frozenset(self.roots)
        #: Qualified names of changed modules and module-level names (not keyword changes).
        self.qualified = {c.old.encode() for c in self.changes if c.scope is Scope.MODULE and not c.old_keyword}
        members_by_root: dict[bytes, set[str]] = defaultdict(set)
        keywords_by_root: dict[bytes, set[str]] = defaultdict(set)
        triggers_by_root: dict[bytes, set[bytes]] = defaultdict(set)
        for change in self.changes:
            root = change.old.split(".", 1)[0].encode()
            if change.scope is Scope.MEMBER:
                members_by_root[root].add(change.old_name)
            if change.old_keyword and change.scope is Scope.MEMBER:
                keywords_by_root[root].add(change.old_keyword)
            if change.rule and rule_triggers and change.rule in rule_triggers:
                triggers_by_root[root].update(rule_triggers[change.rule])
        # ``.old_member`` on a receiver, or ``def old_member`` overriding it in a subclass.
        self.members = {
            root: re.compile(rb"(?:\.\s*|def[ \t]+)(?:" + _words(names) + rb")\b")
            for root, names in members_by_root.items()
        }
        self.keywords = {
            root: re.compile(rb"(?:" + _words(names) + rb")[ \t]*=(?!=)") for root, names in keywords_by_root.items()
        }
        self.triggers = {root: tuple(sorted(items)) for root, items in triggers_by_root.items()}
        # ``.old_name`` right after a dot: where a qualified use can end.
        dotted_names = {c.old_name for c in self.changes if c.scope is Scope.MODULE}
        self.dotted = re.compile(rb"\.[ \t]*(" + _words(dotted_names) + rb")\b") if dotted_names else None
        #: Keywords of module-level callables, checked only where the callable is used.
        keywords_by_callable: dict[str, set[str]] = defaultdict(set)
        for change in self.changes:
            if change.scope is Scope.MODULE and change.old_keyword:
                keywords_by_callable[change.old].add(change.old_keyword)
        self.callable_keywords = {
            name.encode(): re.compile(rb"(?:" + _words(words) + rb")[ \t]*=(?!=)")
            for name, words in keywords_by_callable.items()
        }

    def may_match(self, data: bytes) -> bool:
        """False only when the detector cannot find anything in ``data``."""
        if not any(root in data for root in self.roots):
            return False
        locals_by_target: dict[bytes, list[bytes]] = defaultdict(list)
        imported_roots: set[bytes] = set()
        for local, target in import_bindings(data):
            root = target.split(b".", 1)[0]
            if root not in self.root_set:
                continue
            imported_roots.add(root)
            parts = target.split(b".")
            if any(b".".join(parts[:n]) in self.qualified for n in range(1, len(parts) + 1)):
                return True  # an old module or name is imported directly
            if local == b"*":
                continue
            keywords = self.callable_keywords.get(target)
            if keywords is not None and _has_keyword(keywords, data) and _called_with(data, local, keywords):
                return True  # ``from sklearn.linear_model import Ridge`` ... ``Ridge(normalize=True)``
            locals_by_target[local].append(target)
        if not imported_roots:
            return False
        if self._chains(data, locals_by_target):
            return True
        for root in imported_roots:
            members = self.members.get(root)
            if members is not None and members.search(data):
                return True
            keywords = self.keywords.get(root)
            if keywords is not None and _has_keyword(keywords, data):
                return True
            if any(trigger in data for trigger in self.triggers.get(root, ())):
                return True
        return False

    def _chains(self, data: bytes, locals_by_target: dict[bytes, list[bytes]]) -> bool:
        """An attribute chain from an imported name that spells an old qualified name."""
        if not locals_by_target:
            return False
        keyword_seen: dict[bytes, bool] = {}
        if self.dotted is not None:
            for match in self.dotted.finditer(data):
                parts = _chain_before(data, match.start())
                if not parts:
                    continue
                parts.append(match.group(1))
                for target in locals_by_target.get(parts[0], ()):
                    qualified = target
                    for attribute in parts[1:]:
                        qualified = qualified + b"." + attribute
                        if qualified in self.qualified:
                            return True
                        keywords = self.callable_keywords.get(qualified)
                        if keywords is not None:
                            if qualified not in keyword_seen:
                                keyword_seen[qualified] = _has_keyword(keywords, data)
                            if keyword_seen[qualified] and _has_keyword(keywords, _call_arguments(data, match.end())):
                                return True
        # ``xp = np``: a re-bound alias is resolved by the detector; parse to be sure.
        names = b"|".join(re.escape(name) for name in sorted(locals_by_target, key=len, reverse=True))
        rebound = re.compile(rb"=[ \t]*(?:" + names + rb")[ \t]*(?:[#;\r\n]|$)")
        return rebound.search(data) is not None
