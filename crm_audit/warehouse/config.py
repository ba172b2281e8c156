"""The ``engine:`` block of crm-audit.yaml: audit the CRM where a connector replicated it.

```yaml
engine:
  url: postgresql://audit@warehouse.internal:5432/analytics   # the password: CRM_AUDIT_ENGINE_PASSWORD (never here)
  profile: fivetran_pipedrive      # a bundled warehouse profile (crm_audit/warehouses/) or a path to one
  schema: pipedrive                # the connector's schema (BigQuery: the dataset)
```

``crm-audit run --engine URL`` overrides ``url``; ``?profile=…&schema=…`` in the URL override the others.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EngineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    url: str | None = None
    profile: str | None = None  # default: fivetran_<crm>
    schema_: str | None = Field(None, alias="schema")  # the connector's schema / dataset (default: the connection's own)
