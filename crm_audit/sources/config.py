"""The ``crm_api:`` block of crm-audit.yaml: how to reach the CRM's API.

```yaml
crm: pipedrive
crm_api:
  token_env: PIPEDRIVE_API_TOKEN      # the token is read from this environment variable...
  token_file: ~/.config/crm-audit/pipedrive.token   # ...or this file OUTSIDE the project
  auth: token                         # token (Pipedrive API token, amoCRM long-lived token) | oauth2 (a Bearer access token)
  domain: acme.pipedrive.com          # the account (amoCRM/Kommo: acme.amocrm.ru / acme.kommo.com; Pipedrive: needed for OAuth2)
  overlap_minutes: 10                 # each sync re-reads this much before its watermark
  id_check_days: 7                    # objects without a deleted filter: list every id this often to find deletions
  keep_snapshots: 12                  # snapshots kept besides those an audit used (those are always kept)
  timezone: Europe/Moscow             # the account's time zone (default: read from the CRM)
```

Salesforce signs in with the OAuth2 JWT bearer flow (a connected app with a certificate):

```yaml
crm: salesforce
crm_api:
  client_id: 3MVG9...                 # the connected app's consumer key (not a secret)
  username: analyst@acme.com          # the user the audit reads as (pre-authorized for the app)
  private_key_file: ~/.config/crm-audit/salesforce.key   # the PEM key OUTSIDE the project (or private_key_env)
  login_url: https://login.salesforce.com   # https://test.salesforce.com for a sandbox, or the My Domain login
```

OAuth2 with a refresh token (Pipedrive, amoCRM, Bitrix24, HubSpot apps): ``auth: oauth2`` and
``token_file`` naming a JSON file outside the project (``{"access_token", "refresh_token",
"client_id", "client_secret"}``, mode 0600); an expired access token is refreshed once and
the file atomically replaced with the new tokens (see :mod:`crm_audit.sources.oauth`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TOKEN_ENV = {"pipedrive": "PIPEDRIVE_API_TOKEN", "amocrm": "AMOCRM_TOKEN", "bitrix24": "BITRIX24_WEBHOOK",
                     "hubspot": "HUBSPOT_TOKEN", "salesforce": "SALESFORCE_TOKEN"}


class CrmApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token_env: str | None = None
    token_file: str | None = None
    auth: Literal["token", "oauth2", "jwt"] | None = None  # None: the CRM's usual way (a token; Salesforce: jwt)
    domain: str | None = None
    base_url: str | None = None  # the API root, for a proxy (default: from the CRM and domain)
    overlap_minutes: int = Field(10, ge=0, le=24 * 60)
    id_check_days: int = Field(7, ge=0, le=365)
    keep_snapshots: int = Field(12, ge=1, le=1000)
    timezone: str | None = None
    cache: str | None = None  # default: <ledger name>.sync.duckdb next to the ledger
    page_size: int | None = Field(None, ge=1, le=2000)
    # Salesforce's JWT bearer flow (default SALESFORCE_CLIENT_ID / SALESFORCE_USERNAME / SALESFORCE_PRIVATE_KEY from the environment)
    client_id: str | None = None
    username: str | None = None
    private_key_file: str | None = None
    private_key_env: str | None = None
    login_url: str | None = None
    daily_reserve: float = Field(0.1, ge=0, le=0.9)
    # pages read are committed to the cache with their watermark at least this often (0: every page); a kill re-reads at most this
    commit_seconds: float = Field(2.0, ge=0, le=600)  # the share of a daily API allocation a sync leaves to other integrations

    def token_env_for(self, crm: str) -> str | None:
        return self.token_env or DEFAULT_TOKEN_ENV.get(crm)
