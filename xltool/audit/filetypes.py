"""What the audit says about a file in the inbox that is not a workbook, a Word report or a zip.

Every file the inputs hold is either audited or listed in 异常文件 with what it is and what
to do: a unit's scanned PDF or photo of the form, a .doc report, a CSV export, a RAR archive.
The kind is told by the file name's extension (cheap: a 50 MB scan is never read); a file
with no or an unknown extension whose first bytes are a zip or an OLE2 container (a workbook
saved under a wrong name) is checked like a workbook, and the reader names what it is.

System clutter (Office lock files ``~$x.xlsx``, Thumbs.db, desktop.ini, macOS ``._x`` and
``__MACOSX/``, hidden files) is nobody's submission: it is counted, not listed.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from xltool.i18n import _

# Spreadsheet-like files picked up from folders and archives and checked.
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods", ".et", ".ett", ".docx"}  # .docx: a Word report
ARCHIVE_SUFFIXES = {".zip"}
CONTAINER_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # zip, OLE2 (.xls, .doc, .et)

_CLUTTER_NAMES = {"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", "icon\r"}

# kind → extensions. Each kind has one sentence: what the file is, and what the unit (or the
# bureau) does about it.
_KINDS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf", ".ofd", ".xps", ".oxps", ".ceb"),
    "image": (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif"),
    "word": (".doc", ".dot", ".wps", ".wpt", ".rtf", ".odt", ".pages", ".docm", ".dotx", ".dotm"),
    "text": (".txt", ".csv", ".tsv", ".prn"),
    "web": (".htm", ".html", ".mht", ".mhtml", ".xml"),
    "archive": (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zipx", ".cab", ".iso", ".arj", ".lzh", ".z"),
    "presentation": (".ppt", ".pptx", ".pps", ".ppsx", ".dps", ".dpt", ".odp", ".key"),
    "mail": (".eml", ".msg"),
    "shortcut": (".lnk", ".url"),
    "spreadsheet": (".numbers", ".dbf", ".wk1", ".wks", ".fods", ".uos", ".sxc"),
}
_BY_SUFFIX = {suffix: kind for kind, suffixes in _KINDS.items() for suffix in suffixes}


def _messages() -> dict[str, str]:
    return {
        "pdf": _("The file {name} is a PDF or OFD document (a printout or a scan); the figures in it cannot be "
                 "audited. The unit should submit the filled Excel workbook (.xlsx) itself; a signed scan can be "
                 "kept beside it."),
        "image": _("The file {name} is a picture (a scan or a photo of the form); it cannot be audited. The unit "
                   "should submit the filled Excel workbook (.xlsx) itself."),
        "word": _("The file {name} is an older Word or WPS Writer document ({suffix}), which cannot be read. A "
                  "self-evaluation report: open it in Word or WPS, save it as a Word document (.docx) and submit it "
                  "again; the figures belong in the Excel workbook (.xlsx)."),
        "text": _("The file {name} is a plain text or CSV file; it lacks the template's sheets and checks and cannot be "
                  "audited. The unit should fill the template it was sent, save it as .xlsx and submit it again."),
        "web": _("The file {name} is a web page or XML file (often exported by another system), not an Excel "
                 "workbook. Open it in Excel or WPS, save it as an Excel workbook (.xlsx) and submit it again."),
        "archive": _("The file {name} is a compressed archive ({suffix}); only .zip archives are opened. Extract it "
                     "into the inbox (or pack it again as .zip) and run the audit again."),
        "presentation": _("The file {name} is a presentation, not an Excel workbook; it cannot be audited. The unit "
                          "should submit the filled Excel workbook (.xlsx)."),
        "mail": _("The file {name} is a saved e-mail message. Save its attachments into the inbox and run the audit "
                  "again."),
        "shortcut": _("The file {name} is a shortcut, not the file itself. Copy the workbook it points to into the "
                      "inbox and run the audit again."),
        "spreadsheet": _("The file {name} is a spreadsheet in a format that cannot be read ({suffix}). Open it in "
                         "Excel or WPS, save it as an Excel workbook (.xlsx) and submit it again."),
        "unknown": _("The file {name} is not an Excel workbook (its type {suffix} is not one the audit reads). The "
                     "unit should save the filled workbook as .xlsx and submit it again."),
    }


def is_clutter(name: str) -> bool:
    """A file no unit submitted: an Office or WPS lock file, a system or hidden file, a macOS fork."""
    path = PurePosixPath(name.replace("\\", "/"))
    base = path.name
    return (base.startswith(("~$", ".")) or base.lower() in _CLUTTER_NAMES or "__MACOSX" in path.parts
            or (base.startswith("~") and base.lower().endswith(".tmp")))


def is_candidate(name: str) -> bool:
    """A file the audit checks by its name: a workbook or a Word report."""
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in WORKBOOK_SUFFIXES


def is_archive(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in ARCHIVE_SUFFIXES


def kind_of(name: str) -> str:
    """The kind of a file that is not checked, by its name: pdf, image, word, text, ... or unknown."""
    return _BY_SUFFIX.get(PurePosixPath(name.replace("\\", "/")).suffix.lower(), "unknown")


def worth_checking(name: str, head: bytes) -> bool:
    """A file of unknown kind whose first bytes say it may be a workbook under a wrong name."""
    return kind_of(name) == "unknown" and head.startswith(CONTAINER_MAGICS)


def not_audited_message(name: str) -> str:
    """What the file is and what to do about it (a translated sentence)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    suffix = PurePosixPath(base).suffix.lower()
    return _messages()[kind_of(name)].format(name=base, suffix=suffix or _("without an extension"))
