"""Column mappings: how a file's columns become a canonical table's columns.

Three sources, one shape (:class:`Mapping`):

- no mapping: a file column feeds the canonical column of the same name, compared
  case-insensitively with spaces, dashes and dots read as underscores (``Response ID`` ->
  ``response_id``);
- built-in mappings for tool exports: ``qualtrics`` (legacy CSV export, three header rows)
  and ``zendesk`` (ticket / satisfaction export), registered in :data:`BUILTIN_MAPPINGS`;
- user mappings, ``[mappings.NAME]`` in ``smokejumper.toml``. A user mapping named like a
  built-in one overrides it column by column.

Canonical columns a mapping does not name are still matched by name, so a mapping only
lists what differs.

>>> from smokejumper.schema import table_spec
>>> plan = plan_columns(table_spec("responses"), ["Response ID", "TS", "NPS", "Extra"],
...                     resolve_mapping({}, None, "responses"), "UTC", "a.csv")
>>> plan.sources["response_id"], plan.sources["nps"], plan.ignored
(0, 2, ('Extra',))
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field, replace

from smokejumper.config import MappingConfig
from smokejumper.errors import IngestError
from smokejumper.schema import LOAD_ID, ROW_HASH, TableSpec

#: columns a rejects file adds (and a reloaded rejects file brings back): never reported
BOOKKEEPING_COLUMNS = frozenset({"_line", "_column", "_reason", "_raw", ROW_HASH, LOAD_ID})


def normalize(name: str) -> str:
    """A column name as compared: lower case, runs of spaces/dashes/dots as one underscore.

    >>> normalize("  Requester-ID ")
    'requester_id'
    """
    return re.sub(r"[\s\-./]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class HeaderHints:
    """What a tool's header rows say beyond column names (found by a built-in's hook)."""

    columns: dict[str, str] = field(default_factory=dict)
    """canonical column -> source column found by looking at the header"""
    timezone: str | None = None
    """time zone the export declares for its timestamps"""


HeaderHook = Callable[[Sequence[Sequence[str]]], HeaderHints]


@dataclass(frozen=True)
class Mapping:
    """A mapping resolved for one table: everything ingest applies to a file."""

    name: str | None
    table: str
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """canonical column -> source column names to try, first found wins"""
    strict: frozenset[str] = frozenset()
    """canonical columns whose source a user named: the file must have it"""
    format: str | None = None
    header_rows: int = 1
    timezone: str | None = None
    timestamp_format: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """canonical column -> {source value (any case): canonical value ('' = missing)}"""
    defaults: dict[str, str] = field(default_factory=dict)
    header_hook: HeaderHook | None = None


@dataclass(frozen=True)
class BuiltinMapping:
    """A mapping that ships with Smokejumper, with one variant per table it can load."""

    name: str
    description: str
    variants: dict[str, Mapping]


# -- built-in: Qualtrics -----------------------------------------------------------------------


def qualtrics_header(records: Sequence[Sequence[str]]) -> HeaderHints:
    """Read a Qualtrics export's header rows.

    Row 1 holds column ids (``ResponseId``, ``RecordedDate``, ``Q1``, ``Q1_NPS_GROUP``...),
    row 2 the question texts, row 3 ``{"ImportId": ...}`` JSON that also names the time zone
    of the date columns. The NPS score is the question that has an ``_NPS_GROUP`` twin.
    """
    names = list(records[0]) if records else []
    hints: dict[str, str] = {}
    for name in names:
        if name.upper().endswith("_NPS_GROUP"):
            score = name[: -len("_NPS_GROUP")]
            if score in names:
                hints["nps"] = score
                break
    timezone = None
    if len(records) >= 3:
        for cell in records[2]:
            try:
                meta = json.loads(cell)
            except (ValueError, TypeError):
                continue
            if isinstance(meta, dict) and isinstance(meta.get("timeZone"), str):
                timezone = meta["timeZone"]
                if str(meta.get("ImportId", "")).lower() == "recordeddate":
                    break
    return HeaderHints(hints, timezone)


QUALTRICS = BuiltinMapping(
    "qualtrics",
    "Qualtrics legacy CSV export (three header rows: ids, question texts, ImportId JSON)",
    {
        "responses": Mapping(
            "qualtrics", "responses",
            columns={
                "response_id": ("ResponseId", "ResponseID", "V1"),
                "ts": ("RecordedDate", "EndDate", "V9", "StartDate", "V8"),
                "customer_id": ("ExternalReference", "ExternalDataReference", "V3"),
                "nps": ("NPS", "Q_NPS", "NPS_Score"),
                "comment": ("Comment", "Comments", "NPS_Comment", "Q_Comment"),
            },
            format="csv", header_rows=3, defaults={"source": "survey"},
            header_hook=qualtrics_header,
        ),
    },
)

# -- built-in: Zendesk -------------------------------------------------------------------------

_ZENDESK_SATISFACTION = {"good": "5", "goodwithcomment": "5", "good with comment": "5",
                         "bad": "1", "badwithcomment": "1", "bad with comment": "1",
                         "offered": "", "unoffered": "", "not offered": ""}
_ZENDESK_TICKET = ("Ticket ID", "Id", "ID", "Ticket Id")
_ZENDESK_CREATED = ("Created at", "Requested", "Ticket created - Timestamp", "Created")

ZENDESK = BuiltinMapping(
    "zendesk",
    "Zendesk ticket / satisfaction export (responses: CSAT good=5, bad=1; interactions: tickets)",
    {
        "responses": Mapping(
            "zendesk", "responses",
            columns={
                "response_id": _ZENDESK_TICKET,
                "interaction_id": _ZENDESK_TICKET,
                "ts": ("Satisfaction rated at", *_ZENDESK_CREATED),
                "customer_id": ("Requester id", "Requester ID", "Requester external id",
                                "Requester"),
                "csat": ("Satisfaction Score", "Satisfaction rating", "Satisfaction"),
                "comment": ("Satisfaction Comment", "Satisfaction comment"),
                "channel": ("Channel", "Via", "Ticket channel"),
                "agent_id": ("Assignee id", "Assignee ID", "Assignee"),
                "team_id": ("Group", "Group id", "Group name"),
            },
            format="csv", values={"csat": dict(_ZENDESK_SATISFACTION)},
            defaults={"source": "ticket", "touchpoint": "support"},
        ),
        "interactions": Mapping(
            "zendesk", "interactions",
            columns={
                "interaction_id": _ZENDESK_TICKET,
                "ts": _ZENDESK_CREATED,
                "customer_id": ("Requester id", "Requester ID", "Requester external id",
                                "Requester"),
                "channel": ("Channel", "Via", "Ticket channel"),
                "agent_id": ("Assignee id", "Assignee ID", "Assignee"),
                "team_id": ("Group", "Group id", "Group name"),
                "contact_reason": ("Contact reason", "Reason", "Ticket type", "Type"),
                "resolved": ("Status", "Ticket status"),
                "transcript": ("Description",),
            },
            format="csv",
            values={"resolved": {"solved": "true", "closed": "true", "open": "false",
                                 "pending": "false", "new": "false", "hold": "false",
                                 "on-hold": "false"}},
            defaults={"touchpoint": "support"},
        ),
    },
)

#: built-in mappings, by name; a third party registers one the same way
BUILTIN_MAPPINGS: dict[str, BuiltinMapping] = {m.name: m for m in (QUALTRICS, ZENDESK)}


def register_mapping(mapping: BuiltinMapping) -> None:
    """Make a tool's export mapping available to ``ingest --mapping NAME``."""
    BUILTIN_MAPPINGS[mapping.name] = mapping


# -- resolution --------------------------------------------------------------------------------


def _from_config(name: str, config: MappingConfig) -> Mapping:
    return Mapping(
        name, config.table,
        columns={canonical: (source,) for canonical, source in config.columns.items()},
        strict=frozenset(config.columns), format=config.format,
        header_rows=config.header_rows, timezone=config.timezone,
        timestamp_format=config.timestamp_format,
        values={c: {k.strip().lower(): v for k, v in m.items()} for c, m in config.values.items()},
        defaults=dict(config.defaults),
    )


def _overlay(base: Mapping, name: str, config: MappingConfig) -> Mapping:
    """A user mapping on top of the built-in of the same name: the user wins key by key."""
    user = _from_config(name, config)
    explicit = config.model_fields_set
    values = {c: dict(m) for c, m in base.values.items()}
    for column, recode in user.values.items():
        values.setdefault(column, {}).update(recode)
    return replace(
        base,
        columns={**base.columns, **user.columns},
        strict=base.strict | user.strict,
        format=user.format if "format" in explicit else base.format,
        header_rows=user.header_rows if "header_rows" in explicit else base.header_rows,
        timezone=user.timezone if "timezone" in explicit else base.timezone,
        timestamp_format=(user.timestamp_format if "timestamp_format" in explicit
                          else base.timestamp_format),
        values=values,
        defaults={**base.defaults, **user.defaults},
    )


def available_mappings(user: MappingType[str, MappingConfig]) -> list[str]:
    return sorted(set(BUILTIN_MAPPINGS) | set(user))


def resolve_mapping(user: MappingType[str, MappingConfig], name: str | None,
                    table: str) -> Mapping:
    """The mapping to apply: none, a built-in, a user one, or a user overlay of a built-in.

    Raises :class:`IngestError` for an unknown name (listing those available) or a mapping
    made for another table.
    """
    if name is None:
        return Mapping(None, table)
    builtin = BUILTIN_MAPPINGS.get(name)
    config = user.get(name)
    if builtin is None and config is None:
        raise IngestError(f"unknown mapping '{name}': available mappings are "
                          f"{', '.join(available_mappings(user))} "
                          "(define your own under [mappings.NAME] in smokejumper.toml)")
    if config is not None and config.table != table:
        raise IngestError(f"mapping '{name}' is for table '{config.table}', not '{table}': "
                          f"use --table {config.table} or another mapping")
    if builtin is None:
        assert config is not None
        return _from_config(name, config)
    if table not in builtin.variants:
        raise IngestError(f"the built-in mapping '{name}' loads "
                          f"{' or '.join(builtin.variants)}, not '{table}'")
    base = builtin.variants[table]
    return _overlay(base, name, config) if config is not None else base


# -- planning: which file column feeds which canonical column ----------------------------------


@dataclass(frozen=True)
class ColumnPlan:
    """For one file: the source column of each canonical column, and what is left over."""

    sources: dict[str, int | None]
    """canonical column -> index of the file column that feeds it (None: not in the file)"""
    names: tuple[str, ...]
    """the file's column names"""
    defaults: dict[str, str]
    values: dict[str, dict[str, str]]
    timezone: str
    timestamp_format: str | None
    ignored: tuple[str, ...]

    def source_name(self, canonical: str) -> str | None:
        index = self.sources.get(canonical)
        return self.names[index] if index is not None else None


def plan_columns(spec: TableSpec, names: Sequence[str], mapping: Mapping, workspace_timezone: str,
                 file_label: str, header_records: Sequence[Sequence[str]] = ()) -> ColumnPlan:
    """Match a file's columns to ``spec``; one clear error when a required column is missing."""
    exact: dict[str, int] = {}
    by_norm: dict[str, int] = {}
    for position, name in enumerate(names):
        exact.setdefault(name, position)
        by_norm.setdefault(normalize(name), position)

    def find(candidate: str) -> int | None:
        if candidate in exact:
            return exact[candidate]
        return by_norm.get(normalize(candidate))

    hints = mapping.header_hook(header_records or [names]) if mapping.header_hook else HeaderHints()
    shown = ", ".join(map(_display, names[:40])) + (", ..." if len(names) > 40 else "")
    sources: dict[str, int | None] = {}
    for column in spec.columns:
        index: int | None = None
        if column.name in mapping.strict:
            wanted = mapping.columns[column.name][0]
            index = find(wanted)
            if index is None:
                raise IngestError(f"{file_label}: mapping '{mapping.name}' reads {column.name} "
                                  f"from column '{wanted}', which the file lacks; columns "
                                  f"found: {shown}")
        else:
            candidates = ((hints.columns[column.name],) if column.name in hints.columns
                          else ()) + mapping.columns.get(column.name, ()) + (column.name,)
            for candidate in candidates:
                index = find(candidate)
                if index is not None:
                    break
        sources[column.name] = index

    missing = [c.name for c in spec.columns
               if (c.required or c.name in spec.key) and sources[c.name] is None
               and c.name not in mapping.defaults]
    if missing:
        what = "column" if len(missing) == 1 else "columns"
        via = f" (mapping '{mapping.name}')" if mapping.name else ""
        raise IngestError(
            f"{file_label}: required {what} {', '.join(repr(m) for m in missing)} not found"
            f"{via} for table '{spec.name}'; columns found: {shown or '(none)'}. Check the "
            "delimiter and header, or map the column with --mapping"
        )
    used = {i for i in sources.values() if i is not None}
    ignored = tuple(name for index, name in enumerate(names)
                    if index not in used and name not in BOOKKEEPING_COLUMNS)
    timezone = mapping.timezone or hints.timezone or workspace_timezone
    _check_timezone(timezone, file_label)
    defaults = {k: v for k, v in mapping.defaults.items() if k in sources}
    unknown = sorted(set(mapping.defaults) - set(sources)) + sorted(
        set(mapping.columns) - set(sources))
    if unknown and mapping.name:
        raise IngestError(f"mapping '{mapping.name}' names {', '.join(unknown)}, which table "
                          f"'{spec.name}' does not have; its columns are "
                          f"{', '.join(spec.column_names)}")
    return ColumnPlan(sources, tuple(names), defaults, mapping.values, timezone,
                      mapping.timestamp_format, ignored)


def _display(name: str) -> str:
    """A column name fit for a one-line message."""
    name = name.replace("\r", "").replace("\n", " ")
    return name if len(name) <= 60 else name[:57] + "..."


def _check_timezone(name: str, file_label: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise IngestError(f"{file_label}: unknown time zone '{name}'") from None


__all__ = ["BUILTIN_MAPPINGS", "BuiltinMapping", "ColumnPlan", "HeaderHints", "Mapping",
           "available_mappings", "normalize", "plan_columns", "register_mapping",
           "resolve_mapping"]
