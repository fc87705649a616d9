"""Detect smoke and find its source.

``localize`` and ``explain_change`` trace a change in a KPI to the segments
(combinations of dimension values) that explain it; see :mod:`smokejumper.smoke.localize`.
"""

from __future__ import annotations

from smokejumper.smoke.localize import (
    ChangeExplanation,
    LocalizeConfig,
    RootCause,
    explain_change,
    localize,
)

__all__ = ["ChangeExplanation", "LocalizeConfig", "RootCause", "explain_change", "localize"]
