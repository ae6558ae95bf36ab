"""Settings: the editor's ``recode`` section merged over the project's ``[tool.recode]``.

LSP has two ways to get settings. The current one is *pull*: the server sends a
``workspace/configuration`` request naming a section (``recode``) and a scope (the document's
URI, so a multi-root workspace can differ per folder), and the client answers with the values.
When the user changes a setting, the client sends ``workspace/didChangeConfiguration``; its
payload is often empty, so the server forgets what it pulled and pulls again. Clients
without ``workspace/configuration`` support get the older behaviour: values come from
``initializationOptions`` and from the ``settings`` of ``didChangeConfiguration``.

The section (all keys optional)::

    {
      "targets": ["numpy==2.0"],          // versions the project moves to (before [tool.recode])
      "interpreter": ".venv/bin/python",  // whose installed versions count (run: the user chose it)
      "trustProjectInterpreter": false,    // run [tool.recode] python too (else its files are read)
      "model": {"endpoint": "http://localhost:8000/v1", "name": "recode"},
      "unsafeFixes": false,                // offer unsafe quick fixes; fix-all applies them
      "libraries": ["numpy", "pandas"],   // only these libraries
      "debounceMs": 150,                   // push diagnostics this long after the last edit
      "maxFileBytes": 2000000, "maxFileLines": 50000,  // larger files are skipped
      "apiDocs": true,                     // hover shows the target version's docs (may fetch)
      "hoverDocsTimeoutMs": 1500,          // how long hover waits for them
      "tooNew": false                      // names/keywords the targeted release lacks (RCN ids; may fetch)
    }

``tooNew`` unset (null) leaves the choice to ``RECODE_TOO_NEW=1`` in the server's environment.

The editor's values win over ``[tool.recode]`` (targets per library; the rest key by key),
as the architecture orders the sources of a target version.

An interpreter named by the project (``[tool.recode] python``) is never run unless the user
trusts it (``trustProjectInterpreter``, or ``RECODE_TRUST_PYTHON=1`` in the server's
environment): opening a file of a cloned repository must not run a program it names. The
versions installed in its virtual environment are then read from its files instead.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from recode_lsp.cli.config import ConfigError, ProjectConfig, find_project_root, load_config
from recode_lsp.engine.document import AnalysisContext
from recode_lsp.engine.knowledge import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.validator import NameChecker
from recode_lsp.engine.versions import Version, parse_target, resolve_targets, trusted_by_environment

if TYPE_CHECKING:
    from recode_lsp.server.server import RecodeLanguageServer

logger = logging.getLogger(__name__)

SECTION = "recode"
#: Files whose changes can change a project's targets or options (``[tool.recode]``, pins).
PROJECT_FILES = ("pyproject.toml", "requirements*.txt", "setup.cfg")
#: Knowledge-base overlays (``[tool.recode] extra-changes``) and their facts: a saved accepted entry
#: must reach the open documents without a restart (issue 12).
OVERLAY_FILES = ("*.jsonl", "*.facts.json")
#: Sent to clients that declare ``experimental.recodeStatus``: the targets a project resolved to
#: (see :func:`status_of`), for a status bar or ``:Recode info``.
STATUS_NOTIFICATION = "recode/status"


@dataclass(frozen=True)
class EditorSettings:
    """The editor's ``recode`` section, checked; bad values are dropped with a warning."""

    targets: tuple[str, ...] = ()
    interpreter: str | None = None
    #: Run the interpreter ``[tool.recode] python`` names (the project's, not the user's choice).
    trust_project_interpreter: bool = False
    model_endpoint: str | None = None
    model_name: str | None = None
    #: Seconds the whole model call may take (retries included).
    model_timeout: float = 30.0
    #: None: as ``[tool.recode] unsafe-fixes`` says.
    unsafe_fixes: bool | None = None
    libraries: tuple[str, ...] | None = None
    debounce_ms: int = 150
    max_file_bytes: int = 2_000_000
    max_file_lines: int = 50_000
    api_docs: bool = True
    hover_docs_timeout_ms: int = 1500
    #: The too-new check (:mod:`recode_lsp.toonew.lsp`); None: as ``RECODE_TOO_NEW`` says.
    too_new: bool | None = None
    #: What was wrong with the raw values (shown once in the log).
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, raw: object) -> EditorSettings:
        """Read the section as a client sends it (nested objects or dotted keys)."""
        values = _flatten(raw) if isinstance(raw, Mapping) else {}
        problems: list[str] = []

        def strings(key: str) -> tuple[str, ...] | None:
            value = values.get(key)
            if value is None:
                return None
            if isinstance(value, str):
                return (value,)
            if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
                return tuple(value)
            problems.append(f"recode.{key} must be a list of strings")
            return None

        def text(key: str) -> str | None:
            value = values.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            if isinstance(value, str):
                return value.strip()
            problems.append(f"recode.{key} must be a string")
            return None

        def number(key: str, default: int) -> int:
            value = values.get(key)
            if value is None:
                return default
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return int(value)
            problems.append(f"recode.{key} must be a non-negative number")
            return default

        model_timeout = values.get("model.timeout", 30.0)
        if isinstance(model_timeout, bool) or not isinstance(model_timeout, (int, float)) or model_timeout <= 0:
            problems.append("recode.model.timeout must be a positive number of seconds")
            model_timeout = 30.0
        api_docs = values.get("apiDocs")
        if api_docs is None:  # unset (clients send null for "not set")
            api_docs = True
        elif not isinstance(api_docs, bool):
            problems.append("recode.apiDocs must be true or false")
            api_docs = True
        trust = values.get("trustProjectInterpreter", False)
        if not isinstance(trust, bool):
            problems.append("recode.trustProjectInterpreter must be true or false")
            trust = False
        too_new = values.get("tooNew")
        if too_new is not None and not isinstance(too_new, bool):
            problems.append("recode.tooNew must be true or false")
            too_new = None
        unsafe = values.get("unsafeFixes")
        if unsafe is not None and not isinstance(unsafe, bool):
            problems.append("recode.unsafeFixes must be true or false")
            unsafe = None
        targets = strings("targets") or ()
        for target in targets:
            try:
                parse_target(target)
            except ValueError as exc:
                problems.append(f"recode.targets: {exc}")
        libraries = strings("libraries")
        return cls(
            targets=tuple(t for t in targets if _valid_target(t)),
            interpreter=text("interpreter"),
            trust_project_interpreter=trust,
            model_endpoint=text("model.endpoint"),
            model_name=text("model.name"),
            model_timeout=float(model_timeout),
            unsafe_fixes=unsafe,
            libraries=tuple(name.lower() for name in libraries) if libraries is not None else None,
            debounce_ms=number("debounceMs", 150),
            max_file_bytes=number("maxFileBytes", 2_000_000),
            max_file_lines=number("maxFileLines", 50_000),
            api_docs=api_docs,
            hover_docs_timeout_ms=number("hoverDocsTimeoutMs", 1500),
            too_new=too_new,
            problems=tuple(problems),
        )


def _valid_target(text: str) -> bool:
    try:
        parse_target(text)
    except ValueError:
        return False
    return True


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"endpoint": x}}`` and ``{"model.endpoint": x}`` both give ``model.endpoint``."""
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and name == "model":
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True, eq=False)
class ProjectContext:
    """Everything needed to analyse one project's documents, resolved from the settings."""

    analysis: AnalysisContext
    settings: EditorSettings
    root: Path
    #: ``numpy==2.0 (editor)`` and so on, for the log.
    targets: tuple[str, ...]
    #: Problems met while resolving (a malformed ``[tool.recode]``...), for the log.
    problems: tuple[str, ...] = ()


def resolve_context(settings: EditorSettings, path: Path) -> ProjectContext:
    """The project of ``path``: its ``[tool.recode]``, knowledge base and target versions.

    Blocking (reads files; may ask another interpreter for its versions): call it off the
    event loop.
    """
    root = find_project_root(path)
    problems = list(settings.problems)
    try:
        config = load_config(root)
    except ConfigError as exc:
        problems.append(str(exc))
        config = ProjectConfig(root=root)
    try:
        kb = load_knowledge_base(config.extra_changes)
    except KnowledgeBaseError as exc:
        problems.append(str(exc))
        kb = load_knowledge_base()
    editor_targets: dict[str, Version] = {}
    for text in settings.targets:
        library, version = parse_target(text)
        editor_targets[library] = version
    libraries = list(settings.libraries) if settings.libraries is not None else config.libraries
    probe = DetectOptions(select=config.select, ignore=config.ignore, libraries=libraries)
    wanted = sorted({change.library for change in kb.changes if probe.severity(change) is not None})
    python = settings.interpreter or config.python
    if python is not None and not os.path.isabs(python) and os.sep in python:
        python = str(root / python)
    run_python = settings.interpreter is not None or settings.trust_project_interpreter or trusted_by_environment()
    if python is not None and not run_python:
        problems.append(
            f"not running {python!r} from [tool.recode] python in {config.path}: a project's settings do not run "
            "programs; its installed versions are read from its virtual environment's files instead. To run it, "
            'set "recode.interpreter" to it or "recode.trustProjectInterpreter": true'
        )
    try:
        targets = resolve_targets(
            wanted,
            cli_targets=editor_targets,
            config_targets=config.targets,
            project_root=root,
            python=python,
            run_python=run_python,
        )
    except RuntimeError as exc:
        problems.append(str(exc))
        targets = resolve_targets(
            wanted, cli_targets=editor_targets, config_targets=config.targets, project_root=root, use_installed=False
        )
    options = DetectOptions(
        targets={library: targets.version(library) for library in wanted},
        select=config.select,
        ignore=config.ignore,
        libraries=libraries,
    )
    # An interpreter that may not run is not handed on either (API docs would ask it for its paths).
    name_exists = _name_checker(settings, python if run_python else None, options, kb)
    unsafe = settings.unsafe_fixes if settings.unsafe_fixes is not None else config.unsafe_fixes
    described = tuple(
        line.replace("(--target)", "(editor setting)") for line in targets.describe() if line.split("==")[0] in wanted
    )
    analysis = AnalysisContext(kb, options, unsafe=unsafe, name_exists=name_exists)
    _configure_too_new(settings, analysis, root, {**config.targets, **editor_targets})
    return ProjectContext(
        analysis=analysis,
        settings=settings,
        root=root,
        targets=described,
        problems=tuple(problems),
    )


def _configure_too_new(
    settings: EditorSettings, analysis: AnalysisContext, root: Path, editor_targets: Mapping[str, Version]
) -> None:
    """Tell the too-new check whether it runs for this context, and against which versions: the
    context's targets plus every library the project pins (the check reads any library's release)."""
    from recode_lsp.toonew import lsp as too_new

    if not (settings.too_new if settings.too_new is not None else too_new.environment_enabled()):
        too_new.configure(analysis, False, {})
        return
    from recode_lsp.toonew.run import candidate_targets

    resolved = {name: version for name, version in analysis.options.targets.items()}
    too_new.configure(analysis, True, candidate_targets(resolved, root, editor_targets))


def _name_checker(
    settings: EditorSettings, python: str | None, options: DetectOptions, kb: KnowledgeBase
) -> NameChecker | None:
    """How the validator checks that a name a fix introduces exists in the target version.

    First the packages installed in this process at their target version (fast, read with
    :mod:`ast`); then, with ``apiDocs`` on, the target release as :mod:`recode_lsp.api_docs`
    reads it (installed in the workspace's interpreter, or fetched from the package index),
    without ever waiting: a release not read yet is read in the background and checks the
    fixes asked for after that.
    """
    from recode_lsp.engine.names import InstalledNames, first_answer
    from recode_lsp.engine.versions import installed_versions
    from recode_lsp.server.hover import shared_api_docs

    checkers: list[NameChecker] = []
    if python is None:
        checkers.append(InstalledNames(options.targets, installed_versions(kb.libraries)))
    docs = shared_api_docs(python) if settings.api_docs else None
    if docs is not None:
        checkers.append(docs.name_checker(options.targets, wait=False))
    return first_answer(checkers) if checkers else None


def project_key(settings: EditorSettings, path: Path) -> tuple[object, ...]:
    """What a resolved context depends on: the settings, the project root and its pyproject."""
    root = find_project_root(path)
    try:
        stat = (root / "pyproject.toml").stat()
        stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    return (settings, str(root), stamp)


class SettingsStore:
    """The settings of each open document, pulled from the client and cached until they change."""

    def __init__(self, server: RecodeLanguageServer) -> None:
        self._server = server
        #: ``initializationOptions`` and pushed ``didChangeConfiguration`` settings.
        self._fallback: dict[str, Any] = {}
        self._by_uri: dict[str, asyncio.Future[EditorSettings]] = {}
        self._contexts: dict[tuple[object, ...], asyncio.Future[ProjectContext]] = {}
        self._reported: set[str] = set()
        #: Bumped on every configuration change; part of diagnostic result ids.
        self.generation = 0

    def set_fallback(self, raw: object) -> None:
        """Settings sent without being asked (``initializationOptions``, pushed changes)."""
        if isinstance(raw, Mapping):
            section = raw.get(SECTION, raw)
            if isinstance(section, Mapping):
                self._fallback = dict(section)

    def invalidate(self) -> None:
        """Forget everything pulled or resolved: the next request pulls again."""
        self.generation += 1
        self._by_uri.clear()
        self._contexts.clear()
        self._reported.clear()

    async def for_uri(self, uri: str) -> EditorSettings:
        future = self._by_uri.get(uri)
        if future is None:
            future = asyncio.ensure_future(self._pull(uri))
            self._by_uri[uri] = future
        return await asyncio.shield(future)

    async def _pull(self, uri: str) -> EditorSettings:
        raw: object = self._fallback
        if self._server.client.configuration:
            try:
                answer = await asyncio.wait_for(
                    self._server.workspace_configuration_async(
                        types.ConfigurationParams(items=[types.ConfigurationItem(scope_uri=uri, section=SECTION)])
                    ),
                    timeout=10,
                )
                if answer and isinstance(answer[0], Mapping):
                    raw = {**self._fallback, **answer[0]}
            except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 - fall back to what we have
                logger.warning("workspace/configuration failed: %r; using the settings sent at start", exc)
        return EditorSettings.parse(raw)

    async def context_for(self, uri: str, path: Path) -> ProjectContext:
        """The resolved project context of a document (resolved off the event loop, cached)."""
        settings = await self.for_uri(uri)
        key = project_key(settings, path)
        future = self._contexts.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = asyncio.ensure_future(
                loop.run_in_executor(self._server.executor, resolve_context, settings, path)
            )
            self._contexts[key] = future
        project = await asyncio.shield(future)
        self._report(project)
        return project

    def _report(self, project: ProjectContext) -> None:
        """Log what a project resolved to, once per project and configuration."""
        key = str(project.root)
        if key in self._reported:
            return
        self._reported.add(key)
        targets = ", ".join(project.targets) or "none (the newest versions the knowledge base knows)"
        self._server.log(f"project {project.root}: targets {targets}", types.MessageType.Info)
        for problem in project.problems:
            self._server.log(problem, types.MessageType.Warning)
        if wants_status(self._server):
            self._server.protocol.notify(STATUS_NOTIFICATION, status_of(project))


def wants_status(server: RecodeLanguageServer) -> bool:
    """Whether the client asked for ``recode/status`` (``experimental.recodeStatus`` in its capabilities)."""
    try:
        experimental = server.client_capabilities.experimental
    except (AttributeError, RuntimeError):  # not initialised yet
        return False
    return isinstance(experimental, Mapping) and experimental.get("recodeStatus") is True


def status_of(project: ProjectContext) -> dict[str, Any]:
    """The ``recode/status`` notification of a resolved project: the targets it checks against.

    ``summary`` is what a status bar shows: the targets the project or the editor chose (``numpy 2.0,
    pandas 2.2``), else the installed versions that are used instead.
    """
    targets = []
    for line in project.targets:
        spec, _, source = line.partition(" (")
        library, _, version = spec.partition("==")
        targets.append({"library": library, "version": version, "source": source.rstrip(")")})
    chosen = [t for t in targets if t["source"] != "installed"] or targets
    summary = ", ".join(f"{t['library']} {t['version']}" for t in chosen) or "newest known versions"
    return {
        "root": str(project.root),
        "targets": targets,
        "summary": summary,
        "problems": list(project.problems),
    }


def _warm_up() -> None:
    try:
        import libcst  # noqa: F401

        from recode_lsp.engine import rules

        rules.all_rules()
    except Exception:  # noqa: BLE001 - a warm-up that fails only costs time later
        return


def register(server: RecodeLanguageServer) -> None:
    """``workspace/didChangeConfiguration``: forget the settings, pull again, re-analyse."""

    @server.feature(types.INITIALIZED)
    def initialized(ls: RecodeLanguageServer, params: types.InitializedParams) -> None:
        # The fixer's validator needs libcst (~0.3 s to import): load it now, in the
        # background, so the first quick fix does not pay for it.
        threading.Thread(target=_warm_up, name="recode-warm-up", daemon=True).start()
        # The too-new check reads releases in the background: once read, the open documents are
        # analysed again so their RCN diagnostics appear without waiting for an edit.
        from recode_lsp.toonew import lsp as too_new

        loop = asyncio.get_running_loop()

        def analyse_again() -> None:
            loop.call_soon_threadsafe(ls.documents.settings_changed)

        too_new.add_listener(analyse_again)
        registrations = []
        # A client that pulls settings sends change events only to servers that ask for them.
        if ls.client.dynamic_configuration:
            registrations.append(
                types.Registration(
                    id="recode-configuration",
                    method=types.WORKSPACE_DID_CHANGE_CONFIGURATION,
                    register_options=types.DidChangeConfigurationRegistrationOptions(section=SECTION),
                )
            )
        # The project files that decide the targets: the editor watches them for us.
        if ls.client.dynamic_watched_files:
            registrations.append(
                types.Registration(
                    id="recode-project-files",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[
                            types.FileSystemWatcher(glob_pattern=f"**/{name}")
                            for name in (*PROJECT_FILES, *OVERLAY_FILES)
                        ]
                    ),
                )
            )
        if registrations:
            future = ls.client_register_capability(types.RegistrationParams(registrations=registrations))
            future.add_done_callback(_log_refusal)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: RecodeLanguageServer, params: types.DidChangeConfigurationParams) -> None:
        # Synchronous on purpose: requests that arrive after this notification must not see
        # the old settings, and pygls runs a plain function before it reads the next message.
        if params.settings:
            ls.settings.set_fallback(params.settings)
        ls.settings.invalidate()
        ls.documents.settings_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: RecodeLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        # A saved pyproject.toml (targets, select, ...) or a changed pin re-analyses the open
        # documents at once, as a settings change does, instead of at their next edit.
        if any(_is_project_file(change.uri) for change in params.changes):
            ls.settings.invalidate()
            ls.documents.settings_changed()


def _is_project_file(uri: str) -> bool:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, pattern) for pattern in (*PROJECT_FILES, *OVERLAY_FILES))


def _log_refusal(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.info("the client did not accept the configuration registration: %r", future.exception())
