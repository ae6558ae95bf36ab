"""Scrape API changes between releases of a library into knowledge-base entries.

One pass over a chain of releases ``V1 < V2 < ... < Vn`` (two releases are a chain of two): each
release is read once, statically (griffe with ``allow_inspection=False`` plus :mod:`ast` for the
markers griffe cannot see, :mod:`recode_lsp.kb.markers`), consecutive releases are compared, and
the facts found for one API are merged, so that ``deprecated_in``, ``removed_in`` and
``restored_in`` name the first release where each happened.

Every entry follows ``docs/knowledge-base.md`` and passes :func:`recode_lsp.engine.knowledge.parse_entry`;
``confidence`` (0..1) and ``provenance`` (library, both versions, file and line of the evidence)
travel beside the record (:class:`ScrapedEntry`); :mod:`recode_lsp.kb.overlay` writes them as the
entry's last two keys.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from recode_lsp.api_docs import _describe
from recode_lsp.engine.knowledge import FIELDS, KnowledgeBaseError, parse_entry
from recode_lsp.engine.versions import Version
from recode_lsp.kb import replacement as replacement_module
from recode_lsp.kb.markers import Marker, Package, release_markers
from recode_lsp.kb.releases import Release

#: Confidence of each kind of evidence (how often it is right on inspection).
CONFIDENCE = {
    "removed": 0.9,
    "raising stub": 0.85,
    "__getattr__ table": 0.9,
    "__getattr__": 0.85,
    "decorator": 0.9,
    "warnings.warn": 0.85,
    "parameter warning": 0.75,
    "behaviour": 0.6,
    "parameter removed": 0.9,
    "keyword moved": 0.75,
    "default changed": 0.8,
    "sentinel default": 0.8,
}
#: Similarity (0..100) above which a removed and an added object are taken as one moved object.
MOVE_SAME_NAME = 80.0
RENAME_SIMILAR = 90.0
#: Schema keys of every record, in order; ``restored_in`` only when set, and ``confidence`` /
#: ``provenance`` kept beside the record (:class:`ScrapedEntry`) until :mod:`recode_lsp.kb.overlay`
#: writes them.
_RECORD_FIELDS = tuple(k for k in FIELDS if k not in ("restored_in", "confidence", "provenance"))
#: The ``doc`` text is cut here (hover and prompts want the gist, not the whole docstring).
DOC_LIMIT = 800


@dataclass
class Snapshot:
    """One release, read: its public names, the objects they point to, and its markers."""

    release: Release
    module: Any
    #: Public path -> griffe object it names (aliases resolved).
    objects: dict[str, Any]
    #: Canonical path -> public paths that name it, shortest first.
    public_of: dict[str, list[str]]
    #: Markers by public path and keyword.
    markers: dict[tuple[str, str | None], Marker]
    _public_cache: dict[str, str | None] = field(default_factory=dict)

    def public(self, canonical: str) -> str | None:
        """The shortest public path of the object at ``canonical`` (members through their class)."""
        if canonical in self._public_cache:
            return self._public_cache[canonical]
        names = list(self.public_of.get(canonical, ()))
        owner, _, name = canonical.rpartition(".")
        if owner and not name.startswith("_"):
            parent = self.public(owner)
            if parent:
                names.append(f"{parent}.{name}")
        best = min(names, key=_shortness) if names else None
        self._public_cache[canonical] = best
        return best

    def lookup(self, path: str) -> Any | None:
        """The object ``path`` names, following re-exported classes to their members."""
        found = self.objects.get(path)
        if found is not None:
            return found
        owner, _, name = path.rpartition(".")
        parent = self.objects.get(owner)
        if parent is None or not parent.is_class:
            return None
        try:
            member = parent.all_members.get(name)
            return member.final_target if member is not None and member.is_alias else member
        except Exception:  # noqa: BLE001 - an inheritance griffe cannot resolve
            return None

    def exists(self, path: str) -> bool:
        return self.lookup(path) is not None

    def stubbed(self, path: str) -> bool:
        marker = self.markers.get((path, None))
        return marker is not None and marker.state == "removed"


def _load(release: Release) -> Any:
    """The griffe tree of ``release`` (static: never imported)."""
    import griffe

    logging.getLogger("griffe").setLevel(logging.ERROR)
    loader = griffe.GriffeLoader(search_paths=[str(release.root)], allow_inspection=False, store_source=False)
    module = loader.load(release.top, submodules=True)
    loader.resolve_aliases(implicit=False, external=None)
    return module


def read(release: Release, *, markers: Sequence[Marker] | None = None, module: Any = None) -> Snapshot:
    """Read ``release`` statically (never imported); ``markers``/``module`` when already computed."""
    import griffe

    if module is None:
        module = _load(release)
    objects: dict[str, Any] = {}
    public_of: dict[str, list[str]] = {module.path: [module.path]}
    _walk(module, module.path, release.top, objects, public_of, griffe)
    for names in public_of.values():
        names.sort(key=_shortness)
    if markers is None:
        markers = Package(release.root, release.top).markers()
    snapshot = Snapshot(release, module, objects, public_of, {})
    for marker in markers:
        path = snapshot.public(marker.path)
        if path is None:
            continue
        key = (path, marker.keyword)
        # The strongest evidence wins: a removal over a deprecation, a decorator or warning over a
        # sentinel default (which only says that a parameter is deprecated).
        known = snapshot.markers.get(key)
        if known is None or _strength(marker) > _strength(known):
            snapshot.markers[key] = marker
    return snapshot


def _strength(marker: Marker) -> int:
    if marker.state == "removed":
        return 3
    if marker.evidence == "sentinel default":
        return 0
    return 1 if marker.behaviour else 2


def read_all(releases: Sequence[Release], *, workers: int | None = None) -> list[Snapshot]:
    """Read every release: the :mod:`ast` marker scans run in worker processes while this one
    loads the griffe trees (griffe objects do not cross processes; markers do)."""
    count = min(len(releases), workers if workers is not None else (os.cpu_count() or 1))
    if count < 2:
        return [read(release) for release in releases]
    with ProcessPoolExecutor(max_workers=count) as pool:
        pending = [pool.submit(release_markers, release.root, release.top) for release in releases]
        modules = [_load(release) for release in releases]
        found = [future.result() for future in pending]
    return [read(r, markers=m, module=t) for r, m, t in zip(releases, found, modules, strict=True)]


def _shortness(name: str) -> tuple[int, int, str]:
    return (name.count("."), len(name), name)


def _walk(
    obj: Any, prefix: str, top: str, objects: dict[str, Any], public_of: dict[str, list[str]], griffe: Any
) -> None:
    for name, member in list(obj.members.items()):
        if name.startswith("_"):
            continue
        target = member
        if member.is_alias:
            try:
                target = member.final_target
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            if not (target.path == top or target.path.startswith(top + ".")):
                continue
            # Names imported into a package's __init__ are its public API even without __all__.
            exported = obj.is_module and (name in (obj.exports or ()) or (obj.is_init_module and not obj.exports))
            if not exported:
                continue
        elif obj.is_module and not member.is_module and obj.exports and name not in obj.exports:
            continue
        path = f"{prefix}.{name}"
        if path in objects:
            continue
        objects[path] = target
        public_of.setdefault(target.path, []).append(path)
        if member.is_alias:
            continue
        if target.is_module or target.is_class:
            _walk(target, path, top, objects, public_of, griffe)


@dataclass
class Evidence:
    file: str
    line: int
    what: str
    old_version: str
    new_version: str


@dataclass
class Fact:
    """What was learnt about one API (one ``old`` and keyword), merged over the chain."""

    old: str
    keyword: str | None
    scope: str
    #: ``object`` (the API itself), ``keyword`` (one parameter) or ``behaviour`` (default, meaning).
    about: str
    deprecated_in: str | None = None
    removed_in: str | None = None
    restored_in: str | None = None
    message: str = ""
    alternative: str | None = None
    new: str | None = None
    new_keyword: str | None = None
    #: How ``new`` was found: ``message`` or ``similarity``.
    matched: str | None = None
    similarity: float = 0.0
    confidence: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)


def _version_le(a: str, b: str) -> bool:
    return Version(a) <= Version(b)


def _present(snapshot: Snapshot, path: str, keyword: str | None, marker: Marker | None) -> bool:
    """Whether user code still reaches the API in ``snapshot``: the object (or a deprecation table
    that still hands it out), or the parameter in its signature."""
    if keyword is not None:
        return keyword in {p.name for p in _parameters(snapshot.lookup(path))}
    if snapshot.exists(path):
        return True
    return marker is not None and marker.state == "deprecated" and marker.evidence.startswith("__getattr__")


def _earliest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if Version(a) <= Version(b) else b


class Scraper:
    """Compare consecutive releases of one library and collect :class:`Fact` s."""

    def __init__(self, library: str, snapshots: Sequence[Snapshot]) -> None:
        if len(snapshots) < 2:
            raise ValueError("a scrape needs at least two releases")
        self.library = library
        self.snapshots = list(snapshots)
        self.facts: dict[tuple[str, str | None], Fact] = {}

    # --- collecting ----------------------------------------------------------------

    def _fact(self, old: str, keyword: str | None, scope: str, about: str) -> Fact:
        key = (old, keyword)
        fact = self.facts.get(key)
        if fact is None:
            fact = self.facts[key] = Fact(old, keyword, scope, about)
        elif about == "object" and fact.about == "behaviour":
            fact.about = "object"  # a deprecation or removal of the API says more than a default
        return fact

    @staticmethod
    def _note(fact: Fact, evidence: Evidence, confidence: float, message: str = "") -> None:
        fact.evidence.append(evidence)
        fact.confidence = max(fact.confidence, confidence)
        if message and not fact.message:
            fact.message = message

    def _deprecated_before(self, fact: Fact, earlier: Marker, where: Evidence, a: str) -> None:
        """What the old release's deprecation of a since-removed API said: since when, why, instead of what."""
        fact.deprecated_in = _earliest(fact.deprecated_in, earlier.since or a)
        if not fact.message:
            fact.message = earlier.message
        if earlier.alternative and not fact.alternative:
            fact.alternative = earlier.alternative
        if earlier.new_keyword and not fact.new_keyword:
            fact.new_keyword = earlier.new_keyword
        if not any((e.file, e.line) == (where.file, where.line) for e in fact.evidence):
            fact.evidence.append(where)

    @staticmethod
    def _names_replacement(marker: Marker) -> bool:
        return bool(marker.alternative) or next(replacement_module.candidates(marker.message), None) is not None

    def run(self) -> list[Fact]:
        for before, after in zip(self.snapshots, self.snapshots[1:], strict=False):
            self._pair(before, after)
        self._restorations()
        return sorted((f for f in self.facts.values() if _user_facing(f.old)), key=lambda f: (f.old, f.keyword or ""))

    def _scope(self, snapshot: Snapshot, path: str) -> str:
        owner = snapshot.lookup(path.rpartition(".")[0])
        return "member" if owner is not None and owner.is_class else "module"

    def _pair(self, old: Snapshot, new: Snapshot) -> None:
        a, b = old.release.label, new.release.label

        def evidence(marker_or_file: Marker | tuple[str, int], what: str) -> Evidence:
            if isinstance(marker_or_file, Marker):
                return Evidence(marker_or_file.file, marker_or_file.line, what, a, b)
            return Evidence(marker_or_file[0], marker_or_file[1], what, a, b)

        # 1. Markers in the new release (deprecations, stubs, __getattr__ tables).
        for (path, keyword), marker in new.markers.items():
            scope = self._scope(new, path) if path in new.objects else self._scope(old, path)
            earlier = old.markers.get((path, keyword))
            if marker.state == "removed":
                if path not in old.objects and earlier is None:
                    continue  # a stub for something the old release did not have either
                fact = self._fact(path, keyword, scope, "object")
                fact.removed_in = _earliest(fact.removed_in, a if earlier and earlier.state == "removed" else b)
                if earlier is not None and earlier.state == "deprecated":
                    fact.deprecated_in = _earliest(fact.deprecated_in, earlier.since or a)
                self._note(
                    fact, evidence(marker, marker.evidence), CONFIDENCE.get(marker.evidence, 0.85), marker.message
                )
                continue
            about = "behaviour" if marker.behaviour else ("keyword" if keyword else "object")
            if (
                not marker.behaviour
                and marker.removal is not None
                and _version_le(marker.removal, b)
                and not _present(new, path, keyword, marker)
            ):
                # "will be removed in X", X has come, and the API is really gone: a removal.
                fact = self._fact(path, keyword, scope, about)
                if _present(old, path, keyword, earlier):
                    gone_in = b
                else:
                    gone_in = marker.removal if _version_le(marker.removal, a) else a
                fact.removed_in = _earliest(fact.removed_in, gone_in)
                since = marker.since or (earlier.since if earlier is not None else None)
                fact.deprecated_in = _earliest(fact.deprecated_in, since or a)
                if marker.alternative and not fact.alternative:
                    fact.alternative = marker.alternative
                if marker.new_keyword and not fact.new_keyword:
                    fact.new_keyword = marker.new_keyword
                self._note(fact, evidence(marker, marker.evidence), CONFIDENCE["removed"], marker.message)
                continue
            fact = self._fact(path, keyword, scope, about)
            fact.deprecated_in = _earliest(fact.deprecated_in, marker.since or (a if earlier is not None else b))
            if marker.new_keyword:
                fact.new_keyword = marker.new_keyword
            if marker.alternative and not fact.alternative:
                fact.alternative = marker.alternative
            kind = marker.evidence if marker.evidence in CONFIDENCE else "decorator"
            if marker.evidence.startswith("@"):
                kind = "decorator"
            if keyword and kind == "warnings.warn":
                kind = "parameter warning"
            if marker.behaviour:
                kind = "behaviour"
            self._note(fact, evidence(marker, marker.evidence), CONFIDENCE[kind], marker.message)

        def old_deprecation(path: str, keyword: str | None = None) -> Marker | None:
            marker = old.markers.get((path, keyword))
            return marker if marker is not None and marker.state == "deprecated" and not marker.behaviour else None

        # 2. Public names of the old release that the new one lacks.
        removed = [p for p in old.objects if p not in new.objects and (p, None) not in new.markers]
        gone = set(removed)
        # One entry per object: under its shortest public name when that name went too.
        removed = [
            p
            for p in removed
            if (old.public(old.objects[p].path) or p) == p or old.public(old.objects[p].path) not in gone
        ]
        added = [p for p in new.objects if p not in old.objects]
        moves = self._moves(old, new, removed, added)
        for path in removed:
            owner = path.rpartition(".")[0]
            ancestors = [".".join(path.split(".")[:n]) for n in range(1, path.count(".") + 1)]
            covered = any(a in old.objects and a not in new.objects for a in ancestors) and path not in moves
            if covered and old_deprecation(path) is None:
                continue  # inside a removed module or class: the entry for that covers it (unless it said more)
            if self._scope(old, path) == "member" and owner not in old.objects:
                continue
            target = old.objects[path]
            fact = self._fact(path, None, self._scope(old, path), "object")
            fact.removed_in = _earliest(fact.removed_in, b)
            # A module-level constant is often an implementation detail that happened to be public.
            weight = CONFIDENCE["removed"] if (target.is_function or target.is_class or target.is_module) else 0.6
            self._note(fact, evidence(_where(target, old), "removed"), weight)
            earlier = old_deprecation(path)
            if earlier is not None:
                self._deprecated_before(fact, earlier, evidence(earlier, f"{earlier.evidence} (deprecation)"), a)
            if path in moves and fact.new is None and not (earlier is not None and self._names_replacement(earlier)):
                fact.new, fact.similarity = moves[path]
                fact.matched = "similarity"
        # Names only a deprecation table of the old release provided (``__getattr__``), gone now.
        for (path, keyword), earlier in old.markers.items():
            if (
                keyword is not None
                or earlier.state != "deprecated"
                or earlier.behaviour
                or path in old.objects
                or new.exists(path)
                or (path, None) in new.markers
            ):
                continue
            fact = self._fact(path, None, self._scope(old, path), "object")
            fact.removed_in = _earliest(fact.removed_in, b)
            self._note(fact, evidence(earlier, "removed"), CONFIDENCE["removed"])
            self._deprecated_before(fact, earlier, evidence(earlier, f"{earlier.evidence} (deprecation)"), a)

        # 3. Parameters, from griffe's breaking changes.
        import griffe

        for breakage in griffe.find_breaking_changes(old.module, new.module):
            breakage_kind = breakage.kind
            if breakage_kind not in (
                griffe.BreakageKind.PARAMETER_REMOVED,
                griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT,
            ):
                continue
            public_path = new.public(breakage.obj.path)
            if public_path is None or public_path not in old.objects:
                continue
            path = public_path
            parameter = breakage.old_value
            if parameter.kind in (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword):
                continue
            target = path.rpartition(".")[0] if breakage.obj.name == "__init__" else path
            scope = self._scope(new, target)
            where = _where(breakage.obj, new)
            if breakage_kind is griffe.BreakageKind.PARAMETER_REMOVED:
                if (target, parameter.name) in new.markers:
                    continue
                fact = self._fact(target, parameter.name, scope, "keyword")
                fact.removed_in = _earliest(fact.removed_in, b)
                renamed = _positional_rename(old.objects.get(path), breakage.obj, parameter.name)
                earlier = old_deprecation(target, parameter.name)
                if earlier is not None and earlier.new_keyword and not fact.new_keyword:
                    fact.new_keyword = earlier.new_keyword
                if renamed and not fact.new_keyword:
                    fact.new_keyword = renamed
                    self._note(fact, evidence(where, "parameter renamed"), CONFIDENCE["keyword moved"])
                else:
                    self._note(fact, evidence(where, "parameter removed"), CONFIDENCE["parameter removed"])
                if earlier is not None:
                    self._deprecated_before(fact, earlier, evidence(earlier, f"{earlier.evidence} (deprecation)"), a)
            else:
                before_default = str(parameter.default).rpartition(".")[2].lower()
                after_default = str(breakage.new_value.default).rpartition(".")[2].lower()
                if before_default == after_default:
                    continue  # the same value spelled differently (``Inf`` -> ``np.inf``)
                if after_default.strip("'\"_") == "deprecated":
                    continue  # the parameter was deprecated (a marker says so), not given a new default
                existing = self.facts.get((target, None))
                if existing is not None and existing.about == "object":
                    continue  # a deprecation or removal of the API says more than its default
                fact = self._fact(target, None, scope, "behaviour")
                fact.removed_in = _earliest(fact.removed_in, b)
                message = (
                    f"The default of `{parameter.name}` changed from {parameter.default} "
                    f"to {breakage.new_value.default}."
                )
                self._note(fact, evidence(where, "default changed"), CONFIDENCE["default changed"], message)

    def _moves(
        self, old: Snapshot, new: Snapshot, removed: list[str], added: list[str]
    ) -> dict[str, tuple[str, float]]:
        """Removed names that reappear elsewhere: same name or close signature and docstring."""
        from rapidfuzz import fuzz

        def shape(obj: Any) -> tuple[str, str, str]:
            kind, signature, docstring = _describe(obj, "f")
            return kind, (signature or "").replace("def f", "f"), (docstring or "")[:400]

        candidates: dict[str, list[tuple[str, tuple[str, str, str]]]] = {}
        for path in added:
            obj = new.objects[path]
            if obj.is_function or obj.is_class:
                candidates.setdefault(obj.kind.value, []).append((path, shape(obj)))
        found: dict[str, tuple[str, float]] = {}
        for path in removed:
            obj = old.objects[path]
            if not (obj.is_function or obj.is_class):
                continue
            _, signature, docstring = shape(obj)
            name = path.rpartition(".")[2]
            best: tuple[float, str] | None = None
            for other, (_, other_signature, other_docstring) in candidates.get(obj.kind.value, []):
                same_name = other.rpartition(".")[2] == name
                signature_score = fuzz.ratio(signature.partition("(")[2], other_signature.partition("(")[2])
                doc_score = fuzz.token_set_ratio(docstring, other_docstring) if docstring or other_docstring else 100.0
                score = (signature_score + doc_score) / 2
                if same_name and signature_score >= MOVE_SAME_NAME and doc_score >= 60:
                    score += 100  # the same name always beats a look-alike
                elif not (signature_score >= RENAME_SIMILAR and doc_score >= 85 and docstring):
                    continue
                if best is None or score > best[0]:
                    best = (score, other)
            if best is not None:
                found[path] = (best[1], min(best[0], 100.0) if best[0] <= 100 else best[0] - 100)
        return found

    def _restorations(self) -> None:
        """A name removed in Vj that a later release has again was restored there."""
        labels = [s.release.label for s in self.snapshots]
        for fact in self.facts.values():
            if fact.removed_in is None or fact.about == "behaviour":
                continue
            start = labels.index(fact.removed_in) if fact.removed_in in labels else len(labels)
            for snapshot in self.snapshots[start + 1 :]:
                if fact.keyword is not None:
                    back = fact.keyword in {p.name for p in _parameters(snapshot.lookup(fact.old))}
                else:
                    back = snapshot.exists(fact.old) and not snapshot.stubbed(fact.old)
                if back:
                    fact.restored_in = snapshot.release.label
                    break


#: Modules that ship with a release but are build or test plumbing, not API.
_PLUMBING = frozenset({"setup", "conftest", "tests", "benchmarks"})


def _user_facing(path: str) -> bool:
    """Whether user code can reach ``path``: no private part (``_impl``), no build/test module."""
    parts = path.split(".")[1:]
    return not any(p.startswith("_") or p in _PLUMBING for p in parts)


def _where(obj: Any, snapshot: Snapshot) -> tuple[str, int]:
    """File (relative to the release) and line of a griffe object."""
    try:
        filepath = obj.filepath
        if isinstance(filepath, list):
            filepath = filepath[0]
        relative = filepath.relative_to(snapshot.release.root).as_posix()
    except (ValueError, AttributeError, TypeError):
        relative = str(getattr(obj, "filepath", ""))
    return relative, int(getattr(obj, "lineno", None) or 1)


def _parameters(function: Any) -> list[Any]:
    if function is None:
        return []
    if function.is_class:
        init = function.all_members.get("__init__")
        function = init.final_target if init is not None and init.is_alias else init
    if function is None or not function.is_function:
        return []
    return [p for p in function.parameters if p.name not in ("self", "cls")]


def _positional_rename(old_function: Any, new_function: Any, name: str) -> str | None:
    """The new name of parameter ``name`` when the new signature has, at its place, a parameter
    the old one lacked, of the same kind and default."""
    old_parameters = _parameters(old_function)
    new_parameters = _parameters(new_function)
    old_names = [p.name for p in old_parameters]
    if name not in old_names:
        return None
    index = old_names.index(name)
    if index >= len(new_parameters):
        return None
    before, after = old_parameters[index], new_parameters[index]
    if after.name in old_names or after.kind != before.kind or str(after.default) != str(before.default):
        # Elsewhere in the signature: the one new parameter that spells the old name out (``tol`` ->
        # ``rtol``, ``restrt`` -> ``restart``) with the same default.
        spelled = [
            p
            for p in new_parameters
            if p.name not in old_names and _subsequence(name, p.name) and str(p.default) == str(before.default)
        ]
        return str(spelled[0].name) if len(spelled) == 1 else None
    return str(after.name)


def _subsequence(short: str, long: str) -> bool:
    """Whether ``short``'s letters appear in ``long`` in order (``restrt`` in ``restart``)."""
    letters = iter(long)
    return len(short) < len(long) and all(c in letters for c in short)


def compatible(old: Any, new: Any) -> bool:
    """Whether every call of ``old`` is a valid call of ``new`` with the same meaning of each argument."""
    if old is None or new is None:
        return False
    if old.is_function != new.is_function or old.is_class != new.is_class:
        return False
    if not (old.is_function or old.is_class):
        return old.kind == new.kind
    old_parameters, new_parameters = _parameters(old), _parameters(new)
    for index, parameter in enumerate(old_parameters):
        if index >= len(new_parameters):
            return False
        other = new_parameters[index]
        if other.name != parameter.name or other.kind != parameter.kind:
            return False
    return all(
        p.default is not None or p.kind.value.startswith("variadic") for p in new_parameters[len(old_parameters) :]
    )


@dataclass
class ScrapedEntry:
    """One knowledge-base entry (schema keys, in order) with its confidence and provenance."""

    record: dict[str, Any]
    confidence: float
    provenance: dict[str, Any]


def _doc(snapshot: Snapshot, path: str | None) -> str | None:
    """Signature and first paragraph of the docstring of ``path`` in the release."""
    found = snapshot.lookup(path) if path is not None else None
    if path is None or found is None:
        return None
    try:
        _, signature, docstring = _describe(found, path.rpartition(".")[2])
    except Exception:  # noqa: BLE001 - griffe raises on odd objects; the entry keeps doc null
        return None
    summary = (docstring or "").strip().split("\n\n", 1)[0].strip()
    text = "\n\n".join(part for part in (signature, summary) if part)
    return text[:DOC_LIMIT] or None


def build_entries(
    library: str, facts: Iterable[Fact], snapshots: Sequence[Snapshot], *, id_prefix: str, first_number: int = 1
) -> tuple[list[ScrapedEntry], list[str]]:
    """Knowledge-base entries for ``facts``; also the problems of facts that made no valid entry."""
    first, last = snapshots[0], snapshots[-1]
    top = last.release.top
    public = list(last.objects)
    entries: list[ScrapedEntry] = []
    problems: list[str] = []
    for fact in facts:
        record: dict[str, Any] = dict.fromkeys(_RECORD_FIELDS)
        record.update(library=library, old=fact.old, scope=fact.scope, old_keyword=fact.keyword)
        record["deprecated_in"], record["removed_in"] = fact.deprecated_in, fact.removed_in
        if fact.deprecated_in and fact.removed_in and Version(fact.deprecated_in) > Version(fact.removed_in):
            record["deprecated_in"] = fact.removed_in
        message = " ".join(fact.message.split())
        confidence = fact.confidence
        old_object = next((s.lookup(fact.old) for s in snapshots if s.exists(fact.old)), None)
        if fact.about == "behaviour":
            # A default, or one use of the API (a value of ``old_keyword``, when set): display only.
            record.update(kind="behaviour_change", fix="display", note=message, doc=_doc(last, fact.old))
        elif fact.keyword is not None:
            new_keyword = fact.new_keyword
            if new_keyword is None:
                new_parameters = {p.name for p in _parameters(last.lookup(fact.old))}
                offered = [
                    c
                    for c in replacement_module.keyword_candidates(message)
                    if c in new_parameters and c != fact.keyword
                ]
                # One new parameter, given the old one's value: "Pass `density_norm={scale}`" renames;
                # "Use `errorbar=('ci', {ci})`" or "in favour of `bw_method` and `bw_adjust`" does not.
                if (
                    len(offered) == 1
                    and not replacement_module.offers_several(message)
                    and replacement_module.passes_old_value(message, offered[0], fact.keyword)
                ):
                    new_keyword = offered[0]
            if new_keyword:
                record.update(kind="keyword_rename", new_keyword=new_keyword, fix="safe")
            else:
                record.update(kind="signature_change", fix="display")
            record["note"] = message or (
                f"Keyword `{fact.keyword}` renamed to `{new_keyword}`."
                if new_keyword
                else f"Keyword `{fact.keyword}` was removed."
            )
            record["doc"] = _doc(last, fact.old)
        else:
            new, raw = fact.new, None
            if fact.matched != "similarity":
                new = None
                alternative = _plain(fact.alternative) if fact.alternative else None
                if alternative is not None and not _is_dotted(alternative.removesuffix("()")):
                    # Not one name ("``colormaps[name]`` or ``colormaps.get_cmap(obj)``"): say it as it is.
                    raw, alternative = alternative, None
                texts = [] if raw is not None else [alternative, message] if alternative else [message]
                for text in texts:
                    if text == alternative:
                        names: Iterable[str] = [text.removesuffix("()")]
                    else:
                        names = replacement_module.candidates(text)
                    for candidate in names:
                        raw = raw or candidate
                        new = replacement_module.resolve(
                            candidate, old=fact.old, top=top, exists=last.exists, public=public
                        )
                        if new is not None and new != fact.old:
                            break
                        new = None
                    if new is not None:
                        break
            owner = fact.old.rpartition(".")[0]
            if fact.scope == "member" and raw is not None and "." not in raw and fact.matched != "similarity":
                # "Use `n_features_in_` instead" on a member means the class's own (which griffe may
                # not see: set in ``fit``), not another class's that happens to be public.
                new = new if new is not None and new.rpartition(".")[0] == owner else None
            if new is None and raw is not None and fact.scope == "member" and _is_dotted(raw) and "." not in raw:
                record.update(
                    kind="removal_with_replacement",
                    replacement=f"`{owner}.{raw}`",
                    fix="display",
                )
            elif new is not None:
                new_object = last.lookup(new)
                ok = compatible(old_object, new_object)
                same_class = new.rpartition(".")[0] == fact.old.rpartition(".")[0]
                if fact.scope == "member" and not same_class:
                    ok = False
                if ok:
                    moved = new.rpartition(".")[2] == fact.old.rpartition(".")[2]
                    kind = "module_move" if moved and fact.scope == "module" else "rename"
                    fix = "safe"
                    if fact.matched == "similarity":
                        confidence = round(0.4 + 0.3 * fact.similarity / 100, 2)
                        fix = "safe" if moved and fact.similarity >= 95 else "unsafe"
                    record.update(kind=kind, new=new, fix=fix)
                else:
                    if fact.matched == "similarity":
                        confidence = round(0.3 + 0.3 * fact.similarity / 100, 2)
                    record.update(kind="removal_with_replacement", replacement=f"`{new}`", fix="display")
                record["doc"] = _doc(last, new)
            elif raw is not None and ("." in raw or " " in raw):  # a bare unresolved word ("use one of") is not
                record.update(kind="removal_with_replacement", replacement=raw, fix="display")
                confidence = max(0.3, confidence - 0.2)
            else:
                record.update(kind="removal", fix="display")
            record["note"] = message
        where = fact.evidence[0] if fact.evidence else None
        if fact.restored_in:
            record["restored_in"] = fact.restored_in
        record["source"] = f"recode-kb scrape {library} {first.release.label}..{last.release.label}" + (
            f": {where.what} at {where.file}:{where.line} ({where.new_version})" if where else ""
        )
        provenance = {
            "library": library,
            "from": first.release.label,
            "to": last.release.label,
            "evidence": [
                {
                    "old_version": e.old_version,
                    "new_version": e.new_version,
                    "file": e.file,
                    "line": e.line,
                    "what": e.what,
                }
                for e in fact.evidence
            ],
        }
        entries.append(ScrapedEntry(record, round(confidence, 2), provenance))
    entries.sort(key=lambda e: (e.record["old"], e.record["old_keyword"] or ""))
    valid: list[ScrapedEntry] = []
    for entry in entries:
        entry.record["id"] = f"{id_prefix}{first_number + len(valid):03d}"
        ordered = {key: entry.record.get(key) for key in _RECORD_FIELDS}
        if entry.record.get("restored_in"):
            ordered["restored_in"] = entry.record["restored_in"]
        entry.record = ordered
        try:
            parse_entry(ordered, f"scraped {ordered['old']}")
        except KnowledgeBaseError as exc:
            problems.append(str(exc))
            continue
        valid.append(entry)
    return valid, problems


def _plain(text: str) -> str:
    """Text of reStructuredText markup stripped: ``:func:`~a.b``` -> ``a.b``, double backticks dropped."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)
    return " ".join(text.replace("``", "").replace("`", "").split())


def _is_dotted(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", text))


def default_prefix(library: str) -> str:
    """The library's id prefix: its facts file's ``id_prefix`` (``SKL``), else its package name in
    capitals (``KBLIB``)."""
    from recode_lsp.api_docs import top_package
    from recode_lsp.engine.facts import library_facts

    facts = library_facts(library)
    if facts is not None:
        return facts.id_prefix
    letters = "".join(c for c in top_package(library).upper() if c.isalnum())
    if not letters or not letters[0].isalpha():
        letters = "X" + letters
    return letters


def first_free_number(prefix: str) -> int:
    """The first id number after those the shipped knowledge base uses with ``prefix``, so that
    scraped ids never clash with shipped ones (``SKL029`` after ``SKL028``)."""
    import json

    from recode_lsp.engine.knowledge import shipped_files

    pattern = re.compile(rf"{re.escape(prefix)}(\d+)")
    highest = 0
    for _, text in shipped_files():
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                found = pattern.fullmatch(str(json.loads(line).get("id", "")))
            except (ValueError, AttributeError):
                continue
            if found:
                highest = max(highest, int(found.group(1)))
    return highest + 1


def scrape(
    library: str, releases: Sequence[Release], *, id_prefix: str | None = None
) -> tuple[list[ScrapedEntry], list[str]]:
    """Entries for the changes across ``releases`` (oldest first); also the facts that made no entry.

    Ids are ``id_prefix`` (default :func:`default_prefix`) and numbers after the shipped ones."""
    ordered = sorted(releases, key=lambda r: Version(r.label))
    snapshots = read_all(ordered)
    facts = Scraper(library, snapshots).run()
    prefix = id_prefix or default_prefix(library)
    return build_entries(library, facts, snapshots, id_prefix=prefix, first_number=first_free_number(prefix))
