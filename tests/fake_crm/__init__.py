"""Fake CRM APIs for offline tests: threaded HTTP servers that behave like the real ones."""
