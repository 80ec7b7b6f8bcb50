"""The xlwings licence key, set before xlwings is first imported.

xlwings' remote engine (``xw.Book(json=...)``) and ``xlwings.server.script`` live in
``xlwings/pro``, licensed under PolyForm Noncommercial 1.0.0 or a paid licence. PolyForm NC
names use by a government institution as a permitted purpose, and the key
``noncommercial`` enables it offline. Without a key ``xw.Book(json=...)`` raises
``LicenseError`` and ``xw.script`` silently registers nothing. A key already in the
environment (a paid one) is kept.
"""

from __future__ import annotations

import os

LICENCE_ENV = "XLWINGS_LICENSE_KEY"
NONCOMMERCIAL = "noncommercial"


def ensure_licence() -> None:
    os.environ.setdefault(LICENCE_ENV, NONCOMMERCIAL)

