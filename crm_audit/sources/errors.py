"""Typed errors of a CRM API source: each says exactly what is wrong and what to do.

``crm-audit crm check`` and ``crm-audit sync`` show :attr:`message`; tests and
callers branch on the class or on :attr:`reason`, never on the text. Every
message has the token masked (:func:`crm_audit.sources.credentials.mask`).
"""

from __future__ import annotations

from crm_audit.errors import CrmAuditError


class SourceError(CrmAuditError):
    """A CRM API cannot be read (exit code 2)."""

    kind = "source"
    reason_code = "api-error"

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url

    @property
    def reason(self) -> str:  # type: ignore[override]
        return self.reason_code


class NoCredentials(SourceError):
    """No token in the environment variable / file the settings name."""

    reason_code = "no-credentials"


class BadToken(SourceError):
    """The CRM refused the token (HTTP 401): wrong, expired or revoked."""

    reason_code = "bad-token"


class MissingScope(SourceError):
    """The token is valid but lacks a permission (HTTP 403 on one object)."""

    reason_code = "missing-scope"


class WrongDomain(SourceError):
    """The account's address does not answer as this CRM (unknown host, 404 on the API root)."""

    reason_code = "wrong-domain"


class ApiDisabled(SourceError):
    """API access is switched off for this account or user (or the plan has none)."""

    reason_code = "api-disabled"


class NoNetwork(SourceError):
    """The CRM cannot be reached at all (no network, DNS, proxy, timeout)."""

    reason_code = "no-network"


class RateLimited(SourceError):
    """The CRM's limit is used up for longer than a sync waits (a daily budget)."""

    reason_code = "rate-limited"


class ApiResponseError(SourceError):
    """The CRM answered something the client cannot use (5xx after retries, bad JSON)."""

    reason_code = "api-error"
