"""A fast content hash for cache keys.

``hashlib`` loads OpenSSL on import (several milliseconds, on every run); BLAKE2 alone is
in CPython's ``_blake2`` module, which is all a cache key needs. SHA-256, for the keys
already written with it (the too-new inventories' file names), comes from CPython's own
module the same way.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b
try:
    from _sha256 import sha256  # CPython up to 3.11
except ImportError:  # pragma: no cover - the module's name from 3.12, or other implementations
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256


def digest(data: bytes, size: int = 16) -> str:
    """Hex BLAKE2b digest of ``data``."""
    return blake2b(data, digest_size=size).hexdigest()


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 digest of ``data`` (what ``hashlib.sha256(data).hexdigest()`` gives)."""
    return sha256(data).hexdigest()


def hasher(size: int = 16) -> blake2b:
    """An incremental BLAKE2b hasher."""
    return blake2b(digest_size=size)
