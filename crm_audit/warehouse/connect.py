"""Connect to the engine an :class:`~crm_audit.warehouse.url.EngineURL` names, through its own DB-API driver, read-only.

Each connection is opened read-only where the engine can say so (DuckDB ``read_only``, PostgreSQL
``default_transaction_read_only``, an embedded ClickHouse ``readonly = 2``); crm-audit sends nothing but ``SELECT`` anyway. A missing driver, an
unreachable server and a refused login are :class:`~crm_audit.errors.InputError` (exit 2) saying what to do;
the password never appears in them (it is scrubbed from the driver's own text too).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from crm_audit.engine.backends.sql_backend import ChdbTarget, DBAPITarget, SparkTarget
from crm_audit.errors import InputError, Problem
from crm_audit.i18n import _
from crm_audit.warehouse.url import PASSWORD_ENV, EngineURL

#: URL scheme -> the module to import for its driver
MODULES = {"duckdb": "duckdb", "postgresql": "psycopg", "postgres": "psycopg", "snowflake": "snowflake.connector",
           "bigquery": "google.cloud.bigquery", "databricks": "databricks.sql", "clickhouse": "clickhouse_connect",
           "chdb": "chdb", "spark-local": "pyspark.sql"}

#: words of a driver's error that mean the login was refused / the server was not reached
_LOGIN = ("password authentication failed", "authentication failed", "incorrect username or password", "invalid credentials",
          "access denied", "role \"", "no password supplied", "login failed", "authentication_failed", "invalid_grant")
#: a driver's words for a database the server does not have (PostgreSQL, Snowflake, ClickHouse, MySQL-like)
_NO_DATABASE = re.compile(r"(?i)database\s+\S+\s+(?:does not exist|doesn't exist)|unknown_database|unknown database")
_UNREACHABLE = ("connection refused", "could not translate host name", "name or service not known", "timeout expired",
                "timed out", "no such file or directory", "could not connect", "connection to server", "network is unreachable")


@dataclass
class DuckDBTarget:
    """A DuckDB database file, opened read-only; rows fetched as Arrow."""

    connection: Any
    dialect: str = "duckdb"

    def run(self, sql: str):
        import pyarrow as pa

        rel = self.connection.sql(sql)
        table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        return table.read_all() if not isinstance(table, pa.Table) else table

    def close(self) -> None:
        self.connection.close()


@dataclass
class LocalSpark:
    """The Spark session of ``spark-local:``: stopped on close only when crm-audit started it (a PySpark job's own
    session stays open for the job)."""

    session: Any
    own: bool

    def close(self) -> None:
        if self.own:
            self.session.stop()


def _local_folder(url: EngineURL, missing: str):
    """``url``'s local folder; ``missing`` (a translated text with {url} and {path}) when it is not there."""
    from pathlib import Path

    if not url.path or not Path(url.path).expanduser().exists():
        raise InputError(problems=[Problem(missing.format(url=url, path=url.path or "''"), reason="engine-unreachable")])
    return Path(url.path).expanduser()


def _spark_local(url: EngineURL, mod) -> LocalSpark:
    """This process's SparkSession (the calling thread's active one, else the process's default one: the audit may run
    in a second thread, where getActiveSession() — thread-local — is None), else a new local one (``url.path``: its
    warehouse folder)."""
    active = mod.SparkSession.getActiveSession()
    if active is None and hasattr(mod.SparkSession, "active"):  # pyspark >= 3.5: the thread's, else the default session
        from pyspark.errors import PySparkRuntimeError

        try:
            active = mod.SparkSession.active()
        except PySparkRuntimeError:  # NO_ACTIVE_OR_DEFAULT_SESSION: none in this process
            active = None
    if active is not None:
        return LocalSpark(active, own=False)
    builder = (mod.SparkSession.builder.master(url.params.get("master", "local[*]")).appName("crm-audit")
               .config("spark.ui.enabled", "false"))
    if url.path:
        builder = builder.config("spark.sql.warehouse.dir", str(_local_folder(url, _("--engine {url}: no Spark warehouse folder at {path}")).resolve()))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return LocalSpark(session, own=True)


@dataclass
class Connection:
    """An open engine connection: ``target`` runs read-only queries; ``close()`` when done."""

    url: EngineURL
    target: Any
    raw: Any

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # closing a broken connection: nothing to report
            pass

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def scrub(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` (a driver may echo a DSN)."""
    return text.replace(secret, "***") if secret else text


def driver_module(url: EngineURL):
    """The engine's DB-API driver; an :class:`InputError` saying which package to install when it is not."""
    name = MODULES[url.scheme]
    try:
        return importlib.import_module(name)
    except ImportError:
        raise InputError(problems=[Problem(
            _("--engine {url}: the {engine} driver is not installed; install it with: pip install '{package}'")
            .format(url=url, engine=url.dialect, package=url.package), reason="engine-driver")]) from None


def connection_error(url: EngineURL, exc: BaseException, password: str | None) -> InputError:
    """A driver's connection failure as a clear error: login refused, server not reached, or the driver's words."""
    text = scrub(" ".join(str(exc).split()), password)[:400]
    low = text.lower()
    if any(w in low for w in _LOGIN):
        msg = _("--engine {url}: the login was refused ({why}); check the user in the URL and the password in the "
                "environment variable {env}").format(url=url, why=text, env=PASSWORD_ENV)
        reason = "engine-login"
    elif _NO_DATABASE.search(text):  # the server answered: the host and port are right, the name is not
        msg = _("--engine {url}: the server has no database «{database}» ({why}); check the database name in the URL "
                "(postgresql://user@host:5432/DATABASE)").format(url=url, database=url.database, why=text)
        reason = "engine-no-database"
    elif any(w in low for w in _UNREACHABLE):
        msg = _("--engine {url}: cannot reach the server ({why}); check the host and port, and that the server is "
                "running and reachable from here").format(url=url, why=text)
        reason = "engine-unreachable"
    else:
        msg = _("--engine {url}: cannot connect: {why}").format(url=url, why=text)
        reason = "engine-connect"
    return InputError(problems=[Problem(msg, reason=reason)])


def connect(url: EngineURL) -> Connection:
    """Open ``url`` read-only (see the module docstring)."""
    mod = driver_module(url)
    password = url.password()
    try:
        if url.scheme == "duckdb":
            from pathlib import Path

            if not url.path or not Path(url.path).expanduser().exists():
                raise InputError(problems=[Problem(_("--engine {url}: no DuckDB database at {path}")
                                                   .format(url=url, path=url.path or "''"), reason="engine-unreachable")])
            raw = mod.connect(str(Path(url.path).expanduser()), read_only=True)
            return Connection(url, DuckDBTarget(raw), raw)
        if url.scheme == "chdb":  # an embedded ClickHouse over its data folder, in this process
            from chdb import session

            raw = session.Session(str(_local_folder(url, _("--engine {url}: no ClickHouse data folder (chdb) at {path}"))))
            raw.query("SET readonly = 2")  # no writes; a query's own SETTINGS (join_use_nulls) still apply
            return Connection(url, ChdbTarget(raw), raw)
        if url.scheme == "spark-local":
            spark = _spark_local(url, mod)
            return Connection(url, SparkTarget(spark.session), spark)
        if url.scheme in ("postgresql", "postgres"):
            params = url.driver_params()
            kw: dict[str, Any] = {"dbname": url.path or None, "user": url.user, "port": url.port,
                                  "host": params.pop("host", None) or url.host, "connect_timeout": int(params.pop("connect_timeout", 10)),
                                  "options": "-c default_transaction_read_only=on", "autocommit": True}
            if password:
                kw["password"] = password
            kw.update(params)
            raw = mod.connect(**{k: v for k, v in kw.items() if v is not None})
            return Connection(url, DBAPITarget(raw, "postgres"), raw)
        if url.scheme == "snowflake":
            db, _sep, schema = url.path.partition("/")
            params = url.driver_params()
            raw = mod.connect(account=url.host, user=url.user, password=password, database=db or None,
                              schema=schema or url.schema, **params)
            return Connection(url, DBAPITarget(raw, "snowflake"), raw)
        if url.scheme == "bigquery":
            from google.cloud.bigquery import dbapi

            client = mod.Client(project=url.host)
            raw = dbapi.connect(client=client)
            return Connection(url, DBAPITarget(raw, "bigquery"), raw)
        if url.scheme == "databricks":
            params = url.driver_params()
            raw = mod.connect(server_hostname=url.host, http_path=params.pop("http_path", None), access_token=password,
                              catalog=params.pop("catalog", None), schema=url.schema)
            return Connection(url, DBAPITarget(raw, "spark"), raw)
        if url.scheme == "clickhouse":
            from clickhouse_connect import dbapi

            raw = dbapi.connect(host=url.host, port=url.port, username=url.user or "default", password=password or "",
                                database=url.path or None)
            return Connection(url, DBAPITarget(raw, "clickhouse"), raw)
    except InputError:
        raise
    except Exception as exc:  # the driver's own error, whatever its class: never a traceback
        raise connection_error(url, exc, password) from None
    raise AssertionError(url.scheme)
