"""The cache keys' digests: the same as hashlib's, without loading OpenSSL."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from recode_lsp.engine.digest import digest, sha256_hex


@pytest.mark.parametrize("data", [b"", b"/home/user/.cache/recode/releases/numpy-1.26.4", "é".encode() * 1000])
def test_sha256_hex_is_hashlibs_digest(data: bytes) -> None:
    # Inventory file names were written with hashlib's SHA-256: a different digest would read none of them.
    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_blake2_digest_is_hashlibs_digest() -> None:
    assert digest(b"x", 12) == hashlib.blake2b(b"x", digest_size=12).hexdigest()


def test_the_too_new_check_does_not_load_openssl() -> None:
    # ``import hashlib`` loads OpenSSL (several milliseconds on each run of --too-new).
    code = "import sys, recode_lsp.toonew.run, recode_lsp.toonew.stdlib;print('_hashlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
