"""Inputs: folders, zip archives (extracted safely), and the originals are never modified."""

from __future__ import annotations

import hashlib
import stat
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

from xltool.audit.inputs import collect  # noqa: E402
from xltool.audit.model import AnomalyKind  # noqa: E402
from xltool.audit.run import AuditOptions, run_audit  # noqa: E402
from xltool.read.safety import Limits  # noqa: E402


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wb")
    manifest = generate.generate(4, folder, seed=5, fault_share=0.5, broken=False, roster="none")
    return folder, manifest


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() + str(p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _member(zf: zipfile.ZipFile, name: str, data: bytes, *, flags: int = 0, mode: int | None = None) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 3, 5, 10, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.external_attr = mode << 16
    zf.writestr(info, data)
    if flags:
        info.flag_bits |= flags


def test_zip_members_are_extracted_safely(tmp_path, workbooks):
    folder, manifest = workbooks
    files = [folder / e["file"] for e in manifest["files"]]
    archive = tmp_path / "returned.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        _member(zf, "第一批/" + files[0].name, files[0].read_bytes())
        _member(zf, "../escape.xlsx", files[1].read_bytes())
        _member(zf, "/absolute.xlsx", files[1].read_bytes())
        _member(zf, "C:/drive.xlsx", files[1].read_bytes())
        _member(zf, "link.xlsx", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
        _member(zf, "说明.pdf", b"%PDF-1.4")
        _member(zf, "__MACOSX/._x.xlsx", b"junk")
        inner = tmp_path / "inner.zip"
        with zipfile.ZipFile(inner, "w") as zi:
            zi.writestr("inner/" + files[2].name, files[2].read_bytes())
        _member(zf, "nested.zip", inner.read_bytes())
        # A GBK name without the UTF-8 flag, as Windows' built-in zip writes Chinese names:
        # written under a same-length ASCII placeholder, whose bytes are then replaced.
        gbk = "芦淞区报表.xlsx".encode("gbk")
        placeholder = "q" * (len(gbk) - 5) + ".xlsx"
        _member(zf, placeholder, files[3].read_bytes())
    archive.write_bytes(archive.read_bytes().replace(placeholder.encode(), gbk))
    before = archive.read_bytes()
    collected = collect([archive], tmp_path / "work")
    sources = sorted(f.source for f in collected.files)
    assert sources == sorted([
        f"{archive}!第一批/{files[0].name}", f"{archive}!nested.zip!inner/{files[2].name}", f"{archive}!芦淞区报表.xlsx",
    ])
    rejected = {r.source.rsplit("!", 1)[-1]: r.reason for r in collected.rejected}
    assert rejected == {"../escape.xlsx": "unsafe_entry", "/absolute.xlsx": "unsafe_entry", "C:/drive.xlsx": "unsafe_entry",
                        "link.xlsx": "unsafe_entry", "说明.pdf": "file_type"}  # the PDF: listed, not extracted
    assert "说明.pdf" in next(r.message for r in collected.rejected if r.reason == "file_type")
    assert collected.clutter == 1  # the __MACOSX resource fork
    for f in collected.files:
        assert (tmp_path / "work") in f.path.parents and f.path.name in f.source
    assert not (tmp_path / "escape.xlsx").exists() and not Path("/absolute.xlsx").exists()
    assert archive.read_bytes() == before


def test_oversized_and_encrypted_members_are_refused(tmp_path, workbooks):
    folder, manifest = workbooks
    data = (folder / manifest["files"][0]["file"]).read_bytes()
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        _member(zf, "big.xlsx", data)
        _member(zf, "small.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    raw = bytearray(archive.read_bytes())
    # Set the "encrypted" flag of the second member in its local and central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = raw.find(signature, raw.find(signature) + 1)
        raw[pos + offset] |= 0x1
    archive.write_bytes(bytes(raw))
    collected = collect([archive], tmp_path / "work", limits=Limits(max_file_bytes=len(data) - 1))
    reasons = {r.source.rsplit("!", 1)[-1]: r.reason for r in collected.rejected}
    assert reasons == {"big.xlsx": "too_large", "small.xls": "encrypted"}
    assert collected.files == []


def test_audit_reads_zip_input_and_never_touches_the_originals(tmp_path, workbooks):
    folder, manifest = workbooks
    archive = tmp_path / "in" / "batch.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in manifest["files"]:
            zf.write(folder / entry["file"], "单位报送/" + entry["file"])
        _member(zf, "../../evil.xlsx", b"PK")
    loose = tmp_path / "in" / "loose"
    loose.mkdir()
    (loose / "note.txt").write_text("not a workbook", encoding="utf-8")
    (loose / "~$lock.xlsx").write_bytes(b"lock")
    with open(loose / "huge.xlsx", "wb") as fh:  # sparse: above the 20 MB limit, nothing to write
        fh.truncate(Limits().max_file_bytes + 1)
    out = tmp_path / "in" / "结果"  # an output folder inside the input folder is not audited
    before = _digest(tmp_path / "in")
    outcome = run_audit(AuditOptions(inputs=[tmp_path / "in"], out=out, jobs=1))
    after = {k: v for k, v in _digest(tmp_path / "in").items() if not k.startswith("结果")}
    assert after == before, "inputs unchanged"
    assert sorted(u.code for u in outcome.units) == sorted(e["code"] for e in manifest["files"])
    assert all(u.submission.source.startswith(f"{archive}!单位报送/") for u in outcome.units)
    rejected = [a for a in outcome.anomalies if a.kind is AnomalyKind.REJECTED]
    assert [a.source for a in rejected] == [f"{archive}!../../evil.xlsx"]
    # The text file is listed with what to do; the Office lock file is nobody's submission.
    assert [a.source for a in outcome.anomalies if a.kind is AnomalyKind.NOT_AUDITED] == [str(loose / "note.txt")]
    assert outcome.clutter == 1
    huge = next(a for a in outcome.anomalies if a.source.endswith("huge.xlsx"))
    assert huge.kind is AnomalyKind.UNREADABLE and "MB" in huge.message
    faulty = [u for u in outcome.units if u.report.findings]
    assert faulty and all((out / "units" / u.folder_name / "问题清单.xlsx").is_file() for u in faulty)
    # A second run over the same inputs reuses every result.
    again = run_audit(AuditOptions(inputs=[tmp_path / "in"], out=out, jobs=1))
    assert again.checked == 0 and again.reused == len(manifest["files"]) + 1  # and the huge file's refusal


@pytest.mark.parametrize("n, jobs, gone", [(4, 1, 1), (20, 2, 0)], ids=["serial", "workers-warmed-on-it"])
def test_a_file_gone_after_it_was_listed_is_a_problem_file(tmp_path, monkeypatch, n, jobs, gone):
    """A file removed between listing and reading (a network share, a colleague moving files)
    is reported like any unreadable file, and the batch goes on."""
    import xltool.audit.run as run

    folder = tmp_path / "in"
    generate.generate(n, folder, seed=2, fault_share=0, broken=False)
    listed = run.collect
    removed: list[str] = []

    def collect_then_lose_one(*args, **kwargs):
        collected = listed(*args, **kwargs)
        collected.files[gone].path.unlink()
        removed.append(collected.files[gone].source)
        return collected

    monkeypatch.setattr(run, "collect", collect_then_lose_one)
    outcome = run_audit(AuditOptions(inputs=[folder], out=tmp_path / "out", jobs=jobs))
    problems = [a for a in outcome.anomalies if a.kind is AnomalyKind.UNREADABLE]
    assert [a.source for a in problems] == removed and "找不到文件" in problems[0].message
    assert sum(1 for u in outcome.units if u.report is not None) == n - 1


@pytest.mark.parametrize("n, jobs", [(4, 1), (20, 2)], ids=["serial", "workers"])
def test_a_file_rewritten_while_it_is_audited_is_checked_again_next_time(tmp_path, monkeypatch, n, jobs):
    """A unit resends its workbook into the folder while the audit runs: the bytes checked are
    not the bytes hashed. The file is reported as changed, nothing is kept for it, and the next
    run checks what it holds then."""
    import xltool.audit.run as run

    folder = tmp_path / "in"
    generate.generate(n, folder, seed=4, fault_share=0, broken=False)
    other = generate.generate(1, tmp_path / "other", seed=8, fault_share=0, broken=False)
    newer = (tmp_path / "other" / other["files"][0]["file"]).read_bytes()
    target = sorted(folder.glob("*.xlsx"))[2]
    hashed = run.file_digest

    def digest_then_rewrite(item, limits):
        sha = hashed(item, limits)
        if item.path == target:
            target.write_bytes(newer)  # the resent workbook lands right after it was hashed
        return sha

    monkeypatch.setattr(run, "file_digest", digest_then_rewrite)
    first = run_audit(AuditOptions(inputs=[folder], out=tmp_path / "out", jobs=jobs))
    changed = [a for a in first.anomalies if a.kind is AnomalyKind.UNREADABLE]
    assert [Path(a.source).name for a in changed] == [target.name]
    assert "审核过程中被修改" in changed[0].message

    monkeypatch.setattr(run, "file_digest", hashed)
    second = run_audit(AuditOptions(inputs=[folder], out=tmp_path / "out", jobs=jobs))
    assert not [a for a in second.anomalies if a.kind is AnomalyKind.UNREADABLE]
    assert second.checked == 1 and second.reused == n - 1
    assert any(u.submission and Path(u.submission.source).name == target.name and u.report for u in second.units)
