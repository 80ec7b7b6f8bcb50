"""Helpers for the web tests: hostile files, a batch zip, and a real server in a subprocess."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "luosong_2023_filled.xlsx"
PASSWORD = "绩效股-审核-2024"


def zip_bomb(path: Path) -> Path:
    """The example workbook plus a 50 MB part of zeros that compresses to about 50 KB."""
    with zipfile.ZipFile(EXAMPLE) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        with zout.open("xl/media/image1.bin", "w") as fh:
            zero = bytes(1024 * 1024)
            for _ in range(50):
                fh.write(zero)
    return path


def legacy_xls(path: Path) -> Path:
    """An OLE2 compound file header, as a .xls saved by old Excel starts."""
    path.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(4096))
    return path


def batch_zip(folder: Path, n: int = 6, seed: int = 5) -> tuple[bytes, dict]:
    """A zip of *n* generated workbooks (some with faults) and the generator's manifest."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate

    manifest = generate.generate(n, folder, seed=seed, fault_share=0.5, broken=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in manifest["files"]:
            zf.write(folder / entry["file"], f"第一批/{entry['file']}")
    return buffer.getvalue(), manifest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m xltool serve`` on 127.0.0.1 and a free port, with the desk password set."""

    def __init__(self, data: Path, password: str = PASSWORD, extra: dict | None = None) -> None:
        from xltool.web.auth import set_password
        from xltool.web.config import load_config, save_config

        cfg = load_config(data)
        for key, value in (extra or {}).items():
            setattr(cfg, key, value)
        save_config(cfg)
        set_password(cfg, password)
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.log = open(data / "server.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "xltool", "serve", "--port", str(self.port), "--data", str(data)],
                                     cwd=str(ROOT), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start: " + (data / "server.log").read_text(errors="replace"))
                time.sleep(0.2)

    def alive(self) -> bool:
        with urllib.request.urlopen(self.url + "/", timeout=10) as r:
            return r.status == 200

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
