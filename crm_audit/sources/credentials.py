"""Where a CRM token comes from, and how it is kept out of every output.

The settings name an environment variable (``crm_api: {token_env: PIPEDRIVE_TOKEN}``)
or a file outside the project (``token_file: ~/.config/crm-audit/pipedrive.token``).
The token lives only in a :class:`Secret` (its ``repr``/``str`` are masked) and in
the HTTP headers; it is never printed, logged, cached, written to the sync cache
or put in a snapshot. Error texts pass through :func:`mask`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from crm_audit.i18n import _
from crm_audit.sources.errors import NoCredentials


class Secret:
    """A token; ``str()`` and ``repr()`` never show it (use :meth:`reveal` for the header)."""

    __slots__ = ("_value", "origin")

    def __init__(self, value: str, origin: str):
        self._value = value
        self.origin = origin  # "environment variable PIPEDRIVE_TOKEN" / "file ~/.../token"

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(from {self.origin})"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into a cache
        raise TypeError("a Secret is not serialisable")


_registry: list[str] = []  # every token read by this process: masked in any message


def mask(text: str) -> str:
    """``text`` with every known token (and anything that looks like a bearer token) replaced by ``***``."""
    for value in _registry:
        if value and len(value) >= 6:
            text = text.replace(value, "***")
    text = re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+", r"\1***", text)
    return re.sub(r"(?i)((?:api_token|access_token|refresh_token|x-api-token|auth)=)[^&\s]+", r"\1***", text)


@dataclass(frozen=True)
class CredentialSpec:
    """Where to look: an environment variable first, then a file."""

    env: str | None = None
    file: Path | None = None
    what: str = "API token"


def read_secret(spec: CredentialSpec, environ: dict | None = None) -> Secret:
    """The token, or :class:`NoCredentials` saying where it was looked for and how to provide it."""
    environ = os.environ if environ is None else environ
    if spec.env and environ.get(spec.env, "").strip():
        value = environ[spec.env].strip()
        _registry.append(value)
        return Secret(value, _("environment variable {name}").format(name=spec.env))
    if spec.file is not None:
        path = spec.file.expanduser()
        if path.is_file():
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise NoCredentials(_("cannot read the {what} file {path}: {why}").format(what=spec.what, path=path, why=exc.strerror)) from None
            if value:
                _registry.append(value)
                return Secret(value, _("file {path}").format(path=path))
            raise NoCredentials(_("the {what} file {path} is empty; put the token in it (one line)").format(what=spec.what, path=path))
    where = []
    if spec.env:
        where.append(_("the environment variable {name}").format(name=spec.env))
    if spec.file is not None:
        where.append(_("the file {path}").format(path=spec.file))
    looked = _(" or ").join(where) or _("nowhere (crm_api: has neither token_env nor token_file)")
    raise NoCredentials(
        _("no {what}: looked in {looked}. Set it (`export {env}=...`) or name a file outside the project in crm-audit.yaml "
          "(crm_api: {{token_file: ~/.config/crm-audit/token}}); never put the token in crm-audit.yaml")
        .format(what=spec.what, looked=looked, env=spec.env or "CRM_TOKEN")
    )
