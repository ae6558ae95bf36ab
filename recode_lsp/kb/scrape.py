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

import ast
import builtins
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from recode_lsp.api_docs import _describe
from recode_lsp.engine.knowledge import FIELDS, KnowledgeBaseError, parse_entry
from recode_lsp.engine.versions import Version
from recode_lsp.kb import replacement as replacement_module
from recode_lsp.kb.markers import Marker, Parameter, ReleaseScan, Signature, release_scan
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
_RECORD_FIELDS = tuple(
    k for k in FIELDS if k not in ("restored_in", "confidence", "provenance", "old_value", "new_value")
)
#: The ``doc`` text is cut here (hover and prompts want the gist, not the whole docstring).
DOC_LIMIT = 800


#: ``Snapshot.find`` of a path that is bound, but to what is unknown (an import griffe cannot follow,
#: a module ``__getattr__`` that forwards): reachable, so never a removal.
UNKNOWN: Any = object()


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
    #: Canonical path -> user-facing paths of imports no ``__all__`` exports (``torch.symeig`` for
    #: ``torch._linalg_utils._symeig``): the names users reach it by when it has no public one.
    exposed_of: dict[str, list[str]] = field(default_factory=dict)
    #: Signatures of the ``.py`` sources by canonical path (a ``.pyi`` stub's spelling is not the API).
    signatures: dict[str, Signature | None] = field(default_factory=dict)
    #: Modules whose ``__getattr__`` forwards names it has no table for.
    forwarding: set[str] = field(default_factory=set)
    #: ``module.name`` of names deleted again (``del Arrayterator``) or bound only under ``__main__``.
    unbound: set[str] = field(default_factory=set)
    #: ``module.name`` of names a module ``__getattr__`` hands out by name (lazy imports, deprecated aliases).
    lazy: set[str] = field(default_factory=set)
    #: Module -> modules without Python source it star-imports (``from torch._C import *``).
    compiled_stars: dict[str, set[str]] = field(default_factory=dict)
    #: Public paths that are only a package's own import of another package's name, with no
    #: ``__all__`` (``scrapy.pipelines.build_component_list`` from ``scrapy.utils.conf``): public, but
    #: not the name to report the object by when it has another.
    incidental: set[str] = field(default_factory=set)
    _public_cache: dict[str, str | None] = field(default_factory=dict)
    _find_cache: dict[str, Any] = field(default_factory=dict)

    def public(self, canonical: str) -> str | None:
        """The shortest public path of the object at ``canonical`` (members through their class); else
        the shortest user-facing import of it (``torch.symeig``)."""
        if canonical in self._public_cache:
            return self._public_cache[canonical]
        self._public_cache[canonical] = None  # a cycle (a class re-exported inside itself) ends here
        names = list(self.public_of.get(canonical, ()))
        owner, _, name = canonical.rpartition(".")
        if owner and not name.startswith("_"):
            parent = self.public(owner)
            if parent:
                names.append(f"{parent}.{name}")
        if not names:
            names = list(self.exposed_of.get(canonical, ()))
        names = [n for n in names if n not in self.incidental] or names
        best = min(names, key=_shortness) if names else None
        self._public_cache[canonical] = best
        return best

    def find(self, path: str) -> Any | None:
        """What user code reaches at ``path`` in this release, whatever ``__all__`` says (a name a star
        import, an alias or a base class provides is there): the griffe object, :data:`UNKNOWN` when a
        name is bound there but griffe cannot say to what, None when nothing is."""
        if path in self._find_cache:
            return self._find_cache[path]
        found = self.objects.get(path)
        if found is not None:
            self._find_cache[path] = found
            return found
        self._find_cache[path] = None  # a cycle of aliases ends here
        owner, _, name = path.rpartition(".")
        if not owner:
            result = self.module if path == self.module.path else None
        else:
            parent = self.find(owner)
            if parent is not None and parent is not UNKNOWN and parent.is_attribute:
                parent = self._assigned(parent)  # ``numpy.bool_.item`` through ``bool_ = bool``
            result = UNKNOWN if parent is UNKNOWN else None
            if parent is not None and parent is not UNKNOWN:
                result = None if f"{parent.path}.{name}" in self.unbound else _member(parent, name)
                if (
                    result is None
                    and parent.is_module
                    and (
                        parent.path in self.forwarding
                        or f"{parent.path}.{name}" in self.lazy
                        or self._namespace_package(f"{parent.path}.{name}")
                    )
                ):
                    result = UNKNOWN
        self._find_cache[path] = result
        return result

    def _assigned(self, attribute: Any) -> Any:
        """``bool_ = bool`` in a module: the object the name is bound to, not the attribute."""
        import griffe

        value = attribute.value
        if isinstance(value, griffe.ExprName):
            try:
                target = value.canonical_path
            except Exception:  # noqa: BLE001 - a name griffe cannot follow
                return attribute
            if target != attribute.path and (target == self.module.path or target.startswith(self.module.path + ".")):
                found = self.find(target)
                if found is not None and found is not UNKNOWN:
                    return found
        return attribute

    def _namespace_package(self, path: str) -> bool:
        """A folder of Python files without ``__init__.py`` (griffe skips it; Python imports it)."""
        folder = self.release.root.joinpath(*path.split("."))
        return folder.is_dir() and any(folder.glob("*.py"))

    def reachable(self, path: str) -> bool:
        """Whether user code can still reach ``path`` (see :meth:`find`)."""
        return self.find(path) is not None

    def stubbed(self, path: str) -> bool:
        marker = self.markers.get((path, None))
        return marker is not None and marker.state == "removed"

    def signature(self, path: str) -> Signature | None:
        """The ``.py`` signature of the function (a class: its ``__init__``) user code reaches at ``path``."""
        found = self.find(path)
        if found is None or found is UNKNOWN:
            return None
        canonical = found.path
        if found.is_class:
            signature = self.signatures.get(f"{canonical}.__init__")
            return signature
        return self.signatures.get(canonical)


def _member(parent: Any, name: str) -> Any:
    """Member ``name`` of a griffe module or class (inherited members and ``@overload``-only stubs
    included), aliases followed; :data:`UNKNOWN` for an alias griffe cannot follow."""
    import griffe

    try:
        members = parent.all_members if parent.is_class else parent.members
        member = members.get(name)
    except Exception:  # noqa: BLE001 - an inheritance griffe cannot resolve
        member = parent.members.get(name)
    if member is None:
        overloads = getattr(parent, "overloads", None)
        if isinstance(overloads, dict) and overloads.get(name):
            return overloads[name][-1]
        return None
    if member.is_alias:
        try:
            return member.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return UNKNOWN
    return member


def _keep_source_exports() -> None:
    """Make griffe keep a module's ``__all__`` when its ``.pyi`` stub only annotates one.

    NumPy's ``fromnumeric.pyi`` says ``__all__: list[str]``; griffe's stub merging then replaces the
    ``.py``'s list by an empty one, a star import of the module brings nothing, and every name the
    package re-exports from it (``numpy.reshape``) becomes unresolvable. Installed once per process.
    """
    import griffe
    from griffe._internal import loader, merger, mixins

    if getattr(mixins.merge_stubs, "_recode_keeps_exports", False):
        return
    original = merger.merge_stubs

    def merge_stubs(mod1: Any, mod2: Any, **kwargs: Any) -> Any:
        stubs, module = (mod1, mod2) if mod1.filepath.suffix == ".pyi" else (mod2, mod1)
        exports = module.exports
        try:
            merged = original(mod1, mod2, **kwargs)
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            # griffe asks an alias of the module for its target while it merges the stub's overloads
            # (NumPy 1.21's ``numeric.py``: ``arange`` from ``multiarray``, compiled): the module is read
            # from its source alone, as where it has no stub.
            return module
        if exports and not stubs.exports:
            merged.exports = exports
        return merged

    merge_stubs._recode_keeps_exports = True  # type: ignore[attr-defined]
    mixins.merge_stubs = merge_stubs
    loader.merge_stubs = merge_stubs


def _load(release: Release) -> Any:
    """The griffe tree of ``release`` (static: never imported)."""
    import griffe

    from recode_lsp.kb.exports import DynamicExports, ExportsFirstLoader

    _keep_source_exports()
    logging.getLogger("griffe").setLevel(logging.ERROR)
    loader = ExportsFirstLoader(
        search_paths=[str(release.root)],
        allow_inspection=False,
        store_source=False,
        extensions=griffe.load_extensions(DynamicExports()),
    )
    # Not ``try_relative_path``: a folder named like the package in the working directory (a project's
    # own copy, a development tree) would be read instead of the release.
    module = loader.load(release.top, submodules=True, try_relative_path=False)
    loader.resolve_aliases(implicit=False, external=None)
    return module


def read(release: Release, *, scan: ReleaseScan | None = None, module: Any = None) -> Snapshot:
    """Read ``release`` statically (never imported); ``scan``/``module`` when already computed."""
    import griffe

    if module is None:
        module = _load(release)
    objects: dict[str, Any] = {}
    public_of: dict[str, list[str]] = {module.path: [module.path]}
    exposed_of: dict[str, list[str]] = {}
    if scan is None:
        scan = release_scan(release.root, release.top)
    incidental: set[str] = set()
    _walk(
        module,
        module.path,
        release.top,
        objects,
        public_of,
        exposed_of,
        griffe,
        scan.unbound | scan.conditional,
        incidental,
    )
    for names in (*public_of.values(), *exposed_of.values()):
        names.sort(key=_shortness)
    snapshot = Snapshot(
        release,
        module,
        objects,
        public_of,
        {},
        exposed_of,
        signatures=scan.signatures,
        forwarding=scan.forwarding,
        unbound=scan.unbound,
        lazy=scan.lazy,
        compiled_stars=scan.compiled_stars,
        incidental=incidental,
    )
    for marker in scan.markers:
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
    """Read every release: the :mod:`ast` scans run in worker processes while this one loads the
    griffe trees (griffe objects do not cross processes; markers and signatures do)."""
    count = min(len(releases), workers if workers is not None else (os.cpu_count() or 1))
    if count < 2:
        return [read(release) for release in releases]
    with ProcessPoolExecutor(max_workers=count) as pool:
        pending = [pool.submit(release_scan, release.root, release.top) for release in releases]
        modules = [_load(release) for release in releases]
        found = [future.result() for future in pending]
    return [read(r, scan=m, module=t) for r, m, t in zip(releases, found, modules, strict=True)]


def _shortness(name: str) -> tuple[int, int, str]:
    return (name.count("."), len(name), name)


#: Module attributes that are plumbing, not API: loggers and type variables.
_PLUMBING_VALUE = re.compile(r"^(?:[\w.]*\.)?(?:getLogger|get_logger|TypeVar|ParamSpec|TypeVarTuple)\(")


def _walk(
    obj: Any,
    prefix: str,
    top: str,
    objects: dict[str, Any],
    public_of: dict[str, list[str]],
    exposed_of: dict[str, list[str]],
    griffe: Any,
    unbound: set[str],
    incidental: set[str],
) -> None:
    exports = {e for e in (obj.exports or ()) if isinstance(e, str)} if obj.is_module else set()
    for name, member in list(obj.members.items()):
        if name.startswith("_") or (obj.is_module and f"{obj.path}.{name}" in unbound):
            continue
        target = member
        if member.is_alias:
            try:
                target = member.final_target
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            if not (target.path == top or target.path.startswith(top + ".")):
                continue
            # Names imported into a package's __init__ are its public API even without __all__; but a
            # module is only when it is a submodule (``from . import linalg``): ``import torch`` or
            # ``from torch import optim`` in ``torch.distributed.optim`` is no API of it.
            inside = not target.is_module or target.path.startswith(obj.path + ".")
            # A star import in a package re-exports on purpose, whatever ``__all__`` lists
            # (``pandas.api.types`` lists 6 names and star-imports ``is_bool_dtype`` and the rest).
            starred = obj.is_module and obj.is_init_module and member.wildcard_imported and inside
            exported = obj.is_module and (
                name in exports or starred or (obj.is_init_module and not obj.exports and inside)
            )
            if not exported:
                if obj.is_module and obj.is_init_module and not target.is_module and not member.is_module:
                    # Still the name users reach it by if it has no public one (a raising stub defined
                    # in ``torch/_linalg_utils.py``, imported into ``torch/__init__.py``).
                    exposed_of.setdefault(target.path, []).append(f"{prefix}.{name}")
                continue
        elif obj.is_module and not member.is_module and obj.exports and name not in exports:
            continue
        elif member.is_attribute and _PLUMBING_VALUE.match(str(member.value or "")):
            continue  # ``log = logging.getLogger(__name__)``, ``T = TypeVar("T")``
        path = f"{prefix}.{name}"
        if path in objects:
            continue
        if (
            member.is_alias
            and obj.is_module
            and name not in exports
            and not member.wildcard_imported
            and obj.path != top
            and not target.path.startswith(obj.path + ".")
        ):
            incidental.add(path)  # ``from scrapy.utils.conf import build_component_list`` in scrapy.pipelines
        objects[path] = target
        public_of.setdefault(target.path, []).append(path)
        if member.is_alias:
            continue
        if target.is_module or target.is_class:
            _walk(target, path, top, objects, public_of, exposed_of, griffe, unbound, incidental)


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


def _keywords(snapshot: Snapshot, path: str) -> set[str]:
    """Names of the parameters of what ``path`` reaches (its ``.py`` signature when known)."""
    signature = snapshot.signature(path)
    if signature is not None:
        return {p.name for p in signature.parameters}
    found = snapshot.find(path)
    return {p.name for p in _parameters(found if found is not UNKNOWN else None)}


def _present(snapshot: Snapshot, path: str, keyword: str | None, marker: Marker | None) -> bool:
    """Whether user code still reaches the API in ``snapshot``: the object (or a deprecation table
    that still hands it out), or the parameter in its signature."""
    if keyword is not None:
        return keyword in _keywords(snapshot, path)
    if snapshot.reachable(path) and not snapshot.stubbed(path):
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
        owner = _found(snapshot, path.rpartition(".")[0])
        return "member" if owner is not None and owner.is_class else "module"

    def _pair(self, old: Snapshot, new: Snapshot) -> None:
        a, b = old.release.label, new.release.label

        def evidence(marker_or_file: Marker | tuple[str, int], what: str) -> Evidence:
            if isinstance(marker_or_file, Marker):
                return Evidence(marker_or_file.file, marker_or_file.line, what, a, b)
            return Evidence(marker_or_file[0], marker_or_file[1], what, a, b)

        # The new release's markers under the old release's public names: user code is written against
        # the old one (``pandas.core.window.Rolling`` became ``pandas.api.typing.Rolling``'s shortest
        # spelling in 2.1; a fact must not split in two).
        marks: dict[tuple[str, str | None], Marker] = {}
        for (path, keyword), marker in new.markers.items():
            key = (path if old.reachable(path) else old.public(marker.path) or path, keyword)
            if key not in marks or _strength(marker) > _strength(marks[key]):
                marks[key] = marker

        def stubbed(path: str) -> bool:
            found = marks.get((path, None))
            return found is not None and found.state == "removed"

        # 1. Markers in the new release (deprecations, stubs, __getattr__ tables).
        for (path, keyword), marker in marks.items():
            scope = self._scope(new, path) if path in new.objects else self._scope(old, path)
            earlier = old.markers.get((path, keyword))
            if marker.state == "removed":
                had = old.reachable(path) or earlier is not None
                if not had and not (marker.evidence == "raising stub" and keyword is None):
                    continue  # a stub for something the old release did not have either
                if (
                    earlier is not None
                    and earlier.state == "removed"
                    and earlier.evidence == marker.evidence == "raising stub"
                ):
                    continue  # the same stub in both releases: gone before the old one, no change between them
                fact = self._fact(path, keyword, scope, "object")
                if had:
                    gone = a if earlier is not None and earlier.state == "removed" else b
                else:
                    # Bound at run time in the old release (``torch.symeig`` came from ``torch._C``): the
                    # stub's own word on when it went, else the new release.
                    gone = marker.removal if marker.removal and _version_le(marker.removal, b) else b
                fact.removed_in = _earliest(fact.removed_in, gone)
                if marker.since:  # "This function was deprecated since version 1.9 and is now removed."
                    fact.deprecated_in = _earliest(fact.deprecated_in, marker.since)
                if earlier is not None and earlier.state == "deprecated":
                    fact.deprecated_in = _earliest(fact.deprecated_in, earlier.since or a)
                self._note(
                    fact, evidence(marker, marker.evidence), CONFIDENCE.get(marker.evidence, 0.85), marker.message
                )
                continue
            owner = path.rpartition(".")[0]
            if owner and not old.reachable(path) and not old.reachable(owner):
                # A member of a class added after the old release and deprecated by the new one
                # (Matplotlib 3.8's ``PolyQuadMesh.get_array``): code written against the old release
                # cannot use it.
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

        # 2. Public names of the old release that user code cannot reach in the new one (under any
        # spelling: ``__all__``, a star import, an alias or a base class may provide it), one entry per
        # object under its shortest public name.
        canonical_of: dict[str, str] = {}
        for path, target in old.objects.items():
            if (path, None) in marks or new.reachable(path):
                continue
            canonical = old.public(target.path) or path
            if canonical != path and new.reachable(canonical):
                continue  # only one spelling went (``numpy.random.float32``); the object is still there
            if target.path.rpartition(".")[0] in new.compiled_stars.get(path.rpartition(".")[0], ()):
                continue  # from compiled code through a star import the new release still makes
            canonical_of.setdefault(canonical, path)
        removed = list(canonical_of)
        added = [p for p in new.objects if p not in old.objects]
        moves = self._moves(old, new, [canonical_of[p] for p in removed], added)
        moves = {canonical: moves[found] for canonical, found in canonical_of.items() if found in moves}
        for path in removed:
            owner = path.rpartition(".")[0]
            ancestors = [".".join(path.split(".")[:n]) for n in range(1, path.count(".") + 1)]
            covered = (
                any((not new.reachable(a) or stubbed(a)) and old.reachable(a) for a in ancestors) and path not in moves
            )
            earlier = old_deprecation(path)
            if covered and earlier is None:
                continue  # inside a removed module or class: the entry for that covers it (unless it said more)
            if self._scope(old, path) == "member" and not old.reachable(owner):
                continue
            target = old.objects[canonical_of[path]]
            if target.is_attribute and "instance-attribute" in target.labels and earlier is None:
                # ``self.best = ...`` in ``__init__``: state of an instance, not an API griffe can follow
                # (a subclass, a property or ``register_buffer`` may provide it).
                continue
            fact = self._fact(path, None, self._scope(old, path), "object")
            fact.removed_in = _earliest(fact.removed_in, b)
            # A module-level constant is often an implementation detail that happened to be public.
            weight = CONFIDENCE["removed"] if (target.is_function or target.is_class or target.is_module) else 0.6
            self._note(fact, evidence(_where(target, old), "removed"), weight)
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
                or path in canonical_of  # its removal is the entry above
                or new.reachable(path)
                or (path, None) in marks
            ):
                continue
            fact = self._fact(path, None, self._scope(old, path), "object")
            fact.removed_in = _earliest(fact.removed_in, b)
            self._note(fact, evidence(earlier, "removed"), CONFIDENCE["removed"])
            self._deprecated_before(fact, earlier, evidence(earlier, f"{earlier.evidence} (deprecation)"), a)

        # 3. Parameters: the ``.py`` signatures of each public function and method in both releases.
        for path, before, after in _callables(old, new, stubbed):
            target = path
            scope = self._scope(old, target)
            names_after = {p.name for p in after.parameters}
            kwargs_after = any(p.kind == "**kwargs" for p in after.parameters)
            where = (after.file, after.line)
            for parameter in before.parameters:
                if parameter.kind in ("*args", "**kwargs", "positional-only") or parameter.name.startswith("_"):
                    continue  # no keyword user code can pass (or a private one)
                if parameter.name in ("self", "cls"):
                    continue
                if parameter.name not in names_after:
                    if kwargs_after or (target, parameter.name) in marks:
                        continue  # ``**kwargs`` may still take it; a marker of the new release says more
                    fact = self._fact(target, parameter.name, scope, "keyword")
                    fact.removed_in = _earliest(fact.removed_in, b)
                    earlier = old_deprecation(target, parameter.name)
                    if earlier is not None and earlier.new_keyword and not fact.new_keyword:
                        fact.new_keyword = earlier.new_keyword
                    renamed = _renamed_parameter(before, after, parameter)
                    if renamed and not fact.new_keyword:
                        fact.new_keyword = renamed
                        self._note(fact, evidence(where, "parameter renamed"), CONFIDENCE["keyword moved"])
                    else:
                        self._note(fact, evidence(where, "parameter removed"), CONFIDENCE["parameter removed"])
                    if earlier is not None:
                        self._deprecated_before(
                            fact, earlier, evidence(earlier, f"{earlier.evidence} (deprecation)"), a
                        )
                    continue
                other = next(p for p in after.parameters if p.name == parameter.name)
                if not _default_changed(parameter.default, other.default) or (target, parameter.name) in marks:
                    continue  # the same value; or the parameter is deprecated (its new default says "not given")
                existing = self.facts.get((target, None))
                if existing is not None and existing.about == "object":
                    continue  # a deprecation or removal of the API says more than its default
                fact = self._fact(target, None, scope, "behaviour")
                fact.removed_in = _earliest(fact.removed_in, b)
                message = f"The default of `{parameter.name}` changed from {parameter.default} to {other.default}."
                self._note(fact, evidence(where, "default changed"), CONFIDENCE["default changed"], message)

        # 4. Keywords only a decorator of the old release took (pandas' ``@deprecate_kwarg("line_terminator",
        # "lineterminator")`` on ``to_csv``, not in its signature), gone with the decorator.
        for (path, keyword), earlier in old.markers.items():
            if keyword is None or (path, keyword) in marks or (path, keyword) in self.facts:
                continue
            if earlier.state != "deprecated" or earlier.behaviour:
                continue
            was, now = old.signature(path), new.signature(path)
            if was is None or now is None or keyword in {p.name for p in was.parameters}:
                continue  # not a function; or the parameter itself, which section 3 compares
            if keyword in {p.name for p in now.parameters} or any(p.kind == "**kwargs" for p in now.parameters):
                continue  # still taken
            fact = self._fact(path, keyword, self._scope(old, path), "keyword")
            fact.removed_in = _earliest(fact.removed_in, b)
            self._note(fact, evidence((now.file, now.line), "parameter removed"), CONFIDENCE["parameter removed"])
            self._deprecated_before(fact, earlier, evidence(earlier, f"{earlier.evidence} (deprecation)"), a)

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
            owner, _, name = path.rpartition(".")
            member = self._scope(old, path) == "member"
            best: tuple[float, str] | None = None
            for other, (_, other_signature, other_docstring) in candidates.get(obj.kind.value, []):
                if member and other.rpartition(".")[0] not in (owner, found.get(owner, ("",))[0]):
                    # A method is not another class's method of the same name (``forward``): only its own
                    # class's, or the one its class moved to.
                    continue
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
                    back = fact.keyword in _keywords(snapshot, fact.old)
                else:
                    back = snapshot.reachable(fact.old) and not snapshot.stubbed(fact.old)
                if back:
                    fact.restored_in = snapshot.release.label
                    break


_BUILTINS = frozenset(dir(builtins))
#: A message that calls its replacement a builtin ("alias for the builtin `float`").
_NAMES_BUILTIN = re.compile(r"\bbuilt-?in\b", re.IGNORECASE)
#: A message that says a parameter was renamed (same meaning), not only which one to use now.
_SAYS_RENAMED = re.compile(r"\brenam(?:ed|ing)\b|\bnew name\b", re.IGNORECASE)
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


def _callables(
    old: Snapshot, new: Snapshot, stubbed: Callable[[str], bool]
) -> Iterator[tuple[str, Signature, Signature]]:
    """(public path, old signature, new signature) of each public function, method and class (its own
    ``__init__``) of the old release that the new one still has, as their ``.py`` sources spell them:
    a ``.pyi`` stub's rewrite (``__a`` for ``a``, ``...`` for a default, an attribute for a function)
    is no change of the API."""
    seen: set[str] = set()

    def objects() -> Iterator[tuple[str, Any]]:
        for path, obj in list(old.objects.items()):
            yield path, obj
            if obj.is_class and obj.path != path:
                # A class re-exported from a private module (``numpy.ndindex``): its members too.
                for name, member in list(obj.members.items()):
                    if not name.startswith("_") and not member.is_alias:
                        yield f"{path}.{name}", member

    for path, obj in objects():
        canonical = obj.path
        if canonical in seen:
            continue
        seen.add(canonical)
        key = f"{canonical}.__init__" if obj.is_class else canonical
        before = old.signatures.get(key)
        if before is None:
            continue
        public = old.public(canonical) or path
        if not _user_facing(public) or stubbed(public):
            continue
        found = new.find(public)
        if found is None or found is UNKNOWN:
            continue
        after = new.signatures.get(f"{found.path}.__init__" if found.is_class else found.path)
        if after is not None:
            yield public, before, after


def _renamed_parameter(before: Signature, after: Signature, parameter: Parameter) -> str | None:
    """The new name of removed parameter ``parameter``, when the evidence says so; never its position
    alone, never a private parameter (``backend_config_dict`` -> ``_equalization_config``).

    Evidence is the one new public parameter passed the same way, with the same default and a similar
    name (``tol`` -> ``rtol``, ``restrt`` -> ``restart``, ``nat_rep`` -> ``na_rep``), or a signature
    whose only difference is this parameter's name (``compute(data, axis=0)`` -> ``compute(data, dim=0)``).
    """
    old_names = {p.name for p in before.parameters}
    keyword_kinds = ("positional", "keyword-only")
    fresh = [
        p
        for p in after.parameters
        if p.name not in old_names and not p.name.startswith("_") and p.kind in keyword_kinds
    ]
    similar = [p for p in fresh if p.default == parameter.default and _similar_names(parameter.name, p.name)]
    if len(similar) == 1:
        return similar[0].name
    if len(before.parameters) == len(after.parameters):
        differ = [(b, a) for b, a in zip(before.parameters, after.parameters, strict=True) if b != a]
        if len(differ) == 1:
            b, a = differ[0]
            if b.name == parameter.name and a in fresh and (a.kind, a.default) == (b.kind, b.default):
                return a.name
    return None


def _similar_names(a: str, b: str) -> bool:
    from rapidfuzz import fuzz

    short, long = sorted((a, b), key=len)
    return (len(short) >= 3 and _subsequence(short, long)) or fuzz.ratio(a, b) >= 80


#: Defaults that mean "not given" (``lib.no_default``, ``np._NoValue``): a default changed to one is a
#: deprecation (which a warning tells) or nothing, not a new behaviour.
_NOT_GIVEN = re.compile(r"^_*(deprecated|default|warn|no_?default|no_?value|sentinel|unset|missing)$", re.IGNORECASE)


def _default_changed(before: str | None, after: str | None) -> bool:
    """Whether a parameter's default really changed (not a respelling: ``Inf`` -> ``np.inf``, ``1`` ->
    ``1.0``)."""
    if before is None or after is None or "..." in (before, after):
        return False
    try:
        if ast.literal_eval(before) == ast.literal_eval(after):
            return False
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    old_value = before.rpartition(".")[2].lower().strip("'\"")
    new_value = after.rpartition(".")[2].lower().strip("'\"")
    if new_value == "none" and "default" in old_value:
        return False  # ``timeout=default_pg_timeout`` -> ``timeout=None``: None now says "the default"
    return old_value != new_value and not _NOT_GIVEN.match(new_value)


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
    if old.is_function and old_parameters and all(p.kind.value.startswith("variadic") for p in old_parameters):
        # ``def product(*args, **kwargs)`` that names ``prod`` as its replacement forwards every call to it.
        return True
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


def _found(snapshot: Snapshot, path: str) -> Any | None:
    """The griffe object at ``path`` (None when there is none, or griffe cannot say which)."""
    found = snapshot.find(path)
    return None if found is UNKNOWN else found


def _bound(snapshot: Snapshot, path: str) -> Any | None:
    """:func:`_found`, through an alias assignment (``product = prod`` in NumPy 1.23's stub is ``prod``)."""
    found = _found(snapshot, path)
    if found is not None and found.is_attribute:
        found = snapshot._assigned(found)
    return found


def _doc(snapshot: Snapshot, path: str | None) -> str | None:
    """Signature and first paragraph of the docstring of ``path`` in the release."""
    found = _found(snapshot, path) if path is not None else None
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
    owners_of: dict[str, set[str]] = {}  # bare name -> owners of the public paths ending with it
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
        old_object = next((_bound(s, fact.old) for s in snapshots if _found(s, fact.old) is not None), None)
        if fact.about == "behaviour":
            # A default, or one use of the API (a value of ``old_keyword``, when set): display only.
            record.update(kind="behaviour_change", fix="display", note=message, doc=_doc(last, fact.old))
        elif fact.keyword is not None:
            new_keyword = fact.new_keyword
            fix = "safe"
            if new_keyword is None:
                new_parameters = _keywords(last, fact.old)
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
                    if not _SAYS_RENAMED.search(message):
                        # "Use `max_iter` instead" may be another quantity (scikit-learn's ``n_iter`` counted
                        # mini-batch steps, ``max_iter`` counts epochs): a person checks before it is applied.
                        fix = "unsafe"
            if new_keyword:
                record.update(kind="keyword_rename", new_keyword=new_keyword, fix=fix)
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
                if alternative is None and replacement_module.offers_several(message):
                    texts = []  # "use obj.ffill(), obj.bfill(), or obj.nearest() instead": no one name
                for text in texts:
                    if text == alternative:
                        names: Iterable[str] = [text.removesuffix("()")]
                    else:
                        names = replacement_module.candidates(text)
                    for candidate in names:
                        raw = raw or candidate
                        if candidate in _BUILTINS and _NAMES_BUILTIN.search(text or ""):
                            # "a deprecated alias for the builtin `float`": the builtin, not ``numpy.dtype.str``.
                            new = candidate
                            break
                        new = replacement_module.resolve(
                            candidate,
                            old=fact.old,
                            top=top,
                            exists=lambda n: _found(last, n) is not None,
                            public=public,
                        )
                        if new is not None and new not in last.objects:
                            # Under its public name (``np.isin`` resolved as ``numpy.np.isin`` is ``numpy.isin``).
                            found = _found(last, new)
                            public_name = last.public(found.path) if found is not None else None
                            new = public_name if public_name and found is not last.module else new
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
            if (
                new is None
                and raw is not None
                and fact.scope == "member"
                and _is_dotted(raw)
                and "." not in raw
                and raw not in _BUILTINS  # "use `next(ndindex)`" names a builtin, not a member
            ):
                # The class's own (``n_features_in_``, set in ``fit``), unless the name is a class or is
                # another class's member (matplotlib's ``alternative="fill_between"`` on a collection
                # means ``Axes.fill_between``): then the name as the message gives it.
                owners = owners_of.setdefault(raw, {p.rpartition(".")[0] for p in public if p.endswith(f".{raw}")})
                foreign = _found(last, f"{owner}.{raw}") is None and (
                    raw[:1].isupper() or bool(owners and owner not in owners)
                )
                record.update(
                    kind="removal_with_replacement",
                    replacement=f"`{raw}`" if foreign else f"`{owner}.{raw}`",
                    fix="display",
                )
            elif new is not None and new in _BUILTINS:
                record.update(kind="rename", new=new, fix="safe")
            elif new is not None:
                new_object = _bound(last, new)
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
            elif (
                raw is not None
                and ("." in raw or " " in raw)  # a bare unresolved word ("use one of") is not
                # nor a name of the library the new release lacks (pandas' "use pandas.api.types.is_bool_type")
                and not (_is_dotted(raw) and replacement_module.abbreviates(raw.split(".")[0], top))
            ):
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
