"""Rule sheets too large for a spreadsheet: the capping lives in the document layer.

:mod:`crm_audit.documents.limits` caps a rule sheet with a note; its names
are re-exported here for the writers.
"""

from __future__ import annotations

from crm_audit.documents.limits import cap_note, capped, row_cap_for_cells

__all__ = ["cap_note", "capped", "row_cap_for_cells"]
