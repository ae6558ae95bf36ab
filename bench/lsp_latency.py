"""Latency and memory of ``recode-lsp`` as an editor sees them, over stdio.

What is measured
----------------
The real server is started as a subprocess (``python -m recode_lsp.server``) and driven by
pygls's own LSP client, in a temporary project whose ``pyproject.toml`` targets NumPy 2.0. The
document is a generated module of about 3,000 lines: 50 functions of about 60 lines, each
with one use of an API NumPy 2.0 removed or deprecated (50 findings; rename, template and
unsafe fixes mixed). Then, ``--edits`` times (default 36):

* **diagnostics after a one-character edit**: one digit inside a function body changes
  (``didChange``, incremental), and the clock runs until the client has the diagnostics of
  the new version. *Pull* mode (a client that declares ``textDocument.diagnostic``): a
  ``textDocument/diagnostic`` request is sent right after the change; the time is until its
  answer. *Push* mode (a client without it): the time is until ``publishDiagnostics`` for
  the new version arrives. Push mode runs with ``recode.debounceMs`` = ``--debounce-ms``
  (default 0, so the number is the server's work; an editor's default of 150 ms adds exactly
  that on top, on purpose);
* **quick fix**: ``textDocument/codeAction`` at the range of one finding followed by
  ``codeAction/resolve`` of its first quick fix, back to back, until the edit is in hand. Each
  time it is a finding whose fix was never asked for: the worst case, and the number the
  target is about.

Two more quick-fix numbers show what an editor sees most of the time: a fix asked for again
after an edit in another function (a function's fix is reused while its text and context are
unchanged), and ``resolve`` alone when it comes ``--pause-ms`` after the code
actions were listed (the user reads the lightbulb menu; the server started the fix when it
listed the action).

The first few edits are a warm-up and not counted. At the end the server's resident memory
(``VmRSS``, and its peak ``VmHWM``) is read from ``/proc/<pid>/status``.

Why
---
An editor's language server must keep up with typing: the targets are diagnostics p95 <= 100
ms after an edit and quick fix (list + resolve) p95 <= 30 ms on such a file.

Run ``python bench/lsp_latency.py [--edits N] [--mode pull|push|both] [--debounce-ms MS]``.
The last line is a one-line summary meant for comparing runs.

The finding-dense case (``--dense``)
------------------------------------
Real legacy modules carry a finding every line or two, and analysis cost grows with findings.
``--dense`` generates such a module (about 2,700 lines, 2,000+ findings: NumPy 1.x aliases,
``DataFrame.iteritems``, ``typing.List``...) and drives two servers over the same edits of
the same file in the same run: ``recode-lsp`` and ``ruff server`` (NPY201 selected in the
project's ``pyproject.toml``), both in pull mode. Each edit changes one digit (a module-level
constant, a function body, a class body or a method body, in turn, spread over the file); each
server gets ``didChange`` then ``textDocument/diagnostic`` and the clock runs until the answer.
The two alternate which goes first. ``--runs`` (default 3) fresh pairs of servers give the
median p95 of each, and their ratio (target: recode at most 1.5x ruff's). Then quick fixes on
the dense file, after an edit sent to both servers: codeAction + resolve of a finding never fixed
before (the first one a warm-up, not counted), by each server for one of its own diagnostics, the
first one offered from a place that moves through the file (recode's p95 target: 30 ms; ruff's
number is beside it: ruff fixes NPY201 only, and resolves nothing when the action carries its
edit). Then the memory case: in a fresh server, a 50 MB document (``--memory-mb``, 10^6 characters each)
opened, its diagnostics asked for (it is over the size limit, so it is skipped) and closed;
the server's ``VmRSS`` before and after, and its peak ``VmHWM`` (the target is on the peak).

Run ``python bench/lsp_latency.py --dense [--edits N] [--runs R] [--memory-mb MB]``; the last
line is the summary (``lsp_latency --dense: ...``).

The bench client's own garbage collection is off while it measures and runs between
measurements (a full collection of its heap, two servers' diagnostics of the dense file, took
50-250 ms on a loaded machine and counted as the server's latency when it fell in a timed request).

On a shared machine the wall times follow the load. ``--in-process`` (with or without ``--dense``)
replays the same edits and quick-fix picks in this process, on the analysis the server would
hold, and reports the CPU time of each fix (what the code action and its resolve ask of the
analysis, and the fix): less load-sensitive, and what to compare across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
DIAGNOSTICS_TARGET_MS = 100.0
QUICK_FIX_TARGET_MS = 30.0
#: The dense case: recode-lsp's p95 over ruff server's, and the server's peak memory.
DENSE_RATIO_TARGET = 1.5
MEMORY_TARGET_MIB = 150.0
WARM_UP = 5
#: Quick fixes of the dense case not counted (each server's first).
QUICK_FIX_WARM_UP = 1
FUNCTIONS = 50
#: Uses that NumPy 2.0 flags, cycled through the functions.
USES = ("np.float_(x)", "np.product(a)", "abs(np.NINF)", "np.in1d(a, b)", "np.cumproduct(a)", "np.round_(a)")


def generate(lines: int = 3000, functions: int = FUNCTIONS) -> str:
    """A module of ``functions`` functions, ``lines`` lines, one finding per function."""
    out = ['"""Generated for bench/lsp_latency.py."""', "import numpy as np", ""]
    per_function = (lines - len(out)) // functions
    for index in range(functions):
        out.append("")
        out.append(f"def step_{index}(x, a, b):")
        out.append(f"    y = {USES[index % len(USES)]}")
        for filler in range(per_function - 4):
            out.append(f"    x = x + {filler % 10}  # filler")
        out.append("    return x, y")
    return "\n".join(out) + "\n"


#: The dense module: a header, then numbered blocks of 28 lines with 22 findings each (NumPy 2.0,
#: pandas 2.0 and Python 3.12 targets; 11 of them are ruff's NPY201), 2,700 lines in all.
DENSE_HEADER = '''"""A finding-dense legacy module (generated by bench/lsp_latency.py --dense)."""
from typing import Dict, List, Optional, Set, Text, Tuple

import numpy as np
import pandas as pd

'''
DENSE_BLOCK = """
LIMIT_{i} = {i} * 10


def compute_{i}(values: List[float], extra: Optional[Dict[str, int]] = None) -> Tuple[float, int]:
    arr = np.asfarray(values)
    total = np.product(arr.shape) + 0
    scale = np.float_(1.0) + np.Inf
    flags = np.alltrue([arr > 0])
    df = pd.DataFrame({{"a": arr}})
    for name, col in df.iteritems():
        scale += np.cumproduct(col)[-1]
    return float(scale) + flags, int(total) + LIMIT_{i}


class Holder{i}(object):
    data: Dict[str, List[int]] = {{}}
    default = np.float_(0)

    def items(self) -> Set[Text]:
        return set(np.round_(np.array([1.0, 2.0]), 1).astype(np.int_))

    def merge(self, other: "Holder{i}") -> List[Tuple[str, int]]:
        pairs = [(key, len(value) + 0) for key, value in self.data.items()]
        return sorted(pairs, key=lambda pair: (np.float_(pair[1]), pair[0]))

    def empty(self) -> bool:
        return np.sometrue([not self.data]) or np.NaN is None
"""
DENSE_BLOCKS = 96
#: Where the one-digit edits go in a block, in turn: the text right before the digit.
DENSE_EDITS = (
    ("module constant", "* "),
    ("function body", "arr.shape) + "),
    ("class body", "default = np.float_("),
    ("method body", "len(value) + "),
)
DENSE_TARGETS = '["numpy==2.0", "pandas==2.0", "python==3.12"]'


def generate_dense(blocks: int = DENSE_BLOCKS) -> str:
    """A module of ``blocks`` blocks of finding-dense legacy code (about 28 lines each)."""
    return DENSE_HEADER + "".join(DENSE_BLOCK.format(i=i) for i in range(blocks))


def dense_edit(text: str, index: int) -> tuple[int, str]:
    """Offset and new digit of the ``index``-th edit of the dense module (kinds in turn)."""
    _, marker = DENSE_EDITS[index % len(DENSE_EDITS)]
    block = (index * 7) % DENSE_BLOCKS  # 7 is prime to the block count: spread over the file
    start = text.index(marker, text.index(f"\nLIMIT_{block} = ")) + len(marker)
    return start, str((int(text[start]) + 1) % 10)


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """The bench client's own garbage collection off while it measures (collected between
    measurements, :func:`between`): a full collection of the client's heap (two servers' JSON
    diagnostics of the dense file) took 50-250 ms on a loaded machine, and when it fell inside a
    timed request it counted as the server's latency (a quick fix of 15 ms measured 70)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def between() -> None:
    """Between two measurements: the client's garbage collected, off the clock."""
    gc.collect()


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB (0 when /proc is not there)."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


class Bench:
    """One server process, one document, one mode."""

    def __init__(self, project: Path, pull: bool, debounce_ms: int) -> None:
        self.project = project
        self.pull = pull
        self.debounce_ms = debounce_ms
        self.client = LanguageClient("recode-lsp-bench", "1")
        self.published: dict[int, asyncio.Future[list[types.Diagnostic]]] = {}
        self.uri = (project / "module.py").as_uri()
        self.text = (project / "module.py").read_text()
        self.version = 1
        self.encoding = "utf-16"
        self.pid = 0

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams) -> None:
            if params.version is not None:
                future = self.published.get(params.version)
                if future is not None and not future.done():
                    future.set_result(list(params.diagnostics))

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            if params.type in (types.MessageType.Error, types.MessageType.Warning):
                print(f"server: {params.message}", file=sys.stderr)

        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def on_configuration(params: types.ConfigurationParams) -> list[object]:
            return [{"debounceMs": self.debounce_ms, "apiDocs": False} for _ in params.items]

    def _published(self, version: int) -> asyncio.Future[list[types.Diagnostic]]:
        return self.published.setdefault(version, asyncio.get_running_loop().create_future())

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "recode_lsp.server", cwd=str(ROOT))
        server = self.client._server
        self.pid = server.pid if server is not None else 0
        capabilities = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(configuration=True),
            text_document=types.TextDocumentClientCapabilities(
                diagnostic=types.DiagnosticClientCapabilities() if self.pull else None,
                code_action=types.CodeActionClientCapabilities(
                    code_action_literal_support=types.ClientCodeActionLiteralOptions(
                        code_action_kind=types.ClientCodeActionKindOptions(value_set=["quickfix", "source"])
                    ),
                    resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                    data_support=True,
                ),
            ),
        )
        result = await self.client.initialize_async(
            types.InitializeParams(capabilities=capabilities, root_uri=self.project.as_uri())
        )
        assert (result.capabilities.diagnostic_provider is not None) == self.pull
        self.client.initialized(types.InitializedParams())
        published = self._published(1)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=self.uri, language_id="python", version=1, text=self.text)
            )
        )
        diagnostics = await self.diagnostics(published)
        if len(diagnostics) != FUNCTIONS:
            raise SystemExit(f"expected {FUNCTIONS} findings, the server reported {len(diagnostics)}")

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    async def diagnostics(self, published: asyncio.Future[list[types.Diagnostic]]) -> list[types.Diagnostic]:
        if self.pull:
            report = await self.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=self.uri))
            )
            assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
            return list(report.items)
        return await asyncio.wait_for(published, timeout=60)

    async def edit(self, index: int) -> tuple[float, list[types.Diagnostic]]:
        """Change one digit in function ``index`` and time the diagnostics of the new version."""
        marker = f"def step_{index % FUNCTIONS}("
        start = self.text.index("    x = x + ", self.text.index(marker)) + len("    x = x + ")
        digit = self.text[start]
        new = str((int(digit) + 1) % 10)
        line = self.text.count("\n", 0, start)
        column = start - (self.text.rfind("\n", 0, start) + 1)
        self.text = self.text[:start] + new + self.text[start + 1 :]
        self.version += 1
        published = self._published(self.version)
        began = time.perf_counter()
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=column),
                            end=types.Position(line=line, character=column + 1),
                        ),
                        text=new,
                    )
                ],
            )
        )
        diagnostics = await self.diagnostics(published)
        return (time.perf_counter() - began) * 1000, diagnostics

    async def quick_fix(self, diagnostic: types.Diagnostic, pause: float = 0.0) -> float:
        """codeAction then resolve: the time of both, or of resolve alone after ``pause``."""
        began = time.perf_counter()
        actions = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                range=diagnostic.range,
                context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
            )
        )
        fix = next(
            (a for a in actions or [] if isinstance(a, types.CodeAction) and not a.title.startswith("Ignore")), None
        )
        if fix is None:
            raise SystemExit(f"no quick fix offered for {diagnostic.code} at {diagnostic.range}")
        if pause:
            await asyncio.sleep(pause)  # the user reads the menu
            began = time.perf_counter()
        resolved = await self.client.code_action_resolve_async(fix)
        elapsed = (time.perf_counter() - began) * 1000
        if resolved.edit is None:
            raise SystemExit(f"the quick fix for {diagnostic.code} at {diagnostic.range} resolved without an edit")
        return elapsed


async def run_mode(project: Path, pull: bool, edits: int, debounce_ms: int, pause_ms: int) -> dict[str, object]:
    bench = Bench(project, pull, debounce_ms)
    await bench.start()
    results: dict[str, list[float]] = {"diagnostics": [], "fix": [], "repeat": [], "after_pause": []}
    try:
        fixable: list[types.Diagnostic] = []
        for index in range(edits + WARM_UP):
            between()
            elapsed, diagnostics = await bench.edit(index * 7)
            fixable = [d for d in diagnostics if d.code != "NPY067"]  # NPY067's fix is unsafe: not offered
            # A finding never fixed before: 11 is prime to the count, so each comes up once.
            took = await bench.quick_fix(fixable[(index * 11) % len(fixable)])
            if index >= WARM_UP:
                results["diagnostics"].append(elapsed)
                results["fix"].append(took)
        # Fixes asked for again after an edit in another function: the fixed function's text
        # and context did not change, so its fix is reused.
        again = [d for d in fixable if d.range.start.line < _line_of(bench.text, 10)][:10]
        for diagnostic in again:
            await bench.quick_fix(diagnostic)
        for index, diagnostic in enumerate(again):
            between()
            _, diagnostics = await bench.edit(40 + index)
            same = next(d for d in diagnostics if d.range == diagnostic.range and d.code == diagnostic.code)
            results["repeat"].append(await bench.quick_fix(same))
        # The lightbulb first (codeAction), the user's pause, then resolve: the fix was
        # started when the actions were listed. The edit makes the function's fix new.
        for index in range(10):
            between()
            _, diagnostics = await bench.edit(index * 5)
            line = _line_of(bench.text, index * 5)
            target = next(d for d in diagnostics if d.range.start.line > line and d.code != "NPY067")
            results["after_pause"].append(await bench.quick_fix(target, pause_ms / 1000))
        rss, peak = rss_kib(bench.pid)
    finally:
        await bench.stop()
    return {**results, "rss": rss, "peak": peak}


def _line_of(text: str, function: int) -> int:
    return text.count("\n", 0, text.index(f"def step_{function % FUNCTIONS}("))


def describe(name: str, values: Sequence[float]) -> str:
    return (
        f"{name:<44} p50 {percentile(values, 0.5):7.1f} ms   p95 {percentile(values, 0.95):7.1f} ms"
        f"   max {max(values):7.1f} ms   (n={len(values)})"
    )


class RawClient:
    """A bare JSON-RPC client over a server's stdio, for the dense case.

    Both servers are driven by the same client code, and it decodes answers with ``json``
    only (an editor's cost, not a Python LSP library's), so the two timings compare. It is
    also what lets ``ruff server`` be driven at all: lsprotocol rejects ruff's ``initialize``
    answer (its notebook selector).
    """

    def __init__(self, name: str, command: Sequence[str], cwd: Path, project: Path, document: str) -> None:
        self.name = name
        self.command = list(command)
        self.cwd = cwd
        self.project = project
        self.uri = (project / document).as_uri()
        self.text = (project / document).read_text()
        self.version = 1
        self.pid = 0
        self._ids = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> list[dict[str, Any]]:
        """Start, initialise, open the document; its diagnostics."""
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            cwd=str(self.cwd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        self.pid = self._process.pid
        self._reader = asyncio.ensure_future(self._read())
        capabilities = {
            "workspace": {"configuration": True},
            "textDocument": {
                "diagnostic": {},
                "codeAction": {
                    "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix", "source"]}},
                    "resolveSupport": {"properties": ["edit"]},
                    "dataSupport": True,
                },
            },
        }
        result = await self.request(
            "initialize", {"processId": None, "rootUri": self.project.as_uri(), "capabilities": capabilities}
        )
        if "diagnosticProvider" not in result["capabilities"]:
            raise SystemExit(f"{self.name} does not offer pull diagnostics")
        self.notify("initialized", {})
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": self.uri, "languageId": "python", "version": 1, "text": self.text}},
        )
        return await self.diagnostics()

    async def stop(self) -> None:
        if self._process is None:
            return
        try:
            await asyncio.wait_for(self.request("shutdown", None), timeout=10)
            self.notify("exit", None)
            await asyncio.wait_for(self._process.wait(), timeout=10)
        except (asyncio.TimeoutError, ConnectionError):
            self._process.kill()
        if self._reader is not None:
            self._reader.cancel()

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self._process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        self._ids += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = future
        self._send({"id": self._ids, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout=120)

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        while True:
            length = 0
            while True:
                line = await stream.readline()
                if not line:
                    for future in self._pending.values():
                        if not future.done():
                            future.set_exception(ConnectionError(f"{self.name} exited"))
                    return
                if not line.strip():
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            message = json.loads(await stream.readexactly(length))
            if "method" in message:
                if message["method"] == "window/logMessage" and message["params"]["type"] <= 2:
                    print(f"{self.name}: {message['params']['message']}", file=sys.stderr)
                if "id" in message:  # a request from the server
                    result: Any = None
                    if message["method"] == "workspace/configuration":
                        result = [{"debounceMs": 0, "apiDocs": False} for _ in message["params"]["items"]]
                    self._send({"id": message["id"], "result": result})
                continue
            answered = message.get("id")
            pending = self._pending.pop(answered) if isinstance(answered, int) and answered in self._pending else None
            if pending is not None and not pending.done():
                if "error" in message:
                    pending.set_exception(RuntimeError(f"{self.name}: {message['error']}"))
                else:
                    pending.set_result(message.get("result"))

    async def diagnostics(self, uri: str | None = None) -> list[dict[str, Any]]:
        report = await self.request("textDocument/diagnostic", {"textDocument": {"uri": uri or self.uri}})
        return list(report.get("items", []))

    async def replace(self, start: int, new: str) -> tuple[float, list[dict[str, Any]]]:
        """Replace the character at offset ``start`` by ``new``; the time to the new diagnostics."""
        line = self.text.count("\n", 0, start)
        column = start - (self.text.rfind("\n", 0, start) + 1)  # ASCII: code units are characters
        self.text = self.text[:start] + new + self.text[start + 1 :]
        self.version += 1
        change = {
            "range": {"start": {"line": line, "character": column}, "end": {"line": line, "character": column + 1}},
            "text": new,
        }
        began = time.perf_counter()
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": [change]},
        )
        diagnostics = await self.diagnostics()
        return (time.perf_counter() - began) * 1000, diagnostics

    async def quick_fix(self, diagnostic: dict[str, Any]) -> float | None:
        """codeAction + resolve of the first quick fix; None when none is offered."""
        began = time.perf_counter()
        actions = await self.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": self.uri},
                "range": diagnostic["range"],
                "context": {"diagnostics": [diagnostic], "only": ["quickfix"]},
            },
        )
        # Not the "ignore" / "disable for this line" actions (recode's and ruff's).
        fix = next(
            (a for a in actions or [] if "title" in a and not a["title"].startswith(("Ignore", "Ruff: Disable"))),
            None,
        )
        if fix is None:
            return None
        resolved = fix if fix.get("edit") else await self.request("codeAction/resolve", fix)
        if not resolved.get("edit"):
            raise SystemExit(f"the quick fix for {diagnostic['code']} at {diagnostic['range']} has no edit")
        return (time.perf_counter() - began) * 1000

    async def open_and_close(self, text: str, name: str = "huge.py") -> int:
        """Open a second document, ask for its diagnostics, close it; how many there were."""
        uri = (self.project / name).as_uri()
        self.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
        )
        items = await self.diagnostics(uri)
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        await self.diagnostics()  # a round trip: the close was handled
        return len(items)


async def run_memory(project: Path, memory_mb: int) -> dict[str, int]:
    """A fresh server, one ``memory_mb`` MB document opened, its diagnostics asked for, closed:
    the server's resident memory before, after, and its peak."""
    (project / "small.py").write_text('"""A small module."""\nimport numpy as np\n\nx = np.float_(1)\n')
    server = RawClient("recode-lsp", (sys.executable, "-m", "recode_lsp.server"), ROOT, project, "small.py")
    try:
        await server.start()
        await asyncio.sleep(0.5)
        before, _ = rss_kib(server.pid)
        unit = generate_dense()
        huge = unit * (memory_mb * 1_000_000 // len(unit) + 1)
        huge = huge[: huge.rfind("\n", 0, memory_mb * 1_000_000) + 1]  # whole lines, MB bytes at most
        size = len(huge)
        await server.open_and_close(huge)
        del huge
        await asyncio.sleep(0.5)
        after, peak = rss_kib(server.pid)
    finally:
        await server.stop()
    return {"before": before, "after": after, "peak": peak, "size": size}


async def run_dense(project: Path, edits: int, quick_fixes: int, memory_mb: int) -> dict[str, object]:
    """One run of the dense case: recode-lsp and ruff server over the same edits, then fixes; then memory."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        raise SystemExit("ruff is not installed (pip install ruff): the dense case compares with ruff server")
    recode = RawClient("recode-lsp", (sys.executable, "-m", "recode_lsp.server"), ROOT, project, "dense.py")
    other = RawClient("ruff", (ruff, "server"), project, project, "dense.py")
    times: dict[str, list[float]] = {"recode": [], "ruff": [], "fix": [], "ruff fix": []}
    memory: dict[str, int] = {}
    try:
        counts = {"recode": len(await recode.start()), "ruff": len(await other.start())}
        if not counts["ruff"]:
            raise SystemExit("ruff server reported no NPY201 diagnostics: is NPY201 selected?")
        for index in range(edits + WARM_UP):
            offset, digit = dense_edit(recode.text, index)
            for client in (recode, other) if index % 2 == 0 else (other, recode):
                between()
                elapsed, diagnostics = await client.replace(offset, digit)
                if index >= WARM_UP:
                    times["recode" if client is recode else "ruff"].append(elapsed)
                if len(diagnostics) != counts["recode" if client is recode else "ruff"]:
                    raise SystemExit(f"{client.name}: {len(diagnostics)} diagnostics after an edit")
        # Quick fixes on the dense file: each after an edit (to both servers), for a finding never
        # fixed before, by each server for its own diagnostics (ruff's: NPY201 only). The first
        # is a warm-up, not counted (as the standard case's quick fixes during its warm-up edits):
        # a server's first fix loads what every later one reuses (libcst's parser, per-statement
        # caches of the module).
        fixed: set[str] = set()
        for index in range(quick_fixes + QUICK_FIX_WARM_UP):
            offset, digit = dense_edit(recode.text, edits + WARM_UP + index)
            for client in (recode, other) if index % 2 == 0 else (other, recode):
                between()
                _, diagnostics = await client.replace(offset, digit)
                between()
                start = (index * 97) % len(diagnostics)
                for diagnostic in diagnostics[start:] + diagnostics[:start]:
                    key = json.dumps([client.name, diagnostic["range"], diagnostic["code"]])
                    if key in fixed or diagnostic["code"] == "NPY067":
                        continue
                    fixed.add(key)
                    took = await client.quick_fix(diagnostic)
                    if took is not None:
                        if index >= QUICK_FIX_WARM_UP:
                            times["fix" if client is recode else "ruff fix"].append(took)
                        break
    finally:
        await recode.stop()
        await other.stop()
    if memory_mb:
        memory = await run_memory(project, memory_mb)
    return {**times, "counts": counts, "memory": memory}


def dense_main(args: argparse.Namespace) -> int:
    source = generate_dense()
    print(f"dense document: {source.count(chr(10))} lines; {args.edits} edits per run, {args.runs} runs")
    p95: dict[str, list[float]] = {"recode": [], "ruff": [], "fix": [], "ruff fix": []}
    memory: dict[str, int] = {}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="recode-lsp-dense-") as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text(
            f'[tool.recode]\ntargets = {DENSE_TARGETS}\n\n[tool.ruff.lint]\nselect = ["NPY201"]\n'
        )
        (project / "dense.py").write_text(source)
        for run in range(args.runs):
            last = run == args.runs - 1
            with client_gc_paused():
                result = asyncio.run(run_dense(project, args.edits, args.quick_fixes, args.memory_mb if last else 0))
            counts = result["counts"]  # type: ignore[assignment]
            labels = {
                "recode": "recode pull after edit",
                "ruff": "ruff pull after edit",
                "fix": "recode codeAction + resolve",
                "ruff fix": "ruff codeAction + resolve",
            }
            for name, label in labels.items():
                values = result[name]
                assert isinstance(values, list)
                if values:
                    p95[name].append(percentile(values, 0.95))
                    print(describe(f"run {run + 1}: {label}", values))
            if last:
                memory = result["memory"]  # type: ignore[assignment]
    recode, ruff = statistics.median(p95["recode"]), statistics.median(p95["ruff"])
    fix = statistics.median(p95["fix"]) if p95["fix"] else float("nan")
    ruff_fix = statistics.median(p95["ruff fix"]) if p95["ruff fix"] else float("nan")
    ratio = recode / max(ruff, 1e-6)
    verdict = "ok" if ratio <= DENSE_RATIO_TARGET else "MISSED"
    fix_verdict = "ok" if fix <= QUICK_FIX_TARGET_MS else "MISSED"
    line = (
        f"lsp_latency --dense: {source.count(chr(10))} lines, {counts['recode']} recode / {counts['ruff']} ruff "
        f"diagnostics; pull after a one-line edit p95 recode {recode:.1f} ms, ruff server {ruff:.1f} ms, "
        f"ratio {ratio:.2f}x (target {DENSE_RATIO_TARGET}x: {verdict}; median of {args.runs} runs); "
        f"quick fix (codeAction + resolve) p95 recode {fix:.1f} ms (target {QUICK_FIX_TARGET_MS:.0f}: "
        f"{fix_verdict}), ruff server {ruff_fix:.1f} ms"
    )
    memory_ok = True
    if memory:
        after, peak = memory["after"] / 1024, memory["peak"] / 1024
        memory_ok = peak <= MEMORY_TARGET_MIB
        line += (
            f"; {memory['size'] / 1e6:.0f} MB document opened and closed: RSS {memory['before'] / 1024:.1f} -> "
            f"{after:.1f} MiB, peak {peak:.1f} MiB (+{peak - memory['before'] / 1024:.1f} over the idle server; "
            f"target {MEMORY_TARGET_MIB:.0f}: {'ok' if memory_ok else 'MISSED'})"
        )
    print(line)
    return 0 if verdict == fix_verdict == "ok" and memory_ok else 1


def in_process(args: argparse.Namespace) -> int:
    """The quick fixes of the run, replayed in this process: CPU time per fix, less load-sensitive.

    The same document, edits and picks as the server run (the dense case: after each edit, the
    first fixable finding from a place that moves through the file; the standard case: the
    finding ``11 * index`` after an edit in function ``7 * index``), on the analysis the server
    would hold (incremental, after the edit). Timed: what the code action and its resolve ask of
    the analysis (the findings in the range, the finding by its key, whether a quick fix is
    offered) and the fix, in CPU time of this thread (``time.thread_time``): no JSON-RPC, no
    event loop, no other process's load. The first fix loads libcst and is not counted.
    """
    from recode_lsp.engine.document import DocumentAnalysis, finding_key
    from recode_lsp.server.code_actions import _offered
    from recode_lsp.server.settings import EditorSettings, resolve_context

    dense = args.dense
    source = generate_dense() if dense else generate()
    with tempfile.TemporaryDirectory(prefix="recode-lsp-in-process-") as folder:
        project = Path(folder)
        targets = DENSE_TARGETS if dense else '["numpy==2.0"]'
        (project / "pyproject.toml").write_text(f"[tool.recode]\ntargets = {targets}\n")
        path = project / "module.py"
        path.write_text(source)
        context = resolve_context(EditorSettings(api_docs=False, debounce_ms=0), path).analysis
    times: list[float] = []
    for _ in range(args.runs if dense else 1):
        context = dataclasses.replace(context, excerpt_fixes=type(context.excerpt_fixes)())  # a fresh server
        text = source
        analysis = DocumentAnalysis.run(text, str(path), context)
        fixes = args.quick_fixes + QUICK_FIX_WARM_UP if dense else args.edits + WARM_UP
        warm_up = QUICK_FIX_WARM_UP if dense else WARM_UP
        first = args.edits + WARM_UP if dense else 0
        if dense:  # the diagnostics part of the run: edits analysed incrementally
            for index in range(first):
                offset, digit = dense_edit(text, index)
                text = text[:offset] + digit + text[offset + 1 :]
                analysis = DocumentAnalysis.run(text, str(path), context, previous=analysis)
        fixed: set[str] = set()
        for index in range(fixes):
            if dense:
                offset, digit = dense_edit(text, first + index)
            else:
                function = (index * 7) % FUNCTIONS
                offset = text.index("    x = x + ", text.index(f"def step_{function}(")) + len("    x = x + ")
                digit = str((int(text[offset]) + 1) % 10)
            text = text[:offset] + digit + text[offset + 1 :]
            analysis = DocumentAnalysis.run(text, str(path), context, previous=analysis)
            every = DocumentAnalysis.run(text, str(path), context).findings  # the diagnostics, in order
            between()  # the garbage of that analysis (the server does not make it) collected off the clock
            if dense:
                start = (index * 97) % len(every)
                candidates = every[start:] + every[:start]
            else:
                fixable = [f for f in every if f.code != "NPY067"]
                candidates = [fixable[(index * 11) % len(fixable)]]
            for candidate in candidates:
                key = finding_key(candidate)
                if dense and (key in fixed or candidate.code == "NPY067"):
                    continue
                fixed.add(key)
                began = time.thread_time()
                analysis.findings_in(candidate.range.start, candidate.range.end)
                finding = analysis.find(key)
                assert finding is not None
                if not (finding.fixable and _offered(finding) and analysis.offers_quick_fix(finding)):
                    continue
                result = analysis.fix(finding)
                took = (time.thread_time() - began) * 1000
                if not result.changed:
                    raise SystemExit(f"no fix for {key}: {result.reason}")
                if index >= warm_up:
                    times.append(took)
                break
    name = "lsp_latency --dense --in-process" if dense else "lsp_latency --in-process"
    print(describe("quick fix (CPU in process)", times))
    print(
        f"{name}: quick fix CPU per fix median {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f}"
        f" ms, max {max(times):.1f} ms (n={len(times)})"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=36, help="measured edits per mode (default 36)")
    parser.add_argument("--mode", choices=("pull", "push", "both"), default="both")
    parser.add_argument("--debounce-ms", type=int, default=0, help="recode.debounceMs in push mode (default 0)")
    parser.add_argument("--pause-ms", type=int, default=300, help="pause between codeAction and resolve (default 300)")
    parser.add_argument("--dense", action="store_true", help="the finding-dense case, against ruff server")
    parser.add_argument("--runs", type=int, default=3, help="--dense: fresh server pairs (default 3)")
    parser.add_argument("--quick-fixes", type=int, default=10, help="--dense: quick fixes timed per run (default 10)")
    parser.add_argument("--memory-mb", type=int, default=50, help="--dense: size of the document opened and closed")
    parser.add_argument(
        "--in-process", action="store_true", help="replay the quick fixes in this process: CPU time per fix"
    )
    args = parser.parse_args(argv)
    if args.in_process:
        return in_process(args)
    if args.dense:
        return dense_main(args)
    modes = [("pull", True), ("push", False)] if args.mode == "both" else [(args.mode, args.mode == "pull")]
    source = generate()
    print(f"document: {source.count(chr(10))} lines, {FUNCTIONS} findings; {args.edits} edits per mode")
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="recode-lsp-bench-") as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\n')
        (project / "module.py").write_text(source)
        for name, pull in modes:
            with client_gc_paused():
                results[name] = asyncio.run(run_mode(project, pull, args.edits, args.debounce_ms, args.pause_ms))
    worst_diagnostics = 0.0
    worst_fix = 0.0
    peak_rss = 0
    for name, result in results.items():
        diagnostics = result["diagnostics"]
        fixes = result["fix"]
        assert isinstance(diagnostics, list) and isinstance(fixes, list)
        label = "pull: diagnostic request after edit" if name == "pull" else "push: publish after edit"
        if name == "push":
            label += f" ({args.debounce_ms} ms debounce)"
        print(describe(label, diagnostics))
        print(describe(f"{name}: codeAction + resolve, first time", fixes))
        repeat, after_pause = result["repeat"], result["after_pause"]
        assert isinstance(repeat, list) and isinstance(after_pause, list)
        print(describe(f"{name}: again, after an edit elsewhere", repeat))
        print(describe(f"{name}: resolve {args.pause_ms} ms after codeAction", after_pause))
        rss, peak = result["rss"], result["peak"]
        assert isinstance(rss, int) and isinstance(peak, int)
        print(f"{name}: server RSS {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB)")
        worst_diagnostics = max(worst_diagnostics, percentile(diagnostics, 0.95))
        worst_fix = max(worst_fix, percentile(fixes, 0.95))
        peak_rss = max(peak_rss, rss)
    verdict_diagnostics = "ok" if worst_diagnostics <= DIAGNOSTICS_TARGET_MS else "MISSED"
    verdict_fix = "ok" if worst_fix <= QUICK_FIX_TARGET_MS else "MISSED"
    print(
        f"lsp_latency: diagnostics p95 {worst_diagnostics:.1f} ms (target {DIAGNOSTICS_TARGET_MS:.0f}: "
        f"{verdict_diagnostics}), quick fix p95 {worst_fix:.1f} ms (target {QUICK_FIX_TARGET_MS:.0f}: {verdict_fix}), "
        f"RSS {peak_rss / 1024:.1f} MiB"
    )
    return 0 if verdict_diagnostics == verdict_fix == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
