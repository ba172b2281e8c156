"""Which connector serves which CRM, and how one is built from the settings.

A new CRM plugs in with three files and one line here:

1. ``crm_audit/sources/connectors/<crm>.py`` — a :class:`~crm_audit.sources.connector.Connector`
   subclass: its objects, ``fetch`` (pages through ``self.core``), ``tables``,
   ``check``, ``init_values`` and a ``build(settings, api, secret, transport, clock, sleep)``
   class method returning the connector with its :class:`~crm_audit.sources.http.HttpCore`;
2. ``crm_audit/sources/profiles/<crm>.yaml`` — the API profile: the flattened
   API field names -> canonical fields (same format as ``crm_audit/profiles``);
3. ``tests/fake_crm/<crm>.py`` — a fake server that behaves like the API, with
   its schema, and ``tests/test_sources_<crm>.py`` (paging, limits, deletions,
   kill mid-sync, parity with the CRM's export);
4. the entry in :data:`CONNECTORS` below.
"""

from __future__ import annotations

import importlib

from crm_audit.errors import UsageError
from crm_audit.i18n import _

CONNECTORS: dict[str, str] = {
    "pipedrive": "crm_audit.sources.connectors.pipedrive:PipedriveConnector",
    "amocrm": "crm_audit.sources.connectors.amocrm:AmoCrmConnector",
    "hubspot": "crm_audit.sources.connectors.hubspot:HubSpotConnector",
    "bitrix24": "crm_audit.sources.connectors.bitrix24:Bitrix24Connector",
    "salesforce": "crm_audit.sources.connectors.salesforce:SalesforceConnector",
}


def connector_class(crm: str):
    target = CONNECTORS.get(crm)
    if target is None:
        raise UsageError(_("reading «{crm}» straight from its API is not supported yet; supported: {known} "
                           "(use an export folder: crm-audit run --export DIR)").format(crm=crm, known=", ".join(sorted(CONNECTORS))))
    module, _sep, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
