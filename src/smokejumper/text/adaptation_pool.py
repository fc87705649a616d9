"""The sample of a workspace's texts that ``enrich --adapt N`` adapts the models to, kept
in the operational store (``adaptation_pools``) so that a later run adapts to the same
texts: the same texts give the same model versions, so texts enriched before stay cached
and only new ones are enriched. ``--readapt`` draws a fresh sample (and the next runs keep
that one). A kept sample whose texts are no longer all there is drawn again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from smokejumper.store.analytics import AnalyticsStore


@dataclass(frozen=True)
class AdaptationSample:
    """The texts to adapt to, and whether they are the sample kept from an earlier run."""

    texts: list[str]
    kept: bool


def adaptation_sample(engine: Engine, store: AnalyticsStore, sources: Sequence[str],
                      size: int, fresh: bool = False) -> AdaptationSample:
    """The sample kept for these ``sources`` and ``size``, or (none kept, ``fresh``, or
    some of its texts gone) a new one (:func:`~smokejumper.text.enrich_store.sample_texts`),
    kept for the next runs unless it is empty (no texts yet: the next run draws again). A
    kept sample stays as drawn, even if it had fewer than ``size`` texts then."""
    from sqlalchemy.exc import IntegrityError

    from smokejumper.store.models import adaptation_pools
    from smokejumper.text.enrich_store import sample_texts, sha256_hex, texts_with_hashes

    key = ",".join(sorted(sources))
    where = (adaptation_pools.c.sources == key) & (adaptation_pools.c.size == size)
    if not fresh:
        with engine.connect() as connection:
            row = connection.execute(adaptation_pools.select().where(where)).mappings().first()
        if row is not None and row["text_hashes"]:
            texts = texts_with_hashes(store, sources, row["text_hashes"])
            if len(texts) == len(row["text_hashes"]):
                return AdaptationSample(texts, kept=True)
    texts = sample_texts(store, sources, size)
    if not texts:
        return AdaptationSample(texts, kept=False)
    values = {"sources": key, "size": size, "text_hashes": [sha256_hex(t) for t in texts],
              "drawn_at": datetime.now(UTC).replace(tzinfo=None)}
    for attempt in (1, 2):  # a second try when another run kept a sample meanwhile
        try:
            with engine.begin() as connection:
                connection.execute(adaptation_pools.delete().where(where))
                connection.execute(adaptation_pools.insert().values(**values))
            break
        except IntegrityError:
            if attempt == 2:
                raise
    return AdaptationSample(texts, kept=False)
