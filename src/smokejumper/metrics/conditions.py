"""The condition mini-language of metric definitions, parsed safely (no ``eval``).

A condition is ``column op value`` (``op`` one of ``= == != < <= > >= in``, or ``not in``
with a parenthesised list), a bare boolean column, ``not ...``, parentheses, joined with
``and``/``or``. Values are numbers, quoted strings, ``true`` or ``false``. It parses into a
small tree of frozen dataclasses that renders back to text and binds to an Ibis table.
Comparisons follow SQL: a missing value meets no comparison.

>>> parse_condition("csat >= 4")
Compare(column='csat', op='>=', value=4)
>>> str(parse_condition("contact_reason in ('billing', 'cancellation') and not resolved"))
"contact_reason in ('billing', 'cancellation') and not resolved"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smokejumper.errors import MetricError

if TYPE_CHECKING:
    import ibis.expr.types as ir

Literal = str | int | float | bool

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|<>|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}


@dataclass(frozen=True)
class Compare:
    """``column op value``."""

    column: str
    op: str
    value: Literal

    def __str__(self) -> str:
        return f"{self.column} {self.op} {_render(self.value)}"


@dataclass(frozen=True)
class InList:
    """``column in (v1, v2, ...)`` or ``column not in (...)``."""

    column: str
    values: tuple[Literal, ...]
    negate: bool = False

    def __str__(self) -> str:
        inside = ", ".join(_render(v) for v in self.values)
        return f"{self.column} {'not in' if self.negate else 'in'} ({inside})"


@dataclass(frozen=True)
class IsTrue:
    """A bare boolean column."""

    column: str

    def __str__(self) -> str:
        return self.column


@dataclass(frozen=True)
class NotNull:
    """The column has a value (used internally, not written by users)."""

    column: str

    def __str__(self) -> str:
        return f"{self.column} is not null"


@dataclass(frozen=True)
class Not:
    operand: Condition

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"not {inner}" if isinstance(self.operand, IsTrue) else f"not ({inner})"


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]

    def __str__(self) -> str:
        return " and ".join(_group(o, Or) for o in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]

    def __str__(self) -> str:
        return " or ".join(_group(o, And) for o in self.operands)


Condition = Compare | InList | IsTrue | NotNull | Not | And | Or


def _render(value: Literal) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _group(node: Condition, other: type) -> str:
    return f"({node})" if isinstance(node, other) else str(node)


def conjunction(*conditions: Condition | None) -> Condition | None:
    """Join conditions with ``and``, dropping ``None`` and repeats; ``None`` when empty.

    >>> str(conjunction(None, Compare("nps", ">=", 9), NotNull("csat")))
    'nps >= 9 and csat is not null'
    """
    parts: list[Condition] = []
    for condition in conditions:
        if condition is None:
            continue
        for part in condition.operands if isinstance(condition, And) else (condition,):
            if part not in parts:
                parts.append(part)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def condition_columns(node: Condition) -> set[str]:
    """The columns a condition reads.

    >>> sorted(condition_columns(parse_condition("nps >= 9 or not resolved")))
    ['nps', 'resolved']
    """
    if isinstance(node, Compare | InList | IsTrue | NotNull):
        return {node.column}
    if isinstance(node, Not):
        return condition_columns(node.operand)
    return set().union(*(condition_columns(o) for o in node.operands))


# -- parsing ----------------------------------------------------------------------------------

def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"unexpected character {text[position:].lstrip()[:1]!r} at "
                             f"position {position + 1}")
        position = match.end()
        kind = match.lastgroup
        value = match.group(kind or "")
        if kind == "number":
            number = float(value)
            tokens.append(("value", int(value) if re.fullmatch(r"-?\d+", value) else number))
        elif kind == "string":
            tokens.append(("value", re.sub(r"\\(.)", r"\1", value[1:-1])))
        elif kind == "name" and value.lower() in _KEYWORDS:
            word = value.lower()
            if word in ("true", "false"):
                tokens.append(("value", word == "true"))
            else:
                tokens.append((word, word))
        elif kind == "op":
            tokens.append(("op", {"==": "=", "<>": "!="}.get(value, value)))
        else:
            tokens.append((kind or "", value))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", None)

    def take(self, kind: str, what: str) -> Any:
        token_kind, value = self.peek()
        if token_kind != kind:
            found = "the end" if token_kind == "end" else repr(value)
            raise ValueError(f"expected {what}, found {found}")
        self.index += 1
        return value

    def parse(self) -> Condition:
        node = self.or_()
        if self.peek()[0] != "end":
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return node

    def or_(self) -> Condition:
        parts = [self.and_()]
        while self.peek()[0] == "or":
            self.index += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Condition:
        parts = [self.not_()]
        while self.peek()[0] == "and":
            self.index += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_(self) -> Condition:
        if self.peek()[0] == "not":
            self.index += 1
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Condition:
        if self.peek() == ("punct", "("):
            self.index += 1
            node = self.or_()
            self.take("punct", "')'")
            return node
        column = self.take("name", "a column name")
        kind, value = self.peek()
        if kind == "op":
            self.index += 1
            return Compare(column, value, self.take("value", "a number, 'text', true or false"))
        if kind == "in" or (kind == "not" and self.tokens[self.index + 1:][:1] == [("in", "in")]):
            negate = kind == "not"
            self.index += 2 if negate else 1
            return InList(column, self.values(), negate)
        return IsTrue(column)

    def values(self) -> tuple[Literal, ...]:
        self.take("punct", "'(' after in")
        values = [self.take("value", "a value")]
        while self.peek() == ("punct", ","):
            self.index += 1
            values.append(self.take("value", "a value"))
        self.take("punct", "')' closing the list")
        return tuple(values)


def parse_condition(text: str, metric: str = "") -> Condition:
    """Parse a condition; a mistake is a :class:`MetricError` naming the metric.

    >>> parse_condition("upsell or order_value > 0")
    Or(operands=(IsTrue(column='upsell'), Compare(column='order_value', op='>', value=0)))
    >>> parse_condition("csat >=", "happy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    smokejumper.errors.MetricError: metric 'happy': condition 'csat >=': expected a number, ...
    """
    try:
        if not text or not text.strip():
            raise ValueError("the condition is empty")
        return _Parser(_tokenize(text)).parse()
    except ValueError as exc:
        prefix = f"metric '{metric}': " if metric else ""
        raise MetricError(f"{prefix}condition {text!r}: {exc}") from None


# -- binding to Ibis --------------------------------------------------------------------------

def bind_condition(node: Condition, table: ir.Table, metric: str = "") -> ir.BooleanValue:
    """The Ibis boolean expression of a condition over ``table``.

    >>> import ibis
    >>> t = ibis.table({"csat": "int64", "resolved": "boolean"}, name="t")
    >>> print(bind_condition(parse_condition("csat >= 4 and not resolved"), t).get_name())
    And(GreaterEqual(csat, 4), Not(resolved))
    """
    columns = set(table.schema().names)
    missing = sorted(c for c in condition_columns(node) if c not in columns)
    if missing:
        available = ", ".join(c for c in table.schema().names if not c.startswith("_"))
        raise MetricError(f"metric '{metric}': condition reads unknown column "
                          f"'{missing[0]}'; available: {available}")
    try:
        return _bind(node, table)
    except (TypeError, ValueError, AttributeError) as exc:
        raise MetricError(f"metric '{metric}': condition '{node}': {exc}") from None
    except Exception as exc:  # ibis signature errors on type mismatches
        if type(exc).__module__.startswith("ibis"):
            raise MetricError(f"metric '{metric}': condition '{node}': types do not match "
                              f"({type(exc).__name__})") from None
        raise


def _bind(node: Condition, table: ir.Table) -> ir.BooleanValue:
    import operator

    if isinstance(node, Compare):
        column = table[node.column]
        ops = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}
        return ops[node.op](column, _literal(column, node.value, node.column))  # type: ignore[no-any-return]
    if isinstance(node, InList):
        column = table[node.column]
        values = [_literal(column, value, node.column) for value in node.values]
        return column.notin(values) if node.negate else column.isin(values)
    if isinstance(node, IsTrue):
        column = table[node.column]
        if not column.type().is_boolean():
            raise TypeError(f"'{node.column}' is {column.type()}, not true/false; "
                            f"compare it, e.g. '{node.column} > 0'")
        return column  # type: ignore[return-value]
    if isinstance(node, NotNull):
        return table[node.column].notnull()
    if isinstance(node, Not):
        return ~_bind(node.operand, table)
    import functools

    parts = [_bind(o, table) for o in node.operands]
    combine = operator.and_ if isinstance(node, And) else operator.or_
    return functools.reduce(combine, parts)  # type: ignore[no-any-return]


def _literal(column: ir.Value, value: Literal, name: str) -> Any:
    """The value to compare ``column`` with; a date in quotes for a timestamp column."""
    dtype = column.type()
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ((dtype.is_string() and isinstance(value, str))
          or (dtype.is_numeric() and numeric)
          or (dtype.is_boolean() and isinstance(value, bool))
          or (dtype.is_temporal() and isinstance(value, str)))
    if not ok:
        raise TypeError(f"'{name}' is {dtype} and cannot be compared with {_render(value)}")
    if dtype.is_temporal():
        from datetime import datetime

        return datetime.fromisoformat(str(value))
    return value
