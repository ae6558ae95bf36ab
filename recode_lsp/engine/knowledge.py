"""Loading and indexing the knowledge base of API changes.

The shipped facts live in ``recode_lsp/engine/data/*.jsonl`` (one JSON object per line,
documented in ``docs/knowledge-base.md``); users add their own in files named by
``[tool.recode] extra-changes``. Every entry is validated on load, and a malformed one is
reported with its file and line.
"""

from __future__ import annotations

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
    "deprecated_in",
    "removed_in",
    "note",
    "doc",
    "source",
    "fix",
    "rule",
    "restored_in",
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
        deprecated_in=deprecated_in,
        removed_in=removed_in,
        note=note,
        doc=_optional_str(record, "doc", where),
        source=str(record["source"]),
        fix=fix,
        rule=rule,
        restored_in=restored_in,
        origin=where,
    )


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

    def __post_init__(self) -> None:
        self.by_id = {}
        self.by_old = defaultdict(list)
        self.by_member = defaultdict(lambda: defaultdict(list))
        for change in self.changes:
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


def shipped_files() -> list[tuple[str, str]]:
    """(name, text) of every shipped JSONL file, in a stable order."""
    out = []
    for entry in sorted(DATA_FOLDER.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".jsonl"):
            out.append((f"recode_lsp/engine/data/{entry.name}", entry.read_text(encoding="utf-8")))
    return out


@lru_cache(maxsize=8)
def _load(extra: tuple[str, ...]) -> KnowledgeBase:
    # No on-disk cache: parsing and validating the ~700 shipped entries takes ~20 ms, while a
    # cache would be a file in the user's folder read on every run (it was a pickle, which
    # runs code when loaded). The per-process lru_cache is enough for the language server.
    sources = list(shipped_files())
    for path_text in extra:
        path = Path(path_text)
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise KnowledgeBaseError(f"{path}: cannot read extra changes file: {exc.strerror}") from None
    digest = hasher(8)
    for name, text in sources:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    changes = [change for name, text in sources for change in iter_jsonl(text, name)]
    return KnowledgeBase(changes, fingerprint=digest.hexdigest()[:16])


def load_knowledge_base(extra_files: Sequence[str | Path] = ()) -> KnowledgeBase:
    """The shipped knowledge base plus the user's extra files (validated, cached per process)."""
    return _load(tuple(str(Path(p).resolve()) for p in extra_files))
