"""The canonical analytical tables (DESIGN.md, "Canonical data").

Each table is a :class:`TableSpec`: its columns with type, whether a value is
required and the allowed range, and the key that identifies a row. Ingest
validates against these specs; the stores create tables from them; the metric
engine reads them. Configured dimensions are extra ``string`` columns on top.

Timestamps are stored as UTC without a time zone (``timestamp``); ingest
converts zoned input to UTC and applies the workspace time zone to naive input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["string", "int", "float", "bool", "timestamp"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    description: str = ""
    extra_columns: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def with_dimensions(self, dimensions: list[str] | tuple[str, ...]) -> TableSpec:
        """The same table with configured dimensions added as optional string columns."""
        known = set(self.column_names)
        extra = tuple(ColumnSpec(d, "string") for d in dimensions if d not in known)
        return TableSpec(self.name, self.columns + extra, self.key, self.description,
                         tuple(c.name for c in extra))


def _c(name: str, type_: ColumnType, required: bool = False, minimum: float | None = None,
       maximum: float | None = None, description: str = "") -> ColumnSpec:
    return ColumnSpec(name, type_, required, minimum, maximum, description)


INTERACTIONS = TableSpec(
    "interactions",
    (
        _c("interaction_id", "string", True, description="one contact, visit or transaction"),
        _c("ts", "timestamp", True),
        _c("customer_id", "string", True),
        _c("touchpoint", "string", True, description="e.g. call centre, store, web, app"),
        _c("channel", "string"),
        _c("agent_id", "string"),
        _c("team_id", "string"),
        _c("handle_time_s", "float", minimum=0),
        _c("resolved", "bool"),
        _c("contact_reason", "string"),
        _c("order_value", "float", minimum=0),
        _c("upsell", "bool"),
        _c("transcript", "string"),
    ),
    key=("interaction_id",),
    description="one row per contact, visit or transaction",
)

RESPONSES = TableSpec(
    "responses",
    (
        _c("response_id", "string", True),
        _c("ts", "timestamp", True),
        _c("customer_id", "string"),
        _c("interaction_id", "string"),
        _c("source", "string", description="survey, review, ticket, social"),
        _c("touchpoint", "string"),
        _c("channel", "string"),
        _c("agent_id", "string"),
        _c("team_id", "string"),
        _c("nps", "int", minimum=0, maximum=10, description="likelihood to recommend 0-10"),
        _c("csat", "int", minimum=1, maximum=5, description="satisfaction 1-5"),
        _c("ces", "int", minimum=1, maximum=7, description="customer effort 1-7"),
        _c("rating", "float"),
        _c("comment", "string"),
    ),
    key=("response_id",),
    description="one row per piece of feedback",
)

CUSTOMERS = TableSpec(
    "customers",
    (
        _c("customer_id", "string", True),
        _c("segment", "string"),
        _c("region", "string"),
        _c("tenure_months", "float", minimum=0),
        _c("revenue", "float", minimum=0, description="yearly revenue from the customer"),
        _c("joined_at", "timestamp"),
        _c("churned_at", "timestamp"),
    ),
    key=("customer_id",),
    description="one row per customer",
)

EMPLOYEES = TableSpec(
    "employees",
    (
        _c("employee_id", "string", True),
        _c("team_id", "string"),
        _c("site", "string"),
        _c("role", "string"),
        _c("hired_at", "timestamp"),
        _c("left_at", "timestamp"),
        _c("engagement", "float", minimum=0, maximum=100),
    ),
    key=("employee_id",),
    description="one row per staff member",
)

OUTCOMES = TableSpec(
    "outcomes",
    (
        _c("customer_id", "string", True),
        _c("ts", "timestamp", True),
        _c("kind", "string", True, description="churn, renewal, purchase"),
        _c("value", "float"),
    ),
    key=("customer_id", "ts", "kind"),
    description="one row per customer event",
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (INTERACTIONS, RESPONSES, CUSTOMERS, EMPLOYEES, OUTCOMES)
}
#: tables a user may load with ``smokejumper ingest --table``
INGESTABLE = tuple(TABLES)

#: bookkeeping columns every analytical table carries, after the canonical ones
ROW_HASH = "_row_hash"   # hash of the canonical content, to tell updates from duplicates
LOAD_ID = "_load_id"     # which load wrote the row


def table_spec(name: str, dimensions: list[str] | tuple[str, ...] = ()) -> TableSpec:
    """The spec of a canonical table, with the workspace's dimensions added."""
    from smokejumper.errors import SmokejumperError

    if name not in TABLES:
        raise SmokejumperError(
            f"unknown table '{name}': choose one of {', '.join(TABLES)}"
        )
    spec = TABLES[name]
    if name in ("responses", "interactions"):
        return spec.with_dimensions(dimensions)
    return spec
