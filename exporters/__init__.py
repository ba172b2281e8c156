"""Writers of an :class:`crm_audit.report.AuditReport`.

* :mod:`exporters.xlsx` -- the workbook managers work in (FAQ, one sheet per
  rule, «Учет попаданий»);
* :mod:`exporters.csv` -- every violation, one row per (rule, deal);
* :mod:`exporters.gsheet` -- the same sheets published to Google Sheets;
* :mod:`exporters.safe` -- Excel's cell limit and atomic file replacement
  shared by all writers (the format-neutral cell helpers and the capping of
  rule sheets too large for a spreadsheet live in the document layer,
  :mod:`crm_audit.documents.cells` and :mod:`crm_audit.documents.limits`).

The workbook and the Google Sheet render the same document model
(:mod:`crm_audit.documents.model`, built by :mod:`crm_audit.documents.build`).

Writers only read the report; they never change it.
"""
