"""Validate every part of a workbook or Word document xltool writes: the nearest check, on
Linux, to "Excel (or Word) opens it without a repair".

Three layers, run together by ``validate``:

1. **openxml-audit** (PyPI, in the ``test`` extra): a Python port of the Open XML SDK's
   validator with the SDK's schemas for each Office version, its semantic rules and its
   Excel/Word app-compat checks. Files are validated as Office 2010 reads them (the oldest
   Excel the bureaus' units are known to use); annotated copies of workbooks that Excel 2013+
   saved, as Office 2013 reads them. Where the SDK is stricter than Excel, the finding is
   listed in ``TOLERATED`` with the reason (docs/compat.md says the same); nothing else is
   set aside.
2. **Structural checks of our own**, for what a schema cannot see: every internal
   relationship points at a part that exists; comments' VML has one note shape per comment
   at its row and column; the children of ``<worksheet>`` are in CT_Worksheet order, each
   ``mc:AlternateContent`` counted as the element its ``mc:Choice`` holds (``<legacyDrawing>``
   inside the form controls' block is caught here).
3. **The ISO/IEC 29500 Transitional XSDs** (lxml ``XMLSchema``) when a folder beside the
   checkout holds them (see tests/extra_cases.py): a second opinion, never required.

    python3 tests/ooxml.py file.xlsx|file.docx…   # prints each problem, exit status 1 when any
"""

from __future__ import annotations

import posixpath
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extra_cases import extra_schemas  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OFFICE = "office2010"  # the version files are validated for (openxml-audit's FileFormat value)
EXCEL_SAVED = "office2013"  # workbooks carrying what Excel 2013+ writes (x15 constructs)


@dataclass(frozen=True)
class Tolerated:
    """A finding of openxml-audit where the Open XML SDK is stricter than Excel and Word."""

    why: str
    part: str  # regular expression over the part name
    message: str  # regular expression over the finding's text
    path: str = ""  # regular expression over the element's path, when the part alone is too wide

    def covers(self, error) -> bool:
        return bool(re.fullmatch(self.part, error.part_uri or "") and re.search(self.message, error.description)
                    and (not self.path or re.search(self.path, error.path or "")))


TOLERATED = (
    Tolerated("The SDK types <font>'s children as a sequence (b, i, strike, …, sz, color, name, family, charset, "
              "scheme); ISO/IEC 29500 types them as a choice in any order, openpyxl writes name, charset, family "
              "first, and Excel opens such styles without a repair.",
              r"/xl/styles\.xml",
              r"^Unexpected element '(b|i|strike|condense|extend|outline|shadow|u|vertAlign|sz|color|name|family"
              r"|charset|scheme)' found$", r"/font\[\d+\]$"),
    Tolerated("Word 2013 and later write Version=\"6\" on a bibliography's <b:Sources> (custom XML kept as Excel "
              "saved it); the SDK's bibliography schema predates the attribute.",
              r"/customXml/item\d+\.xml", r"^The 'Version' attribute is not declared\.$"),
)


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument."
# Content type → schema file (relative to the XSD folder) for the parts xltool writes or keeps.
SCHEMA_OF = {
    CT + "spreadsheetml.sheet.main+xml": "sml.xsd",
    CT + "spreadsheetml.template.main+xml": "sml.xsd",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "sml.xsd",
    CT + "spreadsheetml.worksheet+xml": "sml.xsd",
    CT + "spreadsheetml.chartsheet+xml": "sml.xsd",
    CT + "spreadsheetml.styles+xml": "sml.xsd",
    CT + "spreadsheetml.sharedStrings+xml": "sml.xsd",
    CT + "spreadsheetml.comments+xml": "sml.xsd",
    CT + "spreadsheetml.table+xml": "sml.xsd",
    CT + "spreadsheetml.calcChain+xml": "sml.xsd",
    CT + "spreadsheetml.printerSettings": None,  # binary
    CT + "drawingml.chart+xml": "dml-chart.xsd",
    CT + "drawing+xml": "dml-spreadsheetDrawing.xsd",
    "application/vnd.openxmlformats-package.relationships+xml": "opc-xsd/opc-relationships.xsd",
    CT + "extended-properties+xml": "shared-documentPropertiesExtended.xsd",
    CT + "custom-properties+xml": "shared-documentPropertiesCustom.xsd",
    CT + "customXmlProperties+xml": "shared-customXmlDataProperties.xsd",
}
# Parts checked otherwise: VML structurally; core properties (its schema imports Dublin Core
# schemas the folder does not hold), theme (DrawingML main, large and never edited by
# xltool) and custom XML data (any XML) for well-formedness only.
STRUCTURAL = {"application/vnd.openxmlformats-package.core-properties+xml",  # needs Dublin Core schemas
              "application/vnd.openxmlformats-officedocument.vmlDrawing", CT + "theme+xml", "application/xml",
              "text/xml", CT + "spreadsheetml.sheetMetadata+xml", "application/vnd.ms-excel.controlproperties+xml"}


# Namespaces the schemas declare (what is validated; other namespaces are extensions).
CORE_NS = {MAIN, "http://schemas.openxmlformats.org/drawingml/2006/main",
           "http://schemas.openxmlformats.org/drawingml/2006/chart",
           "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"}


@dataclass(frozen=True)
class Problem:
    part: str
    message: str

    def __str__(self) -> str:
        return f"{self.part}: {self.message}"


def available() -> str | None:
    """None when validation can run, else what is missing (openxml-audit comes with the test extra)."""
    try:
        import lxml.etree  # noqa: F401
        import openxml_audit  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} (pip install -e '.[test]')"
    return None


@cache
def _validator(office: str):
    from openxml_audit import FileFormat, OpenXmlValidator

    return OpenXmlValidator(file_format=FileFormat(office), max_errors=500)


def audit(path: Path, office: str = OFFICE) -> list[Problem]:
    """openxml-audit's errors (warnings are advice: Excel rewrites, it does not repair), less TOLERATED."""
    from openxml_audit import ValidationSeverity

    result = _validator(office).validate(path)
    return [Problem(e.part_uri or "(package)", f"{e.description} [{e.path}]" if e.path else e.description)
            for e in result.errors
            if e.severity is ValidationSeverity.ERROR and not any(t.covers(e) for t in TOLERATED)]


@cache
def schema(name: str):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(extra_schemas() / name)))


def _core(root):
    """The part without extensions: extLst children of other namespaces and mc:AlternateContent.

    Excel's own rule for a consumer that does not understand an extension: ignore it. An
    ``<ext>`` keeps its attributes and loses its foreign children (its content model is
    ``xsd:any`` of other namespaces, which lxml would otherwise have to resolve).
    """
    from lxml import etree

    # mc:AlternateContent: its content is an extension (Excel writes x14 semantics in the main
    # namespace there, which the ISO schema does not describe): cut out, as a consumer that
    # does not understand x14 would. Where the block stands is checked by _worksheet_order.
    for alt in list(root.iter(f"{{{MC}}}AlternateContent")):
        if alt.getparent() is not None:
            alt.getparent().remove(alt)
    for ext in root.iter(f"{{{MAIN}}}ext", "{http://schemas.openxmlformats.org/drawingml/2006/main}ext",
                         "{http://schemas.openxmlformats.org/drawingml/2006/chart}ext"):
        for child in list(ext):
            ext.remove(child)
        # CT_Extension requires one element of any namespace: a stand-in for what was cut.
        ext.append(etree.Element("{urn:xltool:tests:extension}content"))
    # xml:space="preserve" on <t>: the schema types <t> as a bare string, yet Excel itself writes
    # the attribute on every text with edge spaces (the standard's known gap; see the README).
    for t in root.iter(f"{{{MAIN}}}t"):
        t.attrib.pop("{http://www.w3.org/XML/1998/namespace}space", None)
    # Attributes of namespaces the schema does not know (mc:Ignorable, x14ac:dyDescent, xr:uid …).
    known = {etree.QName(root).namespace, MAIN, REL_NS,
             "http://schemas.openxmlformats.org/drawingml/2006/main",
             "http://schemas.openxmlformats.org/drawingml/2006/chart",
             "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in list(el.attrib):
            if attr.startswith("{") and attr[1:attr.index("}")] not in known:
                del el.attrib[attr]
    return root


def _ignorable_elements(root) -> None:
    """Elements of namespaces listed in mc:Ignorable (e.g. x14ac, xr) are dropped, as Excel does."""
    ignorable = set((root.get(f"{{{MC}}}Ignorable") or "").split())
    if not ignorable:
        return
    uris = {uri for prefix, uri in root.nsmap.items() if prefix in ignorable}
    for el in list(root.iter()):
        if isinstance(el.tag, str) and el.tag.startswith("{") and el.tag[1:el.tag.index("}")] in uris:
            el.getparent().remove(el)


def content_types(zf: zipfile.ZipFile) -> dict[str, str]:
    from lxml import etree

    root = etree.fromstring(zf.read("[Content_Types].xml"))
    ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    defaults = {d.get("Extension").lower(): d.get("ContentType") for d in root.iter(ns + "Default")}
    overrides = {o.get("PartName").lstrip("/"): o.get("ContentType") for o in root.iter(ns + "Override")}
    out = {}
    for name in zf.namelist():
        if name.endswith("/") or name == "[Content_Types].xml":
            continue
        out[name] = overrides.get(name) or defaults.get(name.rsplit(".", 1)[-1].lower(), "")
    return out


def validate(path: Path | str | bytes, office: str = OFFICE) -> list[Problem]:
    """Every problem of the package (empty: valid), from all three layers."""
    if isinstance(path, bytes):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "package.zip"
            source.write_bytes(path)
            return validate(source, office)
    path = Path(path)
    problems = audit(path, office)
    from lxml import etree

    with zipfile.ZipFile(path) as zf:
        types = content_types(zf)
        for structural in (_relationships, _vml, _worksheet_order):
            try:
                problems += structural(zf, types)
            except etree.XMLSyntaxError as exc:  # the structure is unknown; openxml-audit names the part
                problems.append(Problem(structural.__name__, f"not well-formed: {exc}"))
        if extra_schemas() is not None:
            problems += _xsd_word(zf) if "word/document.xml" in types else _xsd(zf, types)
    return problems


def _xsd(zf: zipfile.ZipFile, types: dict[str, str]) -> list[Problem]:
    """The ISO/IEC 29500 XSDs, part by part (when a folder beside the checkout holds them)."""
    from lxml import etree

    problems = _check(zf, "[Content_Types].xml", "opc-xsd/opc-contentTypes.xsd")
    for name, ctype in types.items():
        if ctype not in SCHEMA_OF and ctype not in STRUCTURAL and not name.endswith(".bin"):
            problems.append(Problem(name, f"no schema known for content type {ctype!r}"))
            continue
        xsd = SCHEMA_OF.get(ctype)
        if xsd:
            problems += _check(zf, name, xsd)
        elif ctype in STRUCTURAL:
            try:
                etree.fromstring(zf.read(name))
            except etree.XMLSyntaxError as exc:
                problems.append(Problem(name, f"not well-formed: {exc}"))
    return problems


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _mce(root):
    """A WordprocessingML part as a consumer knowing only the standard namespaces sees it: the
    namespaces listed in mc:Ignorable dropped, each mc:AlternateContent replaced by its
    mc:Fallback (ECMA-376 Part 3)."""
    ignorable = set((root.get(f"{{{MC}}}Ignorable") or "").split())
    namespaces = {prefix: uri for el in root.iter() for prefix, uri in (el.nsmap or {}).items()}
    drop = {namespaces[p] for p in ignorable if p in namespaces}
    for alt in list(root.iter(f"{{{MC}}}AlternateContent")):
        fallback = alt.find(f"{{{MC}}}Fallback")
        parent = alt.getparent()
        index = parent.index(alt)
        for child in (list(fallback) if fallback is not None else []):
            parent.insert(index, child)
            index += 1
        parent.remove(alt)
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        ns = el.tag[1:].split("}")[0] if el.tag.startswith("{") else ""
        if ns in drop and el.getparent() is not None:
            el.getparent().remove(el)
            continue
        for attr in list(el.attrib):
            ans = attr[1:].split("}")[0] if attr.startswith("{") else ""
            if ans in drop or ans == MC:
                del el.attrib[attr]
    return root


def _xsd_word(zf: zipfile.ZipFile) -> list[Problem]:
    """A .docx's WordprocessingML and package parts against the XSDs (wml-with-xml.xsd imports
    the xml: attributes' schema first, then wml.xsd)."""
    from lxml import etree

    problems = []
    for name in zf.namelist():
        data = zf.read(name)
        if name == "[Content_Types].xml":
            xsd = "opc-xsd/opc-contentTypes.xsd"
        elif name.endswith(".rels"):
            xsd = "opc-xsd/opc-relationships.xsd"
        elif name.startswith("word/") and name.endswith(".xml") and etree.fromstring(data).tag.startswith(f"{{{W}}}"):
            xsd = "wml-with-xml.xsd"
        else:
            continue
        root = _mce(etree.fromstring(data))
        if not schema(xsd).validate(root):
            problems += [Problem(name, f"line {e.line}: {e.message}") for e in schema(xsd).error_log][:20]
    return problems


def _check(zf: zipfile.ZipFile, name: str, xsd: str) -> list[Problem]:
    from lxml import etree

    try:
        root = etree.fromstring(zf.read(name))
    except etree.XMLSyntaxError as exc:
        return [Problem(name, f"not well-formed: {exc}")]
    _ignorable_elements(root)
    _core(root)
    s = schema(xsd)
    if s.validate(root):
        return []
    return [Problem(name, f"line {e.line}: {e.message}") for e in s.error_log]


def _relationships(zf: zipfile.ZipFile, types: dict[str, str]) -> list[Problem]:
    """Every internal relationship points at a part that exists."""
    from lxml import etree

    out = []
    for name in types:
        if not name.endswith(".rels"):
            continue
        folder = posixpath.dirname(posixpath.dirname(name))
        for rel in etree.fromstring(zf.read(name)):
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            if part not in types:
                out.append(Problem(name, f"relationship {rel.get('Id')} points at a missing part {part}"))
    return out


def _vml(zf: zipfile.ZipFile, types: dict[str, str]) -> list[Problem]:
    """Comments' VML: well-formed, one note shape per comment, at the comment's row and column."""
    from lxml import etree

    out = []
    for sheet, ctype in types.items():
        if not ctype.endswith("worksheet+xml"):
            continue
        rels_name = posixpath.join(posixpath.dirname(sheet), "_rels", posixpath.basename(sheet) + ".rels")
        if rels_name not in types:
            continue
        rels = etree.fromstring(zf.read(rels_name))
        folder = posixpath.dirname(sheet)
        targets = {}
        for rel in rels:
            t = rel.get("Target", "")
            targets[rel.get("Type", "").rsplit("/", 1)[-1]] = (
                t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join(folder, t)))
        if "comments" not in targets:
            continue
        comments = etree.fromstring(zf.read(targets["comments"]))
        refs = sorted(c.get("ref") for c in comments.iter(f"{{{MAIN}}}comment"))
        if "vmlDrawing" not in targets:
            out.append(Problem(sheet, "comments without a VML drawing (Excel shows no note)"))
            continue
        ws = etree.fromstring(zf.read(sheet))
        legacy = ws.find(f"{{{MAIN}}}legacyDrawing")
        if legacy is None:
            out.append(Problem(sheet, "comments without <legacyDrawing>"))
        try:
            vml = etree.fromstring(zf.read(targets["vmlDrawing"]))
        except etree.XMLSyntaxError as exc:
            out.append(Problem(targets["vmlDrawing"], f"not well-formed: {exc}"))
            continue
        x = "{urn:schemas-microsoft-com:office:excel}"
        notes = []
        for shape in vml.iter("{urn:schemas-microsoft-com:vml}shape"):
            data = shape.find(x + "ClientData")
            if data is None or data.get("ObjectType") != "Note":
                continue
            row, col = data.findtext(x + "Row"), data.findtext(x + "Column")
            if row is None or col is None:
                out.append(Problem(targets["vmlDrawing"], f"note shape {shape.get('id')} without row/column"))
                continue
            notes.append(_a1(int(row), int(col)))
        if sorted(notes) != refs:
            out.append(Problem(targets["vmlDrawing"], f"{len(notes)} note shapes for {len(refs)} comments "
                                                      f"(first differences: {sorted(set(notes) ^ set(refs))[:5]})"))
    return out


# CT_Worksheet: the order of <worksheet>'s children.
WORKSHEET_ORDER = [
    "sheetPr", "dimension", "sheetViews", "sheetFormatPr", "cols", "sheetData", "sheetCalcPr", "sheetProtection",
    "protectedRanges", "scenarios", "autoFilter", "sortState", "dataConsolidate", "customSheetViews", "mergeCells",
    "phoneticPr", "conditionalFormatting", "dataValidations", "hyperlinks", "printOptions", "pageMargins",
    "pageSetup", "headerFooter", "rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors",
    "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
    "webPublishItems", "tableParts", "extLst"]


def _worksheet_order(zf: zipfile.ZipFile, types: dict[str, str]) -> list[Problem]:
    """Children of <worksheet> in CT_Worksheet order, each mc:AlternateContent counted as the
    element its mc:Choice holds (the schema check cannot see inside the block)."""
    from lxml import etree

    out = []
    for name, ctype in types.items():
        if not ctype.endswith("worksheet+xml"):
            continue
        root = etree.fromstring(zf.read(name))
        last, last_name = -1, ""
        for child in root:
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if etree.QName(child).namespace == MC and local == "AlternateContent":
                choice = child.find(f"{{{MC}}}Choice")
                inner = [c for c in (choice if choice is not None else ()) if isinstance(c.tag, str)]
                if not inner:
                    continue
                local = etree.QName(inner[0]).localname
                if local in ("legacyDrawing", "legacyDrawingHF", "drawing"):
                    out.append(Problem(name, f"<{local}> inside mc:AlternateContent"))
            elif etree.QName(child).namespace != MAIN:
                continue
            if local not in WORKSHEET_ORDER:
                continue
            index = WORKSHEET_ORDER.index(local)
            if index < last:
                out.append(Problem(name, f"<{local}> after <{last_name}> (CT_Worksheet order)"))
            last, last_name = index, local
    return out


def _a1(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


if __name__ == "__main__":  # pragma: no cover - a command-line aid
    bad = 0
    for arg in sys.argv[1:]:
        found = validate(arg)
        bad += bool(found)
        for p in found:
            print(f"{arg}: {p}")
        if not found:
            print(f"{arg}: valid")
    sys.exit(1 if bad else 0)
