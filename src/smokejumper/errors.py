"""One error root: every error a user can cause is a ``SmokejumperError``.

The CLI turns any of these into one red line and exit code 1 (``--debug`` shows
the traceback); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SmokejumperError(Exception):
    """Root of every error Smokejumper raises on purpose."""


class ConfigError(SmokejumperError):
    """``smokejumper.toml`` is missing, malformed or names something that does not exist."""


class WorkspaceError(SmokejumperError):
    """The workspace folder is missing or not a Smokejumper workspace."""


class StoreError(SmokejumperError):
    """A store cannot be reached, or its schema is newer than this version understands."""


class IngestError(SmokejumperError):
    """A file cannot be loaded at all (not what it claims, empty, truncated...)."""


class MetricError(SmokejumperError):
    """A metric request names an unknown metric, dimension, grain or filter."""


class MissingDependencyError(SmokejumperError):
    """An optional feature needs an extra that is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this needs the '{package}' package: pip install \"smokejumper[{extra}]\""
        )
        self.package = package
        self.extra = extra


class TextError(SmokejumperError):
    """Text enrichment cannot run: a bad labelled file, column, label, taxonomy or model."""


class DriverError(SmokejumperError):
    """A key driver analysis cannot run on this data or with these settings."""


class LocalizeError(SmokejumperError):
    """Root-cause localisation cannot run on this table (missing columns, repeated leaves...)."""


class FrontlineError(SmokejumperError):
    """Frontline analysis cannot run: unknown measure or area, no agents, a bad pair or viewer."""


class SmokeError(SmokejumperError):
    """A smoke scan or an alert action cannot run (unknown metric, alert or state change)."""
