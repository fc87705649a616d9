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
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    _SESSIONS[master] = session
    return session
