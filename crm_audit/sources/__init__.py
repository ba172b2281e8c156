"""Reading the audit's data straight from a CRM's API (issue 14).

The pieces, each in its own module:

- :mod:`~crm_audit.sources.http` — the shared HTTP core on httpx: rate limiter
  fed by response headers, retries with backoff, paging styles, typed errors
  (:mod:`~crm_audit.sources.errors`); credentials from an environment variable
  or a file, never shown (:mod:`~crm_audit.sources.credentials`);
- :mod:`~crm_audit.sources.cache` — the incremental sync cache (DuckDB, next to
  the ledger) and :mod:`~crm_audit.sources.incremental` — one sync: watermarks,
  overlap, de-duplication, deletions, resumable after a kill;
- :mod:`~crm_audit.sources.snapshot` — the Parquet snapshot an audit reads and
  can be reproduced from (:class:`SyncedSource`, passed as ``AuditRequest.source``);
- :mod:`~crm_audit.sources.connector` / :mod:`~crm_audit.sources.registry` —
  what a CRM connector is and how one plugs in; ``connectors/<crm>.py`` the
  clients, ``profiles/<crm>.yaml`` their API profiles (data);
- this module — the library calls the CLI uses: :func:`sync`, :func:`check`,
  :func:`source_for`, :func:`init_settings`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_audit.i18n import _

if TYPE_CHECKING:  # imported where used: `crm-audit --help` and `import crm_audit.settings` stay light
    from crm_audit.sources.config import CrmApiSettings
    from crm_audit.sources.snapshot import SyncedSource
    from crm_audit.sources.incremental import SyncResult

__all__ = ["CrmApiSettings", "SyncResult", "SyncedSource", "api_settings", "cache_file", "check", "connector_for", "source_for", "sync"]


def __getattr__(name: str):
    if name == "CrmApiSettings":  # lazy: pydantic is not needed to show the CLI's help
        from crm_audit.sources.config import CrmApiSettings

        return CrmApiSettings
    raise AttributeError(name)


def api_settings(settings) -> "CrmApiSettings":
    from crm_audit.sources.config import CrmApiSettings

    api = getattr(settings, "crm_api", None)
    if isinstance(api, dict):
        api = CrmApiSettings.model_validate(api)
    return api or CrmApiSettings()


def cache_file(settings, ledger: str | Path | None = None) -> Path:
    from crm_audit.sources.cache import cache_path

    api = api_settings(settings)
    if api.cache:
        return settings.resolve(api.cache)
    return cache_path(Path(ledger) if ledger else settings.ledger_path())


def connector_for(settings, *, environ: dict | None = None, transport: Any = None, clock: Callable | None = None,
                  sleep: Callable | None = None, crm: str | None = None):
    """The settings' CRM connector, with its token read (never shown) and its HTTP core."""
    from crm_audit.sources.credentials import CredentialSpec, read_secret
    from crm_audit.sources.registry import connector_class

    crm = crm or settings.crm
    cls = connector_class(crm)
    api = api_settings(settings)
    spec_for = getattr(cls, "credential_spec", None)  # a CRM whose secret is not a token (Salesforce: a private key)
    spec = spec_for(api, settings) if spec_for is not None else CredentialSpec(
        api.token_env_for(crm), settings.resolve(api.token_file) if api.token_file else None,
        _("OAuth2 access token") if api.auth == "oauth2" else _("{crm} API token").format(crm=cls.title))
    secret = read_secret(spec, environ)
    token_data = None
    if api.auth == "oauth2":
        from crm_audit.sources.oauth import oauth_secret

        secret, token_data = oauth_secret(secret)  # a token file's JSON: its access token (the refresh token stays in the file)
    connector = cls.build(api, secret, transport=transport, clock=clock, sleep=sleep)
    if token_data is not None and cls.oauth_refresh is not None and api.token_file:
        from crm_audit.sources.oauth import RefreshingToken, TokenFile

        connector.core.reauth = RefreshingToken(connector.core, TokenFile(settings.resolve(api.token_file)), cls.oauth_refresh,
                                                cls.title, api.domain)
    return connector


def sync(settings, *, full: bool = False, check_deleted: bool = False, ledger: str | Path | None = None,
         progress: Callable[[str], None] | None = None, connector=None, **conn_kw) -> "SyncResult":
    """``crm-audit sync``: the CRM into the cache next to the ledger, and a snapshot for the audit."""
    from crm_audit.sources.cache import SyncCache, snapshots_dir
    from crm_audit.sources.incremental import run_sync

    api = api_settings(settings)
    connector = connector or connector_for(settings, **conn_kw)
    path = cache_file(settings, ledger)
    try:
        with SyncCache(path) as cache:
            return run_sync(connector, cache, full=full, overlap=dt.timedelta(minutes=api.overlap_minutes),
                            id_check_days=api.id_check_days, check_deleted=check_deleted, snapshots=snapshots_dir(path),
                            progress=progress, keep_snapshots=api.keep_snapshots, commit_seconds=api.commit_seconds)
    finally:
        connector.core.close()


def check(settings, **conn_kw):
    """``crm-audit crm check``: a :class:`~crm_audit.sources.connector.CheckResult` (a missing token is an error result too)."""
    from crm_audit.sources.connector import CheckResult
    from crm_audit.sources.errors import SourceError

    try:
        connector = connector_for(settings, **conn_kw)
    except SourceError as exc:
        return CheckResult(settings.crm, "", error=exc)
    try:
        return connector.check()
    finally:
        connector.core.close()


def source_for(settings, *, ledger: str | Path | None = None, sync_id: int | None = None, snapshot: str | Path | None = None) -> "SyncedSource":
    """The snapshot an audit reads: a given folder, a given sync's, or the latest sync's."""
    from crm_audit.errors import UsageError
    from crm_audit.sources.cache import SyncCache
    from crm_audit.sources.snapshot import SyncedSource

    if snapshot is not None:
        return SyncedSource.open(snapshot)
    path = cache_file(settings, ledger)
    if not path.exists():
        raise UsageError(_("{path}: no sync yet; run `crm-audit sync` (or `crm-audit run --from-crm`) first").format(path=path))
    with SyncCache(path) as cache:
        row = cache.sync(sync_id) if sync_id is not None else cache.latest_sync()
    if row is None or not row.snapshot:
        what = (_("sync {id} has no snapshot (it failed, or its snapshot was pruned)").format(id=sync_id) if sync_id is not None
                else _("no finished sync"))
        raise UsageError(_("{path}: {what}; run `crm-audit sync`").format(path=path, what=what))
    return SyncedSource.open(row.snapshot)


def mark_used(settings, source: "SyncedSource", ledger: str | Path | None = None) -> None:
    """An audit recorded this snapshot: keep it (reproducible) whatever `keep_snapshots` says."""
    from crm_audit.sources.cache import SyncCache

    path = cache_file(settings, ledger)
    if path.exists():
        with SyncCache(path) as cache:
            cache.mark_used(source.sync_id)
