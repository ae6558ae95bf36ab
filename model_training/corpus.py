"""Corpora of real code: the ``.py`` files of old releases, unpacked from their wheels.

The CLI benchmark and the training-set builder both read the code of old library releases;
this is the one place that unpacks it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath


def extract_py(wheel: Path, dest: Path) -> int:
    """Unpack only the ``*.py`` members of ``wheel`` into ``dest`` (temp folder, then rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    count = 0
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                name = PurePosixPath(member.filename)
                if member.is_dir() or name.suffix != ".py" or name.is_absolute() or ".." in name.parts:
                    continue
                target = staging.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                count += 1
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


__all__ = ["extract_py"]
