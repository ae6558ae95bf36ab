"""``recode-kb scrape`` downloads the smallest file of each release: any platform's wheel or the sdist.

Offline: pip's configuration is an index-less find-links folder (as a user's private wheel folder
would be), named through pip's own environment variables.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import textwrap
import zipfile
from pathlib import Path

from recode_lsp.kb import overlay
from tests.cli_process import run_module
from tests.kb.fixture_lib import V1, V2
from tests.kb.test_kb_scrape import EXPECTED, summary

#: Bytes that do not compress, to make one file of a release bigger than the others.
PADDING = os.urandom(200_000)
#: An sdist whose build runs this: the scraper must never build (or run) what it reads.
SETUP = "raise SystemExit('recode-kb must not build the sdist it reads')\n"


def recode_kb(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_module("recode_lsp.kb.cli", *args, cwd=cwd, env=env, cache=cwd / ".cache", timeout=300)


def sources(files: dict[str, str]) -> dict[str, bytes]:
    return {name: textwrap.dedent(text).lstrip().encode() for name, text in files.items()}


def write_wheel(folder: Path, version: str, tag: str, files: dict[str, str], *, padded: bool) -> Path:
    path = folder / f"kblib-{version}-{tag}.whl"
    info = f"kblib-{version}.dist-info"
    contents = sources(files)
    if padded:
        contents["kblib/data.bin"] = PADDING
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: kblib\nVersion: {version}\n".encode()
    contents[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    contents[f"{info}/RECORD"] = b""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in contents.items():
            wheel.writestr(name, data)
    return path


def write_sdist(folder: Path, version: str, files: dict[str, str], *, padded: bool) -> Path:
    path = folder / f"kblib-{version}.tar.gz"
    contents = sources(files)
    contents["setup.py"] = SETUP.encode()
    contents["PKG-INFO"] = f"Metadata-Version: 2.1\nName: kblib\nVersion: {version}\n".encode()
    if padded:
        contents["kblib/data.bin"] = PADDING
    with tarfile.open(path, "w:gz") as sdist:
        for name, data in contents.items():
            member = tarfile.TarInfo(f"kblib-{version}/{name}")
            member.size = len(data)
            sdist.addfile(member, io.BytesIO(data))
    return path


def test_the_smallest_file_of_each_release_is_downloaded_and_read(tmp_path: Path) -> None:
    links = tmp_path / "wheels"
    links.mkdir()
    # 1.0: the sdist is the smallest (pip alone would take the wheel, which fits every platform).
    big_wheel = write_wheel(links, "1.0", "py3-none-any", V1, padded=True)
    small_sdist = write_sdist(links, "1.0", V1, padded=False)
    # 2.0: a wheel for another platform and Python is the smallest.
    others = [write_wheel(links, "2.0", "py3-none-any", V2, padded=True), write_sdist(links, "2.0", V2, padded=True)]
    small_wheel = write_wheel(links, "2.0", "cp39-cp39-win_amd64", V2, padded=False)
    assert small_sdist.stat().st_size < big_wheel.stat().st_size
    assert all(small_wheel.stat().st_size < other.stat().st_size for other in others)

    cache = tmp_path / "cache"
    out = tmp_path / "kblib.jsonl"
    pip = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links)}
    result = recode_kb(
        pip, "scrape", "kblib", "--from", "1.0", "--to", "2.0", "--cache-dir", str(cache), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert summary(overlay.loads(out.read_text(), str(out))) == EXPECTED
    fetched = {p.parent.name: json.loads(p.read_text())["file"] for p in cache.glob("*/release.json")}
    assert fetched == {"kblib-1.0": small_sdist.name, "kblib-2.0": small_wheel.name}
    # Only the Python sources were kept.
    assert not list(cache.rglob("data.bin"))
    assert not list(cache.rglob("*.whl")) and not list(cache.rglob("*.tar.gz"))
