from crm_audit.cli import entry

entry()
