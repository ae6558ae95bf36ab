"""A byte-level test that decides, without parsing, whether a file can have any finding.

Parsing is the expensive part of a run, and in a real repository most files that import a
library use none of its changed names. A finding needs an import of the library (every
old name is reached from one), and then one of: an imported old name, an attribute chain
from an imported name that spells an old qualified name, a changed member or keyword, an
alias re-bound to another name, or a code rule's trigger. The test looks for exactly
those with regular expressions over the raw bytes, and errs on the side of parsing: a file
it rejects has no finding the detector could report.

A file that passes on its raw bytes is tested again with its string literals and comments
blanked out (:func:`code_only`): a changed name in a docstring, a doctest or a comment is no
finding, and in old scientific code such mentions (``>>> x.astype(np.float)``, ``# np.NaN``)
let about a third of the files that import NumPy through for nothing (issue 15).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from recode_lsp.engine.changes import ApiChange, Scope

#: A blank within a statement, a backslash that continues it on the next line included.
_SPACE = rb"(?:[ \t]|\\(?:\r\n|[\r\n]))"
#: What a line holds up to a comment or ``;``, with the lines a backslash continues it on.
_REST = rb"(?:[^\r\n#;\\]|\\(?:\r\n|[\r\n]))*"
_IMPORT = re.compile(
    rb"[ \t]*(?:from" + _SPACE + rb"+(?P<module>[\w.]+)" + _SPACE + rb"+import" + _SPACE + rb"+"
    rb"(?P<names>\((?:[^)#]|#[^\r\n]*[\r\n])*\)|" + _REST + rb")"
    rb"|import" + _SPACE + rb"+(?P<modules>" + _REST + rb"))"
)
_BOM = b"\xef\xbb\xbf"
_COMMENT = re.compile(rb"#[^\r\n]*")
_ALIAS = re.compile(rb"^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$")
_IDENTIFIER_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BLANK = frozenset(b" \t")
_OPEN_CALL = re.compile(rb"[ \t]*\(")
#: What a line starts with, up to a name, where that name is imported there.
_IMPORT_LINE = re.compile(rb"[ \t]*(?:from|import)\b")
#: A comment, or a string literal (its prefix letters are looked at separately). Triple-quoted
#: first; a backslash escapes any byte, a newline included (a continued line).
STRING_OR_COMMENT = re.compile(
    rb"#[^\r\n]*"
    rb"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    rb'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    rb"|'[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'"
    rb'|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"',
    re.DOTALL,
)
_PREFIX_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: Keyword values a byte test can see for what they are (``copy=False``): a name that no other
#: spelling has, so ``copy=True`` or ``copy=copy`` need not be parsed. Other values (``'log'``,
#: numbers) are left to the detector.
_NAMED_VALUES = frozenset({"True", "False", "None"})


_NOT_BRACES = bytes(byte for byte in range(256) if byte not in (123, 125))


def _fields_closed(literal: bytes) -> bool:
    """Whether every ``{`` of an f-string's text is closed before its end (``{{`` counts twice)."""
    depth = 0
    for byte in literal.translate(None, _NOT_BRACES):  # only the braces, in order
        if byte == 123:
            depth += 1
        elif byte == 125:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def code_only(data: bytes) -> bytes:
    """``data`` with every comment removed and every string literal emptied (``'abc'`` -> ``''``).

    What the detector reports is code: a name in a docstring, a doctest or a comment is no
    finding. The scan is a regular expression, so it is safe only where it tokenizes as Python
    does. An f-string is kept whole (its replacement fields are code); since Python 3.12 a
    field may hold the quote that opened the string, so where the braces before the closing
    quote do not balance, the scan stops there and keeps the rest as it is. A file that does not
    tokenize (an unterminated string) is not Python, and what it keeps or drops does not matter.
    Offsets and line numbers change; the result is only ever searched, never reported from.
    """
    pieces: list[bytes] = []
    position = 0
    append = pieces.append
    for match in STRING_OR_COMMENT.finditer(data):
        start, end = match.span()
        quote = data[start]
        if quote != 35:  # a string: its prefix (``rb``, ``f``) is the letters just before it
            if start and data[start - 1] in _PREFIX_LETTERS:  # most strings have none
                letters = start - 1
                while letters > 0 and start - letters < 3 and data[letters - 1] in _PREFIX_LETTERS:
                    letters -= 1
                prefix = data[letters:start]
                if 102 in prefix or 70 in prefix:  # "f" or "F": an f-string
                    if not _fields_closed(match.group()):
                        break  # a quote inside a replacement field: where the string ends is unknown
                    continue  # its fields are code: kept whole, quotes and all
            append(data[position:start])
            append(b"''" if quote == 39 else b'""')
        else:
            append(data[position:start])
        position = end
    if not pieces:
        return data
    pieces.append(data[position:])
    return b"".join(pieces)


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
    """A pattern for any of ``items``, longest first, written as a trie (``float(?:_)?``).

    A flat alternation of ~150 names is tried branch by branch at every ``.`` of a file; the
    trie fails at the first byte that no name continues with (NumPy's ``.name`` search over the
    bench corpus: 0.31 s -> 0.12 s of CPU). Never empty: no items match nothing.
    """
    trie: dict[int | None, dict] = {}
    for item in set(items):
        node = trie
        for byte in item.encode():
            node = node.setdefault(byte, {})
        node[None] = {}
    return _trie_pattern(trie) or rb"(?!)"


def _trie_pattern(node: dict[int | None, dict]) -> bytes:
    branches = [re.escape(bytes((byte,))) + _trie_pattern(child) for byte, child in node.items() if byte is not None]
    if not branches:
        return b""
    body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(sorted(branches)) + b")"
    return b"(?:" + body + b")?" if None in node else body


def _keyword_pattern(changes: Iterable[ApiChange]) -> re.Pattern[bytes]:
    """``name=`` for each changed keyword, or ``name=False`` where only that value changed.

    The value is required only for the names :data:`_NAMED_VALUES` lists, written as a
    literal can be (``copy = (False)``, ``copy=\\`` and a new line, a comment in between).
    """
    plain: set[str] = set()
    valued: dict[str, set[str]] = defaultdict(set)
    for change in changes:
        assert change.old_keyword
        if change.old_value is not None and change.old_value.strip() in _NAMED_VALUES:
            valued[change.old_keyword].add(change.old_value.strip())
        else:
            plain.add(change.old_keyword)
    alternatives = [rb"(?:" + _words(plain) + rb")[ \t]*=(?!=)"] if plain else []
    for name, values in sorted(valued.items()):
        if name not in plain:
            alternatives.append(
                re.escape(name.encode())
                + rb"[ \t]*=(?!=)(?:[\s(\\]|#[^\r\n]*(?![^\r\n]))*(?:"
                + _words(values)
                + rb")(?![\w.])"
            )
    return re.compile(b"|".join(alternatives))


def _has_keyword(pattern: re.Pattern[bytes], data: bytes) -> bool:
    """``pattern`` (``name\\s*=``) found where ``name`` starts a word (a leading ``\\b`` is slow)."""
    for match in pattern.finditer(data):
        start = match.start()
        if start == 0 or data[start - 1] not in _IDENTIFIER_BYTES:  # ASCII, as ``bytes.isalnum``
            return True
    return False


def _empty_string_at(data: bytes, cursor: int) -> bool:
    """Whether an empty string (``''`` or ``""``, not the start of a triple quote) starts at ``cursor``."""
    quote = data[cursor : cursor + 1]
    return data[cursor + 1 : cursor + 2] == quote and data[cursor + 2 : cursor + 3] != quote


_BRACKET_OR_QUOTE = re.compile(rb"[()\[\]{}'\"#]")


def _call_arguments(data: bytes, position: int) -> bytes:
    """The text of the call that starts at ``position`` (``np.array|(x, copy=False)``).

    Parentheses are balanced by a plain scan; where strings or comments could fool it (a
    quote or ``#`` inside), the next 4 kB are returned instead, so the answer errs towards
    "may match". An empty string (``''``, what :func:`code_only` leaves of every string) is
    stepped over.
    """
    index = position
    while index < len(data) and data[index] in _BLANK:
        index += 1
    if index >= len(data) or data[index] != 40:  # "("
        return b""
    depth = 0
    end = min(len(data), index + 4096)
    cursor = index
    while (special := _BRACKET_OR_QUOTE.search(data, cursor, end)) is not None:  # only those bytes matter
        cursor = special.start()
        byte = data[cursor]
        if byte in (34, 39) and _empty_string_at(data, cursor):
            cursor += 2
            continue
        if byte in (34, 39, 35):  # a quote or "#": give up balancing
            return data[index:end]
        if byte in (40, 91, 123):
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return data[index : cursor + 1]
        cursor += 1
    return data[index:end]


#: What the parentheses of ``from m import (a, b as c)`` hold when only names are listed there.
_NAMES_ONLY = re.compile(rb"\([\w \t\f\r\n,\\]*\)")


def _import_lists(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of the parenthesized name lists of ``from ... import (...)`` statements.

    Only lists of names, commas and blanks: a list that holds anything else (a quote, a
    parenthesis, ``=``, a comment) may be a string's text running into code, and is left out.
    Names listed there are imported, not used (issue 15: ``assert_array_equal`` on the second
    line of such a list made the file look like it called it with ``x=``).
    """
    spans: list[tuple[int, int]] = []
    for start in _statement_starts(data):
        match = _IMPORT.match(data, start)
        if match is None or match.group("module") is None:
            continue
        names_start, names_end = match.span("names")
        if data[names_start : names_start + 1] == b"(" and _NAMES_ONLY.fullmatch(data, names_start, names_end):
            spans.append((names_start, names_end))
    return spans


_WORD_OR_DOT = _IDENTIFIER_BYTES | {46}


@functools.lru_cache(maxsize=256)
def _name_pattern(name: bytes) -> re.Pattern[bytes]:
    """``name`` as a whole word (compiled once per name)."""
    return re.compile(re.escape(name) + rb"\b")


def _called_with(data: bytes, name: bytes, keywords: re.Pattern[bytes]) -> bool:
    """Whether the imported ``name`` may be called with one of ``keywords`` here.

    ``x=`` anywhere in a file says little (``assert_array_equal(x=...)`` must be a call of that
    name). False only when every use of ``name`` outside an import statement is a call whose
    arguments lack the keywords; any other use (a base class, an alias, an argument) may lead
    to such a call, so it answers True.
    """
    lists: list[tuple[int, int]] | None = None
    # ``name\b`` starts with a literal the engine skips ahead to; a leading ``(?<![\w.])`` made it
    # try every offset. The look-behind is tested here: a match it rejects hides no other, since
    # a use that starts inside ``name`` has a word byte before it.
    for match in _name_pattern(name).finditer(data):
        start = match.start()
        if start and data[start - 1] in _WORD_OR_DOT:
            continue
        line_start = data.rfind(b"\n", 0, match.start()) + 1
        if _IMPORT_LINE.match(data, line_start, match.start()):
            continue
        call = _OPEN_CALL.match(data, match.end())
        if call is None or _has_keyword(keywords, _call_arguments(data, call.end() - 1)):
            if lists is None:
                lists = _import_lists(data)
            position = match.start()
            if any(start < position < end for start, end in lists):
                continue  # a name listed on a later line of ``from m import (...)``
            return True
    return False


def _uses(data: bytes, name: bytes) -> list[int]:
    """Offsets of ``name`` as a whole name, not after a dot (an import of it included)."""
    return [
        match.start()
        for match in _name_pattern(name).finditer(data)
        if not (match.start() and data[match.start() - 1] in _WORD_OR_DOT)
    ]


def _calls_with(
    data: bytes, name: bytes, keywords: re.Pattern[bytes], *, calls_only: bool = False
) -> list[int] | None:
    """:func:`_called_with` for :meth:`Prefilter.evidence`: the offset of each call of ``name``
    that may pass one of ``keywords``; None when ``name`` is used other than called (an alias, a
    base class, an argument), which may lead to such a call anywhere, unless ``calls_only``."""
    positions: list[int] = []
    lists: list[tuple[int, int]] | None = None
    for start in _uses(data, name):
        line_start = data.rfind(b"\n", 0, start) + 1
        if _IMPORT_LINE.match(data, line_start, start):
            continue
        call = _OPEN_CALL.match(data, start + len(name))
        if call is not None and not _has_keyword(keywords, _call_arguments(data, call.end() - 1)):
            continue
        if lists is None:
            lists = _import_lists(data)
        if any(first < start < last for first, last in lists):
            continue  # a name listed on a later line of ``from m import (...)``
        if call is None:
            if calls_only:
                continue
            return None
        positions.append(start)
    return positions


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


def import_bindings(data: bytes, roots: frozenset[bytes] | None = None) -> list[tuple[bytes, bytes]]:
    """(local name, qualified target) for every absolute import statement in ``data``.

    With ``roots``, only statements that may import one of those top-level names are read (the
    others are skipped before their names are split): every binding whose target's root is in
    ``roots`` is kept, in order, and maybe some others.
    """
    return [(local, target) for _, local, target in _import_bindings_at(data, roots)]


def _import_bindings_at(
    data: bytes, roots: frozenset[bytes] | None, starts: list[int] | None = None
) -> list[tuple[int, bytes, bytes]]:
    """:func:`import_bindings`, each with the offset of the line its statement starts on (``starts``:
    :func:`_statement_starts` of ``data``, when known)."""
    bindings: list[tuple[int, bytes, bytes]] = []
    for start in _statement_starts(data) if starts is None else starts:
        match = _IMPORT.match(data, start)
        if match is None:
            continue
        module = match.group("module")
        if module is not None:
            if module.startswith(b"."):
                continue  # relative imports never reach a library
            if roots is not None and module.split(b".", 1)[0] not in roots:
                continue
            names = _COMMENT.sub(b"", match.group("names")).strip().strip(b"()").replace(b"\\", b" ")
            for part in names.split(b","):
                if part.strip() == b"*":
                    bindings.append((start, b"*", module))  # ``from numpy.compat.py3k import *``: the module counts
                    continue
                alias = _ALIAS.match(part)
                if alias is None:
                    continue
                bindings.append((start, alias.group(2) or alias.group(1), module + b"." + alias.group(1)))
            continue
        modules = match.group("modules") or b""
        if roots is not None and not any(root in modules for root in roots):
            continue
        for part in modules.replace(b"\\", b" ").split(b","):
            alias = _ALIAS.match(part)
            if alias is None:
                continue
            target = alias.group(1)
            if alias.group(2):
                bindings.append((start, alias.group(2), target))
            else:
                root = target.split(b".", 1)[0]
                bindings.append((start, root, root))
                bindings.append((start, root, target))  # ``import a.b`` also makes ``a.b`` reachable
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
        keywords_by_root: dict[bytes, list[ApiChange]] = defaultdict(list)
        triggers_by_root: dict[bytes, set[bytes]] = defaultdict(set)
        for change in self.changes:
            root = change.old.split(".", 1)[0].encode()
            if change.scope is Scope.MEMBER:
                members_by_root[root].add(change.old_name)
            if change.old_keyword and change.scope is Scope.MEMBER:
                keywords_by_root[root].append(change)
            if change.rule and rule_triggers and change.rule in rule_triggers:
                triggers_by_root[root].update(rule_triggers[change.rule])
        # ``.old_member`` on a receiver, or ``def old_member`` overriding it in a subclass: two
        # patterns, each with a literal first byte the regex engine skips ahead to (one pattern
        # that starts with either tries every offset: 0.18 s -> 0.07 s over the bench corpus).
        self.members = {
            root: (
                re.compile(rb"\.\s*(?:" + _words(names) + rb")\b"),
                re.compile(rb"def[ \t]+(?:" + _words(names) + rb")\b"),
            )
            for root, names in members_by_root.items()
        }
        self.keywords = {root: _keyword_pattern(changes) for root, changes in keywords_by_root.items()}
        self.triggers = {root: tuple(sorted(items)) for root, items in triggers_by_root.items()}
        # ``.old_name`` right after a dot: where a qualified use can end.
        dotted_names = {c.old_name for c in self.changes if c.scope is Scope.MODULE}
        self.dotted = re.compile(rb"\.[ \t]*(" + _words(dotted_names) + rb")\b") if dotted_names else None
        #: Keywords of module-level callables, checked only where the callable is used.
        keywords_by_callable: dict[str, list[ApiChange]] = defaultdict(list)
        for change in self.changes:
            if change.scope is Scope.MODULE and change.old_keyword:
                keywords_by_callable[change.old].append(change)
        self.callable_keywords = {
            name.encode(): _keyword_pattern(changes) for name, changes in keywords_by_callable.items()
        }
        #: ``.array``: a name after a dot that counts only as a callable with a changed keyword, with
        #: those callables' keyword patterns. Where none of them is in a file, its chains need not be
        #: read (``np.array`` is two thirds of the NumPy chains of old scientific code); an old name
        #: inside such a chain is a match of its own.
        plain_names = {c.old_name for c in self.changes if c.scope is Scope.MODULE and not c.old_keyword}
        self.keyword_only: dict[bytes, list[re.Pattern[bytes]]] = defaultdict(list)
        for name, pattern in self.callable_keywords.items():
            last = name.rpartition(b".")[2]
            if last.decode() not in plain_names:
                self.keyword_only[last].append(pattern)
        #: Names an alias may stand for and still lead to a finding through an attribute chain
        #: or a call: the old qualified names, the callables with changed keywords, and every
        #: module or class above them (``xp = np`` matters, ``hn = pi`` after ``from numpy
        #: import pi`` does not).
        self.reachable = {
            b".".join(parts[:n])
            for name in (*self.qualified, *self.callable_keywords)
            for parts in (name.split(b"."),)
            for n in range(1, len(parts) + 1)
        }
        #: ``= alias`` patterns, by the sorted aliases a file binds.
        self._rebound: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}
        #: The last file :meth:`may_match` read, and the starts of its lines that hold ``import`` (None
        #: where it had none of the roots): :meth:`evidence` and :meth:`import_line_starts` reuse them.
        self._read: tuple[bytes, list[int] | None] | None = None

    def may_match(self, data: bytes) -> bool:
        """False only when the detector cannot find anything in ``data``.

        The raw bytes are tested first (most files fail there, cheaply); a file that passes is
        tested again as :func:`code_only` sees it, without its strings and comments.
        """
        self._read = (data, None)
        if not self._may_match(data):
            return False
        code = code_only(data)
        return code is data or self._may_match(code)

    def _may_match(self, data: bytes) -> bool:
        if not any(root in data for root in self.roots):
            return False
        locals_by_target: dict[bytes, list[bytes]] = defaultdict(list)
        imported_roots: set[bytes] = set()
        for _, local, target, root, old in self._bindings(data):
            imported_roots.add(root)
            if old:
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
            if members is not None and (members[0].search(data) or members[1].search(data)):
                return True
            keywords = self.keywords.get(root)
            if keywords is not None and _has_keyword(keywords, data):
                return True
            if any(trigger in data for trigger in self.triggers.get(root, ())):
                return True
        return False

    def _bindings(self, data: bytes) -> Iterator[tuple[int, bytes, bytes, bytes, bool]]:
        """Each import binding of a checked library in ``data``: (offset of its statement's line,
        local name, qualified target, the target's root, whether the target is an old name or one
        under an old module)."""
        read = self._read
        if read is not None and read[0] is data:
            starts = read[1]
            if starts is None:
                starts = _statement_starts(data)
                self._read = (data, starts)
        else:
            starts = None
        for start, local, target in _import_bindings_at(data, self.root_set, starts):
            root = target.split(b".", 1)[0]
            if root in self.root_set:
                parts = target.split(b".")
                old = any(b".".join(parts[:n]) in self.qualified for n in range(1, len(parts) + 1))
                yield start, local, target, root, old

    def import_line_starts(self, data: bytes, tops: frozenset[bytes]) -> list[int] | None:
        """The starts of the lines of ``data`` that hold ``import``, as the last :meth:`may_match` of
        it found them (one pass over the file shared with ``--too-new``, which reads the same import
        statements); ``[]`` where none can import one of ``tops`` (all of them roots of this
        prefilter, none in the file); None where not known."""
        read = self._read
        if read is None or read[0] is not data:
            return None
        if read[1] is None:
            return [] if tops <= self.root_set else None  # may_match found none of the roots there
        return read[1]

    def evidence(self, data: bytes) -> list[int] | None:
        """Offsets in ``data`` near which the detector may report, read as :meth:`may_match` reads
        the file: an import of an old name and each use of the name it binds, an attribute chain
        that spells an old name (or calls a changed callable with its keyword), a changed member
        or keyword, a call of an imported callable with its changed keyword. A function body that
        holds none of them has no finding (:mod:`recode_lsp.engine.sparse` parses it as ``pass``).

        None where a finding may lie away from all of them, so that the whole file must be read:
        a star import of an old module, an alias re-bound (``xp = np``), an imported callable
        with a changed keyword used other than called, a code rule's trigger.
        """
        positions: list[int] = []
        locals_by_target: dict[bytes, list[bytes]] = defaultdict(list)
        imported_roots: set[bytes] = set()
        code: bytes | None = None
        for start, local, target, root, old in self._bindings(data):
            imported_roots.add(root)
            if old:
                if local == b"*":
                    return None  # any name may come from the old module
                positions.append(start)
                # Each use of the name bound (``from m import old [as x]``, ``import imp``), not
                # of ``numpy`` after ``import numpy.distutils``: there the chains tell.
                if local != root or target == root:
                    positions.extend(_uses(data, local))
                locals_by_target[local].append(target)
                continue
            if local == b"*":
                continue
            keywords = self.callable_keywords.get(target)
            if keywords is not None and _has_keyword(keywords, data):
                calls = _calls_with(data, local, keywords)
                if calls is None:
                    # Used other than called: in code (that use may lead to a call anywhere), or only
                    # in prose (``from numpy import array`` and "an array" in docstrings).
                    if code is None:
                        code = code_only(data)
                    if _calls_with(code, local, keywords) is None:
                        return None
                    calls = _calls_with(data, local, keywords, calls_only=True)
                    assert calls is not None  # calls_only: never None
                positions.extend(calls)
            locals_by_target[local].append(target)
        if not imported_roots:
            return positions
        chains = self._chain_evidence(data, locals_by_target)
        if chains is None:
            return None
        positions.extend(chains)
        for root in imported_roots:
            if any(trigger in data for trigger in self.triggers.get(root, ())):
                return None  # a code rule reads the module as a whole
            members = self.members.get(root)
            if members is not None:
                positions.extend(match.start() for match in members[0].finditer(data))
                positions.extend(match.start() for match in members[1].finditer(data))
            keywords = self.keywords.get(root)
            if keywords is not None:
                positions.extend(match.start() for match in keywords.finditer(data))
        positions.sort()
        return positions

    def may_lead_to_finding(self, qname: str) -> bool:
        """Whether a name bound to ``qname`` can be reported or lead to a report: an old name or
        one under it, a callable with a changed keyword, a module or class above either."""
        name = qname.encode()
        if name in self.reachable:
            return True
        parts = name.split(b".")
        return any(b".".join(parts[:n]) in self.qualified for n in range(1, len(parts) + 1))

    def _chain_evidence(self, data: bytes, locals_by_target: dict[bytes, list[bytes]]) -> list[int] | None:
        """:meth:`_chains`, for :meth:`evidence`: where each chain that counts ends; None for a
        re-bound alias."""
        reaching = {
            local: kept
            for local, targets in locals_by_target.items()
            if (kept := [t for t in targets if t in self.reachable])
        }
        positions: list[int] = []
        if not reaching:
            return positions
        for match, parts in self._dotted_chains(data):
            for target in reaching.get(parts[0], ()):
                qualified = target
                for attribute in parts[1:]:
                    qualified = qualified + b"." + attribute
                    keywords = self.callable_keywords.get(qualified)
                    if qualified in self.qualified or (
                        keywords is not None and _has_keyword(keywords, _call_arguments(data, match.end()))
                    ):
                        positions.append(match.start())
        if self._rebound_pattern(reaching).search(data) is not None:
            return None
        return positions

    def _dotted_chains(self, data: bytes) -> Iterator[tuple[re.Match[bytes], list[bytes]]]:
        """Each ``.name`` match of an old name (or of a changed callable whose keyword the file
        holds somewhere), with the chain it ends (``[b"np", b"lib", b"math"]``)."""
        if self.dotted is None:
            return
        live: dict[bytes, bool] = {}
        for match in self.dotted.finditer(data):
            name = match.group(1)
            patterns = self.keyword_only.get(name)
            if patterns is not None:
                alive = live.get(name)
                if alive is None:
                    alive = live[name] = any(_has_keyword(pattern, data) for pattern in patterns)
                if not alive:
                    continue
            parts = _chain_before(data, match.start())
            if parts:
                parts.append(name)
                yield match, parts

    def _chains(self, data: bytes, locals_by_target: dict[bytes, list[bytes]]) -> bool:
        """An attribute chain from an imported name that spells an old qualified name."""
        # Only a name bound to an old name or to what is above one (``np``, not ``assert_equal``)
        # starts a chain that can spell one; where none is, the file's dots are not scanned.
        reaching = {
            local: kept
            for local, targets in locals_by_target.items()
            if (kept := [t for t in targets if t in self.reachable])
        }
        if not reaching:
            return False
        keyword_seen: dict[bytes, bool] = {}
        for match, parts in self._dotted_chains(data):
            for target in reaching.get(parts[0], ()):
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
        # ``xp = np``: a re-bound alias is resolved by the detector; parse to be sure, where the
        # alias can reach an old name (``dtype = float32`` cannot).
        return self._rebound_pattern(reaching).search(data) is not None

    def _rebound_pattern(self, reaching: dict[bytes, list[bytes]]) -> re.Pattern[bytes]:
        """``= alias`` at a statement's end for any of the names in ``reaching``."""
        key = tuple(sorted(reaching))  # most files bind the same few (``np``, ``numpy``)
        rebound = self._rebound.get(key)
        if rebound is None:
            if len(self._rebound) >= 1024:
                self._rebound.clear()
            names = b"|".join(re.escape(name) for name in sorted(key, key=len, reverse=True))
            rebound = self._rebound[key] = re.compile(rb"=[ \t]*(?:" + names + rb")[ \t]*(?:[#;\r\n]|$)")
        return rebound
