"""Benchmark the mail intake: N messages in a real IMAP mailbox, one pass, against ``xltool audit``.

    python3 benchmarks/bench_intake.py [--n 500] [--jobs N] [--workdir DIR]

1. Generates N workbooks with benchmarks/generate.py (a quarter with one injected fault, no
   broken files) unless WORKDIR/batch already holds them, and its roster.
2. Starts dovecot on 127.0.0.1 (tests/dovecot.py; Debian package dovecot-imapd) and an aiosmtpd
   server, and puts N messages in the mailbox with IMAP APPEND, one per unit, from the unit's
   roster address, the attachment named in GBK the way Foxmail does.
3. Runs one pass of ``xltool intake --once`` (the library call behind it) in a child process:
   headers and bodies fetched, every workbook checked, one audit round (history, 审核汇总,
   units/), one reply per message composed (with 问题清单 and annotated copy) and sent, every
   message moved to 已处理.
4. The floor: ``xltool audit`` over the same N files (the library call), in another child process,
   with the same number of worker processes.

Each child reports its wall time and its peak memory (ru_maxrss of itself plus the largest of its
children). The figures to read: messages per second, the ratio of the intake's time to the
floor's (what mail, replies and the bookkeeping cost on top of the audit), and the peak memory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))


def _peak_mb() -> tuple[float, float]:
    scale = 1024 if sys.platform != "darwin" else 1
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1024 / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale / 1024 / 1024
    return own, children


def _message(sender: str, name: str, data: bytes, n: int) -> bytes:
    word = base64.b64encode(name.encode("gbk")).decode("ascii")
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (f"From: {sender}\r\nTo: czj@czj.example.cn\r\nSubject: =?GBK?B?"
            f"{base64.b64encode('报送绩效自评表'.encode('gbk')).decode('ascii')}?=\r\n"
            f"Date: Fri, 15 Mar 2024 10:30:00 +0800\r\nMessage-ID: <bench-{n}@example.com>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n\r\n--BOUNDARY\r\n'
            "Content-Type: text/plain; charset=GBK\r\n\r\n").encode("ascii")
    part = ("\r\n--BOUNDARY\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\r\n"
            f' name="=?GBK?B?{word}?="\r\nContent-Disposition: attachment;\r\n filename="=?GBK?B?{word}?="\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii")
    return head + "请审核。".encode("gbk") + part + body + b"\r\n--BOUNDARY--\r\n"


def _phase_intake(config: Path) -> dict:
    from xltool.intake.config import load_intake_settings
    from xltool.intake.imap import Mailbox
    from xltool.intake.process import Intake
    from xltool.mail.config import load_settings

    started = time.perf_counter()
    settings = load_intake_settings(config)
    with Intake(settings, load_settings(config)) as robot, Mailbox(settings) as box:
        report = robot.run(box)
    seconds = time.perf_counter() - started
    own, children = _peak_mb()
    return {"seen": report.seen, "answered": len(report.answered), "held": len(report.held),
            "replies": report.replies, "seconds": seconds, "peak_self_mb": own, "peak_children_mb": children}


def _phase_audit(files: Path, out: Path, roster: Path, jobs: int) -> dict:
    from xltool.audit.run import AuditOptions, run_audit

    started = time.perf_counter()
    outcome = run_audit(AuditOptions(inputs=[files], out=out, roster=roster, jobs=jobs))
    seconds = time.perf_counter() - started
    own, children = _peak_mb()
    return {"files": outcome.files, "seconds": seconds, "peak_self_mb": own, "peak_children_mb": children}


def _child(args: list[str], env: dict | None = None, cwd: Path | None = None) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


class _Sink:
    """aiosmtpd handler counting what it accepts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        return "250 OK"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="messages, one workbook each (default 500)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU cores)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the batch and the outputs here")
    parser.add_argument("--phase", choices=("intake", "audit"), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--roster", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    jobs = args.jobs or os.cpu_count() or 1
    if args.phase == "intake":
        print(json.dumps(_phase_intake(args.config)))
        return 0
    if args.phase == "audit":
        print(json.dumps(_phase_audit(args.files, args.out, args.roster, jobs)))
        return 0

    import dovecot
    from aiosmtpd.controller import Controller

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="xltool-bench-intake-"))
    batch = workdir / "batch"
    if not (batch / "manifest.json").is_file():
        import generate

        generate.generate(args.n, batch, seed=1, broken=False)
    manifest = json.loads((batch / "manifest.json").read_text(encoding="utf-8"))
    entries = [e for e in manifest["files"] if e["kind"] in ("clean", "fault")][: args.n]
    roster = batch / manifest["roster"]
    files = workdir / "files"  # the floor audits exactly the files the messages carry
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir(parents=True)
    for entry in entries:
        shutil.copy2(batch / entry["file"], files / entry["file"])
    run = workdir / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    print(f"{len(entries)} messages, one workbook each; {os.cpu_count()} CPU cores; {jobs} worker processes")

    if not dovecot.available():
        raise SystemExit(f"dovecot is needed: apt-get install {dovecot.PACKAGE}")
    sink = _Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=dovecot.free_port())
    smtp.start()
    server = dovecot.Dovecot().start()
    try:
        started = time.perf_counter()
        client = server.client()
        for n, entry in enumerate(entries):
            data = (files / entry["file"]).read_bytes()
            client.append("INBOX", None, None, _message(entry["email"], f"{entry['unit']}绩效自评表.xlsx", data, n))
        client.logout()
        print(f"mailbox filled in {time.perf_counter() - started:.1f} s")
        config = run / "xltool.toml"
        config.write_text(
            f'[intake]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nuser = "{dovecot.USER}"\n'
            f'out = "out"\nstore = "store"\nroster = "{roster.as_posix()}"\njobs = {jobs}\nreplies_per_hour = 5\n\n'
            f'[mail]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nsender = "jxg@czj.example.cn"\n'
            'helo_name = "localhost"\noutbox = "outbox"\n', encoding="utf-8")
        env = dict(os.environ, XLTOOL_IMAP_PASSWORD=dovecot.PASSWORD, PYTHONPATH=str(ROOT))
        intake = _child(["--phase", "intake", "--config", str(config), "--jobs", str(jobs)], env=env, cwd=run)
        audit = _child(["--phase", "audit", "--files", str(files), "--out", str(workdir / "floor"),
                        "--roster", str(roster), "--jobs", str(jobs)])
        left = server.folders().get("INBOX", -1)
    finally:
        server.stop()
        smtp.stop()
    rate = intake["seen"] / intake["seconds"]
    floor = audit["files"] / audit["seconds"]
    peak = intake["peak_self_mb"] + intake["peak_children_mb"]
    print(f"xltool intake --once: {intake['seen']} messages in {intake['seconds']:.1f} s = {rate:.1f} messages/s; "
          f"answered {intake['answered']}, held {intake['held']}, replies {intake['replies']}, "
          f"SMTP server received {sink.count}, left in INBOX {left}; peak memory {peak:.0f} MB "
          f"(self {intake['peak_self_mb']:.0f} + largest child {intake['peak_children_mb']:.0f})")
    print(f"floor, xltool audit:  {audit['files']} files in {audit['seconds']:.1f} s = {floor:.1f} files/s; "
          f"peak memory {audit['peak_self_mb'] + audit['peak_children_mb']:.0f} MB")
    print(f"ratio:                the intake takes {intake['seconds'] / audit['seconds']:.1f}x the audit's time "
          f"({rate / floor:.2f} of its rate)")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
