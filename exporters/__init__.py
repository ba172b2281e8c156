"""Writers of an :class:`crm_audit.report.AuditReport`.

* :mod:`exporters.xlsx` -- the workbook managers work in (FAQ, one sheet per
  rule, «Учет попаданий»);
* :mod:`exporters.csv` -- every violation, one row per (rule, deal);
* :mod:`exporters.gsheet` -- the same sheets published to Google Sheets;
* :mod:`exporters.limits` -- rule sheets too large for a spreadsheet, capped
  with a note (the CSV keeps every row);
* :mod:`exporters.safe` -- cell-value safety and atomic file replacement
  shared by all writers.

Writers only read the report; they never change it.
"""
