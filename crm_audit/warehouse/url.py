"""An engine URL, parsed with the standard library; credentials come only from the environment.

SQLAlchemy-style URLs are accepted as they are written for SQLAlchemy (``+driver`` is ignored: crm-audit
connects through the engine's own DB-API driver):

- ``duckdb:///path/warehouse.duckdb`` (opened read-only)
- ``postgresql://user@host:5432/db`` (``postgresql+psycopg://…``; ``?host=/run/postgresql`` for a socket)
- ``snowflake://user@account/database/schema?warehouse=WH&role=R``
- ``bigquery://project/dataset``
- ``databricks://token@host?http_path=/sql/1.0/warehouses/abc&catalog=main&schema=pipedrive``
- ``clickhouse://user@host:8123/database``
- ``chdb:///path/folder`` — an embedded ClickHouse (the ``chdb`` wheel) over its data folder, in this process
- ``spark-local:`` — Spark SQL in this process: the SparkSession a PySpark job has open (what its catalog holds),
  else a new ``local[*]`` one (``spark-local:///path/folder``: its ``spark.sql.warehouse.dir``)

The password (or token) is read from ``CRM_AUDIT_ENGINE_PASSWORD``, else from the driver's own variable
(``PGPASSWORD`` …). A URL carrying a password is refused, with the password masked, so it never reaches a
shell history, a settings file, a log or the ledger.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from crm_audit.errors import Problem, UsageError
from crm_audit.i18n import _

PASSWORD_ENV = "CRM_AUDIT_ENGINE_PASSWORD"

#: URL scheme -> (dialect, the driver's own password / token variable, the pip extra of crm-audit that installs its
#: DB-API driver: pyproject.toml's [project.optional-dependencies]; None: a dependency of crm-audit itself)
ENGINES: dict[str, tuple[str, str | None, str | None]] = {
    "duckdb": ("duckdb", None, None),
    "postgresql": ("postgres", "PGPASSWORD", "postgres"),
    "postgres": ("postgres", "PGPASSWORD", "postgres"),
    "snowflake": ("snowflake", "SNOWFLAKE_PASSWORD", "snowflake"),
    "bigquery": ("bigquery", None, "bigquery"),
    "databricks": ("databricks", "DATABRICKS_TOKEN", "databricks"),
    "clickhouse": ("clickhouse", "CLICKHOUSE_PASSWORD", "clickhouse"),
    "chdb": ("clickhouse", None, "clickhouse"),
    "spark-local": ("spark", None, "spark"),
}
#: schemes whose URL path is a local file or folder (``duckdb:///rel``, ``duckdb:////abs``), not a database name
LOCAL = ("duckdb", "chdb", "spark-local")

#: query parameters that are crm-audit's own (the rest go to the driver)
OWN_PARAMS = ("profile", "schema")

#: a ``key=value`` (a URL's query parameter, a libpq DSN's word) whose value is a secret: ``password=``, ``pwd=``,
#: ``sslpassword=``, ``token=``, ``access_token=``, ``client_secret=``, ``private_key_passphrase=``, ``api_key=`` …
_SECRET_KEY = r"[A-Za-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|passphrase|api_?key)[A-Za-z0-9_.-]*"
_SECRET_PAIR = re.compile(rf"(?i)(?<![A-Za-z0-9_.-])({_SECRET_KEY})(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s;]*)")


@dataclass
class EngineURL:
    scheme: str  # postgresql, duckdb, … (without +driver)
    user: str | None
    host: str | None
    port: int | None
    path: str  # the database (duckdb: the file)
    params: dict[str, str] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        return ENGINES[self.scheme][0]

    @property
    def package(self) -> str:
        """What to ``pip install`` for this engine's driver: crm-audit with the engine's extra (``crm-audit[postgres]``)."""
        extra = ENGINES[self.scheme][2]
        return f"crm-audit[{extra}]" if extra else "crm-audit"

    @property
    def profile(self) -> str | None:
        return self.params.get("profile")

    @property
    def schema(self) -> str | None:
        return self.params.get("schema")

    @property
    def database(self) -> str:
        """The database as a manager may read it: no user, host or socket (DuckDB: the file's name; Snowflake: the
        database of ``database/schema``)."""
        if self.scheme in LOCAL:
            return os.path.basename(self.path.rstrip("/")) if self.path else ""
        return self.path.partition("/")[0] if self.scheme == "snowflake" else self.path

    def driver_params(self) -> dict[str, str]:
        return {k: v for k, v in self.params.items() if k not in OWN_PARAMS}

    def password(self) -> str | None:
        """The password / token from the environment (None: the driver finds its own, or none is needed)."""
        own = ENGINES[self.scheme][1]
        return os.environ.get(PASSWORD_ENV) or (os.environ.get(own) if own else None) or None

    def __str__(self) -> str:
        """The URL as shown (it never holds a password)."""
        auth = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.scheme}://{auth}{self.host or ''}{port}{'/' + self.path if self.path or self.scheme in LOCAL else ''}" + (
            f"?{query}" if query else "")


def secret_pairs(text: str) -> list[str]:
    """The keys of ``text``'s ``key=value`` pairs whose value is a secret (``?password=``, ``?pwd=``, a libpq DSN's
    ``password=`` …) and not empty."""
    return [m.group(1) for m in _SECRET_PAIR.finditer(text) if m.group(3).strip("'")]


def mask(url: str) -> str:
    """``url`` with every password (the userinfo's, a ``password=`` / ``pwd=`` / ``token=`` … parameter's, a libpq
    DSN's) replaced by ``***``."""
    url = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if not parts.password:
        return url
    netloc = parts.netloc
    userinfo, _at, hostport = netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


def _refuse_password(shown: str) -> UsageError:
    return UsageError(problems=[Problem(
        _("--engine {url}: the URL holds a password; remove it from the URL (and from the settings or your shell "
          "history) and put it in the environment variable {env}").format(url=shown, env=PASSWORD_ENV),
        reason="engine-password-in-url")])


def parse(url: str) -> EngineURL:
    """Parse an engine URL (see the module docstring); a :class:`UsageError` naming what is wrong, masked."""
    shown = mask(url)
    if secret_pairs(url):  # ?password=, ?pwd=, a libpq DSN's password=: the driver would take it, the shell history keeps it
        raise _refuse_password(shown)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UsageError(problems=[Problem(_("--engine {url}: not a valid URL ({why}); e.g. postgresql://user@host:5432/db")
                                           .format(url=shown, why=exc), reason="engine-url")]) from None
    scheme = parts.scheme.lower().split("+", 1)[0]
    if scheme not in ENGINES:
        raise UsageError(problems=[Problem(
            _("--engine {url}: unknown engine «{scheme}»; one of: {known} (e.g. postgresql://user@host:5432/db, "
              "duckdb:///warehouse.duckdb)").format(url=shown, scheme=parts.scheme or "", known=", ".join(ENGINES)),
            reason="engine-url")])
    if parts.password:  # (an empty one, `user:@host`, is none)
        raise _refuse_password(shown)
    path = unquote(parts.path)
    if scheme in LOCAL:
        path = path[1:] if path.startswith("/") else path  # duckdb:///rel.duckdb, duckdb:////abs/path.duckdb
        if parts.netloc:  # duckdb://folder/file.duckdb: read as a relative path
            path = f"{parts.netloc}/{path}"
    else:
        path = path.strip("/")
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    return EngineURL(scheme, unquote(parts.username) if parts.username else None,
                     parts.hostname if scheme not in LOCAL else None, port, path, params)
