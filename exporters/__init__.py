"""Writers of an :class:`crm_audit.report.AuditReport`.

* :mod:`exporters.xlsx` -- the workbook managers work in (FAQ, one sheet per
  rule, «Учет попаданий»);
* :mod:`exporters.csv` -- every violation, one row per (rule, deal);
* :mod:`exporters.safe` -- cell-value safety and atomic file replacement
  shared by all writers.

Writers only read the report; they never change it.
"""
