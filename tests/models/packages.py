"""Build small real releases (wheels and sdists) on the fly, to serve as a package index.

A folder of these files is a complete index for pip (``PIP_FIND_LINKS=<folder>``,
``PIP_NO_INDEX=1``), so the API-docs tests exercise the real ``pip download`` without a network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_files(name: str, version: str, files: Mapping[str, str], tag: str = "py3-none-any") -> dict[str, bytes]:
    """Every file of a wheel, ``.dist-info`` included (RECORD last, listing the others)."""
    info = f"{name}-{version}.dist-info"
    contents: dict[str, bytes] = {path: textwrap.dedent(text).encode() for path, text in files.items()}
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: recode-tests\nRoot-Is-Purelib: {'true' if 'none-any' in tag else 'false'}\n"
        f"Tag: {tag}\n"
    ).encode()
    record = [_record_line(path, data) for path, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return contents


def build_wheel(folder: Path, name: str, version: str, files: Mapping[str, str], tag: str = "py3-none-any") -> Path:
    """Write ``name-version-tag.whl`` holding ``files`` (path -> source) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for member, data in wheel_files(name, version, files, tag).items():
            wheel.writestr(member, data)
    return path


def install_into(site: Path, name: str, version: str, files: Mapping[str, str]) -> Path:
    """Lay a release out as an installed distribution (what pip would unpack) under ``site``."""
    for member, data in wheel_files(name, version, files).items():
        target = site / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return site


#: An in-tree PEP 517 backend (``backend-path``): pip prepares the sdist's metadata with no
#: build requirement to install, so the sdist path works offline.
_BACKEND = """
import os

NAME, VERSION = {name!r}, {version!r}


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = f"{{NAME}}-{{VERSION}}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info))
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as handle:
        handle.write(f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n")
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("tests never build this sdist")


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("tests never build this sdist")
"""


def build_sdist(folder: Path, name: str, version: str, files: Mapping[str, str]) -> Path:
    """Write ``name-version.tar.gz`` whose metadata pip can prepare offline (in-tree backend)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = f"{name}-{version}"
    contents = {path: textwrap.dedent(text) for path, text in files.items()}
    contents["pyproject.toml"] = (
        '[build-system]\nrequires = []\nbuild-backend = "recode_test_backend"\nbackend-path = ["."]\n'
    )
    contents["recode_test_backend.py"] = _BACKEND.format(name=name, version=version)
    contents["PKG-INFO"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    path = folder / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as sdist:
        for member, text in contents.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{member}")
            info.size = len(data)
            sdist.addfile(info, io.BytesIO(data))
    return path
