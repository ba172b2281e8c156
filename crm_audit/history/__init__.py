"""The audit history: the ledger (all its SQL), carry-over and the head of sales' review."""
