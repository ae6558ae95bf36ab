"""End-to-end tests of the Neovim client (editor_clients/nvim) with a real headless Neovim.

The plugin is installed the way a user installs it, the server is the real ``recode-lsp``
(run with this interpreter), and the files are real files in ``tmp_path``. Without a Neovim
0.11+ the tests skip, unless ``RECODE_REQUIRE_EDITORS=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recode_lsp import __version__
from tests.editors.nvim_harness import (
    CODES,
    FIXED_ALL,
    FIXED_SAFE,
    FIXTURE,
    NVIM_WANTED,
    PLUGIN,
    SERVER_CMD,
    Layout,
    Nvim,
    NvimResult,
    find_nvim,
)

PYPROJECT = '[project]\nname = "fixture"\nversion = "0"\n\n[tool.recode]\ntargets = ["numpy==2.0"]\n'
PYPROJECT_WITHOUT_TARGETS = '[project]\nname = "fixture"\nversion = "0"\n'


@pytest.fixture(scope="session")
def nvim_binary() -> str:
    binary, why_not = find_nvim()
    if binary is None:
        if os.environ.get("RECODE_REQUIRE_EDITORS") == "1":
            pytest.fail(f"RECODE_REQUIRE_EDITORS=1 but {why_not}")
        pytest.skip(why_not)
    return binary


@pytest.fixture
def nvim(nvim_binary: str, tmp_path: Path) -> Nvim:
    editor = Nvim(nvim_binary, tmp_path)
    editor.write("pyproject.toml", PYPROJECT)
    editor.write("pkg/module.py", FIXTURE)
    return editor


def options(**extra: Any) -> dict[str, Any]:
    """``vim.g.recode`` with the server run by this interpreter (no PATH lookup)."""
    return {"cmd": SERVER_CMD, **extra}


def check(result: NvimResult, condition: bool) -> None:
    assert condition, result.explain()


# --- quick fix, fix-all, restart ----------------------------------------------------------------


@pytest.mark.parametrize("layout", ["packpath", "runtimepath"])
def test_quick_fix_from_code_action(nvim: Nvim, layout: Layout) -> None:
    """Diagnostics arrive; the preferred quick fix at the cursor is applied and written."""
    module = nvim.project / "pkg" / "module.py"
    result = nvim.run(
        """
        local bufnr = open_and_wait(FILE, 4)
        -- The cursor on `np.float_` (after "é😀" on that line: positions must be encoded right).
        local lnum = vim.fn.search('np.float_(', 'nw')
        local col = vim.fn.getline(lnum):find('np.float_(', 1, true) - 1
        vim.api.nvim_win_set_cursor(0, { lnum, col })
        local before = text(bufnr)
        vim.lsp.buf.code_action({
          filter = function(action)
            return action.kind == 'quickfix' and action.isPreferred == true
          end,
          apply = true,
        })
        wait_changed(bufnr, before, 'quick fix applied')
        vim.cmd.write()
        """,
        options(),
        layout=layout,
        FILE=str(module),
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    assert [d["code"] for d in result.data["diagnostics"]] == CODES, result.explain()
    assert {d["source"] for d in result.data["diagnostics"]} == {"recode"}
    # What to do first (a narrow window cuts the end off), then the version history.
    assert result.data["diagnostics"][0]["message"] == "Use `numpy.float64`: `numpy.float_` was removed in NumPy 2.0"
    assert module.read_text(encoding="utf-8") == FIXTURE.replace("np.float_(0)", "np.float64(0)")


def test_recode_fixall_applies_safe_fixes(nvim: Nvim) -> None:
    """``:Recode fixall``: the safe fixes only (np.in1d -> np.isin is unsafe), targets from [tool.recode]."""
    module = nvim.project / "pkg" / "module.py"
    result = nvim.run(
        """
        local bufnr = open_and_wait(FILE, 4)
        local before = text(bufnr)
        vim.cmd('Recode fixall')
        wait_changed(bufnr, before, 'fix-all applied')
        vim.cmd.write()
        """,
        options(),
        FILE=str(module),
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    assert module.read_text(encoding="utf-8") == FIXED_SAFE


def test_restart_rereads_options(nvim: Nvim) -> None:
    """Targets from vim.g.recode only; after ``:Recode restart`` with unsafe_fixes, fix-all does more."""
    nvim.write("pyproject.toml", PYPROJECT_WITHOUT_TARGETS)
    module = nvim.project / "pkg" / "module.py"
    result = nvim.run(
        """
        local bufnr = open_and_wait(FILE, 4)
        local first = require('recode').client(bufnr).id
        vim.g.recode = vim.tbl_extend('force', vim.g.recode, { unsafe_fixes = true })
        vim.cmd('Recode restart')
        wait_for('a new client', function()
          local client = require('recode').client(bufnr)
          return client ~= nil and client.id ~= first and client.initialized
        end)
        report.data.info = vim.fn.execute('Recode info')
        report.data.completion = vim.fn.getcompletion('Recode ', 'cmdline')
        local before = text(bufnr)
        vim.cmd('Recode fixall')
        wait_changed(bufnr, before, 'fix-all applied')
        vim.cmd.write()
        """,
        options(targets=["numpy==2.0"], unsafe_fixes=False),
        FILE=str(module),
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    assert module.read_text(encoding="utf-8") == FIXED_ALL
    info = result.data["info"]
    assert '"unsafeFixes":true' in info and '"targets":["numpy==2.0"]' in info, info
    assert re.search(rf"client \d+: recode-lsp {__version__}, root {re.escape(str(nvim.project))},", info), info
    assert result.data["completion"] == ["fixall", "info", "restart"]


def test_info_and_health_show_state_targets_and_forwarded_settings(nvim: Nvim) -> None:
    """The server's targets (``recode/status``) in ``:Recode info`` and ``:checkhealth recode``; the
    settings options reach the server (``api_docs = false``: hover says the docs are turned off)."""
    module = nvim.project / "pkg" / "module.py"
    result = nvim.run(
        """
        local recode = require('recode')
        report.data.before = vim.fn.execute('Recode info')
        local bufnr = open_and_wait(FILE, 4)
        local client = recode.client(bufnr)
        wait_for('recode/status', function() return next(recode.projects[client.id] or {}) ~= nil end)
        report.data.info = vim.fn.execute('Recode info')
        local lnum = vim.fn.search('np.product(', 'nw')
        local col = vim.fn.getline(lnum):find('np.product(', 1, true) - 1
        local params = {
          textDocument = vim.lsp.util.make_text_document_params(bufnr),
          position = { line = lnum - 1, character = col },
        }
        local answer = client:request_sync('textDocument/hover', params, 20000, bufnr)
        report.data.hover = answer and answer.result and answer.result.contents.value or vim.inspect(answer)
        vim.cmd('checkhealth recode')
        report.data.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
        """,
        options(
            api_docs=False,
            too_new=False,
            debounce_ms=40,
            hover_docs_timeout_ms=100,
            max_file_bytes=10**6,
            max_file_lines=9999,
        ),
        FILE=str(module),
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    assert "state: not running" in result.data["before"], result.data["before"]
    info = result.data["info"]
    sent = ('"apiDocs":false', '"tooNew":false', '"debounceMs":40', '"hoverDocsTimeoutMs":100', '"maxFileLines":9999')
    for key in sent:
        assert key in info, info
    assert re.search(r"state: client \d+ running", info), info
    assert f"targets for {nvim.project}: numpy 2.0" in info, info
    assert "turned off (`recode.apiDocs`)" in result.data["hover"], result.data["hover"]
    report = "\n".join(result.data["health"])
    assert f"targets in use for {nvim.project}: numpy 2.0" in health_lines(result, "OK"), report


# --- :checkhealth recode ------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


HEALTH_STEPS = """
vim.cmd.edit(vim.fn.fnameescape(FILE))
wait_for('recode client initialized', function()
  local client = require('recode').client(0)
  return client ~= nil and client.initialized
end)
vim.cmd('checkhealth recode')
report.data.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
"""


def health_lines(result: NvimResult, kind: str) -> list[str]:
    """The report's lines of one kind (OK, WARNING, ERROR), without the marker."""
    pattern = re.compile(rf"^- \S*\s*{kind} (.*)$")
    return [m[1] for line in result.data["health"] if (m := pattern.match(line))]


@pytest.mark.parametrize("endpoint_up", [False, True], ids=["model-down", "model-up"])
def test_checkhealth(nvim: Nvim, request: pytest.FixtureRequest, endpoint_up: bool) -> None:
    port = request.getfixturevalue("listening_port" if endpoint_up else "closed_port")
    endpoint = f"http://127.0.0.1:{port}/v1"
    result = nvim.run(
        HEALTH_STEPS,
        options(targets=["pandas==2.2"], model={"endpoint": endpoint, "name": "recode"}),
        FILE=str(nvim.project / "pkg" / "module.py"),
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    ok, warnings, errors = (health_lines(result, kind) for kind in ("OK", "WARNING", "ERROR"))
    report = "\n".join(result.data["health"])
    assert errors == [], report
    assert f"server found: {' '.join(SERVER_CMD)} (recode-lsp {__version__})" in ok, report
    assert "targets (vim.g.recode): pandas==2.2" in ok, report
    assert f"targets ([tool.recode] in {nvim.project / 'pyproject.toml'}): numpy==2.0" in ok, report
    assert "vim.g.recode is valid" in ok, report
    assert [line for line in ok if re.fullmatch(rf"client \d+ running: recode-lsp {__version__}, root .*", line)], (
        report
    )
    if endpoint_up:
        assert f"model endpoint reachable: {endpoint} (model recode)" in ok, report
        assert warnings == [], report
    else:
        assert [w for w in warnings if w.startswith(f"model endpoint not reachable: {endpoint} (model recode)")], (
            report
        )
        assert not [line for line in ok if "model endpoint" in line], report


# --- bad options --------------------------------------------------------------------------------


BAD_OPTION_STEPS = """
vim.cmd.edit(vim.fn.fnameescape(FILE))
-- The message comes (scheduled) from the FileType autocmd, which would have started a client
-- by then: there may be none, not even one still initializing.
wait_for('the message', function() return vim.fn.execute('messages'):find('recode:') ~= nil end, 10000)
report.data.attached = #vim.lsp.get_clients({ name = 'recode', _uninitialized = true }) > 0
report.data.messages = vim.fn.execute('messages')
vim.cmd('checkhealth recode')
report.data.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
vim.cmd('bwipeout')
if FIXED_OPTIONS then
  -- Put the options right and restart: now the server starts.
  vim.g.recode = FIXED_OPTIONS
  vim.cmd('Recode restart')
  wait_for('recode client attached', function() return require('recode').client(0) ~= nil end)
  wait_for('diagnostics', function() return #vim.diagnostic.get(0) >= 4 end)
  report.data.diagnostics = diagnostics(0)
end
"""


ENDPOINT_ERROR = 'g:recode.model.endpoint: expected an http(s) URL, got "localhost:8000"'
BAD_CMD = "/nonexistent/recode-lsp"


@pytest.mark.parametrize(
    ("bad", "message", "health_error"),
    [
        ({"targets": "numpy==2.0"}, "invalid vim.g.recode: g:recode.targets: expected table, got string", None),
        (
            {"targets": ["numpy==2.0", 2]},
            "invalid vim.g.recode: g:recode.targets[2]: expected string, got number",
            None,
        ),
        (
            {"targets": ["numpy"]},
            'invalid vim.g.recode: g:recode.targets[1]: expected "library==version", got "numpy"',
            None,
        ),
        ({"unsafe_fixes": "yes"}, "invalid vim.g.recode: g:recode.unsafe_fixes: expected boolean, got string", None),
        ({"api_docs": "no"}, "invalid vim.g.recode: g:recode.api_docs: expected boolean, got string", None),
        ({"too_new": 1}, "invalid vim.g.recode: g:recode.too_new: expected boolean, got number", None),
        ({"debounce_ms": -1}, "invalid vim.g.recode: g:recode.debounce_ms: expected a number >= 0, got -1", None),
        ({"model": {"endpoint": "localhost:8000"}}, f"invalid vim.g.recode: {ENDPOINT_ERROR}", None),
        ({"unsafe_fix": True}, "invalid vim.g.recode: g:recode: unknown option(s): unsafe_fix", None),
        (
            {"cmd": [BAD_CMD]},
            f'server command "{BAD_CMD}" not found: install recode-lsp or set vim.g.recode.cmd',
            f'server not found: "{BAD_CMD}" is not an executable',
        ),
    ],
    ids=[
        "targets-string",
        "targets-item",
        "targets-bare-name",
        "unsafe-fixes",
        "api-docs",
        "too-new",
        "debounce",
        "endpoint",
        "unknown-key",
        "cmd",
    ],
)
def test_bad_option_gives_clear_error(nvim: Nvim, bad: dict[str, Any], message: str, health_error: str | None) -> None:
    """One clear message (no stack trace), no server, an ERROR in :checkhealth; a bad cmd, once put right
    and restarted, starts the server."""
    module = nvim.project / "pkg" / "module.py"
    fixed = options() if "cmd" in bad else None
    result = nvim.run(BAD_OPTION_STEPS, options(**bad), FILE=str(module), FIXED_OPTIONS=fixed)
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    messages: str = result.data["messages"]
    lines = [line for line in messages.splitlines() if line.strip()]
    assert lines == [f"recode: {message} (see :help g:recode, then :Recode restart)"], result.explain()
    everything = result.report["messages"] + result.stderr
    assert "traceback" not in everything and "Error" not in everything, result.explain()
    assert result.data["attached"] is False, result.explain()
    errors = health_lines(result, "ERROR")
    expected = health_error or message
    assert len(errors) == 1 and errors[0].startswith(expected), "\n".join(result.data["health"])
    if fixed is not None:
        assert [d["code"] for d in result.data["diagnostics"]] == CODES, result.explain()


# --- defaults, help -----------------------------------------------------------------------------


def test_defaults_start_recode_lsp_from_path(nvim: Nvim, tmp_path: Path) -> None:
    """No vim.g.recode at all: the server is ``recode-lsp`` from PATH (here a shim for this interpreter)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "recode-lsp"
    shim.write_text(f'#!/bin/sh\nexec "{SERVER_CMD[0]}" -m recode_lsp.server "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    result = nvim.run(
        """
        local bufnr = open_and_wait(FILE, 4)
        report.data.cmd = require('recode').client(bufnr).config.cmd
        vim.cmd('checkhealth recode')
        report.data.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
        """,
        None,
        path_prefix=bin_dir,
        FILE=str(nvim.project / "pkg" / "module.py"),
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    assert result.data["cmd"] == ["recode-lsp"]
    assert [d["code"] for d in result.data["diagnostics"]] == CODES
    report = "\n".join(result.data["health"])
    assert f"server found: {shim} (recode-lsp {__version__})" in health_lines(result, "OK"), report
    assert health_lines(result, "ERROR") == [], report


def test_help_tags(nvim: Nvim) -> None:
    """``:helptags`` on the doc folder; every tag and every |link| of recode.txt opens help."""
    source = (PLUGIN / "doc" / "recode.txt").read_text(encoding="utf-8")
    tags = re.findall(r"\*([^*\s|]+)\*", source)
    links = re.findall(r"\|([^|\s]+)\|", source)
    assert {"recode", "g:recode", ":Recode", "recode-install", "recode-health"} <= set(tags)
    result = nvim.run(
        """
        vim.cmd.helptags(vim.fn.fnameescape(DOC))
        report.data.missing = {}
        report.data.elsewhere = {}
        for _, tag in ipairs(vim.list_extend(vim.deepcopy(TAGS), LINKS)) do
          local ok = pcall(vim.cmd.help, tag)
          if not ok then
            table.insert(report.data.missing, tag)
          elseif vim.tbl_contains(TAGS, tag) and vim.fs.basename(vim.api.nvim_buf_get_name(0)) ~= 'recode.txt' then
            table.insert(report.data.elsewhere, tag)
          end
        end
        """,
        None,
        layout="packpath-copy",
        DOC=str(nvim.plugin_dir("packpath-copy") / "doc"),
        TAGS=tags,
        LINKS=links,
    )
    check(result, result.returncode == 0 and result.report.get("status") == "ok")
    # (an empty Lua table comes back as {} or [])
    assert not result.data["missing"] and not result.data["elsewhere"], result.explain()


# --- finding Neovim (no Neovim needed) -------------------------------------------------------------


def fake_nvim(path: Path, version: str) -> Path:
    path.write_text(f"#!/bin/sh\necho 'NVIM v{version}'\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_find_nvim_order_and_minimum_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv_bin, path_bin = tmp_path / "venv" / "bin", tmp_path / "path"
    venv_bin.mkdir(parents=True)
    path_bin.mkdir()
    monkeypatch.setattr("sys.executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", str(path_bin))
    monkeypatch.delenv("RECODE_NVIM", raising=False)
    assert find_nvim() == (None, f"no {NVIM_WANTED}; found: nothing")

    old = fake_nvim(path_bin / "nvim", "0.10.4")
    assert find_nvim() == (None, f"no {NVIM_WANTED}; found: {old} (v0.10.4)")
    beside = fake_nvim(venv_bin / "nvim", "0.11.0")
    assert find_nvim() == (str(beside), "")
    chosen = fake_nvim(tmp_path / "chosen-nvim", "0.12.1")
    monkeypatch.setenv("RECODE_NVIM", str(chosen))
    assert find_nvim() == (str(chosen), "")
