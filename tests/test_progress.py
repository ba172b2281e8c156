"""Progress lines: shown on a terminal, silent in pipes and with --quiet."""

from __future__ import annotations

import io

from crm_audit.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_clears_it():
    out = Tty()
    p = Progress(stream=out)
    p("loading the export")
    p("rule 1/17: 1.1 open-deal-without-tasks")
    p("x")
    p.close()
    text = out.getvalue()
    assert "\n" not in text
    parts = text.split("\r")
    assert len(parts) == 6 and "loading the export" in parts[1] and "rule 1/17" in parts[2]
    assert parts[3].strip().endswith("x") and len(parts[3]) == len(parts[2])  # the longer line is blanked out
    assert parts[4] == " " * len(parts[2]) and parts[5] == ""  # close() leaves an empty line


def test_progress_is_silent_when_not_a_terminal():
    out = io.StringIO()
    p = Progress(stream=out)
    p("loading")
    p.close()
    assert out.getvalue() == ""
    quiet = Tty()
    p = Progress(enabled=False, stream=quiet)
    p("loading")
    p.close()
    assert quiet.getvalue() == ""


def test_a_run_reports_each_stage(tmp_path, monkeypatch):
    """The run calls the progress line for every stage and rule (captured through a fake terminal)."""
    from crm_audit import AuditRequest, run_cycle
    from crm_audit.resources import demo_dir

    seen: list[str] = []
    demo = demo_dir()
    run_cycle(AuditRequest(demo / "crm-audit.yaml", demo / "pipedrive", None, tmp_path / "a.xlsx", tmp_path / "v.csv",
                           ledger=tmp_path / "l.db", progress=seen.append))
    assert seen[0].startswith("loading the export") and seen[1].startswith("loaded ")
    assert sum(s.startswith("rule ") for s in seen) == 17
    assert [s.split(" ")[0] for s in seen[-4:]] == ["carrying", "writing", "writing", "recording"]
