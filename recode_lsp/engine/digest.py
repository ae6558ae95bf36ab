"""A fast content hash for cache keys.

``hashlib`` loads OpenSSL on import (several milliseconds, on every run); BLAKE2 alone is
in CPython's ``_blake2`` module, which is all a cache key needs.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other Python implementations
    from hashlib import blake2b


def digest(data: bytes, size: int = 16) -> str:
    """Hex BLAKE2b digest of ``data``."""
    return blake2b(data, digest_size=size).hexdigest()


def hasher(size: int = 16) -> blake2b:
    """An incremental BLAKE2b hasher."""
    return blake2b(digest_size=size)
