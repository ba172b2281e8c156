"""A workbook's custom properties (which audit it is, of which ledger), read without opening its sheets."""

from __future__ import annotations

import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"


def document_properties(path: str | Path) -> dict[str, str]:
    """The custom properties of an .xlsx file ({} when it has none or cannot be read: the reader reports that)."""
    try:
        with zipfile.ZipFile(path) as z:
            if "docProps/custom.xml" not in z.namelist():
                return {}
            root = ET.fromstring(z.read("docProps/custom.xml"))
    except (OSError, zipfile.BadZipFile, ET.ParseError, KeyError):
        return {}
    return {p.get("name", ""): "".join(p.itertext()).strip() for p in root.iter(f"{_NS}property")}
