"""Model-written migrations: ask the served ReCode model, then let the validator decide.

Rules cover renames and moves; a changed signature or behaviour needs code rewritten, which is
what the ReCode model was trained for. This module turns one finding into the model's prompt,
calls the model, and returns an edit only when it passes the same checks as a rule fix:

1. **Prompt.** :func:`recode_lsp.prompt.build_messages`, exactly as in training: the update
   information is what the *target* version says about the new API (signature and docstring,
   from :mod:`recode_lsp.api_docs` when given, else the knowledge base's text), the
   knowledge-base note and the change in one line (:func:`describe_update`, which the training
   data's ``update_info`` is built with too); the old code is the innermost function around the
   finding (else the top-level statement), dedented, after the module-level imports it uses (and
   the short classes it needs when the change is not recognisable without them): exactly how
   :mod:`model_training.data.build` cuts training snippets (:func:`prompt_code`).
2. **Answer.** The code is read with :func:`recode_lsp.prompt.extract_code` (the reward's
   reader), must parse on its own; leading imports the module already has and the context
   classes are dropped; it is re-indented to the region and spliced over exactly the region's
   text: the edit cannot touch anything else.
3. **Validation.** The new module parses; the finding's change is gone from the region; the
   names the region defined are still defined; nothing is flagged that was not before and no
   name is left undefined nor builtin newly shadowed
   (:func:`recode_lsp.engine.validator.check_names`, as for rule fixes; not the "apply twice"
   check, which is about rule fixes); and, when a name checker is given, every
   library name the answer introduces exists in the target version.

Whatever goes wrong (no server, a timeout, a 500, an answer without code or that still uses the
old API) comes back as ``ok=False`` with a reason a user can read; model and server problems
never raise. Model fixes are unsafe by nature: the caller offers them, never applies them alone.
"""

from __future__ import annotations

import ast
import asyncio
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from recode_lsp.engine.analysis import LineIndex
from recode_lsp.engine.changes import DISPLAY_NAMES, ApiChange
from recode_lsp.engine.detector import SourceError, analyse, detect
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding, TextEdit
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.validator import Baseline, NameChecker, check_names, parses
from recode_lsp.model_client import ModelClient, ModelError
from recode_lsp.prompt import build_messages, extract_code

if TYPE_CHECKING:
    from recode_lsp.api_docs import ApiDoc

__all__ = [
    "ModelFixResult",
    "Region",
    "context_classes",
    "dedent_block",
    "describe_update",
    "enclosing_region",
    "import_header",
    "module_classes",
    "prompt_code",
    "propose",
    "propose_sync",
    "region_code",
]


@dataclass
class ModelFixResult:
    """The model's proposal for one finding, and whether it may be offered."""

    ok: bool
    #: The whole document with the edit applied (only when ``ok``).
    new_source: str | None
    #: ``[start, end)`` offsets (code points) of the replaced text in the *original* source.
    edits_region: tuple[int, int] | None
    #: Why it was rejected, or what was checked when it was accepted.
    reason: str
    #: The messages sent to the model (system, user, prefilled assistant).
    prompt_messages: list[dict[str, str]]
    #: The model's whole assistant turn, when it answered.
    raw_answer: str | None
    #: The text that replaces ``edits_region`` (only when ``ok``).
    new_text: str | None = None

    @property
    def edits(self) -> list[TextEdit]:
        """The edit as engine :class:`~recode_lsp.engine.model.TextEdit` values (empty unless ``ok``)."""
        if not self.ok or self.edits_region is None or self.new_text is None:
            return []
        return [TextEdit(self.edits_region[0], self.edits_region[1], self.new_text)]


@dataclass(frozen=True)
class Region:
    """The text given to the model as old code, and replaced by its answer."""

    start: int
    end: int
    #: Indentation of the region's first line (the answer is re-indented to it).
    indent: str
    #: ``"function"``, ``"statement"`` or ``"selection"``.
    kind: str
    #: Names the region defines at its top level (a function's name...): the answer must keep them.
    defines: frozenset[str] = field(default=frozenset())


def _defined_names(statements: Sequence[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _statement_span(lines: LineIndex, source: str, node: ast.stmt) -> tuple[int, int, str]:
    """Span of a statement, decorators included, from its line's start when it begins the line."""
    decorators = getattr(node, "decorator_list", None) or []
    first = decorators[0] if decorators else node
    start = lines.offset(first.lineno, first.col_offset)
    if decorators:
        start -= 1  # the ``@``
        while start > 0 and source[start] != "@":
            start -= 1
    end = lines.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
    line_start = lines.line_starts[first.lineno - 1]
    before = source[line_start:start]
    if before.strip():
        return start, end, ""  # shares its line with other code
    return line_start, end, before


def enclosing_region(source: str, finding: Finding, tree: ast.Module | None = None) -> Region | None:
    """The innermost function around the finding, else its top-level statement (None: not found)."""
    tree = tree or ast.parse(source)
    lines = LineIndex(source)
    start, end = finding.start_offset, finding.end_offset
    best: tuple[int, int, str, ast.stmt] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            span_start, span_end, indent = _statement_span(lines, source, node)
            if span_start <= start and end <= span_end and (best is None or span_start >= best[0]):
                best = (span_start, span_end, indent, node)
    if best is not None:
        return Region(best[0], best[1], best[2], "function", frozenset(_defined_names([best[3]])))
    for node in tree.body:
        span_start, span_end, indent = _statement_span(lines, source, node)
        if span_start <= start and end <= span_end:
            return Region(span_start, span_end, indent, "statement", frozenset(_defined_names([node])))
    return None


def _selection_region(source: str, start: int, end: int) -> Region:
    """A selection widened to whole lines (without the last line break)."""
    line_start = source.rfind("\n", 0, start) + 1
    if end > start and source[end - 1] == "\n":
        end -= 1
    line_end = source.find("\n", end)
    line_end = len(source) if line_end == -1 else line_end
    text = source[line_start:line_end]
    indent = text[: len(text) - len(text.lstrip())] if text.strip() else ""
    try:
        defines = frozenset(_defined_names(ast.parse(textwrap.dedent(text)).body))
    except SyntaxError:
        defines = frozenset()
    return Region(line_start, line_end, indent, "selection", defines)


# --------------------------------------------------------------------------- the old code the model sees
# One cut for training and inference: ``model_training.data.build`` makes its snippets with these
# functions, so a served model sees a region exactly as its training snippets looked: the
# module-level imports the code uses, the short classes it needs (only when the change cannot be
# recognised without them), then the code, dedented.


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run at module level (also inside ``if``/``try``/``with`` blocks)."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        statement = stack.pop()
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
        elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.AsyncWith)) or (
            sys.version_info >= (3, 11) and isinstance(statement, ast.TryStar)
        ):
            children: list[ast.stmt] = []
            for name in ("body", "handlers", "orelse", "finalbody"):
                for child in getattr(statement, name, ()):
                    children.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
            stack.extend(reversed(children))


def _used_names(node: ast.AST) -> set[str]:
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def import_header(tree: ast.Module, nodes: Sequence[ast.AST]) -> str:
    """The module-level imports ``nodes`` use, one statement per line, in source order.

    Each import statement is reduced to the aliases whose bound name the nodes use (the first
    binding of a name wins); ``from __future__`` imports are always kept.
    """
    used = set().union(*(_used_names(node) for node in nodes))
    taken: set[str] = set()
    future: list[str] = []
    lines: list[str] = []
    for statement in _top_level_imports(tree):
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            future.append(ast.unparse(statement))
            continue
        keep = []
        for alias in statement.names:
            if alias.name == "*":
                continue
            bound = alias.asname or (alias.name.split(".", 1)[0] if isinstance(statement, ast.Import) else alias.name)
            if bound in used and bound not in taken:
                taken.add(bound)
                keep.append(ast.alias(name=alias.name, asname=alias.asname))
        if not keep:
            continue
        if isinstance(statement, ast.Import):
            lines.append(ast.unparse(ast.Import(names=keep)))
        else:
            lines.append(ast.unparse(ast.ImportFrom(module=statement.module, names=keep, level=statement.level)))
    return "\n".join([*future, *lines])


def context_classes(tree: ast.Module, node: ast.AST, max_lines: int = 40) -> list[str]:
    """Names of the short module-level classes ``node`` uses (the receivers' classes).

    The detector knows that ``user.dict()`` is pydantic's ``BaseModel.dict`` only when it sees
    ``class User(BaseModel)``; such classes go into a snippet that needs them.
    """
    used = _used_names(node)
    names = []
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef) and statement.name in used and statement is not node:
            first = min([statement.lineno, *(d.lineno for d in statement.decorator_list)])
            if (statement.end_lineno or statement.lineno) - first + 1 <= max_lines:
                names.append(statement.name)
    return names


def module_classes(tree: ast.Module, names: Sequence[str]) -> list[ast.ClassDef] | None:
    """The module-level classes called ``names`` in ``tree`` (the last of each name), or None."""
    found = []
    for name in names:
        matches = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name]
        if matches:
            found.append(matches[-1])
    return found if len(found) == len(names) else None


def class_text(source: str, node: ast.ClassDef) -> str:
    """A module-level class's source, decorators included."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines = source.splitlines(keepends=True)
    return "".join(lines[first - 1 : node.end_lineno or node.lineno]).rstrip() + "\n"


def dedent_block(text: str) -> str:
    """Lines with the first line's indentation removed (lines indented less are kept as is)."""
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    if not indent:
        return text.rstrip() + "\n"
    lines = [line.removeprefix(indent) for line in text.splitlines()]
    return "\n".join(lines).rstrip() + "\n"


def prompt_code(
    source: str,
    tree: ast.Module,
    text: str,
    nodes: Sequence[ast.AST],
    context: Sequence[ast.ClassDef] = (),
) -> str:
    """The code the model sees: the imports ``nodes`` (and ``context``) use, the context classes, ``text`` dedented.

    Training snippets (``model_training.data.build``) and inference regions both come from here.
    """
    header = import_header(tree, [*nodes, *context])
    parts = [header] if header else []
    parts.extend(class_text(source, node) for node in context)
    parts.append(dedent_block(text))
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def target_version(change: ApiChange, options: DetectOptions) -> str:
    """The version the prompt names: the project's target, else the version that changed the API."""
    version = options.targets.get(change.library) or change.removed_in or change.deprecated_in
    return str(version) if version is not None else "its latest release"


def describe_update(change: ApiChange, docs: ApiDoc | None, version: str) -> str:
    """The prompt's update information: what changed, and the new API as the target defines it."""
    library = DISPLAY_NAMES.get(change.library, change.library)
    parts: list[str] = [change.message()]
    if change.note and change.note not in parts[0]:
        parts.append(change.note)
    name = (docs.qualified_name if docs is not None else None) or change.new
    signature = docs.signature if docs is not None else None
    docstring = docs.docstring if docs is not None else change.doc
    if docs is not None and not docstring:
        docstring = change.doc
    if signature or (docstring and docstring not in parts):
        where = docs.version if docs is not None and docs.version else version
        header = f"`{name}` in {library} {where}:" if name else f"In {library} {where}:"
        block = [header]
        if signature:
            block.append(textwrap.indent(signature, "    "))
        if docstring and docstring not in parts:
            block.append(docstring.strip())
        parts.append("\n".join(block))
    return "\n\n".join(parts)


def _rejected(reason: str, messages: list[dict[str, str]], raw: str | None = None) -> ModelFixResult:
    return ModelFixResult(False, None, None, reason, messages, raw)


def _import_bindings(statement: ast.Import | ast.ImportFrom) -> set[tuple[str | None, int, str, str | None]]:
    if isinstance(statement, ast.Import):
        return {(None, 0, alias.name, alias.asname) for alias in statement.names}
    return {(statement.module, statement.level, alias.name, alias.asname) for alias in statement.names}


def _strip_context(
    code: str, module: ast.Module, context: Sequence[str] = (), region_lines: tuple[int, int] = (0, 0)
) -> str:
    """Drop the leading imports the module already has, and the context classes, from an answer.

    The model saw the region with its imports (and maybe context classes) and answers in the same
    shape; only the region itself is replaced, so what the module already binds is dropped (an
    import counts as present when every name it binds is bound the same way at module level,
    outside the region's ``region_lines``, first and last, 1-based). An import the module lacks
    stays, at the top of the region.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    present: set[tuple[str | None, int, str, str | None]] = set()
    for statement in _top_level_imports(module):
        if not region_lines[0] <= statement.lineno <= region_lines[1]:  # the region's own imports are replaced
            present |= _import_bindings(statement)
    drop_until = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and _import_bindings(node) <= present:
            drop_until = node.end_lineno or node.lineno
            continue
        if isinstance(node, ast.ClassDef) and node.name in context:
            drop_until = node.end_lineno or node.lineno
            continue
        break
    if not drop_until or drop_until >= len(code.splitlines()):
        return code
    return "\n".join(code.splitlines()[drop_until:]).lstrip("\n")


def _library_names(source: str, start: int, end: int, top: str) -> set[str]:
    """Qualified names under package ``top`` that code in ``[start, end)`` refers to."""
    analysis = analyse(source)
    lines = analysis.lines
    names: set[str] = set()
    inner: set[int] = set()
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(analysis.tree):
        if not isinstance(node, (ast.Attribute, ast.Name)) or id(node) in inner:
            continue
        offset = lines.offset(node.lineno, node.col_offset)
        if not start <= offset < end:
            continue
        qualified = analysis.qualified_name(node)
        if qualified and qualified.split(".", 1)[0] == top:
            names.add(qualified)
    return names


def _still_uses(change: ApiChange) -> str:
    if change.old_keyword:
        return f"the model's answer still passes `{change.old_keyword}=` to `{change.old}`"
    return f"the model's answer still uses {change.old}"


async def propose(
    source: str,
    finding: Finding,
    kb: KnowledgeBase,
    options: DetectOptions,
    client: ModelClient,
    docs: ApiDoc | None = None,
    path: str = "<string>",
    *,
    name_exists: NameChecker | None = None,
    selection: tuple[int, int] | None = None,
    max_tokens: int = 1024,
    temperature: float = 0.0,
    template: str | None = None,
) -> ModelFixResult:
    """Ask the model to migrate the code around ``finding``; validated, never raises for model problems.

    ``selection`` (offsets) replaces the enclosing function as the region, widened to whole lines.
    ``name_exists`` (e.g. :meth:`recode_lsp.api_docs.ApiDocs.name_checker`) checks that the
    library names the answer introduces exist in the target version. ``template`` names the
    prompt wording the adapter was trained with (:data:`recode_lsp.prompt.TEMPLATES`; None: ours).
    """
    prepared = await asyncio.to_thread(_prepare, source, finding, kb, options, docs, selection, template)
    if isinstance(prepared, ModelFixResult):
        return prepared
    try:
        raw = await client.complete(prepared.messages, max_tokens=max_tokens, temperature=temperature)
    except ModelError as exc:
        return _rejected(str(exc), prepared.messages)
    except Exception as exc:  # noqa: BLE001 - a model problem must never break the editor
        return _rejected(f"the model call failed: {type(exc).__name__}: {exc}", prepared.messages)
    # Detection and validation of a large file take a while: off the event loop.
    return await asyncio.to_thread(_check, source, finding, kb, options, path, name_exists, prepared, raw)


@dataclass(frozen=True)
class _Prepared:
    """What :func:`propose` sends to the model, and where the answer goes."""

    tree: ast.Module
    region: Region
    version: str
    messages: list[dict[str, str]]
    #: Names of the module-level classes shown before the region (dropped from the answer).
    context: tuple[str, ...] = ()


def region_code(
    source: str, tree: ast.Module, region: Region, change_id: str, kb: KnowledgeBase, options: DetectOptions
) -> tuple[str, tuple[str, ...]]:
    """The old code shown for ``region`` and the context classes it includes, cut as training snippets are.

    The region's text dedented, after the module-level imports it uses; when the change is not
    recognised in that alone (a member use whose receiver's class says which library it is), the
    short module-level classes it uses go between the imports and the region, as
    ``model_training.data.build`` adds them.
    """
    text = source[region.start : region.end]
    try:
        nodes: list[ast.AST] = [ast.parse(textwrap.dedent(text))]
    except SyntaxError:  # a selection need not parse alone: no imports then
        return dedent_block(text), ()
    code = prompt_code(source, tree, text, nodes)
    try:
        found = {f.code for f in detect(code, kb, options)}
    except (SourceError, RecursionError, ValueError):
        return code, ()
    if change_id in found:
        return code, ()
    names = context_classes(tree, nodes[0])
    classes = module_classes(tree, names) if names else None
    if not classes:
        return code, ()
    return prompt_code(source, tree, text, nodes, classes), tuple(names)


def _prepare(
    source: str,
    finding: Finding,
    kb: KnowledgeBase,
    options: DetectOptions,
    docs: ApiDoc | None,
    selection: tuple[int, int] | None,
    template: str | None = None,
) -> _Prepared | ModelFixResult:
    """Parse the document, find the region and build the prompt (CPU work, run in a thread)."""
    change = finding.change
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        return _rejected(f"the file does not parse, so it cannot be migrated: {exc}", [])
    if not 0 <= finding.start_offset <= finding.end_offset <= len(source):
        return _rejected("the finding is no longer in the document", [])
    if selection is not None:
        region = _selection_region(source, *selection)
    else:
        found = enclosing_region(source, finding, tree)
        if found is None:
            return _rejected("no function or statement encloses the finding", [])
        region = found
    old_code, context = region_code(source, tree, region, finding.code, kb, options)
    version = target_version(change, options)
    messages = build_messages(change.library, version, describe_update(change, docs, version), old_code, template)
    return _Prepared(tree, region, version, messages, context)


def _check(
    source: str,
    finding: Finding,
    kb: KnowledgeBase,
    options: DetectOptions,
    path: str,
    name_exists: NameChecker | None,
    prepared: _Prepared,
    raw: str,
) -> ModelFixResult:
    """Read the model's answer, splice it over the region and validate (CPU work, run in a thread)."""
    change = finding.change
    tree, region, version, messages = prepared.tree, prepared.region, prepared.version, prepared.messages
    code = extract_code(raw)
    if code is None or not code.strip():
        return _rejected("the model returned no code", messages, raw)
    code = textwrap.dedent(code.strip("\n")).rstrip()
    try:
        answer_tree = ast.parse(code)
    except SyntaxError as exc:
        return _rejected(f"the model's answer does not parse (line {exc.lineno}: {exc.msg})", messages, raw)
    lines = (source.count("\n", 0, region.start) + 1, source.count("\n", 0, region.end) + 1)
    stripped = _strip_context(code, tree, prepared.context, lines)
    if stripped != code:
        code = stripped
        answer_tree = ast.parse(code)
    if missing := region.defines - _defined_names(answer_tree.body):
        names = ", ".join(f"`{name}`" for name in sorted(missing))
        return _rejected(f"the model's answer drops {names}", messages, raw)
    new_text = textwrap.indent(code, region.indent) if region.indent else code
    new_source = source[: region.start] + new_text + source[region.end :]
    new_end = region.start + len(new_text)

    verdict = parses(new_source)
    if not verdict.ok:
        return _rejected(f"the file would not parse after the model's edit: {verdict.reason}", messages, raw)
    try:
        original = analyse(source, path)
        before = detect(source, kb, options, path, analysis=original, apply_suppressions=False)
        after = detect(new_source, kb, options, path, apply_suppressions=False)
    except SourceError as exc:
        return _rejected(f"the model's edit cannot be checked: {exc}", messages, raw)
    if any(f.code == finding.code and region.start <= f.start_offset < new_end for f in after):
        return _rejected(_still_uses(change), messages, raw)
    count_before = Counter(f.code for f in before)
    for code_id, number in Counter(f.code for f in after).items():
        allowed = count_before.get(code_id, 0) - (1 if code_id == finding.code else 0)
        if number > allowed:
            new = next((f for f in after if f.code == code_id and region.start <= f.start_offset < new_end), None)
            what = new.message if new is not None else code_id
            return _rejected(f"the model's answer introduces {code_id}: {what}", messages, raw)
    # The validator's name checks, against the module before the edit (the ones rule fixes
    # pass: no new undefined name, no new module-level builtin binding); not its "apply twice"
    # check, which is about rule fixes (the same change elsewhere is still fixable by rules).
    checked = check_names(baseline=Baseline(analysis=original, findings=before, path=path), new_source=new_source)
    if not checked.ok:
        return _rejected(f"the model's answer {checked.reason}", messages, raw)
    if name_exists is not None:
        top = (change.new or change.old).split(".", 1)[0]
        introduced = _library_names(new_source, region.start, new_end, top) - _library_names(
            source, region.start, region.end, top
        )
        for name in sorted(introduced):
            if name_exists(name, change.library) is False:
                library = DISPLAY_NAMES.get(change.library, change.library)
                return _rejected(
                    f"the model's answer uses `{name}`, which does not exist in {library} {version}", messages, raw
                )
    return ModelFixResult(
        True,
        new_source,
        (region.start, region.end),
        f"the model's migration of {change.old} passed validation",
        messages,
        raw,
        new_text,
    )


def propose_sync(
    source: str,
    finding: Finding,
    kb: KnowledgeBase,
    options: DetectOptions,
    client: ModelClient,
    docs: ApiDoc | None = None,
    path: str = "<string>",
    *,
    name_exists: NameChecker | None = None,
    selection: tuple[int, int] | None = None,
    max_tokens: int = 1024,
    temperature: float = 0.0,
    template: str | None = None,
) -> ModelFixResult:
    """:func:`propose` for synchronous callers (the CLI); not for use inside an event loop."""

    async def once() -> ModelFixResult:
        try:
            return await propose(
                source,
                finding,
                kb,
                options,
                client,
                docs,
                path,
                name_exists=name_exists,
                selection=selection,
                max_tokens=max_tokens,
                temperature=temperature,
                template=template,
            )
        finally:
            await client.aclose()

    return asyncio.run(once())
