#!/usr/bin/python3
"""Drive a private headless LibreOffice over UNO and print JSON results.

Run by the system Python that has ``uno`` (Debian: /usr/bin/python3 + python3-uno); it must
not import xltool, and imports only the standard library at its top (xltool.office reads its
LibreOffice profile settings, REGISTRY_XCU, from here). Usage::

    python3 uno_driver.py [--soffice PATH] [--timeout S] OP ARGS...

Operations (each prints one JSON object on stdout):

    book-info FILE                 {"sheets": [{"name", "protected"}], "structure_protected"}
    cell-info FILE SHEET CELL      {"locked", "hidden", "sheet_protected", "value",
                                    "formula"} (formula None unless the cell has one)
    type-into FILE SHEET CELL TEXT {"accepted", "value", "formula", "changed"}; stores FILE
    unprotect FILE SHEET PASSWORD  {"ok", "was_protected", "sheet_protected"}; does not
                                   store FILE
    recalc-values FILE SHEET RANGE {"values": [[...], ...]} after calculateAll()
    batch                          reads a JSON list of [OP, ARGS...] from stdin and
                                   prints a JSON list of results (one soffice start)

SHEET is a sheet name or a 0-based index; CELL and RANGE are A1 references.

How ``type-into`` types: the real UI dispatch path. The document is loaded hidden (it
still has a frame and a view), the sheet is activated, ``.uno:GoToCell`` moves the cell
cursor and ``.uno:EnterString`` enters the text, the same slot Calc runs when a user
types into a cell and presses Enter (and the one the macro recorder writes). Calc's own
view code therefore decides: a locked cell on a protected sheet is refused (the error
message box is suppressed headless), input is parsed like typed input ("12.5" becomes a
number, "=A1" a formula), and the document is stored only when it changed. The
dispatcher reports no failure, so the driver compares the cell before and after: when
the text equals what the cell already held, "changed" is false and "accepted" falls back
to the protection state (sheet protected and cell locked means refused). Formatting
slots such as ``.uno:Bold`` crash LibreOffice 7.4 when dispatched to a hidden document,
so the driver offers no formatting operation.

Every run starts its own soffice with a throwaway user profile (which also forces
recalculation on load) on a private pipe and terminates it afterwards, so runs never
share state with each other or with a desktop LibreOffice. ``--timeout`` bounds the
whole run: a watchdog thread kills soffice and exits with status 4 when it expires.
Exit status: 0 ok, 1 an operation failed (its result holds "error"), 2 bad batch
input, 3 soffice missing or not reachable, 4 timed out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

SOFFICE_CANDIDATES = ("/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice")

# Always recalculate on load (0 = always, 1 = never, 2 = ask), for xlsx and ods; no
# lock files (a stale one, left by a crashed soffice, makes loading fail).
REGISTRY_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


# How both drivers start soffice: no window, no start centre, no recovery, no lock check.
HEADLESS = ("--headless", "--invisible", "--nologo", "--nodefault", "--norestore", "--nolockcheck")


class DriverError(Exception):
    """A failure reported as {"error": ...} instead of a traceback."""


def find_soffice(explicit: str | None = None) -> str | None:
    for cand in (explicit, os.environ.get("XLTOOL_SOFFICE"), shutil.which("soffice")):
        if cand and os.access(cand, os.X_OK):
            return cand
    for cand in SOFFICE_CANDIDATES:
        if os.access(cand, os.X_OK):
            return cand
    return None


class Office:
    """A private soffice process and a UNO connection to it."""

    def __init__(self, soffice: str, timeout: float) -> None:
        self.soffice = soffice
        self.timeout = timeout
        self.profile: Path | None = None
        self.pipe = f"xltool_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ctx: Any = None
        self.desktop: Any = None
        # Serialises starting soffice with kill() from the watchdog thread.
        self._lock = threading.Lock()
        self._killed = False

    def __enter__(self) -> "Office":
        import uno

        with self._lock:
            if self._killed:
                raise DriverError("timed out starting soffice")
            self.profile = Path(tempfile.mkdtemp(prefix="xltool-uno-"))
            (self.profile / "user").mkdir(parents=True)
            (self.profile / "user" / "registrymodifications.xcu").write_text(
                REGISTRY_XCU, encoding="utf-8"
            )
            env = dict(os.environ, HOME=str(self.profile), SAL_USE_VCLPLUGIN="svp")
            cmd = [
                self.soffice,
                "-env:UserInstallation=" + self.profile.as_uri(),
                *HEADLESS,
                f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
            ]
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.ctx = resolver.resolve(url)
                break
            except Exception:  # NoConnectException until soffice listens
                if self.proc.poll() is not None:
                    self.close()
                    raise DriverError(f"soffice exited with code {self.proc.returncode}")
                if time.monotonic() > deadline:
                    self.close()
                    raise DriverError("timed out connecting to soffice")
                time.sleep(0.1)
        self.desktop = self.ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", self.ctx
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ask soffice to quit; kill it when it does not; remove the profile."""
        grace = 1.0  # soffice crashed or never connected: do not wait long
        if self.desktop is not None:
            try:
                if self.desktop.terminate():
                    grace = 10.0
            except Exception:  # the bridge is gone
                pass
            self.desktop = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc.pid)
                self.proc.wait()
        self._remove_profile()

    def kill(self) -> None:
        """Kill soffice now (safe from another thread) and remove the profile."""
        with self._lock:
            self._killed = True
            if self.proc is not None:
                kill_tree(self.proc.pid)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            self._remove_profile()

    def _remove_profile(self) -> None:
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- documents ---------------------------------------------------------------

    def load(self, path: str) -> Any:
        file = Path(path).resolve()
        if not file.is_file():
            raise DriverError(f"no such file: {file}")
        doc = self.desktop.loadComponentFromURL(
            file.as_uri(), "_blank", 0, props(Hidden=True, ReadOnly=False)
        )
        if doc is None or not hasattr(doc, "Sheets"):
            if doc is not None:
                doc.close(True)
            raise DriverError(f"not a spreadsheet: {file}")
        return doc

    def dispatch(self, doc: Any, command: str, **args: Any) -> Any:
        helper = self.ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.DispatchHelper", self.ctx
        )
        frame = doc.getCurrentController().getFrame()
        return helper.executeDispatch(frame, command, "", 0, props(**args))


def kill_tree(pid: int) -> None:
    """SIGKILL *pid* and all its descendants (oosplash starts soffice.bin as a child)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, victims = [pid], []
    while todo:
        p = todo.pop()
        victims.append(p)
        todo.extend(children.get(p, []))
    for p in victims:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def props(**kwargs: Any) -> tuple:
    from com.sun.star.beans import PropertyValue

    out = []
    for name, value in kwargs.items():
        pv = PropertyValue()
        pv.Name = name
        pv.Value = value
        out.append(pv)
    return tuple(out)


def get_sheet(doc: Any, sheet: str) -> Any:
    sheets = doc.Sheets
    if sheets.hasByName(sheet):
        return sheets.getByName(sheet)
    if re.fullmatch(r"\d+", sheet) and int(sheet) < sheets.getCount():
        return sheets.getByIndex(int(sheet))
    raise DriverError(f"no such sheet: {sheet}")


def cell_value(cell: Any) -> Any:
    """The cell's computed value: None, a number, or text (errors as their text)."""
    from com.sun.star.table.CellContentType import EMPTY, FORMULA, VALUE

    kind = cell.getType()
    if kind == EMPTY:
        return None
    if kind == VALUE:
        return number(cell.getValue())
    if kind == FORMULA:
        if cell.getError():
            return cell.getString()
        from com.sun.star.sheet.FormulaResult import VALUE as RESULT_VALUE

        if cell.FormulaResultType2 == RESULT_VALUE:
            return number(cell.getValue())
    return cell.getString()


def number(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def cell_snapshot(cell: Any) -> tuple:
    return (cell.getFormula(), cell_value(cell))


def store(doc: Any) -> None:
    """Store in the format the document was loaded from (xlsx stays xlsx)."""
    args = {p.Name: p.Value for p in doc.getArgs()}
    doc.storeToURL(
        doc.getURL(), props(FilterName=args.get("FilterName", ""), Overwrite=True)
    )


# -- operations --------------------------------------------------------------------


def op_cell_info(office: Office, file: str, sheet: str, cell: str) -> dict:
    doc = office.load(file)
    try:
        sh = get_sheet(doc, sheet)
        c = sh.getCellRangeByName(cell)
        return {
            "locked": bool(c.CellProtection.IsLocked),
            "hidden": bool(c.CellProtection.IsFormulaHidden),
            "sheet_protected": bool(sh.isProtected()),
            "value": cell_value(c),
            "formula": c.getFormula() if c.getType().value == "FORMULA" else None,
        }
    finally:
        doc.close(True)


def op_book_info(office: Office, file: str) -> dict:
    doc = office.load(file)
    try:
        sheets = doc.Sheets
        return {
            "sheets": [
                {"name": sh.Name, "protected": bool(sh.isProtected())}
                for sh in (sheets.getByIndex(i) for i in range(sheets.getCount()))
            ],
            "structure_protected": bool(doc.isProtected()),
        }
    finally:
        doc.close(True)


def op_type_into(office: Office, file: str, sheet: str, cell: str, text: str) -> dict:
    doc = office.load(file)
    try:
        sh = get_sheet(doc, sheet)
        c = sh.getCellRangeByName(cell)
        controller = doc.getCurrentController()
        controller.setActiveSheet(sh)
        before = cell_snapshot(c)
        office.dispatch(doc, ".uno:GoToCell", ToPoint=c.AbsoluteName)
        office.dispatch(doc, ".uno:EnterString", StringName=text)
        # Drop the view at once. LibreOffice 7.4 headless (svp) aborts with SIGABRT about
        # 0.3 s after an accepted entry while the view is still attached (a timer of the
        # view), which killed soffice while larger workbooks were being stored. The model
        # stays open: it is read, stored and closed below without a view.
        doc.getCurrentController().getFrame().setComponent(None, None)
        after = cell_snapshot(c)
        changed = after != before
        if changed:
            accepted = True
            store(doc)
        else:
            accepted = not (sh.isProtected() and c.CellProtection.IsLocked)
        return {
            "accepted": accepted,
            "changed": changed,
            "value": after[1],
            "formula": after[0] if c.getType().value == "FORMULA" else None,
        }
    finally:
        doc.close(True)


def op_unprotect(office: Office, file: str, sheet: str, password: str) -> dict:
    from com.sun.star.lang import IllegalArgumentException

    doc = office.load(file)
    try:
        sh = get_sheet(doc, sheet)
        was = bool(sh.isProtected())
        try:
            sh.unprotect(password)
        except IllegalArgumentException:
            pass  # wrong password
        now = bool(sh.isProtected())
        return {"ok": was and not now, "was_protected": was, "sheet_protected": now}
    finally:
        doc.close(True)


def op_recalc_values(office: Office, file: str, sheet: str, rng: str) -> dict:
    doc = office.load(file)
    try:
        doc.calculateAll()
        area = get_sheet(doc, sheet).getCellRangeByName(rng)
        addr = area.getRangeAddress()
        rows = []
        for r in range(addr.EndRow - addr.StartRow + 1):
            rows.append(
                [
                    cell_value(area.getCellByPosition(col, r))
                    for col in range(addr.EndColumn - addr.StartColumn + 1)
                ]
            )
        return {"values": rows}
    finally:
        doc.close(True)


OPS = {
    "book-info": (op_book_info, 1),
    "cell-info": (op_cell_info, 3),
    "type-into": (op_type_into, 4),
    "unprotect": (op_unprotect, 3),
    "recalc-values": (op_recalc_values, 3),
}


def run_one(office: Office, op: str, args: list[str]) -> dict:
    if op not in OPS:
        raise DriverError(f"unknown operation: {op}")
    func, nargs = OPS[op]
    if len(args) != nargs:
        raise DriverError(f"{op} takes {nargs} arguments, got {len(args)}")
    return func(office, *[str(a) for a in args])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soffice", default=None)
    parser.add_argument("--timeout", type=float, default=120.0, help="for the whole run")
    parser.add_argument("op", choices=[*OPS, "batch"])
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args(argv)

    soffice = find_soffice(ns.soffice)
    if soffice is None:
        print(json.dumps({"error": "soffice not found"}))
        return 3
    if ns.op == "batch":
        try:
            jobs = json.load(sys.stdin)
            if not isinstance(jobs, list) or not all(
                isinstance(j, list) and j for j in jobs
            ):
                raise ValueError
        except ValueError:
            print(json.dumps({"error": "batch expects a JSON list of [OP, ARGS...]"}))
            return 2
    else:
        jobs = [[ns.op, *ns.args]]

    office = Office(soffice, ns.timeout)

    def expire() -> None:
        # Runs in a timer thread even while the main thread waits on a hung soffice.
        office.kill()
        print(json.dumps({"error": f"timed out after {ns.timeout:g} s"}), flush=True)
        os._exit(4)

    watchdog = threading.Timer(ns.timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    results: list[dict] = []
    status = 0
    try:
        with office:
            for op, *args in jobs:
                try:
                    results.append(run_one(office, op, args))
                except DriverError as exc:
                    results.append({"error": str(exc)})
                    status = 1
                except Exception as exc:  # UNO errors, a crashed soffice
                    results.append({"error": f"{type(exc).__name__}: {exc}"})
                    status = 1
    except (DriverError, ImportError) as exc:  # ImportError: no uno in this Python
        print(json.dumps({"error": str(exc)}))
        return 3
    finally:
        watchdog.cancel()
    out = results if ns.op == "batch" else results[0]
    print(json.dumps(out, ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
