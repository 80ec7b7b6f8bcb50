"""Real LibreOffice, headless: forced recalculation, conversion, and UNO scripts.

Every call runs its own soffice with a throwaway user profile, so calls can run side by
side and never touch a desktop LibreOffice. The profile forces a full recalculation on
load (``OOXMLRecalcMode`` and ``ODFRecalcMode`` = 0, "always"): without it
``--convert-to`` only fills results of formulas that have none and keeps stale cached
results.

UNO work runs in a separate process, ``uno_driver.py`` beside this file, under the
system Python that has the ``uno`` module (Debian: /usr/bin/python3 with python3-uno),
since the project's own Python usually cannot import it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from xltool.i18n import _

# The private profile (recalculate on load, no lock files), where soffice lives and how it starts: shared.
from xltool.uno_driver import HEADLESS, SOFFICE_CANDIDATES
from xltool.uno_driver import REGISTRY_XCU as RECALC_XCU

UNO_PYTHON_CANDIDATES = ("/usr/bin/python3",)
UNO_DRIVER = Path(__file__).with_name("uno_driver.py")

# Filter names for --convert-to, by target extension.
FILTERS = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "pdf": "pdf:calc_pdf_Export",
    "ods": "ods:calc8",
}


class OfficeError(RuntimeError):
    """LibreOffice is missing, failed, or ran out of time (message is translated)."""


def _executable(path: str | None) -> bool:
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def find_soffice() -> str | None:
    """The soffice to run: env XLTOOL_SOFFICE, then PATH, then Debian's locations."""
    for cand in (os.environ.get("XLTOOL_SOFFICE"), shutil.which("soffice")):
        if _executable(cand):
            return cand
    for cand in SOFFICE_CANDIDATES:
        if _executable(cand):
            return cand
    return None


@lru_cache(maxsize=None)
def _imports_uno(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import uno"],
            env=_clean_python_env(),
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_uno_python() -> str | None:
    """A Python that can ``import uno``: env XLTOOL_UNO_PYTHON, then /usr/bin/python3."""
    for cand in (os.environ.get("XLTOOL_UNO_PYTHON"), *UNO_PYTHON_CANDIDATES):
        if _executable(cand) and _imports_uno(cand):
            return cand
    return None


def _clean_python_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH"):
        env.pop(var, None)
    return env


def _require_soffice() -> str:
    soffice = find_soffice()
    if soffice is None:
        raise OfficeError(
            _(
                "LibreOffice (soffice) was not found. Install it (apt-get install "
                "libreoffice-calc-nogui) or set XLTOOL_SOFFICE."
            )
        )
    return soffice


def _run(
    cmd: list[str], timeout: float, env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run *cmd* in its own process group; on timeout kill the whole group."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except BaseException:  # TimeoutExpired, KeyboardInterrupt: leave nothing behind
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _soffice_output(done: subprocess.CompletedProcess[str]) -> str:
    """soffice's messages without the harmless javaldx warning it always prints."""
    lines = (done.stderr + "\n" + done.stdout).splitlines()
    return "\n".join(ln for ln in lines if ln.strip() and "javaldx" not in ln)


def _write_profile(profile: Path) -> None:
    user = profile / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")


def convert(src: Path, dst_dir: Path, target: str = "pdf", timeout: float = 120) -> Path:
    """Convert *src* with headless LibreOffice into *dst_dir*; return the new file.

    *target* is an extension (``pdf``, ``xlsx``, ``ods``, ``csv``...) or a full
    ``ext:Filter`` spec. Formulas are recalculated on load, so a PDF preview shows
    computed values, never stale cached ones. An existing output file is replaced.
    """
    src, dst_dir = Path(src), Path(dst_dir)
    if not src.is_file():
        raise OfficeError(_("File not found: {path}").format(path=src))
    soffice = _require_soffice()
    spec = FILTERS.get(target, target)
    ext = spec.split(":", 1)[0]
    work = Path(tempfile.mkdtemp(prefix="xltool-office-"))
    try:
        profile, outdir = work / "profile", work / "out"
        _write_profile(profile)
        outdir.mkdir()
        cmd = [
            soffice,
            "-env:UserInstallation=" + profile.as_uri(),
            *HEADLESS,
            "--convert-to",
            spec,
            "--outdir",
            str(outdir),
            str(src.resolve()),
        ]
        env = dict(os.environ, HOME=str(work))
        try:
            done = _run(cmd, timeout, env)
        except subprocess.TimeoutExpired:
            raise OfficeError(
                _(
                    "LibreOffice did not finish within {seconds} seconds and was "
                    "stopped: {path}"
                ).format(seconds=timeout, path=src)
            ) from None
        produced = outdir / f"{src.stem}.{ext}"
        if done.returncode != 0 or not produced.is_file():
            detail = _soffice_output(done) or f"exit code {done.returncode}"
            raise OfficeError(
                _("LibreOffice could not convert {path}: {detail}").format(
                    path=src, detail=detail
                )
            )
        dst_dir.mkdir(parents=True, exist_ok=True)
        dst = dst_dir / produced.name
        shutil.move(str(produced), dst)
        return dst
    finally:
        shutil.rmtree(work, ignore_errors=True)


def recalculate(src: Path, dst: Path, timeout: float = 120) -> Path:
    """Open *src* in LibreOffice, recalculate every formula, save as xlsx to *dst*.

    Stale cached results in *src* are replaced. *dst* may equal *src*.
    """
    src, dst = Path(src), Path(dst)
    with tempfile.TemporaryDirectory(prefix="xltool-recalc-") as tmp:
        produced = convert(src, Path(tmp), target="xlsx", timeout=timeout)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), dst)
    return dst


def run_uno_script(
    script_path: Path, *args: str, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run *script_path* under the Python that has ``uno``; return the finished process.

    The script is expected to start its own soffice (as uno_driver.py does); it finds
    the same soffice as this module through env XLTOOL_SOFFICE. Its exit status is
    left to the caller; a missing UNO Python or a timeout raises OfficeError.
    """
    python = find_uno_python()
    if python is None:
        raise OfficeError(
            _(
                "No Python with the LibreOffice UNO bridge was found. Install "
                "python3-uno or set XLTOOL_UNO_PYTHON."
            )
        )
    env = _clean_python_env()
    env["XLTOOL_SOFFICE"] = _require_soffice()
    try:
        return _run([python, str(script_path), *map(str, args)], timeout, env, input)
    except subprocess.TimeoutExpired:
        raise OfficeError(
            _(
                "The LibreOffice script did not finish within {seconds} seconds and "
                "was stopped: {script}"
            ).format(seconds=timeout, script=Path(script_path).name)
        ) from None


def _driver(args: list[str], timeout: float, input: str | None = None) -> Any:
    # The driver enforces its own deadline; the margin lets it clean up first.
    done = run_uno_script(
        UNO_DRIVER, "--timeout", str(timeout), *args, timeout=timeout + 15, input=input
    )
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        detail = (done.stderr or done.stdout).strip()[-2000:] or f"exit code {done.returncode}"
        raise OfficeError(
            _("The LibreOffice script failed: {detail}").format(detail=detail)
        ) from None
    if isinstance(result, dict) and "error" in result:
        raise OfficeError(
            _("The LibreOffice script failed: {detail}").format(detail=result["error"])
        )
    return result


def uno_driver(op: str, *args: str | Path, timeout: float = 120) -> dict[str, Any]:
    """Run one uno_driver.py operation (see its docstring) and return its JSON result."""
    return _driver([op, *map(str, args)], timeout)


def uno_driver_batch(
    jobs: list[list[str | Path]], timeout: float = 120
) -> list[dict[str, Any]]:
    """Run several operations with one soffice start; failed ones hold {"error": ...}."""
    payload = json.dumps([[str(x) for x in job] for job in jobs], ensure_ascii=False)
    return _driver(["batch"], timeout, input=payload)
