"""What a load did, as plain frozen data: the counts that reconcile, per file and in total.

Every input row ends as exactly one of *inserted* (a new key), *updated* (a known key whose
content changed), *duplicate* (a known key with the same content) or *rejected* (with the
column and the reason), so ``read == inserted + updated + duplicate + rejected`` always.

>>> s = FileSummary(path="a.csv", format="csv", read=5, inserted=2, updated=1,
...                 duplicate=1, rejected=1)
>>> s.reconciles
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the four outcomes of an input row, in the order the summary shows them
OUTCOMES = ("inserted", "updated", "duplicate", "rejected")


def _counts(summary: FileSummary | IngestSummary) -> dict[str, Any]:
    """The reconciling counts and the rejects file, as every summary shows them first."""
    counts: dict[str, Any] = {"read": summary.read}
    counts.update({outcome: getattr(summary, outcome) for outcome in OUTCOMES})
    counts["rejects_file"] = str(summary.rejects_file) if summary.rejects_file else None
    return counts


@dataclass(frozen=True)
class FileSummary:
    """One input file: how it was read and what became of its rows."""

    path: str
    format: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    duplicate: int = 0
    rejected: int = 0
    sha256: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    rejects_file: Path | None = None
    ignored_columns: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    """canonical column -> the source column it was read from"""

    @property
    def reconciles(self) -> bool:
        return self.read == sum(getattr(self, outcome) for outcome in OUTCOMES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sha256": self.sha256,
            **_counts(self),
            "ignored_columns": list(self.ignored_columns),
            "columns": dict(self.columns),
        }


@dataclass(frozen=True)
class IngestSummary:
    """The result of one ``ingest`` command: totals over its files, which load it was,
    and where the rejected rows went.

    >>> s = IngestSummary(table="responses", load_id="L1", files=(), read=3, inserted=1,
    ...                   updated=1, duplicate=0, rejected=1)
    >>> s.reconciles, s.to_dict()["rejected"]
    (True, 1)
    """

    table: str
    load_id: str
    files: tuple[FileSummary, ...]
    read: int
    inserted: int
    updated: int
    duplicate: int
    rejected: int
    rejects_file: Path | None = None
    """The rejects file of the load (the first one when several files had rejects)."""
    rejects_files: tuple[Path, ...] = ()
    mapping: str | None = None
    ignored_columns: tuple[str, ...] = ()
    seconds: float = 0.0

    @classmethod
    def combine(cls, table: str, load_id: str, files: tuple[FileSummary, ...],
                mapping: str | None, seconds: float) -> IngestSummary:
        """Totals over the files of one load."""
        rejects = tuple(f.rejects_file for f in files if f.rejects_file is not None)
        ignored: list[str] = []
        for f in files:
            ignored.extend(c for c in f.ignored_columns if c not in ignored)
        return cls(
            table=table, load_id=load_id, files=files,
            read=sum(f.read for f in files), inserted=sum(f.inserted for f in files),
            updated=sum(f.updated for f in files), duplicate=sum(f.duplicate for f in files),
            rejected=sum(f.rejected for f in files),
            rejects_file=rejects[0] if rejects else None, rejects_files=rejects,
            mapping=mapping, ignored_columns=tuple(ignored), seconds=seconds,
        )

    @property
    def reconciles(self) -> bool:
        return self.read == sum(getattr(self, outcome) for outcome in OUTCOMES)

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the reconciling counts first, then the details."""
        return {
            **_counts(self),
            "rejects_files": [str(p) for p in self.rejects_files],
            "table": self.table,
            "load_id": self.load_id,
            "mapping": self.mapping,
            "ignored_columns": list(self.ignored_columns),
            "seconds": round(self.seconds, 3),
            "files": [f.to_dict() for f in self.files],
        }
