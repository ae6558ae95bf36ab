"""The too-new check: names and keywords the code uses that the targeted release does not have.

Code copied from current docs, or written by a model trained on recent code, calls APIs newer than
the release a project pins (``np.trapezoid`` on NumPy 1.26, ``DataFrame.map`` on pandas 2.0), and
fails only at run time. For each library with a known target version that the module imports, every
qualified name the module uses is resolved against the release's inventory
(:mod:`recode_lsp.toonew.inventory`):

* ``import a.b`` and ``from a.b import c`` (the import is reported, not each use of ``c``);
* attribute chains rooted at an imported module (``np.linalg.foo``);
* methods called on receivers whose class the detector knows (``df.map(...)``);
* keywords of calls whose target resolves to a function whose keywords are certain.

Findings are ``RCN001`` (a name) and ``RCN002`` (a keyword), errors, display-only. Where the
knowledge base renames ``A -> B`` in version V and the code uses ``B`` with a target older than V,
the finding is ``RCN-<id of the entry>`` instead, with the backward rename ``B -> A`` as its fix
(safe only where the entry's fix is safe); it goes through the same fix pipeline and validator as
every other fix. The message names the version that introduced the name when the knowledge base
knows it.

Conservative by design: anything under an open container (forwarding ``__getattr__``, compiled
star imports, dynamic binding), private names, members of classes only when called, and keywords
only of plain-Python functions without ``**kwargs`` are checked; the rest is "cannot tell".
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import functools
import operator
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from recode_lsp.engine.changes import DISPLAY_NAMES, ApiChange, ChangeKind, FixSafety, Scope, Severity
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.options import DetectOptions, selected
from recode_lsp.engine.versions import PYTHON, Version
from recode_lsp.toonew.inventory import FOUND, MISSING, Inventory, Resolution

if TYPE_CHECKING:  # not imported by a run without findings (a plain check does not load it)
    from recode_lsp.engine.model import Finding

__all__ = ["CODE_KEYWORD", "CODE_NAME", "TooNew", "TooNewChange"]

CODE_NAME = "RCN001"
CODE_KEYWORD = "RCN002"
#: Prefix of the backward fixes' ids (``RCN-NPY069``: NPY069 read backward).
BACKWARD_PREFIX = "RCN-"


@dataclass(frozen=True)
class TooNewChange(ApiChange):
    """A use of a name or keyword the targeted release lacks (``old`` is the name the code uses)."""

    #: The exact version of the release read (``1.26.4``).
    release: str = ""
    #: The version that introduced the name, when known (an entry whose ``new`` it is).
    introduced: Version | None = None

    def severity_for(self, target: Version | None) -> Severity | None:
        # Applies only below the version that introduced the name (the backward fixes' detection).
        if target is None or (self.introduced is not None and target >= self.introduced):
            return None
        return Severity.ERROR

    def message(self) -> str:
        name = DISPLAY_NAMES.get(self.library, self.library)
        added = f" (added in {self.introduced})" if self.introduced is not None else ""
        release = self.release or "the targeted release"
        if self.old_keyword is not None:
            text = f"`{self.old}()` takes no keyword `{self.old_keyword}` in {name} {release}{added}"
            return text + (f": use `{self.new_keyword}`" if self.new_keyword else "")
        text = f"`{self.old}` does not exist in {name} {release}{added}"
        return text + (f": use `{self.new}`" if self.new else "")


def _describe(code: str, library: str) -> TooNewChange:
    keyword = code == CODE_KEYWORD
    return TooNewChange(
        id=code,
        library=library,
        old="keyword-not-in-targeted-release" if keyword else "name-not-in-targeted-release",
        kind=ChangeKind.SIGNATURE_CHANGE if keyword else ChangeKind.REMOVAL,
        scope=Scope.MODULE,
        new=None,
        replacement=None,
        template=None,
        template_on=None,
        old_keyword="keyword" if keyword else None,
        new_keyword=None,
        deprecated_in=None,
        removed_in=None,
        note=(
            "A keyword the targeted release's function does not accept"
            if keyword
            else "A name the targeted release does not have"
        ),
        doc=None,
        source="the targeted release, read statically (recode_lsp.toonew)",
        fix=FixSafety.DISPLAY_ONLY,
    )


@dataclass(frozen=True)
class _MethodTriggers:
    """Methods newer than some targeted release: their calls make a parse (on any receiver)."""

    #: Methods newer than a release; methods with a newer keyword (a pattern each: the call with it).
    methods: frozenset[str]
    keywords: dict[str, re.Pattern[str]]
    #: The pattern of the calls of both (which are called); the methods, when few (:data:`_FEW_METHODS`),
    #: each looked for as a string.
    called: re.Pattern[str]
    few: tuple[tuple[str, re.Pattern[str]], ...] | None


@dataclass
class _NewerMembers:
    """Members a later release adds to classes of one module (typeshed: ``pathlib.Path.walk``, 3.12), which
    the walk reports where it knows a receiver is such a class (``Path(".").walk()``): the pre-check keeps a
    module that calls one of them where an imported name reaches one of their classes (a call of the
    class, or of a factory the type facts know, is how the walk learns a receiver's class)."""

    #: The classes' own names and their factories' (``Path``; ``SubElement`` for ``Element``).
    owners: frozenset[str]
    #: The members' names (``walk``).
    members: frozenset[str]
    _calls: re.Pattern[str] | None = field(default=None, repr=False)

    def reached(self, rests: Iterable[str]) -> bool:
        """Whether one of the chains after an imported name (``rests``: ``.Path.cwd``) reaches one of the
        classes or factories."""
        owners = self.owners
        return any(not owners.isdisjoint(rest.split(".")) for rest in rests if rest)

    def called(self, text: str) -> set[str]:
        """The members called in ``text`` after a dot (``.walk(``); the pattern compiled on first use, as
        few modules reach one of the classes."""
        if self._calls is None:
            self._calls = _called_pattern(self.members)
        return set(self._calls.findall(text))


@dataclass(frozen=True)
class Problem:
    """One use of a missing name or keyword."""

    library: str
    #: The qualified name as the code reaches it (``numpy.trapezoid``), or the callee's for a keyword.
    name: str
    keyword: str | None
    start: int
    end: int


@dataclass
class TooNew:
    """The check, ready for a run: the inventories of the targeted releases and the backward fixes.

    Plain data (pickled into the CLI's worker processes).
    """

    #: Top-level package -> inventory of the targeted release.
    inventories: dict[str, Inventory]
    #: Target version per library (the backward entries' detection needs it).
    targets: dict[str, Version]
    #: Version that introduced a name (an entry's ``new``), by name; and a keyword, by (callable, keyword).
    introduced: dict[str, tuple[Version, str]] = field(default_factory=dict)
    introduced_keywords: dict[tuple[str, str], tuple[Version, str]] = field(default_factory=dict)
    #: Names the inventories themselves know later releases add (typeshed for the standard library:
    #: ``itertools.batched`` -> 3.12); under soft containers only these are reported.
    added: dict[str, Version] = field(default_factory=dict)
    #: The knowledge base read backward (entries renaming to a name some targeted release lacks).
    backward: list[TooNewChange] = field(default_factory=list)
    #: Names and (callable, keyword) pairs the knowledge base already reports at the target (removed
    #: names: legacy code, not too-new code): not reported twice.
    reported: set[tuple[str, str | None]] = field(default_factory=set)
    _top_bytes: frozenset[bytes] | None = field(default=None, repr=False, compare=False)
    #: The methods newer than some targeted release, by the libraries a module imports (only theirs can
    #: be reported there: :meth:`findings`).
    _triggers_of: dict[frozenset[str], _MethodTriggers] = field(default_factory=dict, repr=False, compare=False)
    _triggers_by_methods: dict[tuple[frozenset[str], frozenset[tuple[str, frozenset[str]]]], _MethodTriggers] = field(
        default_factory=dict, repr=False, compare=False
    )
    _trigger_parts: dict[str, tuple[set[str], dict[str, set[str]]]] | None = field(
        default=None, repr=False, compare=False
    )
    _memo: dict[str, Resolution] = field(default_factory=dict, repr=False, compare=False)
    #: Per qualified name a chain reaches, what it may make the pre-check report (:meth:`_action`); per
    #: name an import binds, which of its uses can be reported (:meth:`_reportable_uses`).
    _actions: dict[str, tuple[int, str] | None] = field(default_factory=dict, repr=False, compare=False)
    _uses: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: Each distinct line that holds ``import``: whether it imports a checked library (:meth:`_line_kind`).
    _line_kinds: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: What each distinct import line binds (:meth:`_import_binds`, :meth:`_from_binds`), by its text.
    _lines: dict[tuple[str, str, str], list[tuple[str, str]] | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: Per imported name, how often the modules read so far hold it, and its compiled pattern once
    #: that is often enough to pay for the compilation.
    _alias_seen: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _alias_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False, compare=False)
    #: Per standard-library module, a pattern of the names later versions add (after a dot).
    _word_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False, compare=False)
    #: A checked library's name after ``import`` and after ``from`` (:meth:`_import_starts`).
    _import_patterns: tuple[re.Pattern[str], ...] | None = field(default=None, repr=False, compare=False)
    _newer: frozenset[str] | None = field(default=None, repr=False, compare=False)
    _soft: dict[str, frozenset[str]] | None = field(default=None, repr=False, compare=False)
    #: Per top module, the members later releases add to its classes (None: it has none).
    _newer_members: dict[str, _NewerMembers | None] = field(default_factory=dict, repr=False, compare=False)
    _factories_of: dict[str, set[str]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, inventories: Iterable[Inventory], targets: Mapping[str, Version], kb: KnowledgeBase) -> TooNew:
        by_top = {inventory.top: inventory for inventory in inventories}
        libraries = {inventory.library for inventory in by_top.values()}
        check = cls(by_top, {library: targets[library] for library in libraries if library in targets})
        versions: dict[str, Version] = {}  # a few distinct versions (``3.12``) for hundreds of names
        for inventory in by_top.values():
            for name, added_in in inventory.added.items():
                if name not in check.added:
                    version = versions.get(added_in)
                    if version is None:
                        version = versions[added_in] = Version(added_in)
                    check.added[name] = version
        for change in kb.changes:
            if change.library not in libraries:
                continue
            if change.library in check.targets and change.severity_for(check.targets[change.library]) is not None:
                check.reported.add((change.old, change.old_keyword))
            version = change.deprecated_in or change.removed_in
            if version is None:
                continue
            if change.kind is ChangeKind.KEYWORD_RENAME and change.new_keyword and change.old_keyword:
                callee = change.new or change.old
                check.introduced_keywords.setdefault((callee, change.new_keyword), (version, change.old_keyword))
            elif change.new and change.kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE) and not change.template:
                check.introduced.setdefault(change.new, (version, change.old))
            else:
                continue
            backward = _backward(change, version, by_top)
            if backward is not None:
                check.backward.append(backward)
        return check

    # --- per module --------------------------------------------------------------------------

    @property
    def top_bytes(self) -> frozenset[bytes]:
        """The top-level packages checked, as bytes."""
        if self._top_bytes is None:
            self._top_bytes = frozenset(top.encode() for top in self.inventories)
        return self._top_bytes

    def needs_analysis(self, data: bytes, line_starts: list[int] | None = None, package: str | None = None) -> bool:
        """Whether a file may hold a too-new use, read lexically (no parse): an import, or a chain
        rooted at an imported name (``np.linalg.foo``), that the release lacks, a keyword a resolved
        call does not take, or a method or keyword the knowledge base knows is newer. False means
        :meth:`findings` would find nothing there (up to rebinding, ``xp = np``), so a file the
        knowledge base has nothing for is not parsed for this check either: the check stays cheap.

        ``line_starts``: where the lines that hold ``import`` start, when the prefilter has found them
        (:meth:`Prefilter.import_line_starts`; the file is then not searched for its imports again).
        ``package``: the module's own top-level package (:func:`recode_lsp.toonew.first_party.own_package`),
        whose imports are not checked."""
        if not self.inventories or line_starts == []:
            return False
        text = data.decode("latin-1")
        # The lines that import a checked library first: a module without one is done (most are).
        starts = self._import_starts(text) if line_starts is None else _prefilter_line_starts(text, line_starts)
        return bool(starts) and self._lexical(text, starts, package)

    def may_report(self, text: str, package: str | None = None) -> bool:
        """Whether :meth:`findings` may find anything in a module with this text: False means it finds
        nothing, so the module's tree is not walked for this check (nor need it be whole)."""
        return bool(self.inventories) and self._lexical(text, None, package)

    def evidence(
        self, data: bytes, line_starts: list[int] | None = None, package: str | None = None
    ) -> list[int] | None:
        """Offsets in ``data`` near which :meth:`findings` may report, as the pre-check reads the file:
        each use of a chain or call it finds reportable (so a function body with none of them holds no
        finding and may be read as ``pass``: recode_lsp/engine/sparse.py; ``[]``: :meth:`findings`
        finds nothing); None where a finding may be anywhere (an import line that names something
        missing: it may be in any body) or where the bytes are not ASCII (the offsets of the text read
        are then not the bytes'). ``line_starts``, ``package``: as for :meth:`needs_analysis`."""
        if not data.isascii():
            return None
        if not self.inventories:
            return []
        text = data.decode("ascii")
        offsets: set[int] = set()
        starts = None if line_starts is None else _prefilter_line_starts(text, line_starts)
        for use in self._reasons(text, starts, package):
            if use is None:
                return None
            position = text.find(use)
            while position != -1:
                offsets.add(position)
                position = text.find(use, position + 1)
        return sorted(offsets)

    def _lexical(self, text: str, starts: list[int] | None, package: str | None = None) -> bool:
        """:meth:`needs_analysis` of a module's text (``starts``: its :meth:`_import_starts`, when known)."""
        return next(self._reasons(text, starts, package), False) is not False

    def _reasons(self, text: str, starts: list[int] | None, package: str | None = None) -> Iterator[str | None]:
        """What may make :meth:`findings` report in a module's text: each use it finds reportable (the
        chain after an imported name, ``np.trapezoid``; ``.map`` for a newer method of a library the module
        imports, called on any receiver), or None for a reason with no place (an import line that names
        something missing)."""
        aliases = self._import_lines(text, self._import_starts(text) if starts is None else starts, package)
        if aliases is None:
            yield None
            return
        if not aliases:
            return  # no checked library imported: :meth:`findings` reads only the module's own imports
        libraries = frozenset([self.inventories[target.split(".", 1)[0]].library for target in aliases.values()])
        triggers = self._triggers_of.get(libraries) or self._method_triggers(libraries)
        if triggers.called is not _NEVER:  # no method of them is newer than a targeted release: no pass
            if triggers.few is not None:
                # A method or two (``.reshape`` on NumPy 2.0): each looked for as a string, which reads a
                # module faster than the pattern's stop at every dot; its call then from there on.
                called = _called_among(text, triggers.few)
            else:
                called = set(triggers.called.findall(text))
            for method in called.intersection(triggers.methods):
                yield "." + method  # its calls: where the walk may report it, on any receiver
            for method in called.intersection(triggers.keywords):
                if triggers.keywords[method].search(text, text.find("." + method)):
                    yield "." + method
        actions = self._actions
        uses_of = self._uses
        soft = self._soft_words()
        mentioned: dict[str, bool] = {}  # per standard-library module: the text holds one of its few names
        newer_members = self._newer_members
        typed: set[str] = set()  # modules whose classes' newer members were looked for
        for local, target in aliases.items():
            top = target.split(".", 1)[0]
            members = newer_members[top] if top in newer_members else self._prepare_newer_members(top)
            if members is not None and top not in typed and target.rpartition(".")[2] in members.owners:
                # A class that gained members later, or a factory of it, imported (``from pathlib import
                # Path``): the walk may type a receiver as that class (``Path(".").walk()``), where no chain
                # from an imported name reaches the call. Its chains below need not be read for it.
                typed.add(top)
                for member in members.called(text):
                    yield "." + member
            uses = uses_of.get(target)
            if uses is None:
                uses = uses_of[target] = self._reportable_uses(target)
            if uses == _NO_USE:
                continue
            words = soft.get(top)
            if words is not None and len(words) <= _FEW_WORDS:
                # Read from typeshed, the module can be reported only for a name a later version adds,
                # after a dot (:meth:`_mentions`); the text holds none of its few (a search for each is
                # cheaper than reading the chains; ``deprecated`` alone is in every scikit-learn module).
                # Once per module, not per name imported from it (``from itertools import chain, product``).
                holds = mentioned.get(top)
                if holds is None:
                    holds = mentioned[top] = any("." + word in text for word in words)
                if not holds:
                    continue
            inventory = self.inventories[top]
            uses_here = self._chain_calls(text, local, uses == _DOTTED_USES)
            rests = set(map(_CHAIN_OF, uses_here))
            if members is not None and top not in typed and members.reached(rests):
                # The same, reached by a chain (``pathlib.Path(".")``). (A few-word module skipped above has
                # no newer name after a dot, so no call of a newer member.)
                typed.add(top)
                for member in members.called(text):
                    yield "." + member
            # Each distinct chain once (``np.zeros`` appears hundreds of times in a NumPy module), what it
            # may make the check report worked out once per run (:meth:`_action`); the calls with a
            # keyword (a fifth of them) apart, of the chains that reach a function whose keywords are
            # certain (the keywords it takes, by chain).
            keyword_chains: dict[str, frozenset[str]] = {}
            for rest in rests:
                qname = target + rest
                action = actions.get(qname, _UNSEEN)
                if action is _UNSEEN:
                    action = actions[qname] = self._action(inventory, qname)
                if action is _NOTHING:
                    continue
                if action[0] == _KEYWORDS:
                    keyword_chains[rest] = inventory.keyword_names(action[1])  # type: ignore[assignment]  # certain
                    continue
                # What :func:`_problems` would report: the last part missing, a class's member only when
                # called, under a ``__getattr__`` only when known to be newer.
                reported = action[0] == _MISSING_NAME or any(use[1] for use in uses_here if use[0] == rest)
                if reported and _in_code(text, local + rest):
                    # Under a module read from typeshed (only its newer names can be reported), the chains
                    # count only when the text has one of those names after a dot (asked last: a search
                    # of each module for them cost more than reading the chains). It is the same for
                    # every chain of this name.
                    if words is not None and not self._mentions(text, top, words):
                        break
                    yield local + rest
            else:  # not ended by a name the text does not mention (nothing here can be reported)
                if not keyword_chains:
                    continue
                # A call's own keywords that a function whose keywords are certain does not take.
                for rest, paren, arguments in {use for use in uses_here if "=" in use[2] and use[0] in keyword_chains}:
                    accepted = keyword_chains[rest]
                    # Every ``name=`` of the arguments first (nested calls' too: more than the call's own):
                    # when the function takes them all, as it nearly always does, nothing is reported.
                    if accepted.issuperset(_ANY_KEYWORD.findall(arguments)):
                        continue
                    if not accepted.issuperset(_own_keywords(arguments)) and _in_code(
                        text, local + rest + paren + arguments
                    ):
                        if words is not None and not self._mentions(text, top, words):
                            break
                        yield local + rest

    def _method_triggers(self, libraries: frozenset[str]) -> _MethodTriggers:
        """The methods and keywords of ``libraries`` (those a module imports) newer than their targeted
        releases, and the pattern of their calls (first use per set of libraries; the patterns once
        per set of methods: most sets of libraries have the same few)."""
        parts = self._trigger_parts if self._trigger_parts is not None else self._prepare_trigger_parts()
        names: set[str] = set()
        keywords_of: dict[str, set[str]] = {}
        for library in libraries:
            if library in parts:
                names.update(parts[library][0])
                for method, words in parts[library][1].items():
                    keywords_of.setdefault(method, set()).update(words)
        key = (frozenset(names), frozenset((method, frozenset(words)) for method, words in keywords_of.items()))
        triggers = self._triggers_by_methods.get(key)
        if triggers is None:
            # Every such keyword of a method in its one pattern (``actual=`` and ``desired=`` of NumPy's
            # ``assert_array_equal``: a pattern per pair kept only the last keyword of each method).
            keywords = {
                method: re.compile(
                    rf"\.{re.escape(method)}\s*\((?:[^()]|\([^()]*\))*?\b(?:{'|'.join(sorted(words))})\s*=(?!=)"
                )
                for method, words in keywords_of.items()
            }
            # Both kinds of method in one pattern: one pass over the module finds which are called.
            methods = names | keywords.keys()
            few = _few_calls(methods) if len(methods) <= _FEW_METHODS else None
            triggers = _MethodTriggers(key[0], keywords, _called_pattern(methods), few)
            self._triggers_by_methods[key] = triggers
        self._triggers_of[libraries] = triggers
        return triggers

    def _prepare_trigger_parts(self) -> dict[str, tuple[set[str], dict[str, set[str]]]]:
        """Per library, the methods newer than its targeted release, and the methods with a newer keyword
        (with those keywords), worked out once per run."""
        parts: dict[str, tuple[set[str], dict[str, set[str]]]] = {}

        def part(name: str) -> tuple[set[str], dict[str, set[str]]]:
            return parts.setdefault(self.inventories[name.split(".", 1)[0]].library, (set(), {}))

        # Only what the walk may report missing (``numpy.float64``, the new name of ``float_``, is in
        # every release: a use of it is no reason to parse; nor is ``numpy.isnan``, which NumPy 1.16's
        # inventory cannot see, the module being soft, and which is no newer name).
        for name in self.introduced:
            if self._reportable_miss(name):
                part(name)[0].add(name.rpartition(".")[2])
        # A keyword newer than the release, on a method: the method called, and the keyword passed.
        for callee, keyword in self.introduced_keywords:
            if self._lacks_keyword(callee, keyword):
                part(callee)[1].setdefault(callee.rpartition(".")[2], set()).add(keyword)
        self._trigger_parts = parts
        return parts

    def _action(self, inventory: Inventory, qname: str) -> tuple[int, str] | None:
        """What a chain reaching ``qname`` may make :meth:`_lexical` report, worked out once per name:
        :data:`_NOTHING`, ``(_MISSING_NAME, "")`` (the last part missing), ``(_MISSING_MEMBER, "")``
        (a class's missing member: only when called), ``(_KEYWORDS, canonical)`` (a function whose
        keywords are certain: its calls' keywords)."""
        resolved = self._resolve(inventory, qname)
        if resolved.state == MISSING:
            # A name the knowledge base reports for the target (``np.float_`` on NumPy 2.0) is its
            # finding, not this check's (:meth:`findings`): no reason to walk the tree (issue 19).
            if (qname, None) in self.reported:
                return _NOTHING
            if _walk_reports(resolved, qname, self.newer):
                return (_MISSING_MEMBER if resolved.owner_kind == "class" else _MISSING_NAME, "")
            return _NOTHING
        if resolved.canonical is None or inventory.keyword_names(resolved.canonical) is None:
            return _NOTHING
        return (_KEYWORDS, resolved.canonical)

    def _reportable_uses(self, target: str) -> int:
        """Which uses of a name bound to ``target`` can be reported: none, only chains after it
        (``np.foo``: ``target`` is a module or class), or the name alone too (a call of a function
        whose keywords are certain; ``target`` itself missing). Resolving continues from where
        ``target`` led, so nothing under an unknown name, a missing one or a plain function can be:
        most names a ``from`` import binds are not looked for at all."""
        inventory = self.inventories[target.split(".", 1)[0]]
        resolved = self._resolve(inventory, target)
        if resolved.state == MISSING:
            # Only the name alone can be reported (a part under it is under a missing one).
            if _walk_reports(resolved, target, self.newer):
                return _ALL_USES
            return _NO_USE
        if resolved.state != FOUND or resolved.canonical is None:
            return _NO_USE
        if inventory.keyword_names(resolved.canonical) is not None:
            return _ALL_USES
        return _DOTTED_USES if inventory.container(resolved.canonical) is not None else _NO_USE

    def _import_starts(self, text: str) -> list[int]:
        """Where the lines start that may import a checked library: a checked library's name after an
        ``import`` or a ``from`` (two patterns, each with a literal first that the engine scans for, the
        names a trie after it: no Python per ``import`` of another library), in order."""
        patterns = self._import_patterns or self._prepare_import_patterns()
        return _line_starts(text, [match.start() for pattern in patterns for match in pattern.finditer(text)])

    def _prepare_import_patterns(self) -> tuple[re.Pattern[str], ...]:
        """A checked library's name after ``import``, after ``from``, and later in an ``import`` that lists
        more modules (``import os, numpy``, a backslash may continue the line) (first use)."""
        names = _trie(sorted(self.inventories))
        # The modules listed before it, tried only where the line has a comma (most have none: the group's
        # backtracking over each ``import numpy`` cost a twentieth of the pre-check).
        listed = r"(?=[^\n#;,]*,)(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,(?:[ \t]|\\\r?\n)*)+"
        self._import_patterns = (
            re.compile(rf"import[ \t]+(?:(?:{names})|{listed}(?:{names}))(?!\w)"),
            re.compile(rf"from[ \t]+(?:{names})(?!\w)"),
        )
        return self._import_patterns

    def _import_lines(self, text: str, starts: list[int], package: str | None = None) -> dict[str, str] | None:
        """Local name -> qualified name bound by the lines that import a checked library (at ``starts``,
        :meth:`_import_starts`); None when an import line itself names something the release lacks.
        The module's own ``package`` is left out (:mod:`recode_lsp.toonew.first_party`)."""
        # Each distinct line is read once per run (:meth:`_kind`), as what it binds (``_lines``).
        imports: list[str] = []
        froms: list[int | str] = []  # where in the module (names in parentheses may go on), or the statement
        for start in starts:
            end = text.find("\n", start)
            line = text[start:] if end == -1 else text[start:end]
            kind = self._kind(line)
            if ";" in line or line.endswith(("\\", "\\\r")) or _continues(text, start) or (not kind and ":" in line):
                # Rarer forms (``import os; import tnlib``, ``if TYPE_CHECKING: import tnlib``, a backslash
                # that continues the statement), read statement by statement (:meth:`_statements`).
                for kind, statement in self._statements(text, start):
                    (imports if kind == _IMPORT else froms).append(statement)  # type: ignore[arg-type]
            elif kind == _IMPORT:
                imports.append(line)
            elif kind == _FROM:
                froms.append(start)  # read in the module: the names in parentheses may go on over lines
        aliases: dict[str, str] = {}
        lines = self._lines
        for line in imports:
            names = _IMPORT_LINE.match(line).group(1)  # type: ignore[union-attr]  # its kind says it matches
            # What the line binds depends on the package only where it names it (most lines: shared).
            own = package if package is not None and package in names else ""
            key = (own, "", names)
            bound = lines[key] if key in lines else lines.setdefault(key, self._import_binds(names, own))
            if bound is None:
                return None
            aliases.update(bound)
        for place in froms:
            # Read in the module: the names in parentheses may go on over the next lines.
            match = _FROM_LINE.match(text, place) if isinstance(place, int) else _FROM_LINE.match(place)
            assert match is not None  # its first line matches alone: so does the module from there
            module = match.group(1)
            if package is not None and (module == package or module.startswith(package + ".")):
                continue  # the module's own package: not a release's names
            key = ("", module, match.group(2))
            bound = lines[key] if key in lines else lines.setdefault(key, self._from_binds(module, match.group(2)))
            if bound is None:
                return None
            aliases.update(bound)
        return aliases

    def _statements(self, text: str, start: int) -> Iterator[tuple[int, int | str]]:
        """The import statements of the line at ``start`` in the rarer forms, each with its kind: where
        a backslash continues the statement (read from its first line, as one line: ``from tnlib \\``
        then ``import x``; ``import os, \\`` then ``tnlib``), each statement of the line apart (``import
        os; import tnlib``, ``x = 1; import tnlib``), and the one after a compound statement's ``:``
        (``if TYPE_CHECKING: import tnlib``). A ``from`` statement read in the module comes as its offset
        (its names in parentheses may go on over the next lines), any other as its text."""
        while _continues(text, start):
            start = text.rfind("\n", 0, start - 2) + 1
        end = text.find("\n", start)
        line = text[start:] if end == -1 else text[start:end]
        continued = False
        while end != -1 and line.endswith(("\\", "\\\r")):
            following = text.find("\n", end + 1)
            line = line.rstrip("\r")[:-1] + " " + (text[end + 1 :] if following == -1 else text[end + 1 : following])
            end, continued = following, True
        for index, statement in enumerate(line.split(";")):
            kind = self._kind(statement)
            if kind == 0 and ":" in statement:
                statement = _after_colon(statement)
                index = 1  # read as it stands, not in the module
                kind = self._kind(statement)
            if kind == _IMPORT:
                yield kind, statement
            elif kind == _FROM:
                yield kind, start if index == 0 and not continued else statement

    def _kind(self, line: str) -> int:
        """:meth:`_line_kind`, once per distinct line and run (``import numpy as np`` starts hundreds of
        modules)."""
        kind = self._line_kinds.get(line)
        if kind is None:
            kind = self._line_kinds[line] = self._line_kind(line)
        return kind

    def _line_kind(self, line: str) -> int:
        """:data:`_IMPORT` or :data:`_FROM` for an import statement's (first) line that has a checked
        library's name after an ``import`` or a ``from``, else 0."""
        statement = line.lstrip(" \t")
        # Neither pattern below matches a line that does not start so (a doctest's ``>>> from scipy import``,
        # prose), and a relative import binds no library's name: half the distinct lines of scikit-learn's
        # and SciPy's trees, each read once per worker.
        if not statement.startswith(("import", "from")) or statement.startswith("from ."):
            return 0
        patterns = self._import_patterns or self._prepare_import_patterns()
        if not any(pattern.search(line) for pattern in patterns):
            return 0
        if _IMPORT_LINE.match(line):
            return _IMPORT
        return _FROM if _FROM_LINE.match(line) else 0

    def _import_binds(self, names: str, package: str = "") -> list[tuple[str, str]] | None:
        """What ``import <names>`` binds (local name, qualified name) among checked libraries other than
        ``package``; None when it names something the release lacks."""
        bound = []
        for item in names.split(","):
            name, _, alias = item.strip().partition(" as ")
            name, alias = name.strip(), alias.strip()
            top = name.split(".", 1)[0]
            inventory = self.inventories.get(top)
            if inventory is None or not name or top == package:
                continue
            if self._reportable(self._resolve(inventory, name), name):
                return None
            bound.append((alias or name.split(".", 1)[0], name if alias else name.split(".", 1)[0]))
        return bound

    def _from_binds(self, module: str, names: str) -> list[tuple[str, str]] | None:
        """What ``from <module> import <names>`` binds, as :meth:`_import_binds`."""
        inventory = self.inventories.get(module.split(".", 1)[0])
        if inventory is None:
            return []
        if self._reportable(self._resolve(inventory, module), module):
            return None
        bound = []
        if "#" in names:
            names = _COMMENT.sub("", names)  # ``(b,  # see f(x)`` and ``# c, d`` name nothing
        for item in names.strip("() \t\r\n\\").replace("\\\n", " ").split(","):
            name, _, alias = item.strip().partition(" as ")
            name = name.strip()
            if not name.isidentifier():
                continue
            qualified = f"{module}.{name}"
            if self._reportable(self._resolve(inventory, qualified), qualified):
                return None
            bound.append((alias.strip() or name, qualified))
        return bound

    def _mentions(self, text: str, top: str, words: frozenset[str]) -> bool:
        """Whether ``text`` has one of ``words`` after a dot, as a whole name (``.process_cpu_count``)."""
        pattern = self._word_patterns.get(top)
        if pattern is None:
            # A literal first, then the names: the engine scans for the dot (one ``findall`` of every
            # name after a dot in the module cost more than the whole check of most modules).
            names = sorted(word for word in words if _NAME.fullmatch(word))
            alternatives = "|".join(re.escape(word) for word in names) if names else r"(?!x)x"
            pattern = self._word_patterns[top] = re.compile(rf"\.(?:{alternatives})(?!\w)")
        return pattern.search(text) is not None

    def _chain_calls(self, text: str, alias: str, dotted: bool = False) -> list[tuple[str, str, str]]:
        """Each use of ``alias`` in ``text``: its attribute chain (``.linalg.norm``, ``""`` for the name
        alone), and the call after it (``(`` and its arguments; empty where none is, or where its
        arguments nest deeper than :data:`_CALL_AFTER` reads).

        A name used often (``np``: tens of thousands of uses in a large tree) gets a compiled pattern
        once it has been seen often enough to pay for it (about a millisecond): its ``findall`` reads
        every use in C, where the loop a rare name gets reads each in Python."""
        pattern = self._alias_patterns.get(alias)
        if pattern is not None:
            return pattern.findall(text)
        identifier = alias.isidentifier()
        found = _chain_calls(text, alias, dotted and identifier)
        if identifier:
            # An identifier: a use cannot start inside another, so the pattern finds what the loop does.
            seen = self._alias_seen[alias] = self._alias_seen.get(alias, 0) + len(found)
            if seen >= _COMPILE_AFTER:
                escaped = re.escape(alias)
                # The literal first (its look-behind after it): the engine scans for the name.
                self._alias_patterns[alias] = re.compile(rf"{escaped}(?<![\w.]{escaped})(?!\w){_CALL_AFTER.pattern}")
        return found

    @property
    def newer(self) -> frozenset[str]:
        """Every name known to be newer than some targeted release (knowledge base and inventories)."""
        if self._newer is None:
            names = set(self.added)
            for name, (_, old) in self.introduced.items():
                # ``float_ -> float64`` (NumPy 2.0) does not make ``float64`` new: a knowledge-base name
                # counts as newer only where the release has the spelling it replaced.
                inventory = self.inventories.get(old.split(".", 1)[0]) if old else None
                if inventory is None or inventory.resolve(old).state == FOUND:
                    names.add(name)
            self._newer = frozenset(names)
        return self._newer

    def _resolve(self, inventory: Inventory, name: str) -> Resolution:
        """``inventory.resolve(name)``, once per name and check (the same imports recur in every file)."""
        resolved = self._memo.get(name)
        if resolved is None:
            resolved = self._memo[name] = inventory.resolve(name)
        return resolved

    def _reportable(self, resolved: Resolution, name: str) -> bool:
        """Whether a name resolved on an import line would be reported (:func:`_walk_reports`; and not a
        name the knowledge base reports for the target, which :meth:`findings` leaves to it)."""
        return _walk_reports(resolved, name, self.newer) and (name, None) not in self.reported

    def _soft_words(self) -> dict[str, frozenset[str]]:
        """Per top module read from typeshed (only its newer names can be reported): those names' last parts."""
        if self._soft is None:
            self._soft = {
                top: frozenset(name.rpartition(".")[2] for name in inventory.added)
                for top, inventory in self.inventories.items()
                if inventory.library == PYTHON
            }
        return self._soft

    def _prepare_newer_members(self, top: str) -> _NewerMembers | None:
        """:class:`_NewerMembers` of a top module (first use per run): the names later versions add
        (``Inventory.added``) that are members of a class the release has, as :func:`_attribute` reports
        them on a typed receiver (the name's last part alone missing, from a class)."""
        inventory = self.inventories[top]
        classes: set[str] = set()
        members: set[str] = set()
        for name in inventory.added:
            if name.count(".") < 2:
                continue  # ``itertools.batched``: a module's own name, not a class's
            resolved = inventory.resolve(name)
            if resolved.owner_kind == "class" and _walk_reports(resolved, name, self.newer):
                owner, _, member = name.rpartition(".")
                if _NAME.fullmatch(member):
                    classes.add(owner)
                    members.add(member)
        found = None
        if members:
            from recode_lsp.engine.facts import type_facts

            canonical = type_facts().canonical
            owners = {owner.rpartition(".")[2] for owner in classes}
            factories = self._factories()
            for owner in classes:
                owners.update(factories.get(owner, ()), factories.get(canonical(owner), ()))
            found = _NewerMembers(frozenset(owners), frozenset(members))
        self._newer_members[top] = found
        return found

    def _factories(self) -> dict[str, set[str]]:
        """Per class (as the type facts spell it, and as written there), the names of the functions and
        methods the facts say return it (first use per run)."""
        if self._factories_of is None:
            from recode_lsp.engine.facts import type_facts

            facts = type_facts()
            self._factories_of = {}
            for function, returned in [*facts.factories.items(), *facts.methods.items()]:
                if isinstance(returned, str):
                    name = function.rpartition(".")[2]
                    for spelling in {returned, facts.canonical(returned)}:
                        self._factories_of.setdefault(spelling, set()).add(name)
        return self._factories_of

    def _reportable_miss(self, name: str) -> bool:
        """Whether the walk may report ``name`` missing (:func:`_walk_reports`)."""
        inventory = self.inventories.get(name.split(".", 1)[0])
        if inventory is None:
            return False
        return _walk_reports(inventory.resolve(name), name, self.newer)

    def _lacks_keyword(self, callee: str, keyword: str) -> bool:
        """Whether ``callee`` in the targeted release certainly does not take ``keyword``."""
        inventory = self.inventories.get(callee.split(".", 1)[0])
        if inventory is None:
            return False
        resolved = inventory.resolve(callee)
        return resolved.canonical is not None and inventory.accepts(resolved.canonical, keyword) is False

    def findings(
        self,
        analysis: object,
        options: DetectOptions,
        path: str,
        module_name: str | None = None,
        *,
        precheck: bool = True,
        package: str | None = None,
    ) -> list[Finding]:
        """The too-new findings of an analysed module (a :class:`ModuleAnalysis`), sorted.

        ``precheck=False`` walks the tree whatever the text says: the slow path the lexical pre-check
        (:meth:`needs_analysis`) must agree with (``tests/toonew/test_toonew_speed.py``). ``package``:
        the module's own top-level package, not checked (:mod:`recode_lsp.toonew.first_party`)."""
        from recode_lsp.engine.analysis import ModuleAnalysis

        assert isinstance(analysis, ModuleAnalysis)
        if not self.inventories or (precheck and not self._lexical(analysis.source, None, package)):
            return []  # the text holds no too-new use: the tree need not be walked
        # Only the libraries the module imports (less its own package): a receiver's method or a name of
        # another is not reported there, whatever other modules of the run import (the language server,
        # which reads only the document's, says the same).
        tops = _imported_tops(analysis.imports) - {package}
        inventories = {top: inventory for top, inventory in self.inventories.items() if top in tops}
        if not inventories:
            return []
        problems = _problems(analysis, inventories, self.newer, self.introduced_keywords)
        if not problems:
            return []
        span = analysis.lines.node_span
        looked_at = {p.start for p in problems}
        guarded = _guarded_spans(analysis.tree, span, looked_at)
        if "importorskip" in analysis.source:
            skipped = _skipped_by_importorskip(analysis.tree, span, self._older_than)
            if skipped is None:
                return []  # the whole module is skipped where the target is older: nothing in it runs there
            guarded.extend(skipped)
        problems = [p for p in problems if not _inside(p.start, guarded)]
        if not problems:
            return []
        found: list[Finding] = []
        confirmed = self._backward_findings(analysis, problems, options, path, module_name)
        covered = {(f.change.old, getattr(f.change, "old_keyword", None)) for f in confirmed}
        elsewhere = [f.start_offset for f in confirmed if f.start_offset not in looked_at]
        if elsewhere:  # a backward finding where no problem starts: its guards looked for too
            guarded = guarded + _guarded_spans(analysis.tree, span, elsewhere)
        found.extend(f for f in confirmed if not _inside(f.start_offset, guarded))
        seen: set[tuple[int, int, str | None]] = set()
        for problem in problems:
            key = (problem.name, problem.keyword)
            if key in covered or key in self.reported or (problem.start, problem.end, problem.keyword) in seen:
                continue
            seen.add((problem.start, problem.end, problem.keyword))
            change = self._change(problem)
            if not selected(change, options.select, options.ignore):
                continue
            if options.libraries is not None and change.library not in options.libraries:
                continue
            found.append(_finding(analysis, path, change, problem))
        from recode_lsp.engine.detector import _is_suppressed, suppressions

        suppressed = suppressions(analysis.source)
        if suppressed:
            found = [f for f in found if not _is_suppressed(f, suppressed)]
        if _TYPE_IGNORE.search(analysis.source):
            # ``platform.android_ver()  # type: ignore[attr-defined]``: the author knows the name may be
            # missing here and guards the call some other way (packaging's tags.py, for Python 3.13).
            lines = analysis.source.splitlines()
            found = [
                f
                for f in found
                if f.range.start.line >= len(lines) or not _TYPE_IGNORE.search(lines[f.range.start.line])
            ]
        found.sort(key=lambda finding: finding.sort_key())
        return found

    def _older_than(self, module: str, version: str) -> bool:
        """Whether the targeted release of the library ``module`` belongs to is older than ``version`` (a
        ``pytest.importorskip(module, minversion=version)`` then skips)."""
        inventory = self.inventories.get(module.split(".", 1)[0])
        target = self.targets.get(inventory.library) if inventory is not None else None
        if target is None:
            return False
        try:
            return target < Version(version)
        except ValueError:
            return False  # not a version: cannot tell

    def _scraped(self, problem: Problem) -> tuple[Version, str] | None:
        """The version that added a problem's name or keyword, as a chain of the library's releases says
        (recode_lsp/toonew/additions.py, read on the first finding of a run: only the message uses it)."""
        target = self.targets.get(problem.library)
        if target is None:
            return None
        from recode_lsp.toonew.additions import version_of

        scraped = version_of(problem.library, problem.name, target, keyword=problem.keyword)
        return (scraped, "") if scraped is not None else None

    def _change(self, problem: Problem) -> TooNewChange:
        inventory = next(i for i in self.inventories.values() if i.library == problem.library)
        base = _describe(CODE_KEYWORD if problem.keyword else CODE_NAME, problem.library)
        if problem.keyword is not None:
            known = self.introduced_keywords.get((problem.name, problem.keyword)) or self._scraped(problem)
            return dataclasses.replace(
                base,
                old=problem.name,
                old_keyword=problem.keyword,
                new_keyword=known[1] if known else None,
                release=inventory.version,
                introduced=known[0] if known else None,
            )
        known = self.introduced.get(problem.name)
        if known is None and problem.name in self.added:
            known = (self.added[problem.name], "")
        known = known or self._scraped(problem)
        older = known[1] if known and known[1] and inventory.resolve(known[1]).state == FOUND else None
        return dataclasses.replace(
            base, old=problem.name, new=older, release=inventory.version, introduced=known[0] if known else None
        )

    def _backward_findings(
        self,
        analysis: object,
        problems: Sequence[Problem],
        options: DetectOptions,
        path: str,
        module_name: str | None,
    ) -> list[Finding]:
        """Findings of the knowledge base read backward, kept where the release lacks the new name."""
        missing = {(p.name, p.keyword) for p in problems}
        wanted: list[ApiChange] = [c for c in self.backward if (c.old, c.old_keyword) in missing]
        if not wanted:
            return []
        from recode_lsp.engine.analysis import ModuleAnalysis
        from recode_lsp.engine.detector import detect

        assert isinstance(analysis, ModuleAnalysis)
        kb = KnowledgeBase(wanted)
        backward_options = DetectOptions(
            targets=dict(self.targets), select=options.select, ignore=options.ignore, libraries=options.libraries
        )
        found = detect(analysis.source, kb, backward_options, path, module_name, analysis=analysis)
        return [f for f in found if isinstance(f.change, TooNewChange)]

    def report_kb(self, kb: KnowledgeBase) -> KnowledgeBase:
        """``kb`` with this check's ids (``--format sarif`` and ``--statistics`` describe each id)."""
        extra: list[ApiChange] = [_describe(CODE_NAME, "too-new"), _describe(CODE_KEYWORD, "too-new")]
        extra += self.backward
        known = {change.id for change in kb.changes}
        return KnowledgeBase([*kb.changes, *(c for c in extra if c.id not in known)], fingerprint=kb.fingerprint)


#: ``import a.b as c, d`` and ``from a.b import (c as d, e)`` lines, read without parsing.
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.MULTILINE)
_FROM_LINE = re.compile(
    r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\((?:[^)#]|#[^\n]*\n)*\)|[^\n#;]+)", re.MULTILINE
)
#: A comment (in the parentheses of ``from a import (b,  # note``).
_COMMENT = re.compile(r"#[^\n]*")


def _few_calls(methods: Collection[str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each method with the pattern of its call (``.reshape(``), for :func:`_called_among`."""
    return tuple((method, re.compile(rf"\.{re.escape(method)}\s*\(")) for method in sorted(methods))


def _called_among(text: str, calls: Sequence[tuple[str, re.Pattern[str]]]) -> set[str]:
    """The methods of ``calls`` (:func:`_few_calls`) called in ``text``: what :func:`_called_pattern`'s
    ``findall`` finds, each method looked for as a string first (faster than a stop at every dot)."""
    called = set()
    for method, call in calls:
        first = text.find("." + method)
        if first != -1 and call.search(text, first):
            called.add(method)
    return called


def _called_pattern(methods: Collection[str]) -> re.Pattern[str]:
    """A call of one of ``methods`` after a dot (``.map(``), the method's name its group: what
    ``\\.(m1|m2|...)\\s*\\(`` finds, in a third fewer instructions: a dot is passed over at once unless
    the character after it starts one of the names, and the names share their prefixes (a trie, not one
    try each)."""
    if not methods:
        return _NEVER
    firsts = "".join(re.escape(first) for first in sorted({method[0] for method in methods}))
    return re.compile(rf"\.(?=[{firsts}])({_trie(sorted(methods))})\s*\(")


def _trie(words: Sequence[str]) -> str:
    """A pattern that matches exactly ``words`` (none empty), their common prefixes written once."""
    tree: dict[str, dict] = {}  # nested to any depth
    for word in words:
        node = tree
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}  # a word ends here

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(character) + emit(node[character]) for character in sorted(node) if character]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


def _chain_calls(text: str, alias: str, dotted: bool = False) -> list[tuple[str, str, str]]:
    """:meth:`TooNew._chain_calls` read by a loop: a use is the name with no name character or dot
    before it and no name character after it. ``dotted`` (``alias`` an identifier): only the uses a dot
    follows, found as such (``sparse.`` is rarer than ``sparse``, which ``issparse`` holds too)."""
    found: list[tuple[str, str, str]] = []
    size = len(alias)
    needle = alias + "." if dotted else alias
    position = text.find(needle)
    while position != -1:
        # The text's first character has nothing before it (not its last: no copy with a newline first).
        before, end = text[position - 1] if position else " ", position + size
        after = text[end : end + 1]
        if not (before.isalnum() or before in "._") and not (after.isalnum() or after == "_"):
            found.append(_CALL_AFTER.match(text, end).groups(""))  # type: ignore[union-attr,arg-type]  # matches ""
        position = text.find(needle, end)
    return found


def _continues(text: str, start: int) -> bool:
    """Whether the line before the one at ``start`` ends with a backslash (it goes on there)."""
    return start > 1 and text.endswith(("\\\n", "\\\r\n"), 0, start)


def _after_colon(statement: str) -> str:
    """What follows the last ``:`` before an import in a line (``if TYPE_CHECKING: import tnlib``)."""
    keyword = statement.find("import")
    colon = statement.rfind(":", 0, keyword) if keyword != -1 else -1
    return statement[colon + 1 :] if colon != -1 else ""


def _line_starts(text: str, offsets: list[int]) -> list[int]:
    """The starts of the lines (as ``\\n`` ends them) that hold ``offsets``, in order, each once: a
    prefilter's line start after a lone ``\\r`` or a byte-order mark is inside the line read here."""
    return sorted({text.rfind("\n", 0, offset) + 1 for offset in offsets})


def _prefilter_line_starts(text: str, starts: list[int]) -> list[int]:
    """:func:`_line_starts` of the prefilter's line starts (in order, each once): the same list where the
    text has no ``\\r`` and no byte-order mark (most modules), where they are these lines' starts."""
    if "\r" not in text and not text.startswith("\xef\xbb\xbf"):  # a byte-order mark, read as latin-1
        return starts
    return _line_starts(text, starts)


def _in_code(text: str, use: str) -> bool:
    """Whether some occurrence of ``use`` is code, not a comment or a docstring's prose (``numpy.arrays``
    in a sentence): only asked of uses that would make a parse. A count of quotes before it says so at
    once for most; where the count says prose, the strings and comments before it are read as the
    tokenizer reads them (``r"f'''(x)"`` holds three quotes and opens no docstring), once per call."""
    position = text.find(use)
    literals: Iterator[re.Match[str]] | None = None
    literal: re.Match[str] | None = None
    while position != -1:
        line = text.rfind("\n", 0, position) + 1
        if "#" not in text[line:position] and not (
            text.count('"""', 0, position) % 2 or text.count("'''", 0, position) % 2
        ):
            return True
        if literals is None:
            literals = _string_or_comment().finditer(text)
            literal = next(literals, None)
        while literal is not None and literal.end() <= position:
            literal = next(literals, None)
        if literal is None or literal.start() > position or not _prose(text, literal.start()):
            return True
        position = text.find(use, position + len(use))
    return False


@functools.cache
def _string_or_comment() -> re.Pattern[str]:
    """A comment or a string literal, as the tokenizer reads them: the prefilter's pattern for bytes
    (recode_lsp/engine/prefilter.py), for text (compiled where a count of quotes first says prose)."""
    from recode_lsp.engine.prefilter import STRING_OR_COMMENT

    return re.compile(STRING_OR_COMMENT.pattern.decode("ascii"), re.DOTALL)


def _prose(text: str, start: int) -> bool:
    """Whether the comment or string literal at ``start`` is text, not code: a comment, or a string that
    is no f-string (an f-string's replacement fields are code)."""
    if text[start] == "#":
        return True
    # The prefix is the letters just before the quote (``rb``, ``f``, ``Rf``).
    letters = start
    while letters > 0 and start - letters < 3 and text[letters - 1].isalpha():
        letters -= 1
    return "f" not in text[letters:start].lower()


#: Call arguments with up to two levels of nested parentheses.
_NESTED = r"[^()]*(?:\([^()]*(?:\([^()]*\)[^()]*)*\)[^()]*)*"
#: An attribute chain (``.linalg.norm``: dots without spaces around them, names that are identifiers:
#: prose in docstrings, ``numpy. If`` or ``numpy.org``, does not make a parse), and a call after it.
_CHAIN = r"(?:\.[A-Za-z_]\w*)*"
#: The chain after a use, and the call after the chain (its parenthesis and arguments: a look-ahead, so
#: that a use inside the arguments is read too; both empty where no call is, or where it nests deeper).
_CALL_AFTER = re.compile(rf"({_CHAIN})(?:(?=(\s*\()({_NESTED})\)))?")
#: A use's chain (:meth:`TooNew._chain_calls`).
_CHAIN_OF = operator.itemgetter(0)
#: A name as a chain's parts are (:meth:`TooNew._mentions`).
_NAME = re.compile(r"[A-Za-z_]\w*")
#: At most this many newer methods are each looked for as a string (``str`` search), not by the pattern.
_FEW_METHODS = 2
#: A standard-library module with at most this many newer names is looked for them before its chains.
_FEW_WORDS = 3
#: Kinds of import line (:meth:`TooNew._line_kind`).
_IMPORT, _FROM = 1, 2
#: Which uses of an imported name can be reported (:meth:`TooNew._reportable_uses`).
_NO_USE, _DOTTED_USES, _ALL_USES = 0, 1, 2
#: What a chain may make the pre-check report (:meth:`TooNew._action`); a chain not yet worked out.
_NOTHING = None
_UNSEEN = (0, "")
_MISSING_NAME, _MISSING_MEMBER, _KEYWORDS = 1, 2, 3
#: A pattern that never matches: no method or keyword is newer than a targeted release.
_NEVER = re.compile(r"(?!x)x")
#: Occurrences of an imported name, over the run, before it gets a compiled pattern (:meth:`TooNew._chain_calls`).
_COMPILE_AFTER = 256
_PARENTHESISED = re.compile(r"\([^()]*\)")
#: A keyword of the call itself: first, after a comma, or first on its line (after a comment line:
#: ``f(a,  # note`` then ``b=1``).
_OWN_KEYWORD = re.compile(r"(?:^|[,\n])\s*(\w+)\s*=(?!=)")
#: A ``name=`` in a call's arguments where a keyword may be, nested calls' included (a quick first test:
#: :data:`_OWN_KEYWORD` finds the call's own among them). Where it may be, not any ``name=``: a pattern
#: that starts at every name character read the arguments three times slower.
_ANY_KEYWORD = re.compile(r"(?:^|[(,\n])\s*(\w+)\s*=(?!=)")


def _own_keywords(arguments: str) -> list[str]:
    """The keywords of a call's own arguments (a nested call's are removed first)."""
    for _ in range(2):
        arguments = _PARENTHESISED.sub("", arguments)
    return _OWN_KEYWORD.findall(arguments)


def _backward(change: ApiChange, version: Version, by_top: Mapping[str, Inventory]) -> TooNewChange | None:
    """``change`` read backward (the new spelling back to the old), when the targeted release has the
    old spelling and lacks the new one (checked per module against the uses)."""
    if change.fix is FixSafety.DISPLAY_ONLY or change.rule or change.template or change.old_value:
        return None
    inventory = by_top.get(change.old.split(".", 1)[0])
    if inventory is None:
        return None
    if change.kind is ChangeKind.KEYWORD_RENAME:
        if not (change.old_keyword and change.new_keyword):
            return None
        callee = change.new or change.old
        resolved = inventory.resolve(callee)
        if resolved.state != FOUND or resolved.canonical is None:
            return None
        if inventory.accepts(resolved.canonical, change.new_keyword) is not False:
            return None  # the new keyword is there (or cannot tell): nothing to fix
        if inventory.accepts(resolved.canonical, change.old_keyword) is not True:
            return None
        old, new, old_keyword, new_keyword = callee, change.old, change.new_keyword, change.old_keyword
    elif change.kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE) and change.new:
        if inventory.resolve(change.old).state != FOUND or inventory.resolve(change.new).state != MISSING:
            return None
        old, new, old_keyword, new_keyword = change.new, change.old, None, None
    else:
        return None
    return TooNewChange(
        id=f"{BACKWARD_PREFIX}{change.id}",
        library=change.library,
        old=old,
        kind=change.kind,
        scope=change.scope,
        new=new,
        replacement=None,
        template=None,
        template_on=None,
        old_keyword=old_keyword,
        new_keyword=new_keyword,
        deprecated_in=None,
        removed_in=None,
        note=f"{change.id} read backward: the targeted release predates `{change.new or change.old}`",
        doc=None,
        source=f"{change.id} ({change.source})",
        fix=change.fix,
        release=inventory.version,
        introduced=version,
    )


# --- finding the uses --------------------------------------------------------------------------


def _problems(
    analysis: object,
    inventories: Mapping[str, Inventory],
    newer: Collection[str],
    newer_keywords: Collection[tuple[str, str]] = (),
) -> list[Problem]:
    """Uses of missing names and keywords; ``newer``: names the knowledge base knows were introduced
    later (a name missing from a class with a ``__getattr__`` is reported only then)."""
    from recode_lsp.engine.analysis import ModuleAnalysis

    assert isinstance(analysis, ModuleAnalysis)
    problems: list[Problem] = []
    span = analysis.lines.node_span

    def missing(inventory: Inventory, name: str) -> Resolution | None:
        resolved = inventory.resolve(name)
        return resolved if _walk_reports(resolved, name, newer) else None

    for statement in analysis.imports:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                inventory = inventories.get(alias.name.split(".", 1)[0])
                if inventory is not None and missing(inventory, alias.name):
                    problems.append(Problem(inventory.library, alias.name, None, *span(alias)))
        elif statement.level == 0 and statement.module:
            inventory = inventories.get(statement.module.split(".", 1)[0])
            if inventory is None:
                continue
            if missing(inventory, statement.module):
                problems.append(Problem(inventory.library, statement.module, None, *span(statement)))
                continue
            for alias in statement.names:
                if alias.name == "*":
                    continue
                name = f"{statement.module}.{alias.name}"
                if missing(inventory, name):
                    problems.append(Problem(inventory.library, name, None, *span(alias)))

    # Names bound by imports of a checked library (``np``, ``trapezoid``): only chains rooted at them
    # can resolve into a release; receivers' methods and keywords only matter when known to be newer.
    bound = {
        (alias.asname or alias.name).split(".", 1)[0]
        for statement in analysis.imports
        for alias in statement.names
        if ((statement.module or "") if isinstance(statement, ast.ImportFrom) else alias.name).split(".", 1)[0]
        in inventories
        and not (isinstance(statement, ast.ImportFrom) and statement.level)
    }
    newer_members = _last_parts(frozenset(newer))
    newer_methods = _last_parts(frozenset(callee for callee, _ in newer_keywords))
    qname_of = _qualifier(analysis, bound)
    inner = {id(e.value) for e in analysis.expressions if isinstance(e, ast.Attribute)}
    callees = {id(e.func): e for e in analysis.expressions if isinstance(e, ast.Call)}
    for expression in analysis.expressions:
        if isinstance(expression, ast.Attribute) and id(expression) not in inner:
            called = id(expression) in callees
            if _root(expression) in bound or (called and expression.attr in newer_members):
                _attribute(analysis, expression, inventories, called, missing, newer, qname_of, problems)
        elif isinstance(expression, ast.Call) and expression.keywords:
            func = expression.func
            if _root(func) in bound or (isinstance(func, ast.Attribute) and func.attr in newer_methods):
                _keywords(analysis, expression, inventories, newer_keywords, qname_of, problems)
    return problems


def _walk_reports(resolved: Resolution, name: str, newer: Collection[str]) -> bool:
    """Whether the walk reports ``name``, resolved so, as missing (:func:`_problems`; the pre-check asks
    the same to agree with it): its last part alone missing, not a name under a missing package (a
    release's wheels differ in their subpackages: NumPy 1.26 has no ``distutils`` for Python 3.12), and a
    miss under a soft container only for a name known to be newer."""
    return resolved.state == MISSING and resolved.present == name.count(".") and (not resolved.soft or name in newer)


def _imported_tops(imports: Iterable[ast.stmt]) -> set[str]:
    """The top-level modules a module's absolute imports name."""
    tops: set[str] = set()
    for statement in imports:
        if isinstance(statement, ast.Import):
            tops.update(alias.name.split(".", 1)[0] for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and not statement.level and statement.module:
            tops.add(statement.module.split(".", 1)[0])
    return tops


@functools.lru_cache(maxsize=64)
def _last_parts(names: frozenset[str]) -> frozenset[str]:
    return frozenset(name.rpartition(".")[2] for name in names)


def _qualifier(analysis: object, bound: Collection[str]) -> Callable[[ast.expr], str | None]:
    """``analysis.qualified_name``, with a shortcut for names one module-level import binds and nothing
    rebinds in any scope (``import numpy as np``): no scope lookup for each of their thousand uses."""
    from recode_lsp.engine.analysis import ModuleAnalysis, dotted_parts

    assert isinstance(analysis, ModuleAnalysis)
    scopes = {id(scope): scope for scope in [analysis.module_scope, *analysis.scope_of.values()]}
    counts: dict[str, int] = {}
    for scope in scopes.values():
        for name in bound:
            counts[name] = counts.get(name, 0) + len(scope.bindings.get(name, ())) + (name in scope.globals)
    unique: dict[str, str] = {}
    for name in bound:
        found = analysis.module_scope.bindings.get(name, [])
        if counts.get(name) == 1 and len(found) == 1 and found[0].kind in ("import", "import_from") and found[0].qname:
            unique[name] = found[0].qname

    def qualified(node: ast.expr) -> str | None:
        root = _root(node)
        if root in unique:
            parts = dotted_parts(node)
            if parts is not None:
                return ".".join([unique[root], *parts[1:]])
        return analysis.qualified_name(node)

    return qualified


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _attribute(
    analysis: object,
    node: ast.Attribute,
    inventories: Mapping[str, Inventory],
    called: bool,
    missing: Callable[[Inventory, str], Resolution | None],
    newer: Collection[str],
    qname_of: Callable[[ast.expr], str | None],
    out: list[Problem],
) -> None:
    from recode_lsp.engine.analysis import ModuleAnalysis

    assert isinstance(analysis, ModuleAnalysis)
    qname = qname_of(node)
    if qname is not None:
        inventory = inventories.get(qname.split(".", 1)[0])
        if inventory is None:
            return
        resolved = missing(inventory, qname)
        if resolved is None or (resolved.owner_kind == "class" and not called):
            return
        # The attribute node whose chain ends at the first missing part.
        parts = qname.split(".")
        extra = len(parts) - (resolved.present + 1)
        target: ast.expr = node
        for _ in range(extra):
            if not isinstance(target, ast.Attribute):
                return
            target = target.value
        if not isinstance(target, ast.Attribute):
            return  # the missing part is the imported name itself: the import is reported
        out.append(Problem(inventory.library, ".".join(parts[: resolved.present + 1]), None, *_span(analysis, target)))
        return
    if not called:
        return  # members of typed receivers: only methods called (attributes may be set anywhere)
    # A receiver's class is inferred (``x = np.asarray(...)`` may be rebound to an Index later): only
    # methods the knowledge base knows were introduced later are reported on it.

    receiver = analysis.expression_type(node.value)
    if receiver is None:
        return
    inventory = inventories.get(receiver.split(".", 1)[0])
    if inventory is None:
        return
    name = f"{receiver}.{node.attr}"
    resolved = missing(inventory, name) if name in newer else None
    if resolved is not None and resolved.present == len(name.split(".")) - 1 and resolved.owner_kind == "class":
        out.append(Problem(inventory.library, name, None, *_span(analysis, node)))


def _keywords(
    analysis: object,
    call: ast.Call,
    inventories: Mapping[str, Inventory],
    newer: Collection[tuple[str, str]],
    qname_of: Callable[[ast.expr], str | None],
    out: list[Problem],
) -> None:
    from recode_lsp.engine.analysis import ModuleAnalysis

    assert isinstance(analysis, ModuleAnalysis)
    func = call.func
    qname = qname_of(func)
    if qname is None and isinstance(func, ast.Attribute):
        receiver = analysis.expression_type(func.value)
        qname = f"{receiver}.{func.attr}" if receiver is not None else None
        # The receiver's class is inferred: the object may be a subclass whose override takes more
        # keywords (``MultiIndex.format(sparsify=)``). Only keywords known to be newer are reported.
        typed = True
    else:
        typed = False
    if qname is None:
        return
    inventory = inventories.get(qname.split(".", 1)[0])
    if inventory is None:
        return
    resolved = inventory.resolve(qname)
    if resolved.state != FOUND or resolved.canonical is None:
        return
    for keyword in call.keywords:
        if keyword.arg is None or (typed and (qname, keyword.arg) not in newer):
            continue
        if inventory.accepts(resolved.canonical, keyword.arg) is False:
            out.append(Problem(inventory.library, qname, keyword.arg, *_span(analysis, keyword)))


#: A type checker told to accept a line: its author knows a name there may be missing.
_TYPE_IGNORE = re.compile(r"#\s*(?:type|pyright)\s*:\s*ignore")
#: An ``if`` test that asks which release is there: ``hasattr(np, "trapezoid")``, ``np_version >= ...``,
#: ``sys.version_info``, ``PY3``, ``_lt``/``_gte``/``_under`` flags, and the flags projects name after a
#: release (astropy's ``NUMPY_LT_1_18``, statsmodels' ``SP_LT_15``, ``PANDAS_GE_20``).
_VERSION_TEST = re.compile(
    r"hasattr|version|_lt\b|_le\b|_gt\b|_gte?\d|_(?:[lg]te?|l[et]|ge)_?\d|_under|PY\d|IS_", re.IGNORECASE
)
#: Statements whose bodies do not run where they stand (a module's tests; what runs on its import is apart).
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: Exceptions whose handler makes the ``try`` body a feature test (``try: np.trapezoid except AttributeError``).
_FEATURE_ERRORS = frozenset(
    {"ImportError", "ModuleNotFoundError", "AttributeError", "TypeError", "Exception", "BaseException"}
)


def _guarded_spans(
    tree: ast.AST, span: Callable[[ast.AST], tuple[int, int]], offsets: Iterable[int]
) -> list[tuple[int, int]]:
    """Source spans that hold one of ``offsets`` and whose code runs only on some releases, or is meant
    to fail: both branches of an ``if`` that tests for a name or a version, ``try`` bodies that catch
    ``ImportError`` / ``AttributeError`` / ``TypeError``, ``with pytest.raises(...)`` /
    ``self.assertRaises(...)`` blocks that expect one of those (a test that a missing name or keyword
    fails), a test skipped (or expected to fail) by a version condition (``@pytest.mark.skipif(...)``, or
    ``pytestmark = ...`` for each test of the module), and the body of ``if TYPE_CHECKING:`` (never run).
    Code there is written so on purpose; nothing in it is reported.

    Only the nodes whose span holds an offset are looked into (a node's children lie inside its span),
    not the whole tree: a walk of every node of a large module cost more than the rest of the check
    there (3 ms for a 300 kB test module). A decorated definition starts at its ``def`` line, after its
    decorators, and an f-string's fields had no reliable positions before Python 3.12: those are
    looked into whatever their span."""
    wanted = sorted(set(offsets))
    spans: list[tuple[int, int]] = []
    if isinstance(tree, ast.Module) and any(_marks_module(statement) for statement in tree.body):
        # Every test of the module is skipped on some releases; what runs on import is not.
        spans.extend(span(statement) for statement in tree.body if isinstance(statement, _DEFINITIONS))
    stack = [tree]
    while stack:
        for node in ast.iter_child_nodes(stack.pop()):
            if getattr(node, "end_lineno", None) is not None:
                start, end = span(node)
                index = bisect.bisect_left(wanted, start)
                holds = index < len(wanted) and wanted[index] < end
                if not holds and not getattr(node, "decorator_list", None) and not isinstance(node, ast.JoinedStr):
                    continue
                if holds and _guards(node):
                    spans.append((start, end))
                elif isinstance(node, ast.If) and _type_checking(node.test) and node.body:
                    spans.append((span(node.body[0])[0], span(node.body[-1])[1]))
            stack.append(node)
    return spans


def _skipped_by_importorskip(
    tree: ast.AST, span: Callable[[ast.AST], tuple[int, int]], older_than: Callable[[str, str], bool]
) -> list[tuple[int, int]] | None:
    """The spans of the functions that ``pytest.importorskip(module, minversion=V)`` skips where the
    target of ``module`` is older than ``V`` (a test of newer NumPy: ``pytest.importorskip("numpy", "2.0")``), or
    None where a module-level call skips the whole module so."""
    if not isinstance(tree, ast.Module):
        return []

    def skips(node: ast.AST) -> bool:
        return any(
            isinstance(call, ast.Call) and _last_name(call.func) == "importorskip" and _skips_below(call, older_than)
            for call in ast.walk(node)
        )

    if any(skips(statement) for statement in tree.body if not isinstance(statement, _DEFINITIONS)):
        return None
    return [
        span(node)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(skips(statement) for statement in node.body if not isinstance(statement, _DEFINITIONS))
    ]


def _skips_below(call: ast.Call, older_than: Callable[[str, str], bool]) -> bool:
    """Whether ``importorskip(module, minversion)`` skips at the module's target."""
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    module = call.args[0] if call.args else keywords.get("modname")
    minimum = call.args[1] if len(call.args) > 1 else keywords.get("minversion")
    if not (isinstance(module, ast.Constant) and isinstance(module.value, str)):
        return False
    if not (isinstance(minimum, ast.Constant) and isinstance(minimum.value, str)):
        return False
    return older_than(module.value, minimum.value)


def _type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``: true for type checkers only."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _guards(node: ast.AST) -> bool:
    if isinstance(node, (ast.If, ast.IfExp, ast.While)):
        return _asks_release(node.test)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return any(_expects_failure(item.context_expr) for item in node.items)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return any(_skipped_on_some_releases(decorator) for decorator in node.decorator_list)
    return isinstance(node, ast.Try) and any(_feature_test(h.type) for h in node.handlers)


#: Decorators that run a test only where their condition says (``pytest.mark.skipif``, ``unittest.skipIf``,
#: ``skipUnless``), or expect it to fail there (``pytest.mark.xfail``).
_CONDITIONAL_TESTS = frozenset({"skipif", "skipIf", "skipUnless", "xfail"})


def _marks_module(statement: ast.stmt) -> bool:
    """``pytestmark = pytest.mark.skipif(<a version test>, ...)``, or a list of marks that holds one: pytest
    skips every test of the module on some releases."""
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    else:
        return False
    if statement.value is None or not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
        return False
    value = statement.value
    marks = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
    return any(_skipped_on_some_releases(mark) for mark in marks)


def _skipped_on_some_releases(decorator: ast.expr) -> bool:
    """``@pytest.mark.skipif(pd.__version__ < "1.2", ...)``, ``@unittest.skipUnless(hasattr(np, "x"), ...)``:
    a test (function or class) that runs only on the releases its condition asks for (seaborn 0.11.2's test
    of ``pd.Float64Dtype``, skipped before pandas 1.2, was reported)."""
    if not isinstance(decorator, ast.Call) or _last_name(decorator.func) not in _CONDITIONAL_TESTS:
        return False
    conditions = [*decorator.args[:1], *(k.value for k in decorator.keywords if k.arg == "condition")]
    return any(_asks_release(condition) for condition in conditions)


def _asks_release(test: ast.expr) -> bool:
    """Whether a condition asks which release is there (:data:`_VERSION_TEST`)."""
    return _VERSION_TEST.search(ast.unparse(test)) is not None


def _last_name(node: ast.expr) -> str:
    """``raises`` for ``pytest.raises``, ``TypeError`` for ``TypeError``; empty for anything else."""
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _expects_failure(context: ast.expr) -> bool:
    """``pytest.raises(TypeError)``, ``self.assertRaises(ImportError)``, ``assert_raises(...)``: a context
    that expects a feature test's exception (its first argument)."""
    if not isinstance(context, ast.Call) or not context.args:
        return False
    return _last_name(context.func) in _EXPECTING_CONTEXTS and _feature_test(context.args[0])


#: Context managers that expect their first argument, an exception, to be raised in the block.
_EXPECTING_CONTEXTS = frozenset(
    {"raises", "assertRaises", "assertRaisesRegex", "assert_raises", "assert_raises_regex"}
)


def _feature_test(caught: ast.expr | None) -> bool:
    if caught is None:
        return True
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(_last_name(name) in _FEATURE_ERRORS for name in names)


def _inside(offset: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= offset < end for start, end in spans)


def _span(analysis: object, node: ast.AST) -> tuple[int, int]:
    from recode_lsp.engine.analysis import ModuleAnalysis

    assert isinstance(analysis, ModuleAnalysis)
    return analysis.lines.node_span(node)


def _finding(analysis: object, path: str, change: TooNewChange, problem: Problem) -> Finding:
    from recode_lsp.engine.analysis import ModuleAnalysis

    assert isinstance(analysis, ModuleAnalysis)
    from recode_lsp.engine.model import Finding, Position, Range, Site

    start = Position(*analysis.lines.position(problem.start))
    end = Position(*analysis.lines.position(problem.end))
    site = Site.KEYWORD if problem.keyword else Site.QUALIFIED
    return Finding(path, Range(start, end), change, Severity.ERROR, site, problem.start, problem.end)
