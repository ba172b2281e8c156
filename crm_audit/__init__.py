"""crm-audit: audit a CRM export against declarative YAML rules.

Library API (the CLI is a thin layer over it)::

    from crm_audit import AuditRequest, run_cycle
    result = run_cycle(AuditRequest("crm-audit.yaml", "export/", as_of=datetime.date(2026, 11, 20), out="audit.xlsx"))
    for rule in result.report.results:
        print(rule.code, rule.count)

or the audit alone, without the ledger and the documents::

    from crm_audit import load_settings, audit_export
    report = audit_export(load_settings("crm-audit.yaml"), "export/", as_of=datetime.date(2026, 11, 20))
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "AuditRequest", "CycleResult", "run_cycle", "audit_export", "load_settings", "load_rules"]


def __getattr__(name: str):
    # lazy: `crm-audit --help` must not import pandas/duckdb
    if name == "audit_export":
        from crm_audit.engine.audit import audit_export

        return audit_export
    if name in ("AuditRequest", "CycleResult"):
        from crm_audit.cycle import request

        return getattr(request, name)
    if name == "run_cycle":
        from crm_audit.cycle.run import run_cycle

        return run_cycle
    if name == "load_settings":
        from crm_audit.settings import load

        return load
    if name == "load_rules":
        from crm_audit.rules.ruleset import load

        return load
    raise AttributeError(name)
