"""The text encoding of an export file, and its fingerprint.

CRM exports arrive as UTF-8 (with or without a BOM), UTF-16 (Excel's
"Unicode text"), Windows-1251 (Russian Excel, Bitrix24) or something rarer;
:func:`detect_encoding` names it from the bytes. Large files are not read into
memory: :func:`scan_utf8` streams one through a UTF-8 decoder and hashes it on
the way (the fingerprint an audit records for each file it read).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from crm_audit.errors import file_problem
from crm_audit.i18n import _
from crm_audit.threads import InThread

#: how much of a large file is decoded for sniffing (the rest is only checked)
HEAD_BYTES = 512 * 1024


def _looks_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    sample = head[:4000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


#: the Windows code pages an Excel re-save writes: Cyrillic, Western European, Central European
CODE_PAGES = ("cp1251", "cp1252", "cp1250")
#: the East Asian code pages a CRM's report or a local Excel writes: Simplified Chinese (GBK, as GB18030 its superset:
#: Salesforce's «Chinese Simplified (GB2312)» export encoding, a Chinese-locale Excel's CSV), Japanese (Shift_JIS /
#: Windows-31J), Korean (EUC-KR / Windows-949), Traditional Chinese (Big5). Their bytes decode as Western European too
#: (GBK's always do): the one whose text holds a profile's own headers wins (acceptance Y-F: a GBK report read as
#: cp1252 mojibake stopped init with «no status column»)
EAST_ASIAN = ("gb18030", "cp932", "cp949", "big5")
_WORD = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """The non-ASCII words of every bundled profile's headers and prefixes, lower-cased («negócio», «сделка», «właściciel»)."""
    from crm_audit.engine import profile as profiles

    words: set[str] = set()
    for name in profiles.available():
        try:
            prof = profiles.load_profile(name)
        except Exception:  # a broken profile is reported where it is used, not while sniffing bytes
            continue
        texts = list(prof.detect)
        for spec in prof.entities.values():
            texts += spec.prefixes
            for fs in spec.fields.values():
                texts += fs.headers
        for text in texts:
            words.update(w for w in _WORD.findall(text.lower()) if not w.isascii())
    return frozenset(words)


def _mixed_script(word: str) -> bool:
    """A word of Latin and Cyrillic letters together: text decoded with the wrong code page («Negуcio»)."""
    return any("a" <= ch.lower() <= "z" or "\u00c0" <= ch <= "\u024f" for ch in word) and any("\u0400" <= ch <= "\u04ff" for ch in word)


def codepage_scores(data: bytes, lines: int = 30, shortest: int = 1) -> dict[str, int]:
    """Each code page that decodes ``data``: how many words (of ``shortest`` letters or more) of its first ``lines``
    lines a profile knows, less the words that mix Latin and Cyrillic letters."""
    head = data[: 64 * 1024].split(b"\n")[:lines]
    known = known_words()
    scores: dict[str, int] = {}
    for cp in (*CODE_PAGES, *EAST_ASIAN):
        try:
            text = b"\n".join(head).decode(cp)
        except UnicodeDecodeError:
            continue
        words = [w for w in _WORD.findall(text.lower()) if not w.isascii() and len(w) >= shortest]
        scores[cp] = sum(1 for w in words if w in known) - sum(1 for w in words if _mixed_script(w))
    return scores


#: the letters of Chinese, Japanese and Korean text (CJK ideographs, kana, hangul, their compatibility and full-width forms)
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff01-\uff5e]")


def _east_asian_text(data: bytes, cp: str) -> bool:
    """``data``'s head decodes as ``cp`` strictly, and most of its non-ASCII characters are CJK letters."""
    try:
        text = data[: 64 * 1024].decode(cp)
    except UnicodeDecodeError:
        try:  # (the head may end inside a two-byte character)
            text = data[: 64 * 1024 - 1].decode(cp)
        except UnicodeDecodeError:
            return False
    high = [ch for ch in text if ord(ch) > 127]
    return bool(high) and sum(1 for ch in high if _CJK.match(ch)) >= 0.8 * len(high)


def export_codepage(path: Path) -> str | None:
    """The East Asian code page the other text files of ``path``'s folder prove by their headers (the export's
    files come from one CRM, in one code page), or None: none proves one, or they prove different ones."""
    try:
        siblings = sorted(p for p in path.parent.iterdir()
                          if p != path and p.is_file() and p.suffix.lower() in (".csv", ".txt", ".tsv"))
        key = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in siblings)
    except OSError:
        return None
    return _export_codepage(str(path.parent), key)


@functools.lru_cache(maxsize=64)
def _export_codepage(folder: str, files: tuple[tuple[str, int, int], ...]) -> str | None:
    proved: set[str] = set()
    for name, _size, _mtime in files:
        try:
            with open(Path(folder) / name, "rb") as fh:
                head = fh.read(64 * 1024)
        except OSError:
            continue
        if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
            continue
        try:
            head.decode("utf-8")
            continue  # UTF-8 proves no code page
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3:  # a character cut at the end of the head
                continue
        cp = _codepage_by_known_words(head)
        if cp in EAST_ASIAN:
            proved.add(cp)
    return proved.pop() if len(proved) == 1 else None


def _codepage_by_known_words(data: bytes, path: Path | None = None) -> str | None:
    """The code page with the best :func:`codepage_scores`; None when the scores do not tell them apart.

    A file (``path``) whose headers no profile knows in any decoding (no positive score) is read in the East Asian
    code page the export's other files proved (:func:`export_codepage`), when it decodes so into CJK text: a Big5
    accounts.csv with headers the profile lacks had been read as Western mojibake, silently.

    Western and Central European decodings often score alike (their shared letters «í», «é», or no
    known word beyond the ASCII ones): a tie of the two, both better than Cyrillic, is read as
    Windows-1252; a tie that includes Cyrillic is left to the letter count below.
    """
    words = codepage_scores(data, shortest=2)  # a lone «é» / «à» is what East Asian bytes read as Western ones often make
    east = max(EAST_ASIAN, key=lambda cp: words.get(cp, -1))
    if words.get(east, 0) > max((words.get(cp, 0) for cp in CODE_PAGES), default=0):
        return east  # a profile's Chinese / Japanese / Korean headers, where a Western decoding has mojibake
    all_scores = codepage_scores(data)
    if path is not None and not any(v > 0 for v in all_scores.values()):
        hint = export_codepage(path)
        if hint is not None and _east_asian_text(data, hint):
            return hint  # headers no profile knows, in the code page the export's other files proved (acceptance Z-J)
    scores = {cp: v for cp, v in all_scores.items() if cp in CODE_PAGES}
    if len(set(scores.values())) < 2 and not any(v > 0 for v in scores.values()):
        return None
    best = max(scores.values())
    tied = [cp for cp in CODE_PAGES if scores.get(cp) == best]
    if len(tied) == 1:
        return tied[0]
    if "cp1251" in tied:
        return None
    return "cp1252" if "cp1252" in tied else tied[0]


def detect_encoding(path: Path, data: bytes) -> str:
    """The text encoding of an export file (UTF-8 [BOM], UTF-16, cp1251, ...)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    u16 = _looks_utf16(data)
    if u16:
        return u16
    if b"\x00" in data:
        raise file_problem(path, _("the file is not text (it contains binary data); export it again as CSV or XLSX"), "encoding")
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    if non_ascii > 20 and bad <= 0.02 * non_ascii:
        line = data[:bad_at].count(b"\n") + 1
        raise file_problem(
            path,
            _("the file is UTF-8 but has {n} broken byte(s) (first at line {line}); it was damaged after the export — export it "
              "again").format(n=bad, line=line),
            "encoding", line=line,
        )
    # a Windows code page: the one whose decoding makes the headers words a CRM profile knows
    # (a Portuguese export re-saved by Western Excel is cp1252: «Negócio», never cp1251's «Negуcio»)
    by_headers = _codepage_by_known_words(data, path)
    if by_headers:
        return by_headers
    # Russian Excel / Bitrix24: Windows-1251 (its letters are bytes C0..FF)
    try:
        cyr = data.decode("cp1251")
        letters = sum(1 for ch in cyr if "\u0400" <= ch <= "\u04ff")
        high = sum(1 for b in data if b >= 0x80)
        if high and letters >= 0.7 * high:
            return "cp1251"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise file_problem(path, _("the file is not text (unknown encoding); export it again as CSV or XLSX"), "encoding")
    return best.encoding


def decode_text(path: Path, data: bytes, enc: str) -> str:
    """``data`` decoded as ``enc``, without a BOM; an :class:`InputError` naming the file when it is not text."""
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise file_problem(path, _("cannot decode the file as {encoding}: {why}").format(encoding=enc, why=exc), "encoding") from None
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise file_problem(path, _("the file is not text (it contains NUL characters); export it again as CSV or XLSX"), "encoding")
    return text


@dataclass(frozen=True)
class Utf8Scan:
    """One streaming pass over a large file."""

    #: the decoded head (BOM removed); None when the file holds a NUL byte,
    #: starts with a UTF-16 BOM or is not UTF-8
    head: str | None
    fingerprint: str  # see :func:`fingerprint_of`


def scan_utf8(path: Path, whole: bool = True) -> Utf8Scan:
    """Read a large file once: its decoded head, and its fingerprint.

    With ``whole=False`` only the head is decoded: the parallel CSV reader has
    DuckDB check the rest while reading it.
    """
    h = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    head: str | None = None
    with open(path, "rb") as fh:
        first = fh.read(HEAD_BYTES)
        h.update(first)
        nul = b"\x00" in first
        try:
            head = decoder.decode(first)
        except UnicodeDecodeError:
            pass
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            nul = nul or b"\x00" in chunk
            if whole and head is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    head = None
        if whole and head is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                head = None
    digest = h.hexdigest()[:16]
    if head is None or nul or first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Utf8Scan(None, digest)
    return Utf8Scan(head.lstrip("\ufeff"), digest)


def utf8_head(path: Path) -> str | None:
    """The decoded head of a large file (BOM removed), as :func:`scan_utf8` gives it, without reading the rest;
    None when the head holds a NUL byte, starts with a UTF-16 BOM or is not UTF-8."""
    with open(path, "rb") as fh:
        first = fh.read(HEAD_BYTES)
    if b"\x00" in first or first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(first).lstrip("\ufeff")
    except UnicodeDecodeError:
        return None


class FileDigest(InThread[tuple[str, bool]]):
    """A file's fingerprint (:func:`fingerprint_of`) and whether it holds a NUL byte, computed in a second thread;
    :meth:`result` gives them or raises what reading the file raised.

    hashlib releases the GIL while it hashes: the fingerprint of a large export is taken while DuckDB reads the
    same file (issue 17: one pass of its own took ~1 s of a 1M-deal load)."""

    def __init__(self, path: Path):
        super().__init__(_digest, path, name="crm-audit-digest")


def _digest(path: Path) -> tuple[str, bool]:
    h, nul = hashlib.sha256(), False
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            nul = nul or b"\x00" in chunk
    return h.hexdigest()[:16], nul


def fingerprint_of(data: bytes) -> str:
    """A file's fingerprint from its bytes: the first 16 hex digits of their sha256."""
    return hashlib.sha256(data).hexdigest()[:16]


def file_fingerprint(path: Path) -> str:
    """:func:`fingerprint_of` a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]
