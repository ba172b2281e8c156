"""OAuth2 for the CRM clients: Salesforce's JWT bearer flow and the refresh-token flow of the others.

- :class:`JwtBearer` — Salesforce (a connected app with a certificate): an RS256-signed
  assertion (``iss`` the consumer key, ``sub`` the username, ``aud`` the login
  server, ``exp`` three minutes on) is exchanged at ``<login>/services/oauth2/token``
  for an access token and the org's ``instance_url``. The private key comes from a
  file or an environment variable (:mod:`crm_audit.sources.credentials`) and lives
  only in memory; a 401 mid-sync (the session expired) signs a new assertion once.
- :class:`TokenFile` / :class:`RefreshingToken` — Pipedrive, amoCRM, Bitrix24 and
  HubSpot apps: ``crm_api: {auth: oauth2, token_file: ~/.config/crm-audit/crm.json}``
  holds ``access_token``, ``refresh_token``, ``client_id``, ``client_secret`` (and,
  where the CRM needs them, ``redirect_uri`` or ``token_url``). A 401 refreshes the
  access token once and retries the request; the new tokens replace the file
  atomically (a temporary file with mode 0600, renamed over it), so a refresh token
  the CRM rotates is never lost. Tokens are never printed, logged or cached: every
  one read or received is registered with :func:`~crm_audit.sources.credentials.mask`.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from crm_audit.i18n import _
from crm_audit.sources import credentials
from crm_audit.sources.credentials import Secret, mask
from crm_audit.sources.errors import ApiResponseError, BadToken, MissingScope, NoCredentials, SourceError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_assertion(client_id: str, username: str, audience: str, key: Secret, now: float | None = None) -> str:
    """The signed JWT of Salesforce's bearer flow (RS256 with the connected app's private key)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        pkey = serialization.load_pem_private_key(key.reveal().encode(), password=None)
    except (ValueError, TypeError):
        raise NoCredentials(_("the Salesforce private key from {origin} is not an unencrypted PEM private key "
                              "(-----BEGIN PRIVATE KEY----- …); use the key whose certificate is uploaded to the connected app")
                            .format(origin=key.origin)) from None
    if not isinstance(pkey, rsa.RSAPrivateKey):
        raise NoCredentials(_("the Salesforce private key from {origin} is not an RSA key (the JWT bearer flow signs with RS256)")
                            .format(origin=key.origin))
    now = time.time() if now is None else now
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps({"iss": client_id, "sub": username, "aud": audience, "exp": int(now) + 180}, separators=(",", ":")).encode())
    signature = pkey.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(signature)}"


def _remember(*values: Any) -> None:
    for v in values:
        if isinstance(v, str) and len(v) >= 6:
            credentials._registry.append(v)


def _json(resp) -> dict:
    try:
        js = resp.json()
    except ValueError:
        return {}
    return js if isinstance(js, dict) else {}


@dataclass
class JwtBearer:
    """Salesforce's OAuth2 JWT bearer flow: :meth:`login` gets a session, :meth:`__call__` (the core's ``reauth``) a new one."""

    core: Any  # the HttpCore: its transport, limits and counters; its base URL becomes the org's instance URL
    login_url: str
    client_id: str
    username: str
    key: Secret
    keep_base: bool = False  # crm_api: base_url given (a proxy, a test server): the instance URL is not followed

    @property
    def audience(self) -> str:
        return "https://test.salesforce.com" if "test.salesforce.com" in self.login_url else "https://login.salesforce.com"

    def login(self) -> dict:
        url = self.login_url.rstrip("/") + "/services/oauth2/token"
        resp = self.core.post_form(url, {"grant_type": JWT_GRANT,
                                         "assertion": jwt_assertion(self.client_id, self.username, self.audience, self.key)})
        js = _json(resp)
        if resp.status_code != 200 or not js.get("access_token"):
            raise _jwt_refusal(resp.status_code, js, self)
        _remember(js["access_token"])
        if not self.keep_base and js.get("instance_url"):
            self.core.base_url = str(js["instance_url"]).rstrip("/")
        self.core.set_auth(headers={"Authorization": f"Bearer {js['access_token']}"})
        return js

    def __call__(self) -> None:
        self.login()


def _jwt_refusal(status: int, js: dict, flow: JwtBearer) -> SourceError:
    err, desc = str(js.get("error") or status), str(js.get("error_description") or "")
    low = desc.lower()
    said = f"{err}: {desc}"
    if err in ("invalid_client_id", "invalid_client"):
        return BadToken(_("Salesforce does not know the connected app's consumer key (crm_api: client_id; {said}); copy it from "
                          "Setup › App Manager › your app › View › Consumer Key").format(said=said), status=status)
    if "approved" in low or "not authorized" in low or "inactive" in low and "user" in low:
        return MissingScope(_("Salesforce: the user {user} may not use the connected app ({said}); in Setup › Connected "
                              "Apps › Manage › your app set «Admin approved users are pre-authorized» and add the user's profile or "
                              "permission set").format(user=flow.username, said=said), status=status)
    if "audience" in low:
        return BadToken(_("Salesforce refused the sign-in ({said}); crm_api: login_url must be https://login.salesforce.com "
                          "(production) or https://test.salesforce.com (a sandbox)").format(said=said), status=status)
    if "user" in low and ("not found" in low or "invalid" in low or "credentials" in low):
        return BadToken(_("Salesforce does not know the user {user} ({said}); check crm_api: username").format(user=flow.username, said=said),
                        status=status)
    if err == "invalid_grant":
        return BadToken(_("Salesforce refused the signed sign-in ({said}); the private key does not match the certificate uploaded "
                          "to the connected app, or the consumer key or username is wrong").format(said=said), status=status)
    return ApiResponseError(_("Salesforce's sign-in answered HTTP {status} ({said})").format(status=status, said=f"{mask(err)}: {mask(desc)[:200]}"),
                            status=status)


# ---------------------------------------------------------------------- the refresh-token flow


class TokenFile:
    """The JSON file where the user keeps an OAuth2 app's tokens (outside the project, mode 0600)."""

    def __init__(self, path: Path):
        self.path = Path(path).expanduser()

    def read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NoCredentials(_("{path}: cannot read the OAuth2 token file ({kind}); it must be JSON with "
                                  "access_token, refresh_token, client_id and client_secret").format(path=self.path, kind=type(exc).__name__)) from None
        if not isinstance(data, dict) or not data.get("access_token"):
            raise NoCredentials(_("{path}: the OAuth2 token file has no access_token; it must be JSON with access_token, "
                                  "refresh_token, client_id and client_secret").format(path=self.path))
        _remember(*(data.get(k) for k in ("access_token", "refresh_token", "client_secret")))
        return data

    def write(self, data: dict) -> None:
        """Atomically: a 0600 temporary file beside it, flushed to disk, renamed over it."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class RefreshSpec:
    """How one CRM refreshes an access token (a connector's ``oauth_refresh``)."""

    token_url: str  # may name {domain}
    style: Literal["form", "json", "basic", "query"] = "form"  # client credentials in the form / a JSON body / HTTP Basic / a GET's query
    apply: Literal["bearer", "param"] = "bearer"  # the new token as Authorization: Bearer, or as the `auth` query parameter (Bitrix24)


class RefreshingToken:
    """The core's ``reauth`` for an OAuth2 app: one refresh per 401, the token file replaced with what the CRM answered."""

    def __init__(self, core, store: TokenFile, spec: RefreshSpec, crm: str, domain: str | None = None):
        self.core, self.store, self.spec, self.crm, self.domain = core, store, spec, crm, domain
        self.refreshed = 0

    def __call__(self) -> None:
        data = self.store.read()
        if not data.get("refresh_token"):
            raise BadToken(_("{crm} refused the OAuth2 access token (expired) and {path} has no refresh_token to get a "
                             "new one; authorize the app again and save its tokens there").format(crm=self.crm, path=self.store.path))
        url = data.get("token_url") or self.spec.token_url.format(domain=self.domain or "")
        form = {"grant_type": "refresh_token", "refresh_token": data["refresh_token"]}
        client = {"client_id": str(data.get("client_id") or ""), "client_secret": str(data.get("client_secret") or "")}
        if data.get("redirect_uri"):
            form["redirect_uri"] = data["redirect_uri"]
        if self.spec.style == "basic":
            resp = self.core.post_form(url, form, auth=(client["client_id"], client["client_secret"]))
        elif self.spec.style == "query":
            resp = self.core.post_form(url, {**form, **client}, method="GET")
        else:
            resp = self.core.post_form(url, {**form, **client}, json_body=self.spec.style == "json")
        js = _json(resp)
        if resp.status_code != 200 or not js.get("access_token"):
            err = mask(str(js.get("error") or js.get("hint") or js.get("message") or resp.status_code))
            raise BadToken(_("{crm} refused to refresh the OAuth2 token ({error}); the refresh token was revoked or the app's client "
                             "id/secret in {path} are wrong — authorize the app again and save its tokens there")
                           .format(crm=self.crm, error=err, path=self.store.path), status=resp.status_code)
        _remember(js.get("access_token"), js.get("refresh_token"))
        data["access_token"] = js["access_token"]
        if js.get("refresh_token"):
            data["refresh_token"] = js["refresh_token"]  # rotated: the old one no longer works
        if js.get("expires_in"):
            data["expires_at"] = int(time.time()) + int(js["expires_in"])
        self.store.write(data)
        self.refreshed += 1
        if self.spec.apply == "param":
            self.core.set_auth(params={"auth": js["access_token"]})
        else:
            self.core.set_auth(headers={"Authorization": f"Bearer {js['access_token']}"})


def oauth_secret(secret: Secret) -> tuple[Secret, dict | None]:
    """An ``auth: oauth2`` credential: a token file's JSON gives its access token (and the file's data), a bare token itself."""
    raw = secret.reveal().strip()
    if not raw.startswith("{"):
        return secret, None
    try:
        data = json.loads(raw)
    except ValueError:
        raise NoCredentials(_("the OAuth2 token file ({origin}) is not valid JSON; it must hold access_token, refresh_token, "
                              "client_id and client_secret").format(origin=secret.origin)) from None
    if not isinstance(data, dict) or not data.get("access_token"):
        raise NoCredentials(_("the OAuth2 token file ({origin}) has no access_token").format(origin=secret.origin))
    _remember(*(data.get(k) for k in ("access_token", "refresh_token", "client_secret")))
    return Secret(str(data["access_token"]), secret.origin), data
