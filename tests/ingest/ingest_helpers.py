"""Seeded data, file writers and store peeks shared by the ingest tests."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smokejumper.workspace import Workspace

RESPONSE_COLUMNS = ("response_id", "ts", "customer_id", "touchpoint", "nps", "csat", "ces",
                    "comment")
TOUCHPOINTS = ("call centre", "store", "web", "app", "billing")
COMMENTS = ("quick and friendly", "waited far too long", "", "the app keeps crashing",
            "great, thanks", "billing error again")


def response_rows(n: int, seed: int = 42, start: int = 1) -> list[dict[str, str]]:
    """``n`` valid responses rows as the text a CSV export would hold (seeded)."""
    rng = random.Random(seed)
    rows = []
    for i in range(start, start + n):
        rows.append({
            "response_id": f"R{i:05d}",
            "ts": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                  f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
            "customer_id": f"C{rng.randint(1, 500):04d}",
            "touchpoint": rng.choice(TOUCHPOINTS),
            "nps": str(rng.randint(0, 10)),
            "csat": str(rng.randint(1, 5)),
            "ces": str(rng.randint(1, 7)),
            "comment": rng.choice(COMMENTS),
        })
    return rows


def csv_text(rows: Sequence[dict[str, str]], columns: Sequence[str] = RESPONSE_COLUMNS,
             delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def csv_line(values: Sequence[str], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(values)
    return out.getvalue()


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def rows_of(ws: Workspace, table: str, columns: str = "*",
            order: str | None = None) -> list[tuple[Any, ...]]:
    """Rows of a store table, straight from DuckDB."""
    key = order or ", ".join(ws.analytics.spec(table).key)
    return ws.analytics.raw.execute(f"SELECT {columns} FROM {table} ORDER BY {key}").fetchall()


def store_state(ws: Workspace) -> dict[str, Any]:
    """Everything a load could change: every table's rows (for 'left unchanged' checks)."""
    con = ws.analytics.raw
    tables = ("responses", "interactions", "customers", "employees", "outcomes", "_loads",
              "_rejects")
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def counts(summary: Any) -> tuple[int, int, int, int, int]:
    """(read, inserted, updated, duplicate, rejected)."""
    return (summary.read, summary.inserted, summary.updated, summary.duplicate,
            summary.rejected)
