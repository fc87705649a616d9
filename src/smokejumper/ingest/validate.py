"""Validation as one DuckDB query: every record typed, checked and hashed in a single pass.

For each canonical column the query computes the text as found (trimmed, recoded, with
the mapping's default), the typed value, and an error (``NULL`` when fine): a value that
is not a number / yes-no / date, a value outside the column's range (NPS 0-10, CSAT 1-5,
CES 1-7, no negative handle time...), a missing required value. A row's
``_reject_column`` and ``_reject_reason`` are its first error in column order. Valid rows
get ``_row_hash``: a hash of their typed canonical content, which tells an update from a
duplicate.

Time zones: a timestamp with an offset (``2024-03-01T10:00:00+02:00``, ``...Z``) is
converted to UTC; one without gets the mapping's or the workspace's time zone (through
DuckDB's session ``TimeZone``, set per file by :mod:`.load`); all are stored as naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smokejumper.ingest.mappings import ColumnPlan
from smokejumper.ingest.readers import Source, sql_name, sql_string
from smokejumper.schema import ColumnSpec, TableSpec

_TRUE = ("true", "t", "yes", "y", "1", "1.0", "on")
_FALSE = ("false", "f", "no", "n", "0", "0.0", "off")
#: timestamp shapes tried after the ISO 8601 cast (offsets written with a space, etc.)
_EXTRA_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z",
                            "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S.%f %z")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_PLAUSIBLE_YEARS = (1900, 2200)
#: string columns holding free text: kept exactly as written (no trimming)
FREE_TEXT = frozenset({"comment", "transcript"})
#: the column name a rejected row gets when the whole record is unreadable
WHOLE_LINE = "(line)"


def _is_numeric(duck_type: str) -> bool:
    return duck_type.upper().startswith(_NUMERIC)


def _shown(text: str) -> str:
    """A value quoted for a reason, cut to 60 characters."""
    return f"'''' || left({text}, 60) || ''''"


@dataclass(frozen=True)
class ColumnSql:
    """The three expressions of one canonical column."""

    text: str      # layer 1: the value as text (NULL when missing)
    value: str     # layer 2: typed value, from the layer-1 column ``t_<name>``
    error: str     # layer 3: reason or NULL, from ``t_<name>`` and ``v_<name>``


def _text_expression(plan: ColumnPlan, source: Source, column: ColumnSpec) -> str:
    """The value as text, NULL when empty. Trimming costs a copy of every string, so it is
    done only where it matters and only when needed: identifiers and labels with a
    leading or trailing space are trimmed; free text is kept as written; numbers and dates
    are parsed as they are and trimmed only if that fails."""
    index = plan.sources.get(column.name)
    if index is None:
        text = "NULL::VARCHAR"
    else:
        raw = f"c{index}" if source.types[index] == "VARCHAR" else f"CAST(c{index} AS VARCHAR)"
        if column.type == "string" and column.name not in FREE_TEXT:
            text = (f"CASE WHEN {raw} LIKE ' %' OR {raw} LIKE '% ' THEN nullif(trim({raw}), '') "
                    f"ELSE nullif({raw}, '') END")
        else:
            text = f"nullif({raw}, '')"
    recode = plan.values.get(column.name)
    if recode:
        cases = " ".join(f"WHEN {sql_string(k.strip().lower())} THEN {sql_string(v)}"
                         for k, v in recode.items())
        text = f"nullif(CASE lower(trim({text})) {cases} ELSE {text} END, '')"
    default = plan.defaults.get(column.name)
    if default is not None and default != "":
        text = f"coalesce({text}, {sql_string(default)})"
    return text


def _typed_source(plan: ColumnPlan, source: Source, column: ColumnSpec) -> str | None:
    """The source's own type when it already fits (Parquet), else None (parse the text)."""
    index = plan.sources.get(column.name)
    if (index is None or column.name in plan.values or column.name in plan.defaults
            or source.types[index] == "VARCHAR"):
        return None
    duck_type = source.types[index].upper()
    if column.type in ("int", "float") and _is_numeric(duck_type):
        return f"c{index}"
    if column.type == "bool" and duck_type == "BOOLEAN":
        return f"c{index}"
    if column.type == "timestamp" and (duck_type.startswith(("TIMESTAMP", "DATE"))):
        return f"c{index}"
    return None


def column_sql(plan: ColumnPlan, source: Source, column: ColumnSpec,
               decimal_comma: bool = False, required: bool | None = None) -> ColumnSql:
    """Text, typed value and error expressions of one canonical column."""
    name = column.name
    t, v = f"t_{name}", f"v_{name}"
    typed = _typed_source(plan, source, column)
    text = _text_expression(plan, source, column)
    if typed is not None:
        # the text is only needed to show a bad value; keep the typed value for speed
        text = typed
    # blank-but-not-empty text ('  ') counts as missing; trim() only runs where parsing failed
    present = f"{t} IS NOT NULL" + ("" if typed is not None else f" AND trim({t}) <> ''")
    shown = _shown(f"CAST({t} AS VARCHAR)")
    errors: list[str] = []

    if column.type == "string":
        value = t
    elif column.type in ("int", "float"):
        number = (f"CAST({t} AS DOUBLE)" if typed is not None else
                  f"TRY_CAST(replace({t}, ',', '.') AS DOUBLE)" if decimal_comma else
                  f"TRY_CAST({t} AS DOUBLE)")
        # NaN is how pandas and Parquet writers spell a missing number: missing, not wrong
        not_nan = f"coalesce(NOT isnan({number}), true)"
        if column.type == "int":
            value = (f"CASE WHEN {number} = floor({number}) AND abs({number}) < 9e18 "
                     f"THEN CAST({number} AS BIGINT) END")
            errors.append(f"WHEN {v} IS NULL AND {present} AND {not_nan} THEN "
                          f"'not a whole number: ' || {shown}")
        else:
            value = f"CASE WHEN isfinite({number}) THEN {number} END"
            errors.append(f"WHEN {v} IS NULL AND {present} AND {not_nan} THEN "
                          f"'not a number: ' || {shown}")
    elif column.type == "bool":
        if typed is not None:
            value = t
        else:
            value = (f"CASE WHEN lower(trim({t})) IN ({', '.join(map(sql_string, _TRUE))}) "
                     f"THEN true WHEN lower(trim({t})) IN "
                     f"({', '.join(map(sql_string, _FALSE))}) THEN false END")
        errors.append(f"WHEN {v} IS NULL AND {present} THEN 'not a yes/no value: ' || {shown}")
    else:  # timestamp
        value = _timestamp_value(t, typed is not None, source, plan, column)
        low, high = _PLAUSIBLE_YEARS
        errors.append(f"WHEN {v} IS NULL AND {present} THEN 'not a date/time"
                      + (f" in the format {plan.timestamp_format}" if plan.timestamp_format
                         and typed is None else "") + f": ' || {shown}")
        errors.append(f"WHEN year({v}) NOT BETWEEN {low} AND {high} THEN "
                      f"'implausible date: ' || {shown}")

    if column.minimum is not None and column.maximum is not None:
        errors.append(f"WHEN {v} NOT BETWEEN {column.minimum:g} AND {column.maximum:g} THEN "
                      f"'out of range {column.minimum:g} to {column.maximum:g}: ' || {shown}")
    elif column.minimum is not None:
        errors.append(f"WHEN {v} < {column.minimum:g} THEN "
                      f"'below the minimum {column.minimum:g}: ' || {shown}")
    elif column.maximum is not None:
        errors.append(f"WHEN {v} > {column.maximum:g} THEN "
                      f"'above the maximum {column.maximum:g}: ' || {shown}")
    if column.required if required is None else required:
        missing = f"{t} IS NULL" if column.type == "string" or typed is not None else \
            f"{t} IS NULL OR ({v} IS NULL AND trim({t}) = '')"
        errors.insert(0, f"WHEN {missing} THEN 'required value is missing'")
    error = f"CASE {' '.join(errors)} END" if errors else "NULL::VARCHAR"
    return ColumnSql(text, value, error)


def _utc(instant: str) -> str:
    """A TIMESTAMPTZ as naive UTC: plain arithmetic on epoch microseconds, far cheaper than
    a time-zone conversion."""
    return f"make_timestamp(epoch_us({instant}))"


def _timestamp_value(t: str, typed: bool, source: Source, plan: ColumnPlan,
                     column: ColumnSpec) -> str:
    zone = sql_string(plan.timezone)
    utc_zone = plan.timezone in ("UTC", "Etc/UTC", "GMT", "Etc/GMT")
    if typed:
        index = plan.sources[column.name]
        assert index is not None
        duck_type = source.types[index].upper()
        if "WITH TIME ZONE" in duck_type or duck_type == "TIMESTAMPTZ":
            return _utc(t)
        if utc_zone:
            return f"CAST({t} AS TIMESTAMP)"
        return _utc(f"timezone({zone}, CAST({t} AS TIMESTAMP))")
    if plan.timestamp_format:
        fmt = plan.timestamp_format
        parsed = f"try_strptime(trim({t}), {sql_string(fmt)})"
        if "%z" in fmt or "%Z" in fmt:
            return _utc(parsed)
        return parsed if utc_zone else _utc(f"timezone({zone}, {parsed})")
    formats = "[" + ", ".join(map(sql_string, _EXTRA_TIMESTAMP_FORMATS)) + "]"
    # naive text is read in the session TimeZone (the file's zone); offsets are honoured
    return _utc(f"coalesce(TRY_CAST({t} AS TIMESTAMPTZ), TRY_CAST(trim({t}) AS TIMESTAMPTZ), "
                f"try_strptime(trim({t}), {formats}))")


def hash_sql(spec: TableSpec, ref: Callable[[str], str]) -> str:
    """A 64-bit hash of a row's typed canonical values (``UBIGINT``), computed by DuckDB.

    It only ever tells two versions of the *same key* apart. On the DuckDB store both sides
    are hashed in the same query (the stored row from its content), so the hash never has
    to be stable across versions; other engines compare with the stored ``_row_hash``.
    MD5 over the row's text would cost about six times as much.
    """
    return "hash(" + ", ".join(ref(c.name) for c in spec.columns) + ")"


def stored_hash(expression: str) -> str:
    """The text stored in ``_row_hash``: the hash in hexadecimal."""
    return f"to_hex({expression})"


def parse_stored_hash(expression: str) -> str:
    """The inverse of :func:`stored_hash` (NULL for anything else)."""
    return f"TRY_CAST('0x' || {expression} AS UBIGINT)"


def stage_sql(source: Source, plan: ColumnPlan, spec: TableSpec) -> str:
    """The query that types, checks and hashes every record of ``source``.

    Output columns: ``_ord``, the canonical columns (typed), ``_row_hash`` (valid rows),
    ``_reject_column`` and ``_reject_reason`` (rejected rows), ``_raw`` (the record's
    original values, rejected rows only).
    """
    decimal_comma = source.delimiter == ";"
    sqls = {c.name: column_sql(plan, source, c, decimal_comma,
                               required=c.required or c.name in spec.key)
            for c in spec.columns}
    raw_list = "[" + ", ".join(source.raw_columns) + "]" if source.raw_columns else "[]"
    layer1 = ", ".join(f"{s.text} AS {sql_name('t_' + n)}" for n, s in sqls.items())
    layer2 = ", ".join(f"{s.value} AS {sql_name('v_' + n)}" for n, s in sqls.items())
    layer3 = ", ".join(f"{s.error} AS {sql_name('e_' + n)}" for n, s in sqls.items())
    names = list(sqls)
    which = " ".join(f"WHEN {sql_name('e_' + n)} IS NOT NULL THEN {sql_string(n)}"
                     for n in names)
    reason = ", ".join(sql_name("e_" + n) for n in names)
    digest = hash_sql(spec, lambda n: sql_name("v_" + n))
    canonical = ", ".join(f"{sql_name('v_' + n)} AS {sql_name(n)}" for n in names)
    return f"""
SELECT _ord, {canonical},
  CASE WHEN _reject_reason IS NULL THEN {digest} END AS _row_hash,
  _reject_column, _reject_reason,
  CASE WHEN _reject_reason IS NOT NULL THEN {raw_list} END AS _raw
FROM (
  SELECT *,
    CASE WHEN _source_error IS NOT NULL THEN {sql_string(WHOLE_LINE)} {which} END
      AS _reject_column,
    coalesce(_source_error, {reason}) AS _reject_reason
  FROM (
    SELECT *, {layer3} FROM (
      SELECT *, {layer2} FROM (
        SELECT *, {layer1} FROM ({source.relation})
      )
    )
  )
)"""
