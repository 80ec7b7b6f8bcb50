"""Sheet and workbook protection: the hash itself, the file, and LibreOffice's verdict."""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Protection

from xltool.office import uno_driver_batch
from xltool.template import protection
from xltool.template.protection import (
    PasswordHash,
    hash_password,
    protect_sheet,
    protect_workbook,
    read_sheet_protection,
    verify_password,
)

PASSWORD = "绩效2023"


def reference_hash(password: str, salt: bytes, spin: int) -> str:
    """ISO/IEC 29500 password hash, written out independently of the module."""
    h = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for i in range(spin):
        h = hashlib.sha512(h + i.to_bytes(4, "little")).digest()
    return base64.b64encode(h).decode()


@pytest.mark.parametrize("spin", [0, 1, 1000])
def test_hash_matches_reference(spin: int) -> None:
    salt = bytes(range(16))
    ph = hash_password(PASSWORD, salt=salt, spin_count=spin)
    assert ph == PasswordHash(
        algorithm_name="SHA-512",
        hash_value=reference_hash(PASSWORD, salt, spin),
        salt_value=base64.b64encode(salt).decode(),
        spin_count=spin,
    )


def test_default_hash_and_verify() -> None:
    ph = hash_password(PASSWORD)
    assert ph.spin_count == 100_000 and len(base64.b64decode(ph.salt_value)) == 16
    salt = base64.b64decode(ph.salt_value)
    assert ph.hash_value == reference_hash(PASSWORD, salt, 100_000)
    assert verify_password(PASSWORD, ph)
    assert not verify_password("绩效2024", ph)
    assert not verify_password("", ph)
    assert hash_password(PASSWORD).salt_value != ph.salt_value  # fresh salt each time


@pytest.mark.parametrize(
    "stored",
    [
        PasswordHash(None, None, None, None),  # attributes missing in the file
        PasswordHash("SHA-1", "AAAA", "AAAA", 1),
        PasswordHash("SHA-512", "not base64!", "AAAA", 1),
        PasswordHash("SHA-512", "AAAA", "AAAA", 10**12),  # would hang for hours
    ],
)
def test_verify_rejects_malformed_hashes(stored: PasswordHash) -> None:
    assert verify_password(PASSWORD, stored) is False


def test_empty_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    with pytest.raises(ValueError, match="保护密码不能为空"):
        hash_password("")


def test_many_sheets_hash_once() -> None:
    wb = Workbook()
    sheets = [wb.active, *(wb.create_sheet(f"表{i}") for i in range(19))]
    before = protection._spin.cache_info().misses
    hashes = {protect_sheet(ws, PASSWORD) for ws in sheets}
    hashes.add(protect_workbook(wb, PASSWORD))
    assert len(hashes) == 1  # one salt per workbook
    assert protection._spin.cache_info().misses == before + 1
    other = Workbook()
    assert protect_sheet(other.active, PASSWORD).salt_value != hashes.pop().salt_value


def protected_book(path: Path) -> Path:
    """表一 and 表二 protected with PASSWORD (A1 locked, B2 unlocked on 表一); 表三 open."""
    wb = Workbook()
    ws = wb.active
    ws.title = "表一"
    ws["A1"] = "锁定"
    ws["B2"].protection = Protection(locked=False)
    protect_sheet(ws, PASSWORD)
    protect_sheet(wb.create_sheet("表二"), PASSWORD)
    wb.create_sheet("表三")["A1"] = "锁定"
    protect_workbook(wb, PASSWORD)
    wb.save(path)
    return path


def test_protection_in_the_file(tmp_path: Path) -> None:
    path = protected_book(tmp_path / "p.xlsx")
    with zipfile.ZipFile(path) as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert 'algorithmName="SHA-512"' in sheet_xml
    assert " password=" not in sheet_xml  # no legacy 16-bit hash

    wb = load_workbook(path)
    info = read_sheet_protection(wb["表一"])
    assert info == {
        "protected": True,
        "format_cells_allowed": True,
        "select_locked_allowed": True,
        "select_unlocked_allowed": True,
        "insert_rows_allowed": False,
        "delete_rows_allowed": False,
        "algorithm": "SHA-512",
        "has_hash": True,
        "legacy_password": False,
    }
    prot = wb["表一"].protection
    assert prot.insertColumns and prot.deleteColumns
    stored = PasswordHash(prot.algorithmName, prot.hashValue, prot.saltValue, prot.spinCount)
    assert verify_password(PASSWORD, stored)

    sec = wb.security
    assert sec.lockStructure and sec.workbookAlgorithmName == "SHA-512"
    assert verify_password(
        PASSWORD,
        PasswordHash(
            sec.workbookAlgorithmName,
            sec.workbookHashValue,
            sec.workbookSaltValue,
            sec.workbookSpinCount,
        ),
    )

    wb["表一"].protection.disable()
    assert read_sheet_protection(wb["表一"])["protected"] is False
    assert read_sheet_protection(wb["表一"])["insert_rows_allowed"] is True


def test_libreoffice_enforces_the_protection(uno_python: str, tmp_path: Path) -> None:
    original = protected_book(tmp_path / "original.xlsx")
    typed = shutil.copy(original, tmp_path / "typed.xlsx")
    r = uno_driver_batch(
        [
            ["cell-info", original, "表一", "A1"],
            ["cell-info", original, "表一", "B2"],
            ["type-into", typed, "表一", "A1", "改了"],
            ["type-into", typed, "表一", "B2", "12.5"],
            ["type-into", typed, "表三", "A1", "改了"],  # locked, sheet unprotected
            ["cell-info", typed, "表一", "B2"],  # stored by LibreOffice
            ["unprotect", original, "表一", PASSWORD],
            ["unprotect", original, "表二", PASSWORD],  # same salt, other sheet
            ["unprotect", original, "表一", "绩效2024"],
            ["unprotect", typed, "表一", PASSWORD],  # hash survives a Calc round trip
        ]
    )
    assert r[0] == {
        "locked": True,
        "hidden": False,
        "sheet_protected": True,
        "value": "锁定",
        "formula": None,
    }
    assert r[1]["locked"] is False and r[1]["sheet_protected"] is True
    assert r[2] == {"accepted": False, "changed": False, "value": "锁定", "formula": None}
    assert r[3] == {"accepted": True, "changed": True, "value": 12.5, "formula": None}
    assert r[4]["accepted"] is True and r[4]["value"] == "改了"
    assert r[5]["value"] == 12.5 and r[5]["sheet_protected"] is True
    assert r[6]["ok"] is True and r[6]["sheet_protected"] is False
    assert r[7]["ok"] is True
    assert r[8] == {"ok": False, "was_protected": True, "sheet_protected": True}
    assert r[9]["ok"] is True

    # What openpyxl reads back from the file LibreOffice stored.
    info = read_sheet_protection(load_workbook(typed)["表一"])
    assert info["protected"] and info["format_cells_allowed"] and info["has_hash"]
