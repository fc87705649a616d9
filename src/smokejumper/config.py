"""``smokejumper.toml``: the workspace's configuration, as frozen, validated objects.

Errors name the key and what is wrong with it, e.g.
``smokejumper.toml: metrics.fcr.kind: Input should be 'share', 'mean', 'ratio' or 'nps'``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from smokejumper.errors import ConfigError

CONFIG_FILE = "smokejumper.toml"
TableName = Literal["responses", "interactions", "customers", "employees", "outcomes"]
Grain = Literal["day", "week", "month", "quarter", "year"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkspaceSection(_Frozen):
    name: str = "Smokejumper workspace"
    timezone: str = "UTC"
    """Time zone applied to timestamps that carry none; everything is stored in UTC."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value


class StoresSection(_Frozen):
    analytics: str = "duckdb:///analytics.duckdb"
    """Ibis URL: duckdb:///FILE (relative to the workspace), spark://local[2], postgresql://..."""
    operational: str = "sqlite:///operational.db"
    """SQLAlchemy URL: sqlite:///FILE (relative to the workspace) or postgresql+psycopg://..."""

    @field_validator("analytics")
    @classmethod
    def _analytics_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in ("duckdb", "spark", "postgresql", "postgres"):
            raise ValueError(
                f"unsupported analytics store '{scheme}': use duckdb:///FILE, spark://local[N] "
                "or postgresql://USER@HOST/DB"
            )
        return value


class AnalysisSection(_Frozen):
    dimensions: tuple[str, ...] = ("touchpoint", "channel", "region", "segment", "team_id")
    """Columns that segment every metric; extra ones become optional string columns."""
    grain: Grain = "week"
    repeat_window_days: int = Field(default=7, ge=1, le=365)
    """A contact by the same customer within this many days counts as a repeat."""


class IngestSection(_Frozen):
    rejects_dir: str = "rejects"
    """Where rejected rows are written (one CSV per load, with column and reason)."""


class MappingConfig(_Frozen):
    """How a source file's columns become a canonical table's columns."""

    table: TableName
    columns: dict[str, str] = Field(default_factory=dict)
    """canonical column = source column"""
    format: Literal["csv", "parquet", "jsonl"] | None = None
    header_rows: int = Field(default=1, ge=1, le=10)
    """Header lines at the top of a CSV; the first names the columns (Qualtrics exports have 3)."""
    timezone: str | None = None
    timestamp_format: str | None = None
    """strftime format of timestamp columns when they are not ISO 8601."""
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Recode values per canonical column, e.g. {source = {web = "survey"}}."""
    defaults: dict[str, str] = Field(default_factory=dict)
    """Constant values for canonical columns the file lacks, e.g. {source = "survey"}."""


class MetricConfig(_Frozen):
    """A declarative metric. Kinds:

    - ``share``: share of rows meeting ``condition`` (e.g. ``csat >= 4``) among rows where
      ``column`` is present;
    - ``mean``: mean of ``column``;
    - ``ratio``: ``numerator`` / ``denominator``, each an aggregate such as ``sum(order_value)``
      or ``count(*)``;
    - ``nps``: % promoters (9-10) minus % detractors (0-6) of ``column``.
    """

    kind: Literal["share", "mean", "ratio", "nps"]
    table: TableName = "responses"
    column: str | None = None
    condition: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    label: str | None = None
    description: str = ""
    higher_is_better: bool = True
    scale: float = 1.0
    """Multiply the value (e.g. 100 to show a share as a percentage)."""


class RedactionPatternConfig(_Frozen):
    """An extra identifier to mask: a regular expression and the token that replaces it."""

    pattern: str
    token: str = "[ID]"
    ignore_case: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class RedactionSection(_Frozen):
    """What ``smokejumper enrich`` masks before text is stored (see docs/text.md)."""

    emails: bool = True
    phones: bool = True
    cards: bool = True
    ibans: bool = True
    urls: bool = True
    phone_regions: tuple[str, ...] = ("US", "GB")
    """Countries whose national phone formats are recognised (+CC numbers always are)."""
    presets: tuple[Literal["us_ssn", "uk_nino"], ...] = ()
    """Ready-made patterns: us_ssn, uk_nino."""
    token_parameters: tuple[str, ...] | None = None
    """URL query parameters that carry a credential (default: the built-in list)."""
    patterns: dict[str, RedactionPatternConfig] = Field(default_factory=dict)
    """Extra identifiers by name, e.g. account numbers or national ids."""

    def to_redaction_config(self) -> Any:
        """The :class:`smokejumper.text.redact.RedactionConfig` this section describes.

        >>> RedactionSection(patterns={"account": {"pattern": "ACC-[0-9]+"}}
        ...                  ).to_redaction_config().extra_patterns[0].kind
        'account'
        """
        from smokejumper.text.redact import RedactionConfig, RedactionPattern

        extra = tuple(RedactionPattern(name, p.pattern, p.token, p.ignore_case)
                      for name, p in self.patterns.items())
        config = RedactionConfig(emails=self.emails, phones=self.phones, cards=self.cards,
                                 ibans=self.ibans, urls=self.urls,
                                 phone_regions=tuple(r.upper() for r in self.phone_regions),
                                 extra_patterns=extra)
        if self.token_parameters is not None:
            config = RedactionConfig(**{**config.__dict__,
                                        "token_parameters": tuple(self.token_parameters)})
        return config.with_presets(*self.presets)


class WorkspaceConfig(_Frozen):
    workspace: WorkspaceSection = Field(default_factory=WorkspaceSection)
    stores: StoresSection = Field(default_factory=StoresSection)
    analysis: AnalysisSection = Field(default_factory=AnalysisSection)
    ingest: IngestSection = Field(default_factory=IngestSection)
    mappings: dict[str, MappingConfig] = Field(default_factory=dict)
    metrics: dict[str, MetricConfig] = Field(default_factory=dict)
    redaction: RedactionSection = Field(default_factory=RedactionSection)
    # Later issues add their sections here (themes, alerts, notifiers, ...).
    themes: dict[str, Any] = Field(default_factory=dict)
    alerts: dict[str, Any] = Field(default_factory=dict)
    notifiers: dict[str, Any] = Field(default_factory=dict)


def parse_config(data: dict[str, Any], source: str = CONFIG_FILE) -> WorkspaceConfig:
    """Validate a parsed TOML document; the error names the key and the problem."""
    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the commented template)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{source}: {key}: {message}{more}") from None


def load_config(path: Path) -> WorkspaceConfig:
    """Read and validate ``smokejumper.toml`` at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; create one with `smokejumper init`") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, source=str(path.name))


def config_template(name: str = "Smokejumper workspace", dimensions: tuple[str, ...] | None = None,
                    timezone: str = "UTC") -> str:
    """The commented ``smokejumper.toml`` that ``smokejumper init`` writes."""
    dims = dimensions if dimensions is not None else AnalysisSection().dimensions
    dims_toml = ", ".join(f'"{d}"' for d in dims)
    return TEMPLATE.format(name=name, dimensions=dims_toml, timezone=timezone)


TEMPLATE = '''\
# Smokejumper workspace configuration.
# Every key below is optional; the values shown are the defaults unless noted.

[workspace]
name = "{name}"
# Time zone applied to timestamps that carry none. Everything is stored in UTC.
timezone = "{timezone}"

[stores]
# Analytical tables (interactions, responses, customers, employees, outcomes).
#   duckdb:///analytics.duckdb          an embedded file in this folder (default)
#   spark://local[2]                    Apache Spark (pip install "smokejumper[spark]")
#   postgresql://USER:PASSWORD@HOST/DB  PostgreSQL (pip install "smokejumper[postgres]")
analytics = "duckdb:///analytics.duckdb"
# Operational state (alerts, cases, action plans, users, audit log): SQLAlchemy URL.
#   sqlite:///operational.db            an embedded file in this folder (default)
#   postgresql+psycopg://USER:PASSWORD@HOST/DB
operational = "sqlite:///operational.db"

[analysis]
# Columns that segment every metric. Names beyond the canonical columns become
# extra columns of the responses and interactions tables.
dimensions = [{dimensions}]
# Default time grain: day, week, month, quarter or year.
grain = "week"
# A contact by the same customer within this many days counts as a repeat contact.
repeat_window_days = 7

[ingest]
# Rejected rows are written here, one CSV per load, with the column and the reason.
rejects_dir = "rejects"

# Column mappings for your own exports: canonical column = column in your file.
# Built-in mappings: "qualtrics" (legacy CSV export, three header rows) and "zendesk".
# Use one with: smokejumper ingest FILE --table responses --mapping my_survey_tool
#
# [mappings.my_survey_tool]
# table = "responses"
# header_rows = 1                      # lines of header; the first names the columns
# timezone = "Europe/Paris"            # for timestamps with no zone
# timestamp_format = "%d/%m/%Y %H:%M"  # when timestamps are not ISO 8601
# defaults = {{ source = "survey" }}
# [mappings.my_survey_tool.columns]
# response_id = "Response ID"
# ts = "Submitted"
# nps = "How likely are you to recommend us?"
# comment = "Anything else?"

# Metric definitions, on top of the built-ins (nps, csat, csat_mean, ces, responses,
# fcr, repeat_rate, churn_rate, aht, aov, upsell_rate, contacts). Kinds:
#   share  share of rows meeting a condition     condition = "csat >= 4"
#   mean   mean of a column                      column = "handle_time_s"
#   ratio  one aggregate over another            numerator = "sum(order_value)"
#                                                denominator = "count(*)"
#   nps    promoters minus detractors of a 0-10 column
#
# [metrics.low_effort]
# kind = "share"
# table = "responses"
# column = "ces"
# condition = "ces <= 2"
# scale = 100
# label = "Low effort %"

# Personal data masked before text is stored in enrichments (smokejumper enrich):
# e-mails, phone numbers, payment cards, IBANs and URLs carrying tokens, plus your own.
# [redaction]
# phone_regions = ["US", "GB"]         # national phone formats recognised (+CC always)
# presets = ["us_ssn"]                 # us_ssn, uk_nino
# [redaction.patterns.account]
# pattern = '\\bACC-\\d{{8}}\\b'       # a TOML literal string: no escaping
# token = "[ACCOUNT]"

# Later sections: [themes.*] (text themes), [alerts.*] (smoke rules), [notifiers.*].
'''
