"""The run's output files: checked together before anything runs, written safely, cleaned after a killed run.

Every file-system failure on output (read-only, permission, disk full, name
too long, missing folder) becomes an :class:`~crm_audit.errors.OutputError`
naming the target with what to do; the writers write to a temporary file next
to the target and rename it into place, so the previous output stays intact.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path

from crm_audit.errors import OutputError, UsageError
from crm_audit.i18n import N_, _

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class Written:
    """One output the run wrote."""

    kind: str  # workbook | violations CSV | Google Sheet
    location: str


def check_output_paths(out: Path | None, violations_csv: Path | None, ledger: Path | None) -> None:
    """The outputs as a whole: the right kinds of file, and no two of them (or the ledger) the same file."""
    if out is not None and out.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise UsageError(_("--out {path}: the workbook is an .xlsx file; give a name such as audit.xlsx").format(path=out))
    if violations_csv is not None and violations_csv.suffix.lower() != ".csv":
        raise UsageError(_("--violations-csv {path}: the violations list is a .csv file; give a name such as violations.csv")
                         .format(path=violations_csv))
    seen: dict[str, str] = {}
    for what, p in (("--out", out), ("--violations-csv", violations_csv), (_("the ledger"), ledger)):
        if p is None:
            continue
        key = os.path.normcase(str(p.resolve()))
        if key in seen:
            raise UsageError(_("{what} {path} is the same file as {other}; give each output its own file name")
                             .format(what=what, path=p, other=seen[key]))
        seen[key] = f"{what} {p}"


def refuse_open_document(path: Path) -> None:
    """Stop when the workbook is open in LibreOffice or Excel (their lock file is next to it).

    Overwriting it now would lose what a manager has typed but not saved yet,
    or the manager's next save would overwrite the new audit.
    """
    name = path.name
    for lock in (f".~lock.{name}#", f"~${name}", f"~${name[2:]}"):
        if (path.parent / lock).exists():
            raise OutputError(
                _("{path}: the workbook is open in LibreOffice or Excel (lock file {lock}); ask whoever has it open to save "
                  "and close it, then run again (if nobody has it open, delete the lock file)").format(path=path, lock=lock)
            )


def remove_leftover_temps(targets: list[Path]) -> list[Path]:
    """Remove the temporary files a killed run left next to ``targets`` (``.audit.xlsx.1a2b3c4d.tmp``)."""
    removed = []
    for target in targets:
        pattern = re.compile(r"\." + re.escape(target.name) + r"\.[0-9a-f]{8}\.tmp")
        try:
            candidates = list(target.parent.iterdir()) if target.parent.is_dir() else []
        except OSError:
            continue
        for p in candidates:
            if pattern.fullmatch(p.name) and p.is_file():
                try:
                    p.unlink()
                    removed.append(p)
                except OSError:
                    pass
    return removed


def output_error(target: Path, exc: OSError) -> OutputError:
    """A plain message for a failed write of ``target`` (the error's own file name is the temporary twin: name the target)."""
    folder = target.parent
    code = exc.errno
    if isinstance(exc, IsADirectoryError) or code == errno.EISDIR:
        why = _("is a folder; give a file name such as audit.xlsx")
    elif isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        why = _("the folder {folder} does not exist; create it or choose another path").format(folder=folder)
    elif code == errno.EROFS:
        why = _("the file system is read-only; choose another folder")
    elif isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        why = (_("the folder is read-only or not yours; choose another folder") if not os.access(folder, os.W_OK)
               else _("is it open in Excel? close it and run again"))
    elif code in (errno.ENOSPC, errno.EDQUOT):
        why = _("the disk is full; free some space and run again")
    elif code == errno.ENAMETOOLONG:
        why = _("the file name is too long; choose a shorter name")
    else:
        why = exc.strerror or str(exc)
    return OutputError(_("{path}: cannot write the file ({why}); nothing was replaced").format(path=target, why=why))


def _staging(target: Path) -> Path:
    """The temporary twin a writer fills before the run renames it into place (the name the next run cleans up)."""
    import secrets

    return target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"


class EarlyCsv:
    """The violations CSV written to its temporary twin in a second thread, as soon as the audit's rows exist.

    The CSV holds the audit's rows only (no status, no comment), so once the accepted findings have left the report
    (:func:`crm_audit.history.carry.apply_waivers`, before this starts) it needs neither the carry-over nor the ledger:
    DuckDB formats and copies it (releasing the GIL) while the run carries over and prepares the ledger's findings
    (issue 17: 1.5M violations took ~3 s one after the other). Nothing is in place until :func:`write_outputs`
    renames the twin with the other outputs, all or nothing; :meth:`discard` removes it when the run ends otherwise.
    It writes the rows each rule held when it started (the carry-over replaces them meanwhile); :func:`write_outputs`
    writes the CSV again if the report's rows are no longer those (:meth:`holds`), so the CSV is the workbook's rows.
    """

    def __init__(self, report, target: Path, *, csv_excel: bool = False):
        from crm_audit.threads import InThread

        self.target = target
        self.tmp = _staging(target)
        # the rows as they are now: the carry-over replaces each rule's rows meanwhile, and the file is of one report
        self.rows = rows_written(report)
        self._call = InThread(self._write, _frozen(report), csv_excel, name="crm-audit-csv")

    def _write(self, report, csv_excel: bool) -> None:
        from exporters.csv import as_excel_csv, write_violations_csv

        write_violations_csv(report, self.tmp)
        if csv_excel:
            as_excel_csv(self.tmp)

    def holds(self, report) -> bool:
        """True when the file holds ``report``'s rows: the carry-over only adds columns to the rows it was started
        on (the accepted findings left before), so the same number of rows per rule is the same rows."""
        return rows_written(report) == self.rows

    def wait(self) -> Path:
        """The complete temporary file; raises what the writer raised."""
        self._call.result()
        return self.tmp

    def discard(self) -> None:
        """Wait for the writer and remove its file unless it was put in place."""
        self._call.join()
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass


def rows_written(report) -> list[tuple[str, int]]:
    """(rule id, rows) of every rule of ``report``: what its violations CSV holds."""
    return [(r.rule_id, r.count if r.rows is not None else 0) for r in report.results]


def _frozen(report):
    """A shallow copy of ``report`` whose rules keep the rows they hold now (no data is copied)."""
    import copy

    frozen = copy.copy(report)
    frozen.results = [copy.copy(r) for r in report.results]
    return frozen


def write_outputs(report, out: Path | None, violations_csv: Path | None, progress, *, csv_excel: bool = False,
                  early_csv: EarlyCsv | None = None) -> list[Written]:
    """Write the workbook and the CSV, all or nothing; any file-system failure is an :class:`OutputError`.

    Each output is written in full to a temporary file next to it first; only
    when every one is complete are they renamed into place, so a failure (a
    read-only CSV folder, a full disk) leaves every previous output as it was.
    ``early_csv``: the CSV already being written (:class:`EarlyCsv` for ``violations_csv``).
    """
    staged: list[tuple[str, Path, Path]] = []  # (kind, temporary file, target)
    target = out
    try:
        if out is not None:
            from exporters.xlsx import MAX_SHEET_ROWS, write_workbook

            from crm_audit.report import DataWarning

            progress(_("writing the workbook {path}").format(path=out))
            tmp = _staging(out)
            staged.append(("workbook", tmp, out))
            write_workbook(report, tmp)
            for r in report.results:
                if r.count > MAX_SHEET_ROWS - 1:
                    if violations_csv:
                        capped = N_("{sheet}: {n} violations, the sheet shows the first {shown} (an Excel sheet holds no more)")
                    else:
                        capped = N_("{sheet}: {n} violations, the sheet shows the first {shown} (an Excel sheet holds no more); "
                                    "add --violations-csv for the full list")
                    report.warnings.append(DataWarning("sheet-capped", "", template=capped,
                                                       params={"sheet": r.sheet_title, "n": r.count, "shown": MAX_SHEET_ROWS - 1}))
        if violations_csv is not None:
            from exporters.csv import write_violations_csv

            target = violations_csv
            progress(_("writing the violations CSV {path}").format(path=violations_csv))
            if early_csv is not None and early_csv.holds(report):
                staged.append(("violations CSV", early_csv.tmp, violations_csv))
                early_csv.wait()
            else:  # no CSV written early, or one of other rows than the report's now: the CSV is the report's
                tmp = _staging(violations_csv)
                staged.append(("violations CSV", tmp, violations_csv))
                write_violations_csv(report, tmp)
                if csv_excel:
                    from exporters.csv import as_excel_csv

                    as_excel_csv(tmp)
        for _kind, tmp, final in staged:  # every output complete: into place
            target = final
            if final.exists():
                os.chmod(tmp, os.stat(final).st_mode & 0o7777)
            os.replace(tmp, final)
    except OSError as exc:
        raise output_error(target, exc) from None
    finally:
        for _kind, tmp, _final in staged:
            if tmp.exists():
                try:
                    tmp.unlink()
                except OSError:
                    pass
    return [Written(kind, str(final)) for kind, _, final in staged]
