"""Validate every XML part of an .xlsx against the OOXML Transitional schemas.

The schemas live outside the project, in ``../shared/ooxml-schemas/`` relative to the
repository root (see its README). Each part is matched to its schema by content type:
SpreadsheetML parts against sml.xsd, charts against dml-chart.xsd, drawings against
dml-spreadsheetDrawing.xsd, [Content_Types].xml and .rels against the OPC schemas.
Elements of other namespaces inside ``extLst`` and ``mc:AlternateContent`` are extensions
(x14, x15, …): the schema allows the container, not its content, so they are cut out and
the core is validated. VML (comments' shapes) is not schema-valid XML in practice: it is
checked structurally against the comments part.

    python3 tests/ooxml.py file.xlsx…   # prints each error, exit status 1 when any
"""

from __future__ import annotations

import os
import posixpath
import sys
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _schemas() -> Path:
    """../shared/ooxml-schemas beside the repository; a git worktree elsewhere finds it further up."""
    if os.environ.get("XLTOOL_OOXML_SCHEMAS"):
        return Path(os.environ["XLTOOL_OOXML_SCHEMAS"])
    for folder in ROOT.parents:
        if (folder / "shared" / "ooxml-schemas" / "sml.xsd").is_file():
            return folder / "shared" / "ooxml-schemas"
    return ROOT.parent / "shared" / "ooxml-schemas"


SCHEMAS = _schemas()

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument."
# Content type → schema file (relative to SCHEMAS) for the parts xltool writes or keeps.
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
    """None when validation can run, else what is missing."""
    try:
        import lxml.etree  # noqa: F401
    except ImportError:
        return "lxml"
    if not (SCHEMAS / "sml.xsd").is_file():
        return f"the OOXML schemas in {SCHEMAS}"
    return None


@cache
def schema(name: str):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


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


def validate(path: Path | str | bytes) -> list[Problem]:
    """Every schema error of every XML part of the workbook (empty: valid)."""
    import io

    from lxml import etree

    problems: list[Problem] = []
    source = io.BytesIO(path) if isinstance(path, bytes) else str(path)
    with zipfile.ZipFile(source) as zf:
        problems += _check(zf, "[Content_Types].xml", "opc-xsd/opc-contentTypes.xsd")
        types = content_types(zf)
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
        for structural in (_relationships, _vml, _worksheet_order):
            try:
                problems += structural(zf, types)
            except etree.XMLSyntaxError as exc:  # already reported per part; the structure is unknown
                problems.append(Problem(structural.__name__, f"not well-formed: {exc}"))
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
