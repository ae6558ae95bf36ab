"""Finding the files to check, reading them faithfully, and writing them back atomically."""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

#: Folders never worth reading: virtual environments, caches and build output.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".env",
        "env",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".recode_cache",
        "build",
        "dist",
        ".eggs",
        "node_modules",
        "site-packages",
        "__pypackages__",
        ".ipynb_checkpoints",  # Jupyter's autosaved copies of the notebooks next to it
    }
)
SOURCE_SUFFIXES = (".py", ".pyi")
#: What a folder walk also finds unless notebooks are switched off (``--no-notebooks``).
NOTEBOOK_SUFFIXES = (".ipynb",)


#: Files larger than this are reported and skipped (``--max-file-size``, ``[tool.recode] max-file-size``):
#: the same 2 MB the language server uses. Hand-written modules stay far below it (CPython's and
#: pandas' largest are under 800 kB); a multi-megabyte one is generated. Per MB, checking costs
#: about 2 s and 170 MB, fixing about 10 s and 350 MB (linear in size; measured for issue 11).
DEFAULT_MAX_FILE_SIZE = 2_000_000
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6, "mib": 2**20}


def parse_size(text: str | int) -> int:
    """``2000000``, ``500k``, ``2MB`` or ``1MiB`` as bytes (0: no limit); :class:`ValueError` otherwise."""
    import re

    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text) if isinstance(text, str) else None
    if match is None or match[2].lower() not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 2000000, 500k, 2MB, 1MiB; 0 for no limit)")
    return int(float(match[1]) * _SIZE_UNITS[match[2].lower()])


class DecodeError(Exception):
    """The file's bytes are not text in its declared encoding."""


@dataclass(frozen=True)
class SourceText:
    """A decoded file, with what is needed to write it back byte-faithfully."""

    #: The text, with "\n" line endings when the file used one other style throughout.
    text: str
    encoding: str
    #: "\r\n" or "\r" when every line of the file ends so (``text`` then holds "\n" only);
    #: "" when ``text`` keeps the file's own line endings ("\n", or mixed "\n" and "\r\n").
    newline: str
    bom: bool

    @property
    def crlf(self) -> bool:
        return self.newline == "\r\n"

    def encode(self, text: str) -> bytes:
        if self.newline:
            text = text.replace("\n", self.newline)
        data = text.encode(self.encoding)
        if self.bom and not data.startswith(codecs.BOM_UTF8):
            data = codecs.BOM_UTF8 + data
        return data


def decode_source(data: bytes) -> SourceText:
    """Decode as Python does (BOM, PEP 263 cookie, default UTF-8).

    Raises :class:`DecodeError` for what is not Python source: a binary file (NUL bytes, which
    Python refuses too), bytes that do not decode, and a file whose lines end in a lone CR
    mixed with other endings (one newline style per file is what a rewrite can keep).
    """
    import re
    import tokenize

    if b"\0" in data:  # memchr: cheap even for files the prefilter would skip
        raise DecodeError("binary file (contains NUL bytes), not Python source")
    bom = data.startswith(codecs.BOM_UTF8)
    # The cookie counts only on the first two lines, as Python splits them ("\r\n", "\r" or
    # "\n"); detect_encoding splits on "\n" alone, so a lone-CR file would be one long line.
    head = b"\n".join(re.split(rb"\r\n|\r|\n", data, maxsplit=2)[:2]) + b"\n"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(head).readline)
    except SyntaxError as exc:
        raise DecodeError(f"cannot decode: {exc}") from None
    payload = data[len(codecs.BOM_UTF8) :] if bom else data
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = payload.decode(codec)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DecodeError(f"cannot decode as {encoding}: {exc}") from None
    newline = ""
    if "\r" in text:
        crs, crlfs, lfs = text.count("\r"), text.count("\r\n"), text.count("\n")
        if crs == crlfs == lfs:
            newline = "\r\n"
            text = text.replace("\r\n", "\n")
        elif lfs == 0:
            newline = "\r"  # classic Mac line endings: Python reads "\r" as a newline too
            text = text.replace("\r", "\n")
        elif crs != crlfs:
            raise DecodeError('mixed line endings with lone "\\r" (carriage return); use one newline style')
    return SourceText(text, codec, newline, bom)


def source_problem(data: bytes, path: str, *, parse: bool = True) -> str | None:
    """Why ``data`` is not Python source that can be checked (binary, undecodable, unparsable), or None.

    For the files the byte prefilter rules out: they are never analysed, but a binary or
    undecodable one is still reported (cheap: a ``memchr`` and a decode). A syntax error is
    looked for only with ``parse`` (``--check-syntax``): parsing the files that use no changed
    name was a quarter of a cold run's CPU time (issue 15), and a migration tool owes a clear
    error only for the files it would analyse or change; ruff and the interpreter report the
    rest. The check is :func:`symtable.symtable`: CPython's parser without building Python AST
    objects, about half the cost of :func:`ast.parse` (it also reports the few errors Python's
    symbol table finds, such as a duplicate parameter, which an import would raise too).
    """
    try:
        source = decode_source(data)
    except DecodeError as exc:
        return str(exc)
    if not parse:
        return None
    import symtable

    try:
        symtable.symtable(source.text, path, "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        return f"syntax error at {where}: {exc.msg}"  # the detector's wording (engine/detector.py)
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot parse: {exc}"
    return None


def write_atomic(path: Path, data: bytes, *, expected_digest: str | None = None) -> None:
    """Replace ``path``'s content with ``data`` atomically, keeping its permission bits.

    See :func:`recode_lsp.cli.writes.write_checked` (symlinks, read-only files, the re-check
    of ``expected_digest``); raises ``WriteRefused`` or ``OSError`` and leaves no temporary file.
    """
    from recode_lsp.cli.writes import write_checked

    write_checked(path, data, expected_digest=expected_digest)


def in_git_work_tree(path: Path) -> bool:
    """Whether ``path`` is inside a git work tree, decided without running git.

    Looks for ``.git`` upwards and stops below ``GIT_CEILING_DIRECTORIES``, as git does.
    """
    ceilings = {os.path.abspath(p) for p in os.environ.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep) if p}
    current = os.path.abspath(path if path.is_dir() else path.parent)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return True
        parent = os.path.dirname(current)
        if parent == current or parent in ceilings:
            return False
        current = parent


#: Settings that make git run a program, switched off on every call: a repository can arrive
#: (a tarball, a shared folder) with its own ``.git/config``, and ``git status`` runs its
#: ``core.fsmonitor`` command; no command used here runs hooks, the empty hooks path keeps it so.
#: ``-c`` settings also reach the git processes git itself starts (submodules).
_GIT_OVERRIDES = ("--no-pager", "-c", "core.fsmonitor=false", "-c", f"core.hooksPath={os.devnull}")
#: Config scopes the user wrote (filters there, such as git-lfs, are kept).
_USER_SCOPES = frozenset({"system", "global"})


def _run_git(folder: str, *args: str, timeout: float) -> subprocess.CompletedProcess[bytes] | None:
    """``git -C folder args`` with no program from the repository's own config run; None if git failed to run.

    Besides :data:`_GIT_OVERRIDES`, the clean filters a repository configures for itself
    (``filter.<driver>.clean`` / ``.process`` in ``.git/config`` or a file it includes) are
    emptied: ``git status`` runs them on every tracked file whose stat changed.
    """
    import subprocess

    base = ["git", "-C", folder, *_GIT_OVERRIDES]
    try:
        return subprocess.run(
            [*base, *_filter_overrides(folder), *args],
            capture_output=True,
            check=False,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _filter_overrides(folder: str) -> list[str]:
    """``-c`` options that disable the filter drivers the repository (not the user) configures.

    Reading the configuration runs nothing. Where ``--show-scope`` is missing (git < 2.26),
    every configured driver is disabled: a few files may then look modified, which only
    makes ``--apply`` more careful.
    """
    import subprocess

    query = ["config", "--name-only", "--null", "--get-regexp", r"^filter\..+\.(clean|smudge|process|required)$"]
    listed: list[tuple[str, str]] = []
    for scoped in (True, False):
        try:
            completed = subprocess.run(
                ["git", "-C", folder, *_GIT_OVERRIDES, *query[:1], *(["--show-scope"] if scoped else []), *query[1:]],
                capture_output=True,
                check=False,
                timeout=20,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            return []
        if completed.returncode == 1:  # no such key
            return []
        if completed.returncode == 0:
            items = completed.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1]
            # --null --show-scope: "scope\0name\0" per key; without the scope, count it as the repository's.
            listed = list(zip(items[0::2], items[1::2], strict=False)) if scoped else [("local", i) for i in items]
            break
    drivers = {name[len("filter.") :].rpartition(".")[0] for scope, name in listed if scope not in _USER_SCOPES}
    overrides: list[str] = []
    for driver in sorted(drivers):
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            overrides += ["-c", f"filter.{driver}.{key}={value}"]
    return overrides


def git_toplevel(path: Path) -> Path | None:
    completed = _run_git(str(path if path.is_dir() else path.parent), "rev-parse", "--show-toplevel", timeout=20)
    if completed is None or completed.returncode != 0:
        return None
    return Path(os.fsdecode(completed.stdout.strip()))


def dirty_files(paths: Iterable[Path]) -> list[str]:
    """Uncommitted changes (staged, unstaged or untracked) under ``paths`` in their git work trees.

    A work tree git cannot report on counts as dirty (its top folder is listed): ``--apply``
    then refuses rather than writing over changes nobody could see.
    """
    dirty: list[str] = []
    for path in paths:
        top = git_toplevel(path)
        if top is None:
            continue
        completed = _run_git(
            str(top), "status", "--porcelain", "--untracked-files=normal", "--", str(path.resolve()), timeout=60
        )
        if completed is None or completed.returncode != 0:
            why = completed.stderr.decode("utf-8", "replace").strip().splitlines()[:1] if completed else []
            dirty.append(f"{top} (git status failed{': ' + why[0] if why else ''})")
            continue
        text = completed.stdout.decode("utf-8", "surrogateescape")
        dirty.extend(line[3:] for line in text.splitlines() if line.strip())
    return sorted(set(dirty))


def _git_files(folder: Path, suffixes: tuple[str, ...] = SOURCE_SUFFIXES) -> list[str] | None:
    """Files git would track under ``folder`` (tracked plus untracked, minus ignored)."""
    completed = _run_git(
        str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".", timeout=120
    )
    if completed is None or completed.returncode != 0:
        return None
    names = completed.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [name for name in names if name.endswith(suffixes)]


def _is_venv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def _inside_venv_text(relative: str, root: str, known: dict[str, bool]) -> bool:
    """Whether a folder between ``root`` and the file ``relative`` is a virtual environment."""
    parts = relative.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if folder not in known:
            known[folder] = os.path.isfile(os.path.join(root, folder, "pyvenv.cfg"))
        if known[folder]:
            return True
    return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _walk(
    folder: str, ignore_files: list[str] | None = None, suffixes: tuple[str, ...] = SOURCE_SUFFIXES
) -> Iterator[str]:
    """Source files under ``folder`` relative to it ("a/b.py"), skipping venvs and build output.

    ``.gitignore`` files met on the way are appended to ``ignore_files``.
    """
    pending = [""]
    top = os.path.join(folder, "")
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(top + relative if relative else folder) as listing:
                entries = {entry.name: entry for entry in listing}
        except OSError:
            continue
        # A virtual environment below ``folder`` is seen in its own listing (``pyvenv.cfg``, a file or
        # a link to one, as ``os.path.isfile`` says) instead of by one more ``stat`` per folder.
        if relative and "pyvenv.cfg" in entries and _is_file(entries["pyvenv.cfg"]):
            continue
        subfolders = []
        for name in sorted(entries):
            entry = entries[name]
            if entry.is_dir(follow_symlinks=False):
                if name in SKIPPED_DIRS or name.endswith(".egg-info"):
                    continue
                subfolders.append(f"{relative}{name}/")
            elif name.endswith(suffixes):
                yield f"{relative}{name}"
            elif name == ".gitignore" and ignore_files is not None:
                ignore_files.append(f"{relative}{name}")
        pending.extend(reversed(subfolders))


def _gitignore_spec(root: str, ignore_files: Iterable[str]) -> object | None:
    """A pathspec matcher for the ``.gitignore`` files of a tree that git does not manage."""
    patterns: list[str] = []
    for ignore_file in sorted(ignore_files, key=lambda name: name.count("/")):
        prefix = ignore_file.rpartition("/")[0]
        try:
            text = Path(root, ignore_file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            body = line[1:] if negate else line
            if prefix:
                body = f"{prefix}/{body.lstrip('/')}" if "/" in body.rstrip("/") else f"{prefix}/**/{body}"
            patterns.append(("!" if negate else "") + body)
    if not patterns:
        return None
    import pathspec

    return pathspec.PathSpec.from_lines("gitwildmatch", patterns)


def discover(paths: Iterable[Path], exclude: Iterable[str] = (), *, notebooks: bool = True) -> list[str]:
    """Python files (and, with ``notebooks``, Jupyter notebooks) under ``paths``.

    Honours .gitignore, skips virtualenvs and build folders. A file named explicitly is always
    included. Paths are strings: a large tree is listed with plain string work, which matters on
    a warm run that reads nothing else.
    """
    found: dict[str, None] = {}
    suffixes = SOURCE_SUFFIXES + (NOTEBOOK_SUFFIXES if notebooks else ())
    excluded = [e.strip("/") for e in exclude]
    for path in paths:
        if path.is_file():
            found[str(path)] = None
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such file or folder")
        base = str(path)
        listed = _git_files(path, suffixes) if in_git_work_tree(path) else None
        if listed is not None:
            venvs: dict[str, bool] = {}
            relatives = [
                name
                for name in listed
                if not any(part in SKIPPED_DIRS for part in name.split("/")[:-1])
                and not _inside_venv_text(name, base, venvs)
                and os.path.isfile(os.path.join(base, name))
            ]
        else:
            ignore_files: list[str] = []
            walked = list(_walk(base, ignore_files, suffixes))
            spec = _gitignore_spec(base, ignore_files)
            if spec is not None:
                walked = [name for name in walked if not spec.match_file(name)]  # type: ignore[attr-defined]
            relatives = walked
        prefix = "" if base == "." else os.path.join(base, "")  # + relative: os.path.join(base, relative)
        for relative in sorted(relatives):
            if excluded and any(relative == e or relative.startswith(e + "/") for e in excluded):
                continue
            found[prefix + relative] = None
    return list(found)
