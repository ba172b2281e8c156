"""Read managers' statuses, comments and decisions back from an audit workbook.

Works on the workbook as Excel or LibreOffice saved it: rows sorted, filtered
or deleted, ids turned into numbers (``123.0``), text moved to shared
strings, empty cells absent. Rows are matched by the «ID правила» and
«ID сделки» columns (found by header, not position); when the rule id column
was deleted, the sheet title's code identifies the rule.
"""

from __future__ import annotations

from pathlib import Path

from .edits import (
    HEADER_COMMENT,
    HEADER_DEAL_ID,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_OWNER,
    HEADER_RULE_ID,
    HEADER_STATUS,
    EditedRow,
)
from .errors import InputError, Problem
from .textnorm import norm


class WorkbookReader:
    """:class:`~crm_audit.edits.EditsReader` for an .xlsx audit document."""

    def __init__(self, path: str | Path, rule_ids_by_code: dict[str, str] | None = None):
        self.path = Path(path)
        self.rule_ids_by_code = rule_ids_by_code or {}

    def read_edits(self) -> list[EditedRow]:
        import zipfile

        import openpyxl

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise InputError(
                problems=[Problem(f"cannot read the previous audit document ({exc}); nothing was overwritten — "
                                  "restore the file or move it away to start without carrying statuses over",
                                  file=str(self.path), reason="document-unreadable")]
            ) from None
        out: list[EditedRow] = []
        try:
            for ws in wb.worksheets:
                out.extend(self._sheet(ws))
        finally:
            wb.close()
        return out

    def _sheet(self, ws) -> list[EditedRow]:
        from openpyxl.utils import get_column_letter

        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            return []
        idx = {norm(h): i for i, h in reversed(list(enumerate(header))) if isinstance(h, str)}
        deal_i = idx.get(norm(HEADER_DEAL_ID))
        status_i = idx.get(norm(HEADER_STATUS))
        if deal_i is None or status_i is None:
            return []  # FAQ, hit tracking, or a sheet a manager added
        rule_i = idx.get(norm(HEADER_RULE_ID))
        code = ws.title.split(" ", 1)[0]
        sheet_rule = self.rule_ids_by_code.get(code)

        def cell(row, key):
            i = idx.get(norm(key))
            if i is None or i >= len(row):
                return None
            return row[i]

        out = []
        for r, row in enumerate(rows, start=2):
            if row is None or deal_i >= len(row) or row[deal_i] in (None, ""):
                continue
            rule_id = row[rule_i] if rule_i is not None and rule_i < len(row) and row[rule_i] else sheet_rule
            if not rule_id:
                continue
            out.append(
                EditedRow.build(
                    rule_id, row[deal_i],
                    status_raw=_text(row[status_i]) if status_i < len(row) else None,
                    comment=_text(cell(row, HEADER_COMMENT)),
                    decision_raw=_text(cell(row, HEADER_DECISION)),
                    decision_note=_text(cell(row, HEADER_DECISION_NOTE)),
                    owner=_text(cell(row, HEADER_OWNER)),
                    sheet=ws.title, row=r, status_cell=f"{get_column_letter(status_i + 1)}{r}",
                )
            )
        return out


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
