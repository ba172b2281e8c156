"""What an .xlsx package holds, part by part: the worksheets (title → part) and a digest of every part's bytes.

The read-back skips a sheet part whose bytes are exactly what the run wrote
(see :mod:`crm_audit.documents.written`). A part's digest is its CRC-32 and
size from the zip's central directory (free to read) and the SHA-256 of its
stored (compressed) bytes, read straight from the file without inflating
them — a tenth of a second for a million-row workbook. The same stored bytes
are the same part; different stored bytes only mean "read it" (another
compression of the same XML is parsed, never skipped).

A worksheet part is one the workbook's relationships point to as a worksheet
(chart sheets are not); the other parts that decide what a cell holds
(``xl/workbook.xml``, its relationships, styles, shared strings, the content
types …) are the package's *shared* parts: a sheet part is only as unchanged
as they are. ``docProps/*`` (titles, timestamps) and the worksheets'
relationships (hyperlink targets) decide no cell's value.
"""

from __future__ import annotations

import hashlib
import posixpath
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from crm_audit.documents.written import PartDigest

__all__ = ["PartDigest", "PackageParts", "package_parts", "worksheets_of", "is_shared"]

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header (30 bytes)


@dataclass
class PackageParts:
    """A package as read: its worksheets in workbook order (title, part) and every part's digest."""

    worksheets: list[tuple[str, str]]
    parts: dict[str, PartDigest]

    def shared(self) -> dict[str, PartDigest]:
        """The parts that decide what a cell holds, but for the worksheets themselves (see the module docstring)."""
        sheets = {part for _, part in self.worksheets}
        return {name: d for name, d in self.parts.items() if is_shared(name, sheets)}


def is_shared(name: str, worksheets: set[str]) -> bool:
    if name in worksheets or name.startswith("docProps/"):
        return False
    folder, _, base = name.rpartition("/")
    if folder.endswith("_rels") and base.endswith(".rels"):  # a worksheet's relationships: its hyperlinks
        return posixpath.join(posixpath.dirname(folder), base[: -len(".rels")]) not in worksheets
    return True


def _targets(z: zipfile.ZipFile, rels_path: str, base: str) -> dict[str, tuple[str, str]]:
    import xml.etree.ElementTree as ET

    out = {}
    for rel in ET.fromstring(z.read(rels_path)).iter(f"{_PKG_REL}Relationship"):
        target = rel.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out[rel.get("Id")] = (rel.get("Type", ""), part)
    return out


def worksheets_of(z: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(title, part) of every worksheet in workbook order (chart sheets left out, as calamine and openpyxl do).

    A part the package does not hold is listed all the same (the readers report it)."""
    import xml.etree.ElementTree as ET

    wb_part = next(p for t, p in _targets(z, "_rels/.rels", "").values() if t.endswith("/officeDocument"))
    base, name = posixpath.split(wb_part)
    rels = _targets(z, posixpath.join(base, "_rels", name + ".rels"), base)
    out = []
    for sheet in ET.fromstring(z.read(wb_part)).iter(f"{_MAIN}sheet"):
        kind, part = rels.get(sheet.get(_R_ID), ("", ""))
        if kind.endswith("/chartsheet"):
            continue
        out.append((sheet.get("name") or "", part))
    return out


def _stored_digest(f, info: zipfile.ZipInfo) -> str:
    """SHA-256 of a member's stored bytes (as compressed in the file), read from its local header on."""
    f.seek(info.header_offset)
    header = f.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename}")
    fields = _LOCAL_HEADER.unpack(header)
    f.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
    h = hashlib.sha256()
    left = info.compress_size
    while left > 0:
        chunk = f.read(min(left, 1 << 22))
        if not chunk:
            raise zipfile.BadZipFile(f"{info.filename} is cut short")
        h.update(chunk)
        left -= len(chunk)
    return h.hexdigest()


def package_parts(path: str | Path, digest_of=None) -> PackageParts | None:
    """The package at ``path`` (None when it cannot be read as one).

    ``digest_of``: the names whose stored bytes are hashed (default every
    part); the others get an empty digest (a reader hashes only the parts
    whose CRC-32 and size already match what was written).
    """
    try:
        with open(path, "rb") as f, zipfile.ZipFile(f) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                return None  # two members of one name: which one a reader takes is its own choice
            worksheets = worksheets_of(z)
            parts = {}
            for info in infos:
                want = digest_of is None or digest_of(info.filename, info.CRC, info.file_size)
                parts[info.filename] = PartDigest(info.CRC, info.file_size, _stored_digest(f, info) if want else "")
            return PackageParts(worksheets, parts)
    except Exception:  # not a zip, a damaged one, no workbook part: the readers report what is wrong
        return None
