"""Metrics over enriched text: ``sentiment``, per-theme volume and share, and the
``conversation_score`` of transcripts.

Sentiment and themes read a derived table, ``enriched_responses``: each response whose
comment has been enriched (``smokejumper enrich``), with every response column (so any
dimension and the time grain work), the comment's ``sentiment`` and ``sentiment_label``
from its latest enrichment, and one true/false column per theme of the taxonomy
(``theme__<name>``: the latest enrichment tagged the theme). The join runs in the engine;
a theme found several times in one comment counts once.

``conversation_score`` reads ``enriched_interactions``: each interaction whose transcript
has been enriched, with every interaction column (so it sits beside handle time, order
value and upsell by team, agent or channel) and the transcript's ``conversation_score``
and ``sentiment`` from its latest enrichment.

>>> sorted(theme_definitions(["billing_error"]))
['theme_share:billing_error', 'theme_volume:billing_error']
>>> theme_definitions(["billing_error"])["theme_share:billing_error"].condition
'theme__billing_error'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from smokejumper.metrics.definitions import MetricDefinition

if TYPE_CHECKING:
    import ibis.expr.types as ir

ENRICHED_RESPONSES = "enriched_responses"
ENRICHED_INTERACTIONS = "enriched_interactions"
#: derived table → the canonical table it extends, its id column, the enrichment columns
DERIVED = {ENRICHED_RESPONSES: ("responses", "response_id", ("sentiment", "sentiment_label")),
           ENRICHED_INTERACTIONS: ("interactions", "interaction_id",
                                   ("conversation_score", "sentiment", "sentiment_label"))}
THEME_VOLUME = "theme_volume"
THEME_SHARE = "theme_share"


def theme_column(theme: str) -> str:
    """The true/false column of ``enriched_responses`` for a theme.

    >>> theme_column("field service")
    'theme__field_service'
    """
    return "theme__" + re.sub(r"\W", "_", theme)


def theme_definitions(themes: Iterable[str]) -> dict[str, MetricDefinition]:
    """``theme_volume:<theme>`` (comments mentioning it) and ``theme_share:<theme>`` (% of
    enriched comments mentioning it) for each theme of the taxonomy."""
    definitions = {}
    for theme in themes:
        column = theme_column(theme)
        volume = MetricDefinition(
            f"{THEME_VOLUME}:{theme}", "count", ENRICHED_RESPONSES, f"{theme} mentions",
            condition=column, higher_is_better=False, builtin=True,
            description=f"Number of enriched comments that mention the theme '{theme}' "
            "(interval: exact Poisson).")
        share = MetricDefinition(
            f"{THEME_SHARE}:{theme}", "share", ENRICHED_RESPONSES, f"{theme} %",
            condition=column, scale=100, higher_is_better=False, builtin=True,
            description=f"% of enriched comments that mention the theme '{theme}'.")
        definitions[volume.name] = volume
        definitions[share.name] = share
    return definitions


def latest_enrichments(enrichments: ir.Table, source: str,
                       columns: Sequence[str]) -> ir.Table:
    """Per text of ``source``, its most recent enrichment (any model version): the keys
    ``text_id``, ``text_hash``, ``model_version`` and ``columns``."""
    import ibis

    mine = enrichments.filter(enrichments.source_table == source)
    order = ibis.window(group_by=mine.text_id,
                        order_by=[mine.enriched_at.desc(), mine.model_version.desc()])
    latest = mine.mutate(_rank=ibis.row_number().over(order))
    return latest.filter(latest._rank == 0).select(
        "text_id", "text_hash", "model_version", *columns)


def _extend(table: ir.Table, id_column: str, latest: ir.Table) -> ir.Table:
    """``table``'s rows that have an enrichment, with its columns (they win a clash)."""
    clash = [c for c in latest.columns if c != "text_id" and c in table.columns]
    if clash:
        table = table.drop(*clash)
    return table.join(latest, table[id_column] == latest.text_id).drop("text_id")


def enriched_interactions(interactions: ir.Table, enrichments: ir.Table) -> ir.Table:
    """Interactions with an enriched transcript and its latest conversation score and
    sentiment."""
    _, id_column, columns = DERIVED[ENRICHED_INTERACTIONS]
    latest = latest_enrichments(enrichments, "interactions", columns)
    return _extend(interactions, id_column, latest.select("text_id", *columns))


def enriched_responses(responses: ir.Table, enrichments: ir.Table, themes: ir.Table,
                       theme_names: Sequence[str] = ()) -> ir.Table:
    """Responses with an enriched comment, their latest enrichment and one flag per theme.

    The latest enrichment of a comment is the most recent one (any model version); its
    themes are the ``enrichment_themes`` rows of the same text, hash and model version.
    """
    _, id_column, enrichment_columns = DERIVED[ENRICHED_RESPONSES]
    latest = latest_enrichments(enrichments, "responses", enrichment_columns)
    keys = ["text_id", "text_hash", "model_version"]
    columns = {theme_column(name): name for name in theme_names}
    if columns:
        tagged = themes.filter(themes.source_table == "responses")
        flags = tagged.group_by(keys).aggregate(**{
            column: (tagged.theme == name).ifelse(1, 0).max()
            for column, name in columns.items()})
        joined = latest.left_join(flags, [latest[k] == flags[k] for k in keys])
        latest = joined.select(
            *(latest[c] for c in ("text_id", *enrichment_columns)),
            **{column: joined[column].fill_null(0) == 1 for column in columns})
    else:
        latest = latest.select("text_id", *enrichment_columns)
    return _extend(responses, id_column, latest)
