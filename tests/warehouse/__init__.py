"""Warehouse fixtures (issue 15 point 3): the connectors' tables, built from an export."""
