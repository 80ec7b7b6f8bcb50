"""Sheet and workbook protection with the Excel 2013+ salted SHA-512 password hash.

openpyxl's ``protection.password`` stores Excel's legacy 16-bit hash of the characters,
which LibreOffice rejects for a correct Chinese password. The ISO/IEC 29500 "agile"
scheme used here is accepted by Excel, WPS and LibreOffice alike:

    H0 = SHA-512(salt + password as UTF-16LE)
    Hi = SHA-512(H(i-1) + i as 4-byte little-endian unsigned int), i = 0 .. spin-1

100,000 spins cost tens of milliseconds, so the result is cached by
(password, salt, spin count) and one random salt is reused for every sheet of one
workbook: protecting twenty sheets hashes once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from xltool.i18n import _

ALGORITHM = "SHA-512"
DEFAULT_SPIN_COUNT = 100_000
SALT_BYTES = 16
# verify_password reads spin counts from files: refuse absurd ones instead of hanging.
MAX_SPIN_COUNT = 10_000_000

# One salt per workbook object, forgotten with the workbook.
_workbook_salts: "weakref.WeakKeyDictionary[Workbook, bytes]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class PasswordHash:
    """The four attributes Excel stores for a protected sheet or workbook structure."""

    algorithm_name: str
    hash_value: str  # base64
    salt_value: str  # base64
    spin_count: int


@lru_cache(maxsize=64)
def _spin(password: str, salt: bytes, spin_count: int) -> bytes:
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    pack = struct.Struct("<I").pack
    for i in range(spin_count):
        digest = hashlib.sha512(digest + pack(i)).digest()
    return digest


def hash_password(
    password: str, salt: bytes | None = None, spin_count: int = DEFAULT_SPIN_COUNT
) -> PasswordHash:
    """Hash *password* the way Excel 2013+ does for sheet and workbook protection.

    A random 16-byte salt is drawn when none is given. Results are cached by
    (password, salt, spin_count), so repeating a call with the same salt is free.
    """
    if not password:
        raise ValueError(_("The protection password must not be empty."))
    if spin_count < 0:
        raise ValueError(_("The spin count must not be negative."))
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    digest = _spin(password, bytes(salt), spin_count)
    return PasswordHash(
        algorithm_name=ALGORITHM,
        hash_value=base64.b64encode(digest).decode("ascii"),
        salt_value=base64.b64encode(salt).decode("ascii"),
        spin_count=spin_count,
    )


def verify_password(password: str, stored: PasswordHash) -> bool:
    """Whether *password* matches *stored* (constant-time comparison of the hashes)."""
    if not password or str(stored.algorithm_name).replace("-", "").upper() != "SHA512":
        return False
    spin = stored.spin_count
    if not isinstance(spin, int) or not 0 <= spin <= MAX_SPIN_COUNT:
        return False
    try:
        salt = base64.b64decode(stored.salt_value, validate=True)
        expected = base64.b64decode(stored.hash_value, validate=True)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(_spin(password, salt, spin), expected)


def _workbook_salt(wb: Workbook | None) -> bytes:
    if wb is None:
        return os.urandom(SALT_BYTES)
    salt = _workbook_salts.get(wb)
    if salt is None:
        salt = _workbook_salts[wb] = os.urandom(SALT_BYTES)
    return salt


def _resolve(password: str | PasswordHash, wb: Workbook | None) -> PasswordHash:
    if isinstance(password, PasswordHash):
        return password
    return hash_password(password, salt=_workbook_salt(wb))


def protect_sheet(ws: Worksheet, password: str | PasswordHash) -> PasswordHash:
    """Protect *ws* with a SHA-512 password hash; the legacy ``password`` stays unset.

    Users may select locked and unlocked cells and format cells; inserting or deleting
    rows and columns, sorting, filtering and editing objects stay blocked. In openpyxl a
    True flag means "blocked", hence ``formatCells=False``. Every sheet of one workbook
    gets the same salt, so the hash is computed once per workbook and password.
    """
    ph = _resolve(password, ws.parent)
    prot = ws.protection
    prot.sheet = True
    prot.formatCells = False
    prot.selectLockedCells = False
    prot.selectUnlockedCells = False
    prot.insertRows = prot.insertColumns = True
    prot.deleteRows = prot.deleteColumns = True
    prot.algorithmName = ph.algorithm_name
    prot.hashValue = ph.hash_value
    prot.saltValue = ph.salt_value
    prot.spinCount = ph.spin_count
    return ph


def protect_workbook(wb: Workbook, password: str | PasswordHash) -> PasswordHash:
    """Lock the workbook structure (no adding, deleting, renaming or moving sheets)."""
    ph = _resolve(password, wb)
    wb.security = WorkbookProtection(
        lockStructure=True,
        workbookAlgorithmName=ph.algorithm_name,
        workbookHashValue=ph.hash_value,
        workbookSaltValue=ph.salt_value,
        workbookSpinCount=ph.spin_count,
    )
    return ph


def read_sheet_protection(ws: Worksheet) -> dict[str, Any]:
    """What protection *ws* carries, as read from the file.

    Keys: ``protected``, ``format_cells_allowed``, ``select_locked_allowed``,
    ``select_unlocked_allowed``, ``insert_rows_allowed``, ``delete_rows_allowed``,
    ``algorithm`` (None without a modern hash), ``has_hash``, ``legacy_password``.
    A reader compares this with what the template set to detect removed protection.
    """
    prot = ws.protection
    protected = bool(prot.sheet)
    return {
        "protected": protected,
        # Unprotected sheets allow everything; flags only matter while protected.
        "format_cells_allowed": not protected or not prot.formatCells,
        "select_locked_allowed": not protected or not prot.selectLockedCells,
        "select_unlocked_allowed": not protected or not prot.selectUnlockedCells,
        "insert_rows_allowed": not protected or not prot.insertRows,
        "delete_rows_allowed": not protected or not prot.deleteRows,
        "algorithm": prot.algorithmName,
        "has_hash": bool(prot.hashValue and prot.saltValue),
        "legacy_password": bool(prot.password),
    }
