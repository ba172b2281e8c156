"""Read an export directory into canonical DuckDB tables (moving: the file readers are in :mod:`crm_audit.engine.readers`)."""

from crm_audit.engine.readers import (  # noqa: F401
    DATA_SUFFIXES, ENTITIES, LoadedEntity, LoadedExport, RawInfo, load_export, map_entity, peek_headers, read_raw,
)
