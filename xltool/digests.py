"""Digests without importing ``hashlib`` on the check path.

``import hashlib`` loads OpenSSL (``_hashlib``): several milliseconds of every process that
checks one workbook. The interpreter has its own SHA-256 and BLAKE2 modules, which load in
a tenth of a millisecond:

* ``sha256`` is SHA-256 (the same digest as ``hashlib.sha256``): for every digest that is
  shown, stored or compared outside this process (a file's digest, fingerprints, keys);
  OpenSSL's when hashlib is loaded anyway (it is faster over large data);
* ``blake2b`` is BLAKE2b, faster than the built-in SHA-256: for what stays inside xltool
  (the on-disk cache's integrity check, in-process memos keyed by a part's bytes).
"""

from __future__ import annotations

import sys

try:
    from _sha256 import sha256 as _builtin_sha256  # CPython ≤ 3.11
except ImportError:  # pragma: no cover - other versions or builds
    try:
        from _sha2 import sha256 as _builtin_sha256  # CPython 3.12+
    except ImportError:
        _builtin_sha256 = None

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a build without the module
    from hashlib import blake2b  # noqa: F401

_LARGE = 1 << 20  # from here on OpenSSL's speed is worth its import


def sha256(data: bytes = b""):
    """A SHA-256 hash object over *data* (``update``, ``digest``, ``hexdigest``)."""
    if _builtin_sha256 is None or "hashlib" in sys.modules or len(data) >= _LARGE:
        from hashlib import sha256 as openssl

        return openssl(data)
    return _builtin_sha256(data)
