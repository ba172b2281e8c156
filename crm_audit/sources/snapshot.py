"""Snapshots: what one sync gave the audit, kept as Parquet so the audit can be reproduced.

A snapshot is a folder ``crm-audit.snapshots/sync-<id>/`` with one Parquet
file per entity (``deals.parquet`` ...: the connector's flattened tables, API
field names as columns, text cells, plus ``_row``) and ``manifest.json`` (CRM,
account, sync id, when, rows). It is written to a temporary folder and renamed
into place. :class:`SyncedSource` reads one into the same canonical DuckDB
tables an export gives, through the connector's API profile and the same
mapping (:func:`crm_audit.engine.mapping.map_entity`), so the rules, outputs
and ledger see no difference — the report's source names the sync.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from crm_audit.engine.profile import ENTITIES, Profile, load_profile
from crm_audit.errors import UsageError
from crm_audit.i18n import _
from crm_audit.sources.cache import SyncCache
from crm_audit.sources.connector import Connector

MANIFEST = "manifest.json"


def write_snapshot(connector: Connector, cache: SyncCache, folder: Path, sid: int) -> tuple[Path, dict[str, int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"sync-{sid}"
    tmp = folder / f".sync-{sid}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    counts: dict[str, int] = {}
    for entity, table in connector.tables(cache).items():
        n = len(table)
        cols = {"_row": pa.array(range(2, n + 2), pa.int64())}
        for k, h in enumerate(table.headers):
            cols[h] = table.arrow.column(k).cast(pa.string()) if table.arrow is not None else pa.array([r[k] for r in table.rows], pa.string())
        pq.write_table(pa.table(cols), tmp / f"{entity}.parquet", compression="zstd")
        counts[entity] = n
    manifest = {"crm": connector.crm, "account": connector.account, "sync_id": sid, "profile": connector.profile_file,
                "written": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(), "rows": counts}
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final, counts


def remove_snapshot(path: Path) -> None:
    if path.is_dir() and (path / MANIFEST).exists():
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class SyncedSource:
    """A snapshot as the input of an audit (``AuditRequest.source``; ``audit_export`` reads it like an export folder)."""

    snapshot: Path
    crm: str
    sync_id: int
    account: str
    profile_file: Path

    @classmethod
    def open(cls, snapshot: str | Path) -> "SyncedSource":
        p = Path(snapshot)
        m = p / MANIFEST
        if not m.exists():
            raise UsageError(_("{path}: not a crm-audit snapshot (no {manifest}); `crm-audit sync` writes them into the "
                               "<ledger name>.snapshots folder").format(path=p, manifest=MANIFEST))
        meta = json.loads(m.read_text(encoding="utf-8"))
        return cls(p, meta["crm"], int(meta["sync_id"]), meta.get("account", ""), Path(__file__).parent / "profiles" / meta["profile"])

    @property
    def profile(self) -> Profile:
        return load_profile(str(self.profile_file))

    def __str__(self) -> str:
        # language-neutral: the ledger keeps it and the FAQ (Russian) and the terminal (any language) show it
        return f"{self.crm} API #{self.sync_id} ({self.snapshot})"

    def load_export(self, on_bad_value: str = "error", as_of: dt.date | None = None, profile: Profile | None = None):
        """The snapshot's tables mapped into canonical tables: a :class:`~crm_audit.engine.loading.LoadedExport`."""
        import duckdb

        from crm_audit.engine import linking, mapping, sqlfuncs
        from crm_audit.engine.encoding import file_fingerprint
        from crm_audit.engine.loading import LoadedExport
        from crm_audit.engine.readers import RawInfo, RawTable
        from crm_audit.textnorm import norm

        profile = profile or self.profile
        con = duckdb.connect()
        sqlfuncs.install(con)
        out = LoadedExport(con, self.snapshot, {}, profile=profile)
        try:
            for i, entity in enumerate(ENTITIES):
                path = self.snapshot / f"{entity}.parquet"
                if not path.exists() or entity not in profile.entities:
                    continue
                cols = [c for c in con.execute("SELECT name FROM parquet_schema(?) WHERE name <> 'schema'", [str(path)]).fetchall()]
                headers = [c[0] for c in cols if c[0] != "_row"]
                name = f"raw_{i}"
                select = ", ".join(f'"{h}" AS c{k}' for k, h in enumerate(headers))
                con.execute(f"CREATE TABLE {name} AS SELECT _row{', ' + select if select else ''} FROM read_parquet(?)", [str(path)])
                raw = RawTable(name, path, headers, RawInfo(kind="api", encoding="utf-8"))
                job = mapping.MapJob(entity, profile.entities[entity], raw, on_bad_value, profile)
                ent, warns = mapping.map_entity(con, job)
                # a rule may name a mapped API field by any of the profile's names for it (amoCRM «Бюджет» is `price`)
                spec = profile.entities[entity]
                for fname in ent.fields:
                    for h in (spec.fields[fname].headers if fname in spec.fields else []):  # a derived field (status) has none
                        ent.header_fields.setdefault(norm(h), fname)
                out.entities[entity] = ent
                out.warnings += warns
                out.fingerprints[f"{self.crm}-sync/{entity}.parquet"] = file_fingerprint(path)
            if "deals" not in out.entities:
                raise UsageError(_("{path}: the snapshot has no deals").format(path=self.snapshot))
            out.warnings += linking.link_by_name(con, out.entities, profile)
            out.warnings += mapping.dates_from_days(con, out.entities, profile, as_of or dt.date.today(), on_bad_value)
            out.warnings += mapping.dates_from_stage_columns(con, out.entities, profile, on_bad_value)
        except BaseException:
            con.close()
            raise
        return out
