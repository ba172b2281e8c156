"""What the Google Sheet holds: an :class:`~crm_audit.report.AuditReport` as sheets and Sheets requests.

The Google Sheet has exactly the workbook's layout (:mod:`exporters.xlsx`):
the same sheets in the same order (FAQ, one sheet per rule, «Учет попаданий»),
the same columns and the same values. To guarantee that, the sheets are built
by the workbook writer's own sheet functions on an in-memory openpyxl
workbook, and the rule sheets' data rows are taken from the very cells the
workbook writer serializes (:meth:`exporters.xlsx._RawRows.chunks`).

Values are plain (``None`` = empty, dates are serial numbers, days since
1899-12-30 as in the workbook) and are written ``RAW`` by
:mod:`exporters.gsheet.publish`: a text starting with ``= + - @`` stays a
text. Deal links are link formatting on the cell
(``userEnteredFormat.textFormat.link``), never a ``=HYPERLINK`` formula.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import column_index_from_string, get_column_letter

from crm_audit.documents.edits import (
    DECISIONS,
    HEADER_COMMENT,
    HEADER_DECISION,
    HEADER_DECISION_NOTE,
    HEADER_DEAL_ID,
    HEADER_RULE_ID,
    HEADER_STATUS,
)
from crm_audit.errors import OutputError
from crm_audit.report import STATUS_FIXED, STATUS_NOT_FIXED, STATUSES, AuditReport
from exporters.limits import capped, row_cap_for_cells

#: Google's limits.
MAX_CELLS = 10_000_000
MAX_CELL_CHARS = 50_000
MAX_TITLE_CHARS = 100
#: Split a request whose JSON body would be larger than this.
MAX_BODY_BYTES = 2_000_000

#: Columns managers and the head of sales write in (not protected).
EDITABLE_HEADERS = (HEADER_STATUS, HEADER_COMMENT, HEADER_DECISION, HEADER_DECISION_NOTE)
#: Description of the protected ranges this tool owns (others are left alone).
PROTECTION_TAG = "crm-audit"
DATE_PATTERN = "dd.mm.yyyy"

#: A hidden sheet holding the managers' values while a publish that takes several requests writes
#: (read back where the rule sheets lack a row: nothing is lost if the publish is killed half-way).
JOURNAL_TITLE = "crm-audit: правки (служебный)"
JOURNAL_HEADER = (HEADER_RULE_ID, HEADER_DEAL_ID, HEADER_STATUS, HEADER_COMMENT, HEADER_DECISION, HEADER_DECISION_NOTE)

_NOT_FIXED_FILL, _NOT_FIXED_FONT, _FIXED_FILL = "FFC7CE", "9C0006", "E2EFDA"
_STATUS_PROMPT = "«Не исправлено» — только с комментарием в столбце «Комментарий»."
_DECISION_PROMPT = "Решение руководителя: «Принято» (строка больше не появится) или «Предупреждение»."


@dataclass
class _Sheet:
    title: str
    kind: str  # "faq" | "rule" | "hits"
    rows: list[list[Any]]  # None = empty; dates are serial numbers
    formats: dict[tuple[int, int], dict] = field(default_factory=dict)  # CellFormat from openpyxl styles
    links: dict[tuple[int, int], Any] = field(default_factory=dict)  # uri or ("sheet", title)
    date_cols: set[int] = field(default_factory=set)
    text_cols: set[int] = field(default_factory=set)
    widths: dict[int, float] = field(default_factory=dict)  # column -> width in characters
    frozen_rows: int = 0
    frozen_cols: int = 0
    filter_ref: tuple[int, int] | None = None  # (rows, cols) of the filtered table
    data_rows: int = 0
    extent: int = 0  # rows (header included) the drop-downs and highlighting cover
    charts: list[dict] = field(default_factory=list)  # {"title", "anchor": (r, c), "domain": ref, "series": [(ref, label)]}

    @property
    def header(self) -> list[str]:
        return [("" if v is None else str(v)) for v in (self.rows[0] if self.rows else [])]

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def _rgb(color: Any) -> str | None:
    rgb = getattr(color, "rgb", None)
    if isinstance(rgb, str) and re.fullmatch(r"[0-9A-Fa-f]{6,8}", rgb):
        return rgb[-6:].upper()
    return None


def _color(hex6: str) -> dict:
    return {
        "rgbColor": {
            "red": int(hex6[0:2], 16) / 255,
            "green": int(hex6[2:4], 16) / 255,
            "blue": int(hex6[4:6], 16) / 255,
        }
    }


def _cell_format(cell: Any) -> dict:
    """The Sheets CellFormat of an openpyxl cell's style (what matters to a reader)."""
    fmt: dict[str, Any] = {}
    font = cell.font
    text: dict[str, Any] = {}
    if font is not None:
        if font.b:
            text["bold"] = True
        if font.i:
            text["italic"] = True
        if font.sz and float(font.sz) != 11:
            text["fontSize"] = int(round(float(font.sz)))
        rgb = _rgb(font.color)
        if rgb and rgb != "000000":
            text["foregroundColorStyle"] = _color(rgb)
    if text:
        fmt["textFormat"] = text
    fill = cell.fill
    if fill is not None and fill.fill_type == "solid":
        rgb = _rgb(fill.fgColor)
        if rgb:
            fmt["backgroundColorStyle"] = _color(rgb)
    al = cell.alignment
    if al is not None:
        if al.wrap_text:
            fmt["wrapStrategy"] = "WRAP"
        if al.vertical in ("top", "center", "bottom"):
            fmt["verticalAlignment"] = {"top": "TOP", "center": "MIDDLE", "bottom": "BOTTOM"}[al.vertical]
    return fmt


def _sheet_from_ws(ws: Any, kind: str) -> _Sheet:
    from exporters.xlsx import _plain

    rows: list[list[Any]] = []
    formats: dict[tuple[int, int], dict] = {}
    links: dict[tuple[int, int], Any] = {}
    for r, row in enumerate(ws.iter_rows(), 0):
        values: list[Any] = []
        for c, cell in enumerate(row):
            value = _plain(cell.value)
            if isinstance(value, bool):
                value = "Да" if value else "Нет"
            values.append(value)
            fmt = _cell_format(cell)
            if fmt:
                formats[(r, c)] = fmt
            link = cell.hyperlink
            if link is not None:
                if link.location:
                    target = link.location.rsplit("!", 1)[0]
                    if target.startswith("'") and target.endswith("'"):
                        target = target[1:-1].replace("''", "'")
                    links[(r, c)] = ("sheet", target)
                elif link.target:
                    links[(r, c)] = link.target
        rows.append(values)
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    sheet = _Sheet(ws.title, kind, rows, formats, links)
    for letter, dim in ws.column_dimensions.items():
        col = column_index_from_string(letter) - 1
        if dim.width:
            sheet.widths[col] = float(dim.width)
        if dim.number_format == "@":
            sheet.text_cols.add(col)
    if ws.freeze_panes:
        col_letters = re.match(r"([A-Z]+)(\d+)", ws.freeze_panes)
        if col_letters:
            sheet.frozen_cols = column_index_from_string(col_letters.group(1)) - 1
            sheet.frozen_rows = int(col_letters.group(2)) - 1
    for chart in getattr(ws, "_charts", []):
        spec = _chart_of(chart)
        if spec:
            sheet.charts.append(spec)
    ref = ws.auto_filter.ref
    if ref:
        m = re.fullmatch(r"[A-Z]+\d+:([A-Z]+)(\d+)", ref)
        if m:
            sheet.filter_ref = (int(m.group(2)), column_index_from_string(m.group(1)))
    return sheet


def _ref(formula: str | None) -> tuple[str, int, int, int, int] | None:
    """('Sheet', r0, r1, c0, c1) of an openpyxl reference like ``'Учет'!$B$2:$D$2``."""
    if not formula or "!" not in formula:
        return None
    title, ref = formula.rsplit("!", 1)
    if title.startswith("'") and title.endswith("'"):
        title = title[1:-1].replace("''", "'")
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?", ref)
    if not m:
        return None
    c0, r0 = column_index_from_string(m.group(1)) - 1, int(m.group(2)) - 1
    c1 = column_index_from_string(m.group(3) or m.group(1))
    r1 = int(m.group(4) or m.group(2))
    return title, r0, r1, c0, c1


def _chart_of(chart: Any) -> dict | None:
    """A line/bar chart of the workbook as series references (translated to a Sheets chart)."""
    kind = {"LineChart": "LINE", "BarChart": "COLUMN"}.get(type(chart).__name__)
    if kind is None or not chart.series:
        return None
    series = []
    domain = None
    for s in chart.series:
        val = _ref(s.val.numRef.f if s.val is not None and s.val.numRef is not None else None)
        if val is None:
            continue
        label = s.tx.strRef.f if s.tx is not None and s.tx.strRef is not None else None
        series.append((val, _ref(label)))
        if domain is None and s.cat is not None:
            ref = s.cat.numRef or s.cat.strRef
            domain = _ref(ref.f if ref is not None else None)
    if not series:
        return None
    try:
        title = "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))
    except AttributeError:
        title = ""
    anchor = chart.anchor if isinstance(chart.anchor, str) else "A1"
    m = re.fullmatch(r"([A-Z]+)(\d+)", anchor) or re.fullmatch(r"(A)(1)", "A1")
    return {
        "kind": kind,
        "title": title,
        "anchor": (int(m.group(2)) - 1, column_index_from_string(m.group(1)) - 1),
        "domain": domain,
        "series": series,
        "x_title": _axis_title(chart.x_axis),
        "y_title": _axis_title(chart.y_axis),
    }


def _axis_title(axis: Any) -> str:
    try:
        return "".join(run.t for p in axis.title.tx.rich.p for run in (p.r or []))
    except AttributeError:
        return ""


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


#: One cell as exporters.xlsx._RawRows writes it: an inline string or a value.
_CELL_RE = re.compile(
    r'<c r="([A-Z]+)([0-9]+)"(?: s="([0-9]+)")?'
    r'(?: t="inlineStr"><is><t(?: xml:space="preserve")?>(.*?)</t></is>|><v>([^<]*)</v>)</c>',
    re.S,
)


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _add_raw_rows(sheet: _Sheet, raw: Any) -> None:
    """Append the data rows the workbook writer serializes for a rule sheet.

    The rows are read back from the writer's own SpreadsheetML (so the Sheet
    holds exactly what the workbook holds) with one regular expression over
    the fixed shapes the writer emits — an XML parser took 30 s at 200k rows.
    """
    date_sid = str(raw._ids["date"][0])
    rows = sheet.rows
    columns: dict[str, int] = {}
    for chunk in raw.chunks():
        for letters, row_no, sid, text, number in _CELL_RE.findall(chunk):
            r = int(row_no) - 1
            while len(rows) <= r:
                rows.append([])
            c = columns.get(letters)
            if c is None:
                c = columns[letters] = column_index_from_string(letters) - 1
            if number:
                value: Any = _number(number)
                if sid == date_sid:
                    sheet.date_cols.add(c)
            else:
                value = _unescape(text)
            values = rows[r]
            while len(values) <= c:
                values.append(None)
            values[c] = value
    for ref, url in raw.links:  # filled while the rows were serialized
        letters = ref.rstrip("0123456789")
        sheet.links[(int(ref[len(letters):]) - 1, column_index_from_string(letters) - 1)] = url


def _build_sheets(report: AuditReport, deal_id_header: str | None = None) -> list[_Sheet]:
    """The workbook's sheets, in order, as values + formats."""
    from exporters import xlsx as X

    wb = Workbook()
    wb.remove(wb.active)
    titles = X._sheet_titles(report.results)
    faq = wb.create_sheet(X.FAQ_TITLE)
    styles = X._Styles(faq)
    X._write_faq(faq, report, titles, styles)
    cap = _row_cap(report)
    raws = [
        X._write_rule_sheet(wb.create_sheet(title), capped(result, cap, "не помещается в таблицу Google (не больше 10 млн ячеек)"),
                            report, styles, deal_id_header)
        for result, title in zip(report.results, titles)
    ]
    hits = wb.create_sheet(X.HITS_TITLE)
    X._write_hits(hits, report, styles)
    for raw in raws:
        raw.register_styles()

    sheets = [_sheet_from_ws(faq, "faq")]
    for raw in raws:
        sheet = _sheet_from_ws(raw.ws, "rule")
        _add_raw_rows(sheet, raw)
        sheet.data_rows = raw.n
        sheet.extent = raw.n + 1 + X.EXTRA_ROWS
        sheets.append(sheet)
    sheets.append(_sheet_from_ws(hits, "hits"))
    return sheets


# --------------------------------------------------------------------------
# limits

#: cells kept free for the FAQ, «Учет попаданий» and sheets of the team's own
_RESERVED_CELLS = 250_000


def _row_cap(report: AuditReport) -> int | None:
    """Rows per rule sheet that keep the spreadsheet under Google's cell limit (None: no cap needed)."""
    from exporters import xlsx as X

    def cols(result) -> int:
        return len(X.rule_sheet_headers(result)) + 2  # + the note column and its gap

    fixed = sum((1 + X.EXTRA_ROWS) * cols(r) for r in report.results)
    return row_cap_for_cells(report.results, cols, max(0, MAX_CELLS - _RESERVED_CELLS - fixed))


def _check_limits(sheets: Sequence[_Sheet], spreadsheet_id: str) -> None:
    seen: dict[str, str] = {}
    for sheet in sheets:
        title = sheet.title
        if not title.strip():
            raise OutputError(f"Google Sheets {spreadsheet_id}: a sheet title is empty.")
        if len(title) > MAX_TITLE_CHARS:
            raise OutputError(
                f"Google Sheets {spreadsheet_id}: the sheet title «{title[:40]}…» is longer than "
                f"{MAX_TITLE_CHARS} characters."
            )
        if any(ord(ch) < 32 for ch in title):
            raise OutputError(f"Google Sheets {spreadsheet_id}: the sheet title {title!r} has control characters.")
        key = title.casefold()
        if key in seen:
            raise OutputError(
                f"Google Sheets {spreadsheet_id}: two sheets would be titled «{title}» (titles must differ, case aside)."
            )
        seen[key] = title
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise OutputError(
                        f"Google Sheets {spreadsheet_id}: cell {get_column_letter(c + 1)}{r + 1} of sheet «{title}» has "
                        f"{len(value)} characters; Google Sheets allows at most {MAX_CELL_CHARS} per cell."
                    )


# --------------------------------------------------------------------------
# what is in the spreadsheet now


def _quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _grid(sheet_id: int, r0: int | None = None, r1: int | None = None, c0: int | None = None, c1: int | None = None) -> dict:
    g: dict[str, Any] = {"sheetId": sheet_id}
    if r0 is not None:
        g["startRowIndex"] = r0
    if r1 is not None:
        g["endRowIndex"] = r1
    if c0 is not None:
        g["startColumnIndex"] = c0
    if c1 is not None:
        g["endColumnIndex"] = c1
    return g


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _col_of(header: list[str], name: str) -> int | None:
    return header.index(name) if name in header else None


def _format_requests(sheet: _Sheet, sheet_id: int, ids: dict[str, int], grid_rows: int) -> list[dict]:
    reqs: list[dict] = []
    # column widths (pixels ~ 7 per character + padding), runs of equal widths together
    cols = sorted(sheet.widths)
    i = 0
    while i < len(cols):
        j = i
        px = int(round(sheet.widths[cols[i]] * 7 + 5))
        while j + 1 < len(cols) and cols[j + 1] == cols[j] + 1 and int(round(sheet.widths[cols[j + 1]] * 7 + 5)) == px:
            j += 1
        reqs.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": cols[i], "endIndex": cols[j] + 1},
                    "properties": {"pixelSize": px},
                    "fields": "pixelSize",
                }
            }
        )
        i = j + 1
    data_end = max(sheet.extent, len(sheet.rows))
    data_end = min(data_end, grid_rows)
    for c in sorted(sheet.text_cols):
        reqs.append(
            {
                "repeatCell": {
                    "range": _grid(sheet_id, 1, data_end, c, c + 1),
                    "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}, "wrapStrategy": "WRAP", "verticalAlignment": "TOP"}},
                    "fields": "userEnteredFormat(numberFormat,wrapStrategy,verticalAlignment)",
                }
            }
        )
    for c in sorted(sheet.date_cols):
        reqs.append(
            {
                "repeatCell": {
                    "range": _grid(sheet_id, 1, data_end, c, c + 1),
                    "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": DATE_PATTERN}}},
                    "fields": "userEnteredFormat.numberFormat",
                }
            }
        )
    # formats and in-document links of the cells openpyxl built (FAQ, hit tracking, rule headers)
    if sheet.formats or any(isinstance(v, tuple) for v in sheet.links.values()):
        nrows = max([r for r, _ in sheet.formats] + [r for (r, _), v in sheet.links.items() if isinstance(v, tuple)] + [0]) + 1
        ncols = max([c for _, c in sheet.formats] + [c for (_, c), v in sheet.links.items() if isinstance(v, tuple)] + [0]) + 1
        rows = []
        for r in range(nrows):
            cells = []
            for c in range(ncols):
                fmt = json.loads(json.dumps(sheet.formats.get((r, c), {})))
                link = sheet.links.get((r, c))
                if isinstance(link, tuple):
                    target = ids.get(link[1])
                    if target is not None:
                        fmt.setdefault("textFormat", {})["link"] = {"uri": f"#gid={target}"}
                elif isinstance(link, str) and sheet.kind != "rule":
                    fmt.setdefault("textFormat", {})["link"] = {"uri": link}
                cells.append({"userEnteredFormat": fmt} if fmt else {})
            rows.append({"values": cells})
        reqs.append(
            {"updateCells": {"rows": rows, "fields": "userEnteredFormat", "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0}}}
        )
    # deal links on the rule sheets: link formatting, per cell
    if sheet.kind == "rule":
        by_col: dict[int, dict[int, str]] = {}
        for (r, c), link in sheet.links.items():
            if isinstance(link, str) and r > 0:
                by_col.setdefault(c, {})[r] = link
        for c, links in sorted(by_col.items()):
            first, last = min(links), max(links)
            rows = [
                {"values": [{"userEnteredFormat": {"textFormat": {"link": {"uri": links[r]}}}} if r in links else {}]}
                for r in range(first, last + 1)
            ]
            for start, part in _split_rows(rows):
                reqs.append(
                    {
                        "updateCells": {
                            "rows": part,
                            "fields": "userEnteredFormat.textFormat.link",
                            "start": {"sheetId": sheet_id, "rowIndex": first + start, "columnIndex": c},
                        }
                    }
                )
    if sheet.filter_ref is not None:
        f_rows, f_cols = sheet.filter_ref
        reqs.append({"setBasicFilter": {"filter": {"range": _grid(sheet_id, 0, f_rows, 0, f_cols)}}})
    for chart in sheet.charts:
        reqs.append(_chart_request(chart, ids, sheet_id))
    if sheet.kind == "rule":
        reqs.extend(_rule_sheet_requests(sheet, sheet_id, grid_rows))
    else:
        reqs.append(
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": _grid(sheet_id),
                        "description": f"{PROTECTION_TAG}: лист заполняет аудит",
                        "warningOnly": True,
                    }
                }
            }
        )
    return reqs


def _chart_request(chart: dict, ids: dict[str, int], sheet_id: int) -> dict:
    def grid(ref: tuple[str, int, int, int, int]) -> dict:
        title, r0, r1, c0, c1 = ref
        return _grid(ids[title], r0, r1, c0, c1)

    spec: dict[str, Any] = {
        "chartType": chart["kind"],
        "legendPosition": "RIGHT_LEGEND",
        "headerCount": 0,
        "axis": [
            {"position": "BOTTOM_AXIS", "title": chart["x_title"]},
            {"position": "LEFT_AXIS", "title": chart["y_title"]},
        ],
        "series": [],
    }
    # row-oriented series whose label is the cell left of the values (openpyxl's titles_from_data):
    # take that column into every range and let Sheets read it as the header
    labelled = all(
        label is not None and label[0] == values[0] and label[3] == values[3] - 1 and values[2] - values[1] == 1
        for values, label in chart["series"]
    ) and (chart["domain"] is None or (chart["domain"][2] - chart["domain"][1] == 1 and chart["domain"][3] >= 1))

    def widen(ref: tuple[str, int, int, int, int]) -> tuple[str, int, int, int, int]:
        return (ref[0], ref[1], ref[2], ref[3] - 1, ref[4]) if labelled else ref

    if chart["domain"] is not None:
        spec["domains"] = [{"domain": {"sourceRange": {"sources": [grid(widen(chart["domain"]))]}}}]
    for values, _label in chart["series"]:
        spec["series"].append({"series": {"sourceRange": {"sources": [grid(widen(values))]}}, "targetAxis": "LEFT_AXIS"})
    if labelled:
        spec["headerCount"] = 1
    row, col = chart["anchor"]
    return {
        "addChart": {
            "chart": {
                "spec": {"title": chart["title"], "basicChart": spec},
                "position": {
                    "overlayPosition": {
                        "anchorCell": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
                        "widthPixels": 830,
                        "heightPixels": 340,
                    }
                },
            }
        }
    }


def _rule_sheet_requests(sheet: _Sheet, sheet_id: int, grid_rows: int) -> list[dict]:
    reqs: list[dict] = []
    header = sheet.header
    end = min(sheet.extent, grid_rows)
    c_status, c_comment = _col_of(header, HEADER_STATUS), _col_of(header, HEADER_COMMENT)
    c_decision = _col_of(header, HEADER_DECISION)
    table_cols = sheet.filter_ref[1] if sheet.filter_ref else len(header)

    def dropdown(c: int, choices: Sequence[str], prompt: str) -> dict:
        return {
            "setDataValidation": {
                "range": _grid(sheet_id, 1, end, c, c + 1),
                "rule": {
                    "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in choices]},
                    "inputMessage": prompt,
                    "strict": True,
                    "showCustomUi": True,
                },
            }
        }

    if c_status is not None:
        reqs.append(dropdown(c_status, STATUSES, _STATUS_PROMPT))
    if c_decision is not None:
        reqs.append(dropdown(c_decision, DECISIONS, _DECISION_PROMPT))
    if c_status is not None:
        s = get_column_letter(c_status + 1)
        rng = [_grid(sheet_id, 1, end, 0, table_cols)]
        rules = []
        if c_comment is not None:
            k = get_column_letter(c_comment + 1)
            rules.append(
                (
                    f'=AND(${s}2="{STATUS_NOT_FIXED}",LEN(TRIM(${k}2))=0)',
                    {"backgroundColorStyle": _color(_NOT_FIXED_FILL), "textFormat": {"foregroundColorStyle": _color(_NOT_FIXED_FONT)}},
                )
            )
        rules.append((f'=${s}2="{STATUS_FIXED}"', {"backgroundColorStyle": _color(_FIXED_FILL)}))
        for i, (formula, fmt) in enumerate(rules):
            reqs.append(
                {
                    "addConditionalFormatRule": {
                        "index": i,
                        "rule": {
                            "ranges": rng,
                            "booleanRule": {
                                "condition": {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": formula}]},
                                "format": fmt,
                            },
                        },
                    }
                }
            )
    # protect every column but the ones managers and the head of sales write in
    editable = {i for i, h in enumerate(header) if h in EDITABLE_HEADERS}
    start = None
    for c in range(table_cols + 1):
        locked = c < table_cols and c not in editable
        if locked and start is None:
            start = c
        elif not locked and start is not None:
            reqs.append(
                {
                    "addProtectedRange": {
                        "protectedRange": {
                            "range": _grid(sheet_id, None, None, start, c),
                            "description": f"{PROTECTION_TAG}: столбцы заполняет аудит (статус и комментарии — можно)",
                            "warningOnly": True,
                        }
                    }
                }
            )
            start = None
    return reqs


def _size(obj: Any) -> int:
    """Bytes of ``obj`` as sent (requests serializes with json.dumps' defaults: ASCII escapes)."""
    return len(json.dumps(obj))


def _split_rows(rows: list[Any]) -> list[tuple[int, list[Any]]]:
    """``rows`` as (offset, part) pieces of at most half the body limit each."""
    budget = max(1000, MAX_BODY_BYTES // 2)
    sizes = [_size(row) + 2 for row in rows]  # each row serialized once
    if sum(sizes) <= budget:
        return [(0, rows)]
    out: list[tuple[int, list[Any]]] = []
    start, size = 0, 0
    for i, n in enumerate(sizes):
        if i > start and size + n > budget:
            out.append((start, rows[start:i]))
            start, size = i, 0
        size += n
    out.append((start, rows[start:]))
    return out
