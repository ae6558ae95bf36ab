"""Per-library facts, kept as data: names, distribution, and the type knowledge the analysis uses.

Each library of the knowledge base has a ``<library>.facts.json`` beside its ``<library>.jsonl``
(shipped in ``recode_lsp/engine/data/``, or beside a file named by ``[tool.recode]
extra-changes``). Adding a library means adding those two files; no code names a library.
The format is documented in ``docs/knowledge-base.md`` ("Library facts files").

The type facts answer one question of the analysis: of which class is this value an instance,
so that a member change (``Axes.set_xticklabels``, ``DataFrame.append``) is found on a receiver
built by a factory (``ax = plt.gca()``, ``df = pd.read_csv(...)``). Facts of every registered
library are merged into one :class:`TypeFacts`; they only add knowledge about the library's own
names, so facts registered for one project cannot hide a finding in another.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from recode_lsp.engine.knowledge import FACTS_SUFFIX
from recode_lsp.engine.versions import normalise_name

DATA_FOLDER = Path(__file__).resolve().parent / "data"

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PREFIX = re.compile(r"^[A-Z][A-Z0-9]*$")
_KEYS = frozenset(
    {
        "library",
        "display_name",
        "id_prefix",
        "distribution",
        "modules",
        "factories",
        "methods",
        "attributes",
        "items",
        "aliases",
        "bases",
        "returns_self",
        "returns_self_except",
        "constructors",
        "comment",
    }
)

#: A return type: one class, or a tuple of classes (``plt.subplots()`` -> ``(Figure, Axes)``).
ReturnType = str | tuple[str, ...]


class FactsError(ValueError):
    """A facts file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class LibraryFacts:
    """What one facts file says about one library."""

    #: Library id as knowledge-base entries spell it: the PEP 503 name of the distribution
    #: (``scikit-learn``, not ``sklearn``), because targets come from requirements.
    library: str
    display_name: str
    #: Prefix of the library's entry ids (``NPY`` for ``NPY001``).
    id_prefix: str
    #: Distribution name on the package index (``SQLAlchemy``); None for the standard library.
    distribution: str | None
    #: Top-level import names (``sklearn``); empty for the standard library.
    modules: tuple[str, ...]
    #: Qualified callable -> class of what it returns (a class, or a tuple of classes).
    factories: Mapping[str, ReturnType] = field(default_factory=dict)
    #: ``Class.method`` -> class of what it returns (``Figure.add_subplot`` -> ``Axes``).
    methods: Mapping[str, ReturnType] = field(default_factory=dict)
    #: ``Class.attribute`` -> class of its value (``Series.dt`` -> the ``dt`` accessor, ``Crawler.engine``
    #: -> ``ExecutionEngine``), so a member change of that class is found through the attribute.
    attributes: Mapping[str, str] = field(default_factory=dict)
    #: Class -> class of ``obj["name"]`` with a string key (``df["price"]`` is a ``Series``).
    items: Mapping[str, str] = field(default_factory=dict)
    #: Another qualified name of a class -> the name the knowledge base uses.
    aliases: Mapping[str, str] = field(default_factory=dict)
    #: Class -> its bases, so a member change on a base is found on every subclass.
    bases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Method names that return an object of the receiver's class (``df.copy()``, ``est.fit()``).
    returns_self: tuple[str, ...] = ()
    #: Classes whose methods never return their receiver's class unless ``methods`` says so
    #: (a GroupBy's ``fillna`` or ``head`` returns a DataFrame).
    returns_self_except: tuple[str, ...] = ()
    #: Class-method names that build an instance of the class (``Model.model_validate``).
    constructors: tuple[str, ...] = ()
    origin: str = ""


def _dotted(value: object, where: str) -> str:
    if not isinstance(value, str) or not _DOTTED.match(value):
        raise FactsError(f"{where}: {value!r} is not a dotted qualified name")
    return value


def _return_type(value: object, where: str) -> ReturnType:
    if isinstance(value, list):
        if not value:
            raise FactsError(f"{where}: a tuple return type needs at least one class")
        return tuple(_dotted(item, where) for item in value)
    return _dotted(value, where)


def _mapping(record: dict[str, object], key: str, where: str) -> dict[str, object]:
    value = record.get(key, {})
    if not isinstance(value, dict):
        raise FactsError(f"{where}: {key} must be an object")
    return value


def _names(record: dict[str, object], key: str, where: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and pattern.match(item) for item in value):
        raise FactsError(f"{where}: {key} must be a list of names")
    return tuple(value)


def parse_facts(record: object, where: str) -> LibraryFacts:
    """Validate one decoded facts file and build its :class:`LibraryFacts`."""
    if not isinstance(record, dict):
        raise FactsError(f"{where}: a facts file must hold a JSON object")
    unknown = sorted(set(record) - _KEYS)
    if unknown:
        raise FactsError(f"{where}: unknown key(s) {', '.join(unknown)}")
    library = record.get("library")
    if not isinstance(library, str) or not library:
        raise FactsError(f"{where}: library is required and must be a non-empty string")
    if normalise_name(library) != library:
        raise FactsError(f"{where}: library {library!r} must be the normalised distribution name")
    prefix = record.get("id_prefix")
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise FactsError(f"{where}: id_prefix must be capital letters and digits, starting with a letter")
    display = record.get("display_name", library)
    if not isinstance(display, str) or not display:
        raise FactsError(f"{where}: display_name must be a non-empty string")
    distribution = record.get("distribution", library)
    if distribution is not None and (not isinstance(distribution, str) or not distribution):
        raise FactsError(f"{where}: distribution must be a non-empty string or null")
    bases: dict[str, tuple[str, ...]] = {}
    for cls, listed in _mapping(record, "bases", where).items():
        if not isinstance(listed, list):
            raise FactsError(f"{where}: bases of {cls} must be a list")
        bases[_dotted(cls, f"{where}: bases")] = tuple(_dotted(item, f"{where}: bases of {cls}") for item in listed)
    methods = {}
    for name, value in _mapping(record, "methods", where).items():
        if _dotted(name, f"{where}: methods").count(".") < 2:
            raise FactsError(f"{where}: methods key {name!r} must be module.Class.method")
        methods[name] = _return_type(value, f"{where}: methods[{name}]")
    attributes = {}
    for name, value in _mapping(record, "attributes", where).items():
        if _dotted(name, f"{where}: attributes").count(".") < 2:
            raise FactsError(f"{where}: attributes key {name!r} must be module.Class.attribute")
        attributes[name] = _dotted(value, f"{where}: attributes[{name}]")
    return LibraryFacts(
        library=library,
        display_name=display,
        id_prefix=prefix,
        distribution=distribution,
        modules=_names(record, "modules", where, _IDENT),
        factories={
            _dotted(name, f"{where}: factories"): _return_type(value, f"{where}: factories[{name}]")
            for name, value in _mapping(record, "factories", where).items()
        },
        methods=methods,
        attributes=attributes,
        items={
            _dotted(name, f"{where}: items"): _dotted(value, f"{where}: items[{name}]")
            for name, value in _mapping(record, "items", where).items()
        },
        aliases={
            _dotted(name, f"{where}: aliases"): _dotted(value, f"{where}: aliases[{name}]")
            for name, value in _mapping(record, "aliases", where).items()
        },
        bases=bases,
        returns_self=_names(record, "returns_self", where, _IDENT),
        returns_self_except=_names(record, "returns_self_except", where, _DOTTED),
        constructors=_names(record, "constructors", where, _IDENT),
        origin=where,
    )


def read_facts(path: Path) -> LibraryFacts:
    """Load and validate one facts file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FactsError(f"{path}: cannot read facts file: {exc.strerror}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FactsError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return parse_facts(record, str(path))


def facts_path_for(changes_file: Path) -> Path:
    """The facts file that goes with a knowledge-base file: ``lib.jsonl`` -> ``lib.facts.json``."""
    name = changes_file.name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else changes_file.stem
    return changes_file.with_name(stem + FACTS_SUFFIX)


@dataclass(frozen=True)
class TypeFacts:
    """The type facts of every registered library, merged for the analysis."""

    factories: Mapping[str, ReturnType]
    methods: Mapping[str, ReturnType]
    aliases: Mapping[str, str]
    bases: Mapping[str, tuple[str, ...]]
    returns_self: frozenset[str]
    constructors: frozenset[str]
    #: Last components of ``methods`` keys: other method calls need no receiver type.
    method_names: frozenset[str] = frozenset()
    #: Classes ``returns_self`` does not apply to (see :attr:`LibraryFacts.returns_self_except`).
    returns_self_except: frozenset[str] = frozenset()
    attributes: Mapping[str, str] = field(default_factory=dict)
    #: Last components of ``attributes`` keys: other attributes need no receiver type.
    attribute_names: frozenset[str] = frozenset()
    items: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def merge(cls, libraries: Iterable[LibraryFacts]) -> TypeFacts:
        factories: dict[str, ReturnType] = {}
        methods: dict[str, ReturnType] = {}
        attributes: dict[str, str] = {}
        items: dict[str, str] = {}
        aliases: dict[str, str] = {}
        bases: dict[str, tuple[str, ...]] = {}
        returns_self: set[str] = set()
        returns_self_except: set[str] = set()
        constructors: set[str] = set()
        for facts in libraries:
            factories.update(facts.factories)
            methods.update(facts.methods)
            attributes.update(facts.attributes)
            items.update(facts.items)
            aliases.update(facts.aliases)
            for name, listed in facts.bases.items():
                bases[name] = tuple(dict.fromkeys((*bases.get(name, ()), *listed)))
            returns_self.update(facts.returns_self)
            returns_self_except.update(facts.returns_self_except)
            constructors.update(facts.constructors)
        method_names = frozenset(name.rpartition(".")[2] for name in methods)
        return cls(
            factories,
            methods,
            aliases,
            bases,
            frozenset(returns_self),
            frozenset(constructors),
            method_names,
            frozenset(returns_self_except),
            attributes,
            frozenset(name.rpartition(".")[2] for name in attributes),
            items,
        )

    def canonical(self, qname: str) -> str:
        """The knowledge base's name of a class known under several names."""
        return self.aliases.get(qname, qname)

    def lineage(self, qname: str) -> list[str]:
        """``qname`` and every base the facts know for it, transitively, nearest first."""
        seen = [qname]
        index = 0
        while index < len(seen):
            for base in self.bases.get(seen[index], ()):
                base = self.canonical(base)
                if base not in seen:
                    seen.append(base)
            index += 1
        return seen


class _Registry:
    """Shipped facts (read on first use) plus facts registered from users' extra files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shipped: dict[str, LibraryFacts] | None = None
        self._extra: dict[str, LibraryFacts] = {}
        self._types: TypeFacts | None = None

    def shipped(self) -> dict[str, LibraryFacts]:
        if self._shipped is None:
            found: dict[str, LibraryFacts] = {}
            for path in sorted(DATA_FOLDER.glob("*" + FACTS_SUFFIX)):
                facts = read_facts(path)
                found[facts.library] = facts
            self._shipped = found
        return self._shipped

    def libraries(self) -> dict[str, LibraryFacts]:
        # A user's facts file for a shipped library gives its names (the newer word).
        return {**self.shipped(), **self._extra}

    def register(self, facts: LibraryFacts) -> None:
        with self._lock:
            if self._extra.get(facts.library) != facts:
                self._extra[facts.library] = facts
                self._types = None

    def types(self) -> TypeFacts:
        types = self._types
        if types is None:
            # Shipped type facts first, users' after: theirs add to a shipped library's, or win.
            types = TypeFacts.merge([*self.shipped().values(), *self._extra.values()])
            self._types = types
        return types


_REGISTRY = _Registry()


def register(facts: LibraryFacts) -> None:
    """Make a library's facts known to the analysis and the messages (users' extra files)."""
    _REGISTRY.register(facts)


def library_facts(library: str) -> LibraryFacts | None:
    """Facts of a library by its knowledge-base id (any spelling of the distribution name)."""
    return _REGISTRY.libraries().get(normalise_name(library))


def all_library_facts() -> list[LibraryFacts]:
    """Facts of every known library, by library id."""
    return [facts for _, facts in sorted(_REGISTRY.libraries().items())]


def type_facts() -> TypeFacts:
    """The merged type facts the analysis uses (rebuilt when a library is registered)."""
    return _REGISTRY.types()


def display_name(library: str) -> str:
    """How a library is named in messages (``NumPy``); its id when no facts file names it."""
    facts = library_facts(library)
    return facts.display_name if facts is not None else library


def library_of_module(module: str) -> LibraryFacts | None:
    """The library whose top-level import name ``module`` (``sklearn.svm``) belongs to."""
    top = module.split(".", 1)[0]
    for facts in _REGISTRY.libraries().values():
        if top in facts.modules:
            return facts
    return None


class DisplayNames(Mapping[str, str]):
    """Live ``library -> display name`` view (libraries registered later appear at once)."""

    def __getitem__(self, library: str) -> str:
        facts = library_facts(library)
        if facts is None:
            raise KeyError(library)
        return facts.display_name

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY.libraries())

    def __len__(self) -> int:
        return len(_REGISTRY.libraries())


#: Import names of a few libraries the knowledge base has no facts file for (``recode-kb scrape``
#: may be asked about them first). A library's facts file (``modules``) is the place for its own.
IMPORT_NAMES = {"pyyaml": "yaml", "pillow": "PIL", "beautifulsoup4": "bs4"}


def top_package(library: str) -> str:
    """Top-level package of a knowledge-base library (``python`` has none: it is the stdlib).

    From the library's facts file (``modules``, the first is the main package), else its name.
    """
    facts = library_facts(library)
    if facts is not None and facts.modules:
        return facts.modules[0]
    return IMPORT_NAMES.get(library.lower(), normalise_name(library).replace("-", "_"))


def distribution_of(library: str) -> str:
    """Distribution name on the package index for a knowledge-base library name (facts file)."""
    facts = library_facts(library)
    if facts is not None and facts.distribution:
        return facts.distribution
    return library


def package_root(src: Path, top: str) -> Path | None:
    """The folder under ``src`` (a release's unpacked sources) that holds package ``top``: the
    root, ``src/``, or one level down."""
    candidates = [src, src / "src", *sorted(p for p in src.iterdir() if p.is_dir())] if src.is_dir() else []
    for root in candidates:
        for entry in (
            root / top / "__init__.py",
            root / top / "__init__.pyi",
            root / f"{top}.py",
            root / f"{top}.pyi",
        ):
            if entry.is_file():
                return root
    for root in candidates:
        if (root / top).is_dir():  # a namespace package
            return root
    return None
