"""Validate the WordprocessingML parts of a .docx against the OOXML Transitional schemas
(../shared/ooxml-schemas, see its README) after Markup Compatibility processing.

A consumer that does not understand a namespace listed in ``mc:Ignorable`` drops its
elements and attributes, and takes an ``mc:AlternateContent``'s ``mc:Fallback``
(ECMA-376 Part 3); the schemas describe what remains: the core every Word reader knows.
"""

from __future__ import annotations

import zipfile
from functools import cache
from pathlib import Path

from word_seed import shared_dir

MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def schemas_dir() -> Path:
    return shared_dir() / "ooxml-schemas"


@cache
def _schema(name: str):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(schemas_dir() / name)))


def mce(root):
    """The element tree as a consumer knowing only the standard namespaces sees it."""
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


def schema_errors(path: Path) -> dict[str, list[str]]:
    """Part name → schema errors, for every WordprocessingML and package part of *path*."""
    from lxml import etree

    out: dict[str, list[str]] = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name == "[Content_Types].xml":
                schema = _schema("opc-xsd/opc-contentTypes.xsd")
            elif name.endswith(".rels"):
                schema = _schema("opc-xsd/opc-relationships.xsd")
            elif name.startswith("word/") and name.endswith(".xml") and etree.fromstring(data).tag.startswith(f"{{{W}}}"):
                schema = _schema("wml-with-xml.xsd")
            else:
                continue
            root = mce(etree.fromstring(data))
            if not schema.validate(root):
                out[name] = [f"{e.line}: {e.message}" for e in schema.error_log][:20]
            else:
                out[name] = []
    return out
