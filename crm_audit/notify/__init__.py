"""Telling people: a manager's own to-do and the head of sales' team digest, by e-mail and Telegram.

- :mod:`~crm_audit.notify.todo` — one manager's to-do (pure: from a :class:`~crm_audit.history.review.Review`),
  as text, an HTML page and a Telegram message;
- :mod:`~crm_audit.notify.digest` — the head of sales' team summary, in the same three forms;
- :mod:`~crm_audit.notify.recipients` — who gets what: CRM owner names to addresses (never guessed);
- :mod:`~crm_audit.notify.messages` — the messages themselves (e-mail with text + HTML, Telegram parts);
- :mod:`~crm_audit.notify.smtp`, :mod:`~crm_audit.notify.telegram` — delivery, one result per recipient;
- :mod:`~crm_audit.notify.send` — one call: build, skip what the ledger says was sent, deliver or preview, record.
"""
