"""The engine: read an export through a CRM profile, plan the rules, run them set-based on a backend."""
