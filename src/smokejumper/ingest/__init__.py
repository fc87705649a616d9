"""Ingest that loses nothing: CSV, Parquet and JSON Lines files into the canonical tables.

Every input row ends as exactly one of inserted, updated, duplicate or rejected (with the
column and the reason, kept in ``_rejects`` and written to a rejects file the user can fix
and load again), so the summary reconciles: ``read == inserted + updated + duplicate +
rejected``. A load is one transaction.

Modules: :mod:`.readers` (formats, encodings, dialects), :mod:`.mappings` (built-in and
user column mappings), :mod:`.validate` (types, ranges, time zones, hashes as one SQL
query), :mod:`.load` (staging, classification, the transaction), :mod:`.targets` (the
DuckDB, PostgreSQL and Spark writers), :mod:`.rejects` (rejects files), :mod:`.summary`.
"""

from smokejumper.ingest.load import ingest_files
from smokejumper.ingest.mappings import BUILTIN_MAPPINGS, register_mapping
from smokejumper.ingest.summary import FileSummary, IngestSummary

__all__ = ["BUILTIN_MAPPINGS", "FileSummary", "IngestSummary", "ingest_files",
           "register_mapping"]
