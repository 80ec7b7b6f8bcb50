"""A filled workbook carrying what Excel and WPS write when they save it, made by editing its XML.

Excel 2010+ (and WPS, which copies its output) adds to a workbook it saves: mc:Ignorable
namespaces with x14ac:dyDescent on rows and xr:uid attributes; a data bar whose <cfRule>
holds its own <extLst> (the x14 id) with the x14 rule in the worksheet's <extLst>; x14
conditional formats with xm:f / xm:sqref; form controls wrapped in mc:AlternateContent;
shared formulas; rich text (runs with fonts) in the shared strings; a calcChain; custom XML
parts; printer settings (binary) referenced from <pageSetup>; mc:AlternateContent in the
workbook part (x15ac:absPath) and an x14 slicer-style extension in the styles.

``excel_like(src, dst)`` applies all of them; ``controls_with_vml=True`` also gives the sheet
the VML part Excel writes for form controls (its <legacyDrawing>).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
X14AC = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"
XR = "http://schemas.microsoft.com/office/spreadsheetml/2014/revision"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument."
DATABAR_ID = "{3C3F6A1E-0D8B-4C7A-9A51-2B6E4B0C1D11}"

# CT_Worksheet order of the children that can follow sheetData.
ORDER = ["sheetCalcPr", "sheetProtection", "protectedRanges", "scenarios", "autoFilter", "sortState",
         "dataConsolidate", "customSheetViews", "mergeCells", "phoneticPr", "conditionalFormatting",
         "dataValidations", "hyperlinks", "printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks",
         "colBreaks", "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing",
         "legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts",
         "extLst"]


def _insert_before(xml: str, followers: list[str], element: str) -> str:
    """Insert *element* as a child of <worksheet> before the first top-level child named in *followers*."""
    tail = xml.index("</sheetData>") if "</sheetData>" in xml else xml.index("<sheetData")
    depth, pos = 0, None
    for m in re.finditer(r"<(/?)(?:[\w.-]+:)?([\w.-]+)\b[^>]*?(/?)>", xml[tail:]):
        if m.group(1):
            depth -= 1
            if depth < 0:
                if m.group(2) == "worksheet":
                    pos = tail + m.start()
                    break
                depth = 0
            continue
        if depth == 0 and m.group(2) in followers:
            pos = tail + m.start()
            break
        if not m.group(3):
            depth += 1
    assert pos is not None
    return xml[:pos] + element + xml[pos:]


def _after(name: str) -> list[str]:
    return ORDER[ORDER.index(name) + 1:]


def _root_attrs(xml: str, tag: str, extra: str) -> str:
    m = re.search(rf"<{tag}\b[^>]*?>", xml)
    assert m
    head = m.group(0)
    return xml[:m.start()] + head[:-1] + extra + ">" + xml[m.end():]


def _worksheet(xml: str, *, sheet_index: int, with_vml: bool, printer_rid: str, control_rid: str,
               vml_rid: str) -> str:
    declared = set(re.findall(r'xmlns:(\w+)=', xml[:xml.index(">")]))
    extra = "".join(f' xmlns:{p}="{u}"' for p, u in (("r", R), ("mc", MC), ("x14ac", X14AC), ("xr", XR),
                                                      ("x14", X14), ("xm", XM), ("xdr", XDR))
                    if p not in declared)
    xml = _root_attrs(xml, "worksheet", extra + ' mc:Ignorable="x14ac xr"'
                      + f' xr:uid="{{00000000-0001-0000-0000-00000000000{sheet_index}}}"')
    xml = re.sub(r"<row\b(?![^>]*x14ac:dyDescent)", '<row x14ac:dyDescent="0.25"', xml)
    xml = re.sub(r"<sheetFormatPr\b", '<sheetFormatPr x14ac:dyDescent="0.25"', xml, count=1)
    # Shared formulas in two cells beyond the form's columns, as Excel writes a filled-down formula.
    rows = list(re.finditer(r"<row\b[^>]*?>(.*?)</row>", xml, re.S))[:2]
    nums = [re.search(r'\sr="(\d+)"', m.group(0)).group(1) for m in rows]
    for k, m in reversed(list(enumerate(rows))):
        f = f'<f t="shared" ref="ZZ{nums[0]}:ZZ{nums[-1]}" si="0">1+1</f>' if k == 0 else '<f t="shared" si="0"/>'
        end = m.end() - len("</row>")
        xml = xml[:end] + f'<c r="ZZ{nums[k]}">{f}<v>2</v></c>' + xml[end:]
    # A data bar: the standard rule names its x14 twin through a nested extLst.
    databar = (f'<conditionalFormatting sqref="ZZ1:ZZ2"><cfRule type="dataBar" priority="9999"><dataBar>'
               f'<cfvo type="min"/><cfvo type="max"/><color rgb="FF638EC6"/></dataBar><extLst>'
               f'<ext uri="{{B025F937-C7B1-47D3-B67F-A62EFF666E3E}}" xmlns:x14="{X14}"><x14:id>{DATABAR_ID}</x14:id>'
               f'</ext></extLst></cfRule></conditionalFormatting>')
    xml = _insert_before(xml, _after("conditionalFormatting"), databar)
    xml = re.sub(r"<pageSetup\b([^>]*?)/>", rf'<pageSetup\1 r:id="{printer_rid}"/>', xml, count=1)
    if with_vml:
        xml = _insert_before(xml, _after("legacyDrawing"), f'<legacyDrawing r:id="{vml_rid}"/>')
    controls = (f'<mc:AlternateContent><mc:Choice Requires="x14"><controls><mc:AlternateContent>'
                f'<mc:Choice Requires="x14"><control shapeId="1025" r:id="{control_rid}" name="Check Box 1">'
                f'<controlPr defaultSize="0" autoFill="0" autoLine="0" autoPict="0"><anchor moveWithCells="1">'
                f'<from><xdr:col>30</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff>'
                f'</from><to><xdr:col>31</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row>'
                f'<xdr:rowOff>0</xdr:rowOff></to></anchor></controlPr></control></mc:Choice></mc:AlternateContent>'
                f'</controls></mc:Choice></mc:AlternateContent>')
    xml = _insert_before(xml, _after("controls"), controls)
    ext = (f'<ext uri="{{78C0D931-6437-407d-A8EE-F0AAD7539E65}}"><x14:conditionalFormattings>'
           f'<x14:conditionalFormatting><x14:cfRule type="dataBar" id="{DATABAR_ID}"><x14:dataBar minLength="0" '
           f'maxLength="100" gradient="0"><x14:cfvo type="autoMin"/><x14:cfvo type="autoMax"/>'
           f'<x14:negativeFillColor rgb="FFFF0000"/><x14:axisColor rgb="FF000000"/></x14:dataBar></x14:cfRule>'
           f'<xm:sqref>ZZ1:ZZ2</xm:sqref></x14:conditionalFormatting>'
           f'<x14:conditionalFormatting><x14:cfRule type="expression" priority="9998" id="{{5A1F3C2B-1111-4A2B-8C3D-'
           f'00000000000{sheet_index}}}"><xm:f>\'审核\'!$I$5="不通过"</xm:f><x14:dxf><fill><patternFill>'
           f'<bgColor rgb="FFFFC7CE"/></patternFill></fill></x14:dxf></x14:cfRule><xm:sqref>ZZ1</xm:sqref>'
           f'</x14:conditionalFormatting></x14:conditionalFormattings></ext>')
    if re.search(r"<extLst>(?:(?!</extLst>).)*</extLst>\s*</worksheet>", xml, re.S):
        xml = xml[:xml.rindex("</extLst>")] + ext + xml[xml.rindex("</extLst>"):]
    else:
        xml = xml[:xml.rindex("</worksheet>")] + f"<extLst>{ext}</extLst>" + xml[xml.rindex("</worksheet>"):]
    return xml


def _rels_add(xml: str | None, rels: list[tuple[str, str, str]]) -> str:
    xml = xml or f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{REL.replace("officeDocument/2006/relationships", "package/2006/relationships")}"></Relationships>'
    add = "".join(f'<Relationship Id="{i}" Type="{REL}/{t}" Target="{target}"/>' for i, t, target in rels)
    return xml[:xml.rindex("</Relationships>")] + add + xml[xml.rindex("</Relationships>"):]


def _vml() -> str:
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel"><v:shape id="_x0000_s1025" type="#_x0000_t201" '
            'style="position:absolute;width:60pt;height:15pt" filled="f" stroked="f"><x:ClientData ObjectType="Checkbox">'
            '<x:Anchor>30, 0, 1, 0, 31, 0, 2, 0</x:Anchor><x:AutoFill>False</x:AutoFill></x:ClientData></v:shape></xml>')


def excel_like(src: Path, dst: Path, *, sheets: tuple[str, ...] | None = None, controls_with_vml: bool = False) -> Path:
    """Copy *src* to *dst* with Excel's and WPS's additions (see the module docstring)."""
    from helpers import sheet_parts

    parts = sheet_parts(src)
    chosen = [parts[t] for t in (sheets or tuple(t for t in parts if not t.startswith("_")))]
    with zipfile.ZipFile(src) as zin:
        files = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    types = files["[Content_Types].xml"].decode()
    overrides: list[tuple[str, str]] = []
    defaults = {"bin": CT + "spreadsheetml.printerSettings"}
    if controls_with_vml:
        defaults["vml"] = "application/vnd.openxmlformats-officedocument.vmlDrawing"
    for n, part in enumerate(chosen, start=1):
        folder, name = str(PurePosixPath(part).parent), PurePosixPath(part).name
        rels_name = f"{folder}/_rels/{name}.rels"
        rels = [("rIdPs1", "printerSettings", f"/xl/printerSettings/printerSettings{n}.bin"),
                ("rIdCtl1", "ctrlProp", f"/xl/ctrlProps/ctrlProp{n}.xml")]
        if controls_with_vml:
            rels.append(("rIdVml1", "vmlDrawing", f"/xl/drawings/vmlDrawing{n}.vml"))
            files[f"xl/drawings/vmlDrawing{n}.vml"] = _vml().encode()
        files[rels_name] = _rels_add(files.get(rels_name, b"").decode() or None, rels).encode()
        files[f"xl/printerSettings/printerSettings{n}.bin"] = bytes(range(256)) * 4  # a DEVMODE is opaque bytes
        files[f"xl/ctrlProps/ctrlProp{n}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<formControlPr xmlns="{X14}" '
            f'objectType="CheckBox" lockText="1"/>').encode()
        overrides.append((f"/xl/ctrlProps/ctrlProp{n}.xml", "application/vnd.ms-excel.controlproperties+xml"))
        files[part] = _worksheet(files[part].decode(), sheet_index=n, with_vml=controls_with_vml,
                                 printer_rid="rIdPs1", control_rid="rIdCtl1", vml_rid="rIdVml1").encode()
    # Rich text: the unit's name becomes a shared string of two runs with their own fonts.
    first = parts["基本情况"]
    sheet = files[first].decode()
    m = re.search(r'<c r="B3"([^>]*?)(?:/>|>.*?</c>)', sheet, re.S)
    attrs = re.sub(r'\st="[^"]*"', "", m.group(1))
    sheet = sheet[:m.start()] + f'<c r="B3"{attrs} t="s"><v>0</v></c>' + sheet[m.end():]
    files[first] = sheet.encode()
    files["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="1" uniqueCount="1">'
        f'<si><r><rPr><b/><sz val="11"/><color theme="1"/><rFont val="宋体"/><family val="3"/><charset val="134"/>'
        f'<scheme val="minor"/></rPr><t>株洲市芦淞区</t></r><r><rPr><sz val="11"/><color rgb="FFFF0000"/>'
        f'<rFont val="宋体"/><family val="3"/><charset val="134"/></rPr><t xml:space="preserve">机关事务服务中心</t></r>'
        f'<phoneticPr fontId="1" type="noConversion"/></si></sst>').encode()
    overrides.append(("/xl/sharedStrings.xml", CT + "spreadsheetml.sharedStrings+xml"))
    # calcChain: the cells with formulas, as Excel lists them.
    files["xl/calcChain.xml"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="{MAIN}">'
                                 f'<c r="ZZ1" i="3" l="1"/><c r="ZZ2" i="3"/></calcChain>').encode()
    overrides.append(("/xl/calcChain.xml", CT + "spreadsheetml.calcChain+xml"))
    # Custom XML (a bibliography store, as Office adds), with its properties part.
    files["customXml/item1.xml"] = (b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                                    b'<b:Sources xmlns:b="http://schemas.openxmlformats.org/officeDocument/2006/bibliography"'
                                    b' xmlns="http://schemas.openxmlformats.org/officeDocument/2006/bibliography"'
                                    b' SelectedStyle="/APASixthEditionOfficeOnline.xsl" StyleName="APA" Version="6"/>')
    files["customXml/itemProps1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<ds:datastoreItem '
        b'ds:itemID="{9E6B3E4C-64A0-4E6B-8C41-3B1C5B0F5A11}" '
        b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"><ds:schemaRefs><ds:schemaRef '
        b'ds:uri="http://schemas.openxmlformats.org/officeDocument/2006/bibliography"/></ds:schemaRefs>'
        b'</ds:datastoreItem>')
    files["customXml/_rels/item1.xml.rels"] = _rels_add(None, [("rId1", "customXmlProps", "itemProps1.xml")]).encode()
    overrides.append(("/customXml/itemProps1.xml", CT + "customXmlProperties+xml"))
    files["xl/_rels/workbook.xml.rels"] = _rels_add(files["xl/_rels/workbook.xml.rels"].decode(), [
        ("rIdSst1", "sharedStrings", "sharedStrings.xml"), ("rIdCc1", "calcChain", "calcChain.xml"),
        ("rIdCx1", "customXml", "../customXml/item1.xml")]).encode()
    # The workbook part: mc:AlternateContent (the path it was saved from), xr revision pointer.
    wb = files["xl/workbook.xml"].decode()
    declared = set(re.findall(r'xmlns:(\w+)=', wb[:wb.index(">")]))
    wb = _root_attrs(wb, "workbook", "".join(f' xmlns:{p}="{u}"' for p, u in (("mc", MC), ("xr", XR),
                                                                               ("x15", "http://schemas.microsoft.com/office/spreadsheetml/2010/11/main"))
                                             if p not in declared) + ' mc:Ignorable="x15 xr"')
    alt = ('<mc:AlternateContent><mc:Choice Requires="x15"><x15ac:absPath url="D:\\填报\\" '
           'xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"/></mc:Choice></mc:AlternateContent>'
           '<xr:revisionPtr revIDLastSave="0" documentId="13_ncr:1_{4C1E}" xr6:coauthVersionLast="47" '
           'xr6:coauthVersionMax="47" xr10:uidLastSave="{00000000-0000-0000-0000-000000000000}" '
           'xmlns:xr6="http://schemas.microsoft.com/office/spreadsheetml/2016/revision6" '
           'xmlns:xr10="http://schemas.microsoft.com/office/spreadsheetml/2016/revision10"/>')
    m = re.search(r"<workbookPr\b[^>]*?/>|<workbookPr\b.*?</workbookPr>", wb, re.S)
    wb = wb[:m.end()] + alt + wb[m.end():]
    ext = (f'<extLst><ext uri="{{140A7094-0E35-4892-8432-C4D2E57EDEB5}}" xmlns:x15="http://schemas.microsoft.com/'
           f'office/spreadsheetml/2010/11/main"><x15:workbookPr chartTrackingRefBase="1"/></ext></extLst>')
    wb = wb[:wb.rindex("</workbook>")] + ext + wb[wb.rindex("</workbook>"):]
    files["xl/workbook.xml"] = wb.encode()
    styles = files["xl/styles.xml"].decode()
    styles = styles[:styles.rindex("</styleSheet>")] + (
        f'<extLst><ext uri="{{EB79DEF2-80B8-43e5-95BD-54CBDDF9020C}}" xmlns:x14="{X14}">'
        f'<x14:slicerStyles defaultSlicerStyle="SlicerStyleLight1"/></ext></extLst>') + styles[styles.rindex("</styleSheet>"):]
    files["xl/styles.xml"] = styles.encode()
    for ext_name, ctype in defaults.items():
        if f'Extension="{ext_name}"' not in types:
            types = types.replace("<Default ", f'<Default Extension="{ext_name}" ContentType="{ctype}"/><Default ', 1)
    add = "".join(f'<Override PartName="{p}" ContentType="{c}"/>' for p, c in overrides)
    types = types[:types.rindex("</Types>")] + add + types[types.rindex("</Types>"):]
    files["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)
    return dst
