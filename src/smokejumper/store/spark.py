"""A local Spark session for the analytics store (only imported when Spark is configured)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_SESSIONS: dict[str, Any] = {}


def spark_session(master: str, warehouse: Path) -> Any:
    """One SparkSession per process, quiet, UTC, with a warehouse in the workspace."""
    if master in _SESSIONS:
        return _SESSIONS[master]
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
    session = (
        SparkSession.builder.master(master)
        .appName("smokejumper")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse.resolve()))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    _SESSIONS[master] = session
    return session


SPARK_TYPES = {"string": "STRING", "int64": "BIGINT", "float64": "DOUBLE", "boolean": "BOOLEAN",
               "timestamp": "TIMESTAMP"}


def warehouse_path(session: Any) -> Path:
    """The warehouse folder the session really uses (the first session's, per process)."""
    location = str(session.conf.get("spark.sql.warehouse.dir"))
    return Path(location.removeprefix("file:"))


def register_warehouse_tables(session: Any, schemas: dict[str, dict[str, str]]) -> list[str]:
    """Re-register the workspace's tables after a restart.

    Spark's default catalog lives in memory, so a new process does not know the tables an
    earlier one saved under the warehouse folder. Each known table whose folder exists is
    registered again with its schema (``schemas``: table -> column -> ibis type name), so an
    empty table comes back too and columns added later read as NULL in older files.
    """
    warehouse = warehouse_path(session)
    if not warehouse.is_dir():
        return []
    known = {t.name for t in session.catalog.listTables()}
    registered = []
    for name, columns in schemas.items():
        folder = warehouse / name
        if name in known or not folder.is_dir():
            continue
        ddl = ", ".join(f"`{col}` {SPARK_TYPES.get(str(kind).split('(')[0], 'STRING')}"
                        for col, kind in columns.items())
        session.sql(f"CREATE TABLE IF NOT EXISTS `{name}` ({ddl}) USING parquet "
                    f"LOCATION '{folder.resolve()}'")
        registered.append(name)
    return registered
