"""The ``engine:`` block of crm-audit.yaml: audit the CRM where a connector replicated it.

```yaml
engine:
  url: postgresql://audit@warehouse.internal:5432/analytics   # the password: CRM_AUDIT_ENGINE_PASSWORD (never here)
  profile: fivetran_pipedrive      # a bundled warehouse profile (crm_audit/warehouses/) or a path to one
  schema: pipedrive                # the connector's schema (BigQuery: the dataset)
  timezone: Europe/Moscow          # the CRM account's time zone (default UTC)
```

``timezone``: a connector stores times as instants (UTC); the CRM shows a manager — and its export writes — the
date in the account's time zone, so a deal changed at 01:30 Moscow time is the 13th in the CRM and the 12th in UTC.
Every TIMESTAMP / TIMESTAMP WITH TIME ZONE the profile reads as a date is converted to this zone on the engine
(:mod:`crm_audit.engine.dialects.timestamps`); a DATE stays as it is; the session's time zone (``TZ``, ``PGTZ``,
the server's) never changes a finding. A timestamp without a zone is read as UTC, as connectors write it.

``crm-audit run --engine URL`` overrides ``url``; ``?profile=…&schema=…`` in the URL override the others.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_audit.i18n import N_
from crm_audit.yamlsrc import MsgError


class EngineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    url: str | None = None
    profile: str | None = None  # default: fivetran_<crm>
    schema_: str | None = Field(None, alias="schema")  # the connector's schema / dataset (default: the connection's own)
    timezone: str = "UTC"  # the CRM account's time zone (IANA name): the dates a manager sees in the CRM

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        from crm_audit.warehouse.zone import iana

        zone = str(v).strip()
        if iana(zone) != zone:  # not a zone this Python knows (``TZ``'s leading «:» is not a setting's spelling)
            raise MsgError(N_("engine: timezone: «{zone}» is not a time zone; give the CRM account's zone as an IANA "
                              "name, e.g. Europe/Moscow, Asia/Yekaterinburg or UTC"), zone=v)
        return zone
