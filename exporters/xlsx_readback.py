"""Read managers' statuses, comments and decisions back from an audit workbook.

Works on the workbook as Excel or LibreOffice saved it: rows sorted, filtered
or deleted, ids turned into numbers (``123.0``), text moved to shared
strings, empty cells absent. Rows are matched by the «ID правила» and
«ID сделки» columns (found by header, not position); when the rule id column
was deleted, the sheet title's code identifies the rule.

Cells are read with python-calamine (fast enough for a workbook of a million
rows). Calamine returns a formula's cached value, where the read-back has
always kept the formula as written; a sheet with formula or error cells (the
product never writes one: only a hand edit or another program adds them) is
read with openpyxl, and so is a file calamine cannot open.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from crm_audit.documents.edits import EditedRow
from crm_audit.documents.sheet_rows import parse_rule_sheet
from crm_audit.gcutil import gc_paused
from crm_audit.errors import InputError, Problem


class WorkbookReader:
    """:class:`~crm_audit.documents.edits.EditsReader` for an .xlsx audit document.

    ``written``: what the ledger recorded about the file when the run wrote it
    (:class:`~crm_audit.documents.written.WrittenDocument`): a rule sheet whose
    part is byte for byte as written — and the parts every cell depends on
    too — is read from it instead of parsed (the same rows; see
    :mod:`crm_audit.documents.written`). Anything else is parsed.
    """

    def __init__(self, path: str | Path, rule_ids_by_code: dict[str, str] | None = None, written=None):
        self.path = Path(path)
        self.rule_ids_by_code = rule_ids_by_code or {}
        self.written = written
        self.unchanged: list[str] = []  # titles of the sheets read as written (not parsed) by the last read

    def read_edits(self) -> list[EditedRow]:
        self.unchanged = []
        # the sheets' cells and the rows made of them hold no cycles: the collector would only re-scan them (half
        # the time of turning a parsed sheet into rows, more the larger the workbook)
        with gc_paused():
            out = self._read_calamine()
        return out if out is not None else self._read_openpyxl()

    # ------------------------------------------------------------------ sheets as written (not parsed)
    def _as_written(self) -> dict[str, object]:
        """Title -> a function giving the rows of each rule sheet whose part is exactly as the run wrote it."""
        w = self.written
        if w is None or not w.sheets:
            return {}
        from crm_audit.documents.written import rows_as_written
        from exporters.xlsx_package import is_shared, package_parts

        def same_size(name: str, crc: int, size: int) -> bool:
            d = w.parts.get(name)
            return d is not None and d.crc == crc and d.size == size

        now = package_parts(self.path, digest_of=same_size)
        if now is None:
            return {}
        sheet_parts = {part for _, part in now.worksheets}
        if now.shared() != {n: d for n, d in w.parts.items() if is_shared(n, sheet_parts)}:
            return {}  # saved by Excel or LibreOffice (every part rewritten), or a part every cell depends on changed
        same = {title: w.sheets[part] for title, part in now.worksheets
                if part in w.sheets and w.sheets[part].title == title and now.parts.get(part) == w.parts[part]}
        if not same:
            return {}
        shown = w.shown()
        if shown is None:
            return {}
        import pyarrow.compute as pc

        out = {}
        for title, sheet in same.items():
            mine = shown.filter(pc.equal(shown.column("rule_id"), sheet.rule_id))
            if mine.num_rows != sheet.rows:
                continue
            # Arrow until the sheet's turn: Python values of one sheet at a time
            out[title] = (lambda sheet=sheet, mine=mine: rows_as_written(
                sheet, *(mine.column(c).to_pylist() for c in ("deal_id", "owner", "status", "comment"))))
        return out

    # ------------------------------------------------------------------ calamine (the usual path)
    def _read_calamine(self) -> list[EditedRow] | None:
        """The edits, or None when calamine cannot read the file (openpyxl decides then).

        Calamine parses the next worksheet's XML in a worker thread (it releases the GIL) while this thread scans
        for formulas and turns the previous sheet into rows, so the read-back keeps both cores busy; the rows are
        the ones a sheet-by-sheet read gives (a sheet with formulas is read by openpyxl, its parse unused). A sheet
        as written (:meth:`_as_written`) is neither parsed nor scanned.
        """
        from concurrent.futures import ThreadPoolExecutor

        from python_calamine import CalamineWorkbook, SheetTypeEnum

        try:
            wb = CalamineWorkbook.from_path(str(self.path))
        except Exception:  # calamine raises its own error types; openpyxl reports the problem
            return None
        pool = ThreadPoolExecutor(1, thread_name_prefix="calamine")
        try:
            names = [meta.name for meta in wb.sheets_metadata if meta.typ == SheetTypeEnum.WorkSheet]
            # openpyxl's worksheets do not include chart sheets either
            as_written = self._as_written()
            todo = [name for name in names if name not in as_written]
            parsed = {name: pool.submit(wb.get_sheet_by_name, name) for name in todo[:1]}
            with_formulas = _sheets_with_formulas(self.path, skip=set(as_written))
            if with_formulas is None:
                return None
            out: list[EditedRow] = []
            owb = None
            try:
                for name in names:
                    if name in as_written:
                        out.extend(as_written.pop(name)())
                        self.unchanged.append(name)
                        continue
                    i = todo.index(name)
                    if i + 1 < len(todo):  # one sheet ahead: at most two parsed sheets are held
                        parsed[todo[i + 1]] = pool.submit(wb.get_sheet_by_name, todo[i + 1])
                    sheet = parsed.pop(name)
                    if name in with_formulas:
                        if owb is None:
                            owb = self._open_openpyxl()
                        ws = owb[name]
                        out.extend(self._sheet(ws.title, ws.iter_rows(values_only=True), _value))
                        continue
                    try:
                        # rows one at a time (a sheet of 130,000 rows as one list held ~180 MB more): iter_rows starts
                        # at the first non-empty cell, to_python(skip_empty_area=False) at A1 — the same rows when
                        # the sheet's cells start at A1, as a rule sheet's header does
                        cells = sheet.result()
                        rows = cells.iter_rows() if cells.start == (0, 0) else iter(cells.to_python(skip_empty_area=False))
                        del sheet
                        out.extend(self._sheet(name, rows, _calamine_value))
                    except Exception:  # calamine's own error types (a cell it cannot convert): openpyxl decides
                        return None
                    del rows, cells
            finally:
                if owb is not None:
                    owb.close()
            return out
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            wb.close()

    # ------------------------------------------------------------------ openpyxl (the fallback)
    def _open_openpyxl(self):
        import zipfile

        import openpyxl

        try:
            return openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise InputError(
                problems=[Problem(f"cannot read the previous audit document ({exc}); nothing was overwritten — "
                                  "restore the file or move it away to start without carrying statuses over",
                                  file=str(self.path), reason="document-unreadable")]
            ) from None

    def _read_openpyxl(self) -> list[EditedRow]:
        wb = self._open_openpyxl()
        out: list[EditedRow] = []
        try:
            for ws in wb.worksheets:
                out.extend(self._sheet(ws.title, ws.iter_rows(values_only=True), _value))
        finally:
            wb.close()
        return out

    # ------------------------------------------------------------------ one sheet
    def _sheet(self, title: str, rows, value) -> list[EditedRow]:
        """A rule sheet's rows; ``value`` turns a cell as the reader returned it into what openpyxl returns."""
        return parse_rule_sheet(title, rows, self.rule_ids_by_code, value=value)


def _value(v):
    """openpyxl's cell value, as is."""
    return v


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")


def _calamine_value(v):
    """A calamine cell value as openpyxl (read-only, formulas as written) returns it.

    Calamine gives "" for an empty cell (openpyxl: None), every number as a
    float (openpyxl: an int when written without a decimal point — the same
    text either way), a date at midnight as ``date`` (openpyxl: ``datetime``),
    and decodes Excel's ``_x000D_`` escapes of control characters, which
    openpyxl keeps as written.
    """
    t = v.__class__
    if t is str:
        if not v:
            return None
        if not v.isprintable() and _CONTROL.search(v):
            return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", v)
        return v
    if t is float:
        return int(v) if v.is_integer() else v
    if t is dt.date:
        return dt.datetime(v.year, v.month, v.day)
    return v


# a formula (<f>, maybe namespace-prefixed) or an error cell (t="e") in a worksheet's XML; separate
# patterns with a literal prefix each, which re finds fast (an alternation is ten times slower)
_FORMULA_OR_ERROR = (re.compile(rb"<f[\s>/]"), re.compile(rb":f[\s>/]"), re.compile(rb"""t=["']e["']"""))


def _sheets_with_formulas(path: Path, skip: set[str] = frozenset()) -> set[str] | None:
    """Names of the worksheets with a formula or an error cell; None when the package cannot be read.

    A streaming scan of each worksheet's XML (no parsing): a few seconds for a
    workbook of a million rows. ``skip``: sheets not to scan (as the run wrote
    them: it never writes a formula).
    """
    import zipfile

    from exporters.xlsx_package import worksheets_of

    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            out = set()
            for title, part in worksheets_of(z):
                if title in skip:
                    continue
                if part not in names:
                    out.add(title)  # cannot tell: openpyxl reads it (and reports what is wrong)
                elif _has_formula_or_error(z, part):
                    out.add(title)
            return out
    except Exception:
        return None


def _has_formula_or_error(z, part: str) -> bool:
    with z.open(part) as f:
        tail = b""
        while True:
            chunk = f.read(1 << 22)
            if not chunk:
                return False
            buf = tail + chunk
            if any(p.search(buf) for p in _FORMULA_OR_ERROR):
                return True
            tail = buf[-32:]
