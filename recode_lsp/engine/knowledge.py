"""Loading and indexing the knowledge base of API changes.

The shipped facts live in ``recode_lsp/engine/data/*.jsonl`` (one JSON object per line,
documented in ``docs/knowledge-base.md``); users add their own in files named by
``[tool.recode] extra-changes``. Every entry is validated on load, and a malformed one is
reported with its file and line.
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from recode_lsp.engine.changes import ApiChange, ChangeKind, FixSafety, Scope, TemplateOn
from recode_lsp.engine.digest import hasher
from recode_lsp.engine.versions import InvalidVersion, Version

FIELDS = (
    "id",
    "library",
    "old",
    "kind",
    "scope",
    "new",
    "replacement",
    "template",
    "template_on",
    "old_keyword",
    "new_keyword",
    "old_value",
    "new_value",
    "deprecated_in",
    "removed_in",
    "note",
    "doc",
    "source",
    "fix",
    "rule",
    "restored_in",
    # Written by ``recode-kb scrape``: kept on the entry, never needed to detect or fix.
    "confidence",
    "provenance",
)
REQUIRED = ("id", "library", "old", "kind", "source")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID = re.compile(r"^[A-Z][A-Z0-9]*[0-9]{3}$")
_TEMPLATE_FIELD = re.compile(r"\{(q:[A-Za-z_][\w.]*|arg[0-9]|recv)\}")


class KnowledgeBaseError(ValueError):
    """A knowledge-base entry is malformed; the message names its file and line."""


def _version(value: object, key: str, where: str) -> Version | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise KnowledgeBaseError(f"{where}: {key} must be a version string or null")
    try:
        return Version(value)
    except InvalidVersion as exc:
        raise KnowledgeBaseError(f"{where}: {key} {value!r} is not a version") from exc


def _optional_str(record: dict[str, object], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise KnowledgeBaseError(f"{where}: {key} must be a string or null")
    return value


def parse_entry(record: object, where: str) -> ApiChange:
    """Validate one decoded JSON object and build its :class:`ApiChange`."""
    if not isinstance(record, dict):
        raise KnowledgeBaseError(f"{where}: entry must be a JSON object")
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise KnowledgeBaseError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in REQUIRED:
        if not isinstance(record.get(key), str) or not record[key]:
            raise KnowledgeBaseError(f"{where}: {key} is required and must be a non-empty string")
    change_id = str(record["id"])
    if not _ID.match(change_id):
        raise KnowledgeBaseError(f"{where}: id {change_id!r} must look like NPY001")
    old = str(record["old"])
    if not _DOTTED.match(old):
        raise KnowledgeBaseError(f"{where}: old {old!r} is not a dotted qualified name")
    try:
        kind = ChangeKind(record["kind"])
    except ValueError:
        choices = ", ".join(k.value for k in ChangeKind)
        raise KnowledgeBaseError(f"{where}: kind {record['kind']!r} is not one of {choices}") from None
    try:
        scope = Scope(record.get("scope") or "module")
    except ValueError:
        raise KnowledgeBaseError(f"{where}: scope must be 'module' or 'member'") from None
    if scope is Scope.MEMBER and old.count(".") < 2:
        raise KnowledgeBaseError(f"{where}: member {old!r} must be module.Class.member")
    new = _optional_str(record, "new", where)
    if new is not None and not _DOTTED.match(new):
        raise KnowledgeBaseError(f"{where}: new {new!r} is not a dotted qualified name")
    old_keyword = _optional_str(record, "old_keyword", where)
    new_keyword = _optional_str(record, "new_keyword", where)
    for key, value in (("old_keyword", old_keyword), ("new_keyword", new_keyword)):
        if value is not None and not _IDENT.match(value):
            raise KnowledgeBaseError(f"{where}: {key} {value!r} is not an identifier")
    old_value = _literal(record, "old_value", where)
    new_value = _literal(record, "new_value", where)
    if old_value is not None and old_keyword is None:
        raise KnowledgeBaseError(f"{where}: old_value needs old_keyword (the keyword that took the value)")
    if new_value is not None and old_value is None:
        raise KnowledgeBaseError(f"{where}: new_value needs old_value")
    template = _optional_str(record, "template", where)
    template_on_text = _optional_str(record, "template_on", where)
    template_on = None
    if template is not None:
        try:
            template_on = TemplateOn(template_on_text or "expr")
        except ValueError:
            raise KnowledgeBaseError(f"{where}: template_on must be 'expr' or 'call'") from None
        _check_template(template, template_on, scope, where)
    elif template_on_text is not None:
        raise KnowledgeBaseError(f"{where}: template_on without template")
    deprecated_in = _version(record.get("deprecated_in"), "deprecated_in", where)
    removed_in = _version(record.get("removed_in"), "removed_in", where)
    if deprecated_in is None and removed_in is None:
        raise KnowledgeBaseError(f"{where}: at least one of deprecated_in, removed_in is required")
    if deprecated_in is not None and removed_in is not None and deprecated_in > removed_in:
        raise KnowledgeBaseError(f"{where}: deprecated_in {deprecated_in} is after removed_in {removed_in}")
    restored_in = _version(record.get("restored_in"), "restored_in", where)
    if restored_in is not None and (removed_in is None or restored_in <= removed_in):
        raise KnowledgeBaseError(f"{where}: restored_in must come after removed_in")
    rule = _optional_str(record, "rule", where)
    if rule is not None and not re.match(r"^RC[0-9]{3}$", rule):
        raise KnowledgeBaseError(f"{where}: rule {rule!r} must look like RC001")
    default_fix = (
        "safe" if kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE, ChangeKind.KEYWORD_RENAME) else "display"
    )
    try:
        fix = FixSafety(record.get("fix") or default_fix)
    except ValueError:
        raise KnowledgeBaseError(f"{where}: fix must be 'safe', 'unsafe' or 'display'") from None
    if kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE) and new is None:
        raise KnowledgeBaseError(f"{where}: a {kind.value} needs `new`")
    if kind is ChangeKind.KEYWORD_RENAME and (old_keyword is None or new_keyword is None):
        raise KnowledgeBaseError(f"{where}: a keyword_rename needs old_keyword and new_keyword")
    if kind is ChangeKind.REMOVAL_WITH_REPLACEMENT and not (record.get("replacement") or new or template):
        raise KnowledgeBaseError(f"{where}: a removal_with_replacement needs a replacement")
    if fix is not FixSafety.DISPLAY_ONLY:
        mechanical = (
            (kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE) and new is not None)
            or kind is ChangeKind.KEYWORD_RENAME
            or new_value is not None
            or template is not None
            or rule is not None
        )
        if not mechanical:
            raise KnowledgeBaseError(
                f"{where}: fix {fix.value!r} needs a mechanical path (rename, keyword, template or rule)"
            )
    note = record.get("note") or ""
    if not isinstance(note, str):
        raise KnowledgeBaseError(f"{where}: note must be a string")
    confidence = record.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1
    ):
        raise KnowledgeBaseError(f"{where}: confidence must be a number from 0 to 1")
    provenance = record.get("provenance")
    if provenance is not None:
        _check_provenance(provenance, where)
    return ApiChange(
        id=change_id,
        library=str(record["library"]).lower(),
        old=old,
        kind=kind,
        scope=scope,
        new=new,
        replacement=_optional_str(record, "replacement", where),
        template=template,
        template_on=template_on,
        old_keyword=old_keyword,
        new_keyword=new_keyword,
        old_value=old_value,
        new_value=new_value,
        deprecated_in=deprecated_in,
        removed_in=removed_in,
        note=note,
        doc=_optional_str(record, "doc", where),
        source=str(record["source"]),
        fix=fix,
        rule=rule,
        restored_in=restored_in,
        origin=where,
        confidence=float(confidence) if confidence is not None else None,
        provenance=provenance,
    )


def _literal(record: dict[str, object], key: str, where: str) -> str | None:
    """A value entry's ``old_value`` / ``new_value``: the source text of one Python literal (``"'log'"``)."""
    text = _optional_str(record, key, where)
    if text is None:
        return None
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise KnowledgeBaseError(
            f"{where}: {key} {text!r} is not a Python literal (write strings quoted: \"'log'\")"
        ) from None
    return text


def _check_provenance(provenance: object, where: str) -> None:
    """``provenance`` is an object; the keys the docs name have the documented types."""
    if not isinstance(provenance, dict):
        raise KnowledgeBaseError(f"{where}: provenance must be an object")
    for key in ("library", "from", "to", "file"):
        if key in provenance and not isinstance(provenance[key], str):
            raise KnowledgeBaseError(f"{where}: provenance.{key} must be a string")
    line = provenance.get("line")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int)):
        raise KnowledgeBaseError(f"{where}: provenance.line must be an integer")
    if "evidence" in provenance and not isinstance(provenance["evidence"], list):
        raise KnowledgeBaseError(f"{where}: provenance.evidence must be a list")


def _check_template(template: str, on: TemplateOn, scope: Scope, where: str) -> None:
    import ast

    placeholders = _TEMPLATE_FIELD.findall(template)
    if any(p.startswith("arg") for p in placeholders) and on is not TemplateOn.CALL:
        raise KnowledgeBaseError(f"{where}: template uses call arguments but template_on is not 'call'")
    if "recv" in placeholders and scope is not Scope.MEMBER:
        raise KnowledgeBaseError(f"{where}: {{recv}} is only valid for member changes")
    skeleton = _TEMPLATE_FIELD.sub("_x", template)
    # Dict displays are allowed in templates; stray placeholders are not.
    if re.search(r"\{[a-z]+[0-9]*\}", skeleton):
        raise KnowledgeBaseError(f"{where}: template has an unknown placeholder")
    try:
        ast.parse(skeleton, mode="eval")
    except SyntaxError as exc:
        raise KnowledgeBaseError(f"{where}: template is not a Python expression: {exc.msg}") from None


def iter_jsonl(text: str, name: str) -> Iterator[ApiChange]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KnowledgeBaseError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        yield parse_entry(record, where)


@dataclass
class KnowledgeBase:
    """All known changes, indexed the ways the detector asks."""

    changes: list[ApiChange]
    #: Hash of every entry, part of the result cache key.
    fingerprint: str = ""
    by_id: dict[str, ApiChange] = field(init=False)
    #: Module-scope changes by old qualified name.
    by_old: dict[str, list[ApiChange]] = field(init=False)
    #: Member changes by owner class, then member name.
    by_member: dict[str, dict[str, list[ApiChange]]] = field(init=False)
    #: Top-level package names (``numpy``, ``collections``) that any old name starts with.
    roots: frozenset[str] = field(init=False)
    #: What the detector's cheap pre-checks ask, built once here rather than per module (a quick
    #: fix detects twice; on the full knowledge base this was ~12 ms a call): module-scope old
    #: names that are not keyword changes, their last parts, the old keywords, the member names.
    old_names: frozenset[str] = field(init=False)
    old_attributes: frozenset[str] = field(init=False)
    old_keywords: frozenset[str] = field(init=False)
    member_names: frozenset[str] = field(init=False)
    #: The first change of each ``old`` name, any scope (what a code rule reports: a scan of
    #: every change per rule and detection was about a millisecond of each quick fix).
    first_by_old: dict[str, ApiChange] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {}
        self.by_old = defaultdict(list)
        self.by_member = defaultdict(lambda: defaultdict(list))
        self.first_by_old = {}
        for change in self.changes:
            self.first_by_old.setdefault(change.old, change)
            if change.id in self.by_id:
                first = self.by_id[change.id].origin
                raise KnowledgeBaseError(f"{change.origin}: id {change.id} already used at {first}")
            self.by_id[change.id] = change
            if change.scope is Scope.MEMBER:
                owner = change.owner_class or ""
                self.by_member[owner][change.old_name].append(change)
            else:
                self.by_old[change.old].append(change)
        self.roots = frozenset(change.old.split(".", 1)[0] for change in self.changes)
        self.old_names = frozenset(
            old for old, changes in self.by_old.items() if any(c.old_keyword is None for c in changes)
        )
        self.old_attributes = frozenset(old.rpartition(".")[2] for old in self.old_names)
        self.old_keywords = frozenset(c.old_keyword for c in self.changes if c.old_keyword)
        self.member_names = frozenset(name for members in self.by_member.values() for name in members)
        if not self.fingerprint:
            digest = hasher(8)
            for change in self.changes:
                digest.update(repr(change).encode())
            self.fingerprint = digest.hexdigest()[:16]

    @property
    def libraries(self) -> list[str]:
        return sorted({change.library for change in self.changes})

    def select(self, libraries: Iterable[str] | None) -> list[ApiChange]:
        if libraries is None:
            return list(self.changes)
        wanted = {name.lower() for name in libraries}
        return [change for change in self.changes if change.library in wanted]


DATA_FOLDER = Path(__file__).resolve().parent / "data"
#: Suffix of a facts file; ``numpy.facts.json`` describes the library of ``numpy.jsonl``
#: (recode_lsp/engine/facts.py reads them).
FACTS_SUFFIX = ".facts.json"


def shipped_files(*, suffix: str = ".jsonl") -> list[tuple[str, str]]:
    """(name, text) of every shipped JSONL file (or facts file: ``suffix=FACTS_SUFFIX``), in a stable order."""
    out = []
    for entry in sorted(DATA_FOLDER.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(suffix):
            out.append((f"recode_lsp/engine/data/{entry.name}", entry.read_text(encoding="utf-8")))
    return out


def _extra_sources(path: Path) -> list[tuple[str, str]]:
    """An extra-changes file and the facts file beside it (``lib.jsonl`` + ``lib.facts.json``).

    A facts file may also be named on its own. Adding a library is adding those two files.
    """
    from recode_lsp.engine.facts import facts_path_for

    paths = [path] if path.name.endswith(FACTS_SUFFIX) else [path, facts_path_for(path)]
    out = []
    for index, item in enumerate(paths):
        if index and not item.is_file():
            continue  # the facts file is optional
        try:
            out.append((str(item), item.read_text(encoding="utf-8")))
        except OSError as exc:
            raise KnowledgeBaseError(f"{item}: cannot read extra changes file: {exc.strerror}") from None
    return out


def _register_facts(name: str, text: str) -> None:
    from recode_lsp.engine.facts import FactsError, parse_facts, register

    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KnowledgeBaseError(f"{name}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    try:
        register(parse_facts(record, name))
    except FactsError as exc:
        raise KnowledgeBaseError(str(exc)) from None


@lru_cache(maxsize=8)
def _load(extra: tuple[str, ...], stamps: tuple[object, ...] = ()) -> KnowledgeBase:
    # ``stamps`` (the extra files' mtime and size) only keys the cache: an edited overlay reloads.
    # No on-disk cache: parsing and validating the ~700 shipped entries takes ~20 ms, while a
    # cache would be a file in the user's folder read on every run (it was a pickle, which
    # runs code when loaded). The per-process lru_cache is enough for the language server.
    sources = [*shipped_files(), *shipped_files(suffix=FACTS_SUFFIX)]
    for path_text in extra:
        sources.extend(_extra_sources(Path(path_text)))
    digest = hasher(8)
    for name, text in sources:
        # Facts files count too: they change what the analysis types, so what is found.
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    changes: list[ApiChange] = []
    for name, text in sources:
        if name.endswith(FACTS_SUFFIX):
            if not name.startswith("recode_lsp/engine/data/"):  # shipped facts load on first use
                _register_facts(name, text)
            continue
        changes.extend(iter_jsonl(text, name))
    return KnowledgeBase(changes, fingerprint=digest.hexdigest()[:16])


def load_knowledge_base(extra_files: Sequence[str | Path] = ()) -> KnowledgeBase:
    """The shipped knowledge base plus the user's extra files (validated, cached per process)."""
    paths = tuple(str(Path(p).resolve()) for p in extra_files)
    return _load(paths, tuple(_stamp(Path(p)) for p in paths))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
