"""crm-audit: audit a CRM export against declarative YAML rules.

Library API (the CLI is a thin layer over it)::

    from crm_audit import load_settings, audit_export
    settings = load_settings("crm-audit.yaml")
    report = audit_export(settings, "export/", as_of=datetime.date(2026, 11, 20))
    for result in report.results:
        print(result.code, result.count)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "audit_export", "load_settings", "load_rules"]


def __getattr__(name: str):
    # lazy: `crm-audit --help` must not import pandas/duckdb
    if name == "audit_export":
        from crm_audit.engine.audit import audit_export

        return audit_export
    if name == "load_settings":
        from crm_audit.settings import load

        return load
    if name == "load_rules":
        from crm_audit.rules.ruleset import load

        return load
    raise AttributeError(name)
