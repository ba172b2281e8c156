"""What goes into an audit cycle and what comes out of it (typed; the CLI only formats them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_audit.cycle.outputs import Written
from crm_audit.history.pull import PullResult
from crm_audit.report import AuditReport


@dataclass
class AuditRequest:
    """One audit run. Paths may be relative (to the current folder); settings defaults fill what is not given."""

    config: str | Path  # the settings file (crm-audit.yaml)
    export: str | Path  # export folder or a single deals file
    as_of: dt.date | None = None  # default: today
    out: str | Path | None = None  # the workbook (.xlsx)
    violations_csv: str | Path | None = None
    rule_ids: tuple[str, ...] = ()  # a partial run: changes no document and no ledger row
    ledger: str | Path | None = None  # default: crm-audit.db next to the settings
    gsheet: str | None = None  # Google Sheet URL or key
    credentials: str | Path | None = None  # service-account key file
    dry_run: bool = False  # writes nothing, anywhere
    previous: str | None = None  # where the previous audit's document is now (moved / renamed)
    no_previous: bool = False  # start without the previous audit's document, knowingly
    progress: Callable[[str], None] | None = None
    # a CRM read through its API instead of `export` (crm_audit.sources.SyncedSource: a sync's snapshot); the ledger
    # records which sync the audit read
    source: Any = None
    csv_excel: bool = False  # the violations CSV for Russian-locale Excel: UTF-8 BOM, «;» between fields
    # an engine URL: audit the CRM's tables where a connector replicated them (crm_audit/warehouse); "" with
    # `engine: url:` in the settings and no export given
    engine: str | None = None
    # test hooks: a gspread client and a retry policy for the Google Sheet
    gsheet_client: Any = None
    gsheet_retry: Any = None


@dataclass
class ReadBack:
    """One document read back before anything was written."""

    location: str
    kind: str  # xlsx | gsheet
    role: str  # previous | copy | out | gsheet | unfinished
    audit_as_of: str | None  # the audit whose document it is (None: not known to the ledger)
    result: PullResult

    @property
    def name(self) -> str:
        """The file as the analyst knows it: relative to the current folder when inside it, else the full path (also
        from the root folder, where a relative path would only lose its leading «/»)."""
        if self.kind != "xlsx":
            return self.location
        import os

        cwd = os.path.abspath(os.curdir)
        if os.path.dirname(cwd) == cwd:  # the root folder (/, C:\\)
            return self.location
        rel = os.path.relpath(self.location, cwd)
        return rel if not rel.startswith("..") else self.location


@dataclass
class Notice:
    """Something the analyst should know about this run (not a data problem)."""

    code: str  # replaced-audit | previous-moved | no-previous | copy-missing | unfinished-write | temp-removed | late-edits | as-of-far
    message: str


@dataclass
class CycleResult:
    report: AuditReport
    read_back: list[ReadBack] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    replaced: dt.date | None = None  # the as-of of the audit this run replaced (a re-run)
    publish: Any = None  # the Google Sheet publish result, when there was one
    recorded: bool = False  # the audit is in the ledger
    dry_run: bool = False
    partial: bool = False
