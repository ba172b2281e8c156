"""Audit a CRM where a connector replicated it: a warehouse (``crm-audit run --engine URL``).

- :mod:`~crm_audit.warehouse.config` — the settings' ``engine:`` block;
- :mod:`~crm_audit.warehouse.url` — the engine URL (stdlib parsing, the password only from the environment);
- :mod:`~crm_audit.warehouse.connect` — the engine's own DB-API driver, read-only, as a
  :class:`~crm_audit.engine.backends.sql_backend.Target`;
- :mod:`~crm_audit.warehouse.profile` — warehouse profiles (``crm_audit/warehouses/*.yaml``: data);
- :mod:`~crm_audit.warehouse.entities` — each entity's read-only ``SELECT`` (a CTE in front of every rule
  query), custom fields found through the connector's field metadata, tables and columns checked;
- :mod:`~crm_audit.warehouse.audit` — the audit over them (an :class:`~crm_audit.report.AuditReport`, as for an export).
"""
