"""One module per CRM API (see crm_audit/sources/registry.py for how a CRM plugs in)."""
