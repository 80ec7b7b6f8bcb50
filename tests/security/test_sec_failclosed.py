"""Every server request fails closed: a full disk, a read-only data folder, vanished files.
The answer is a Chinese sentence (page or JSON) without a trace, and the database changes only
when the file is safely written.

The full disk is a small tmpfs mounted for the test (root, as tests/test_faults.py does); the
read-only folder is that tmpfs remounted read-only (chmod does not stop root). Where mounting
is impossible the tests skip and say so.

Attacks (docs/security.md): A11 报送 on a full disk, A12 desk uploads, new round and audit start
on a full disk, A13 the same on a read-only folder, A14 files and the database vanishing under
a running server.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

from secsupport import EXAMPLE, HTML, basic, client_of, login, make_app, no_traceback
from helpers import has_cjk, scratch, zh_locale  # noqa: F401

from xltool.web.config import load_config


class Tmpfs:
    def __init__(self, size: str) -> None:
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("not root (or no mount command): cannot mount a tmpfs, full-disk test skipped")
        self.path = scratch("sec-mnt") / uuid.uuid4().hex[:8]
        self.path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True)

    def fill(self) -> None:
        """Take every free byte (files of random bytes, then single bytes for the last block)."""
        for name, chunk in (("filler.bin", 64 * 1024), ("filler2.bin", 1)):
            fd = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                while True:
                    os.write(fd, os.urandom(chunk))
            except OSError:
                pass
            finally:
                os.close(fd)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def tmpfs():
    mounted: list[Tmpfs] = []

    def make(size: str = "8m") -> Tmpfs:
        fs = Tmpfs(size)
        mounted.append(fs)
        return fs

    yield make
    for fs in mounted:
        fs.unmount()


def _rows(data: Path, table: str) -> int:
    con = sqlite3.connect(f"{(data / 'web.sqlite').resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # no such table (a data folder of an older version)
        return 0
    finally:
        con.close()


def _chinese_refusal(r, *statuses: int) -> None:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert has_cjk(r.text) and no_traceback(r.text), r.text[:300]


def _code(data: Path, unit_code: str) -> str:
    try:
        from xltool.web.codes import submission_code
    except ImportError:  # before submission codes existed every 报送 was stored
        return ""
    return submission_code(load_config(data).submit_key, unit_code)


def _unit_workbook(tmp_path: Path) -> bytes:
    from helpers import edit_inputs, form_2023

    return edit_inputs(EXAMPLE, tmp_path / "u.xlsx", form_2023(), {"info_unit_code": "430203001"}).read_bytes()


@pytest.mark.parametrize("floor", [0, 200])
def test_a_full_disk_is_a_chinese_answer_and_no_row_without_its_file(tmp_path, tmpfs, floor):
    """A11, A12: min_free_mb 0 lets the write itself hit ENOSPC; 200 refuses before writing."""
    fs = tmpfs()
    data = fs.path / "data"
    app = make_app(data, min_free_mb=floor)
    unit = client_of(app, "198.51.100.3")
    body = unit.post("/api/selfcheck", files={"file": ("u.xlsx", _unit_workbook(tmp_path))}).json()
    desk = client_of(app, "192.0.2.9")
    rid = desk.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    token = login(desk)
    fs.fill()
    before = {t: _rows(data, t) for t in ("files", "pending", "rounds", "audits")}
    r = unit.post(body["submit_url"], json={"submit_code": _code(data, "430203001")})
    _chinese_refusal(r, 507)
    assert "磁盘已满" in r.json()["detail"]
    r = unit.post(body["submit_url"])  # the pending area is on the same disk
    _chinese_refusal(r, 507)
    r = desk.post(f"/api/rounds/{rid}/files", files=[("file", ("e.xlsx", EXAMPLE.read_bytes()))], headers=basic())
    _chinese_refusal(r, 507)
    page = desk.post(f"/desk/rounds/{rid}/files", data={"csrf_token": token},
                     files=[("file", ("e.xlsx", EXAMPLE.read_bytes()))], headers=HTML)
    _chinese_refusal(page, 507)
    assert "<html" in page.text
    _chinese_refusal(desk.post("/api/rounds", json={"name": "二"}, headers=basic()), 503, 507)
    _chinese_refusal(desk.post("/desk/rounds", data={"csrf_token": token, "name": "三"}, headers=HTML), 503, 507)
    r = desk.post(f"/api/rounds/{rid}/audit", json={}, headers=basic())
    assert r.status_code in (202, 503, 507) and no_traceback(r.text)
    if r.status_code == 202:  # the row was written in the last free page: the audit then fails in Chinese
        from test_sec_text import _wait  # noqa: PLC0415

        state = _wait(desk, r.json()["audit_id"])
        assert state["state"] == "failed" and has_cjk(state["message"])
    after = {t: _rows(data, t) for t in ("files", "pending", "rounds")}
    assert after == {t: before[t] for t in after}
    assert not list(data.glob("rounds/*/files/*")) and not list(data.glob("pending/*"))
    assert not [p for p in data.rglob("*.tmp")]
    # Room again: the same 报送 goes through (with the 200 MB floor an 8 MB disk never has room).
    (fs.path / "filler.bin").unlink()
    r = unit.post(body["submit_url"], json={"submit_code": _code(data, "430203001")})
    if floor:
        _chinese_refusal(r, 507)
    else:
        assert r.status_code == 200 and r.json()["status"] == "stored"


def test_a_read_only_data_folder_is_a_chinese_answer(tmp_path, tmpfs):
    """A13: read-only folder: 报送, desk uploads, new round, audit start, login, all in Chinese; self-check still works."""
    fs = tmpfs()
    data = fs.path / "data"
    app = make_app(data, min_free_mb=0)
    unit = client_of(app, "198.51.100.4")
    desk = client_of(app, "192.0.2.10")
    rid = desk.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    token = login(desk)
    body = unit.post("/api/selfcheck", files={"file": ("u.xlsx", _unit_workbook(tmp_path))}).json()
    fs.remount("ro")
    try:
        _chinese_refusal(unit.post(body["submit_url"], json={"submit_code": _code(data, "430203001")}), 503)
        _chinese_refusal(desk.post(f"/api/rounds/{rid}/files", files=[("file", ("e.xlsx", EXAMPLE.read_bytes()))],
                                   headers=basic()), 503)
        _chinese_refusal(desk.post("/api/rounds", json={"name": "二"}, headers=basic()), 503)
        _chinese_refusal(desk.post(f"/api/rounds/{rid}/audit", json={}, headers=basic()), 503)
        _chinese_refusal(desk.post(f"/api/rounds/{rid}/roster", files={"file": ("r.csv", "单位名称\n甲\n".encode())},
                                   headers=basic()), 503)
        other = client_of(app, "192.0.2.11")
        t = other.get("/login", headers=HTML).text
        from secsupport import PASSWORD, token_of

        r = other.post("/login", data={"csrf_token": token_of(t), "password": PASSWORD}, headers=HTML)
        _chinese_refusal(r, 503)
        # What stores nothing keeps working.
        again = unit.post("/api/selfcheck", files={"file": ("e.xlsx", EXAMPLE.read_bytes())})
        assert again.status_code == 200 and again.json()["readable"]
        assert desk.get(f"/desk/rounds/{rid}", headers=HTML).status_code == 200
        assert token
    finally:
        fs.remount("rw")
    assert _rows(data, "files") == 0 and _rows(data, "rounds") == 1 and _rows(data, "audits") == 0


def test_a_vanished_data_folder_is_a_chinese_answer(tmp_path):
    """A14: the whole data folder removed under a running server (a mistaken clean-up, a lost mount)."""
    data = tmp_path / "data"
    app = make_app(data)
    unit = client_of(app, "198.51.100.5")
    desk = client_of(app, "192.0.2.12")
    login(desk)
    checked = unit.post("/api/selfcheck", files={"file": ("e.xlsx", EXAMPLE.read_bytes())}).json()
    shutil.rmtree(data)
    for r in (desk.get("/desk", headers=HTML, follow_redirects=False), desk.get("/api/rounds"),
              desk.get("/desk/rounds/1", headers=HTML, follow_redirects=False)):
        assert r.status_code in (303, 401, 503) and no_traceback(r.text), (r.status_code, r.text[:200])
    assert desk.get("/api/rounds", headers=basic()).status_code in (401, 503)
    _chinese_refusal(unit.post(checked["submit_url"]), 503)
    r = unit.post("/api/selfcheck", files={"file": ("e.xlsx", EXAMPLE.read_bytes())})
    assert r.status_code == 200 and r.json()["readable"]  # the self-check needs no data folder


def test_a_vanished_password_file_locks_the_desk(tmp_path):
    """A14: web.toml removed: the password no longer opens anything (nothing falls back to open)."""
    data = tmp_path / "data"
    desk = client_of(make_app(data), "192.0.2.13")
    login(desk)
    (data / "web.toml").unlink()
    assert desk.get("/api/rounds", headers=basic()).status_code == 401
    assert desk.get("/desk", follow_redirects=False).status_code == 303


def test_vanished_stored_files_are_chinese_answers(tmp_path):
    """A14: a pending file and an audit output deleted behind the server's back."""
    data = tmp_path / "data"
    app = make_app(data)
    unit = client_of(app, "198.51.100.6")
    desk = client_of(app, "192.0.2.14")
    rid = desk.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    desk.post(f"/api/rounds/{rid}/files", files=[("file", ("e.xlsx", EXAMPLE.read_bytes()))], headers=basic())
    audit = desk.post(f"/api/rounds/{rid}/audit", json={}, headers=basic()).json()
    from test_sec_text import _wait

    assert _wait(desk, audit["audit_id"])["state"] == "done"
    for p in (data / "rounds" / str(rid) / "audit").glob("*.xlsx"):
        p.unlink()
    _chinese_refusal(desk.get(f"/api/rounds/{rid}/download/summary", headers=basic()), 404)
    unit.post(unit.post("/api/selfcheck", files={"file": ("e.xlsx", EXAMPLE.read_bytes())}).json()["submit_url"])
    for p in data.glob("pending/*"):
        p.unlink()
    _chinese_refusal(desk.post("/api/pending/1/accept", headers=basic()), 503)
    assert _rows(data, "files") == 1 and _rows(data, "pending") == 1  # nothing moved: the desk may delete it
    assert desk.post("/api/pending/1/drop", headers=basic()).status_code == 200
