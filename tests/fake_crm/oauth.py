"""A fake OAuth2 token endpoint for the refresh-token flow of Pipedrive, amoCRM, Bitrix24 and HubSpot apps.

Each CRM asks for a refresh its own way, and the fake insists on it:

* ``pipedrive`` — ``POST /oauth/token``, a form (grant_type, refresh_token), the
  client id and secret as HTTP Basic auth (oauth.pipedrive.com);
* ``amocrm`` — ``POST /oauth2/access_token``, a JSON body with client_id,
  client_secret, grant_type, refresh_token and redirect_uri;
* ``hubspot`` — ``POST /oauth/v1/token``, a form with client_id and client_secret;
* ``bitrix24`` — ``GET /oauth/token/`` with everything in the query (oauth.bitrix.info).

A refresh issues a new access token AND a new refresh token (the old refresh
token stops working: rotation), and tells the CRM fake which access token it
accepts from now on (``on_token``). Answers follow each CRM's documentation
(Pipedrive: api_domain; Bitrix24: client_endpoint, member_id …); a wrong or
reused refresh token is refused the way that CRM refuses it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs

from .server import FakeCrm

PATHS = {"pipedrive": "/oauth/token", "amocrm": "/oauth2/access_token", "hubspot": "/oauth/v1/token", "bitrix24": "/oauth/token/"}


class FakeOAuth(FakeCrm):
    def __init__(self, crm: str, on_token: Callable[[str], None], client_id: str = "app-client-id-1234",
                 client_secret: str = "app-client-secret-5678", refresh_token: str = "refresh-0001-abcdef"):
        super().__init__()
        self.crm, self.on_token = crm, on_token
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.issued = 0

    @property
    def token_url(self) -> str:
        return self.url + PATHS[self.crm]

    def token_file_data(self, access_token: str) -> dict:
        data = {"access_token": access_token, "refresh_token": self.refresh_token, "client_id": self.client_id,
                "client_secret": self.client_secret, "token_url": self.token_url}
        if self.crm == "amocrm":
            data["redirect_uri"] = "https://audit.acme.ru/oauth"
        return data

    def start(self) -> "FakeOAuth":
        super().start()
        self.accept_posts(lambda raw: raw.decode())
        return self

    def route(self, method, path, q, headers):
        raw = self.post_body()
        if path != PATHS[self.crm]:
            return 404, {}, {"error": "not_found"}
        if self.crm == "bitrix24":
            args = dict(q)
        elif self.crm == "amocrm":
            args = json.loads(raw or "{}") if raw is not None else {}
        else:
            args = {k: v[-1] for k, v in parse_qs(raw or "").items()}
        if self.crm == "pipedrive":
            basic = (headers.get("authorization") or "").removeprefix("Basic ")
            cid, _, secret = base64.b64decode(basic or "").decode().partition(":")
        else:
            cid, secret = args.get("client_id"), args.get("client_secret")
        if (self.crm == "bitrix24") != (raw is None):  # Bitrix24 refreshes with a GET, the others POST
            return 405, {}, {"error": "method_not_allowed"}
        if cid != self.client_id or secret != self.client_secret:
            return self._refuse("client")
        if args.get("grant_type") != "refresh_token" or args.get("refresh_token") != self.refresh_token:
            return self._refuse("grant")
        if self.crm == "amocrm" and not args.get("redirect_uri"):
            return self._refuse("grant")
        self.issued += 1
        access = f"{self.crm}-access-{self.issued:04d}-9f8e7d6c"
        self.refresh_token = f"refresh-{self.issued + 1:04d}-rotated"
        self.on_token(access)
        answer = {"access_token": access, "refresh_token": self.refresh_token, "expires_in": 3600}
        if self.crm == "pipedrive":
            answer.update(token_type="Bearer", scope="deals:read,users:read", api_domain="https://acme.pipedrive.com")
        elif self.crm == "amocrm":
            answer.update(token_type="Bearer", expires_in=86400)
        elif self.crm == "hubspot":
            answer.update(token_type="bearer", expires_in=1800)
        else:
            answer.update(expires=1_800_000_000, scope="crm,user", domain="oauth.bitrix.info", server_endpoint="https://oauth.bitrix.info/rest/",
                          status="L", client_endpoint="https://acme.bitrix24.ru/rest/", member_id="a1b2c3d4e5f6", user_id=1)
        return 200, {}, answer

    def _refuse(self, what: str):
        if self.crm == "pipedrive":
            return (401, {}, {"success": False, "message": "Invalid client credentials", "error": "unauthorized"}) if what == "client" else \
                (400, {}, {"success": False, "message": "Invalid grant: refresh token is invalid", "error": "invalid_grant"})
        if self.crm == "amocrm":
            return 400, {}, {"hint": "Token has been revoked" if what == "grant" else "Client authentication failed", "title": "Bad Request",
                             "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson", "status": 400, "detail": "invalid_grant"}
        if self.crm == "hubspot":
            return 400, {}, {"status": "BAD_REFRESH_TOKEN" if what == "grant" else "BAD_CLIENT_ID", "message": "missing or invalid refresh token",
                             "correlationId": "0b1f2a3c-0000-4000-8000-0000000000aa"}
        return 400, {}, {"error": "invalid_grant" if what == "grant" else "invalid_client", "error_description": "Invalid refresh token"}
