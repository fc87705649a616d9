"""``ws.text``: the workspace's text capabilities (enrichment, scoring a few texts, labels
given in the product), as one small facade.

>>> import tempfile
>>> from smokejumper import Workspace
>>> ws = Workspace.init(tempfile.mkdtemp())
>>> ws.text.enrich(model="vader", themes="keywords").enriched   # an empty workspace
0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smokejumper.errors import TextError
from smokejumper.text.enrich import AUTO, EnrichmentRequest, EnrichmentSummary, Source
from smokejumper.text.labels import Corrections, TextLabel

if TYPE_CHECKING:
    import pandas as pd

    from smokejumper.text.enrich_store import EnrichmentWriter, TextReader
    from smokejumper.text.redact import RedactionConfig
    from smokejumper.text.themes import Taxonomy
    from smokejumper.workspace import Workspace


class TextService:
    """Text enrichment over one workspace's analytics store, and the labels that teach it."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def taxonomy(self) -> Taxonomy | None:
        """The workspace's ``[themes.*]`` taxonomy (None when it declares none)."""
        from smokejumper.text.enrich import workspace_taxonomy

        return workspace_taxonomy(dict(self.workspace.config.themes))

    def redaction(self) -> RedactionConfig:
        """What is masked before text is stored (``[redaction]`` in the toml)."""
        return self.workspace.config.redaction.to_redaction_config()  # type: ignore[no-any-return]

    def enrich(self, source: Source = "all", model: str = "vader", *, themes: str = AUTO,
               batch_size: int = 2000, limit: int | None = None, device: str | None = None,
               backend: str = "torch", train: str | None = None,
               text_vectors: str = "clauses", corrections: bool = False,
               adapt: int = 0, readapt: bool = False, workers: int = 0,
               reader: TextReader | None = None,
               writer: EnrichmentWriter | None = None) -> EnrichmentSummary:
        """Enrich the texts not yet enriched under this model version (see
        :mod:`smokejumper.text.enrich`); ``corrections`` teaches the models from the labels
        given with :meth:`label` first; ``adapt`` > 0 adapts the models to a sample of up
        to that many of the workspace's texts first (:func:`adapt_models`), the sample an
        earlier run kept unless ``readapt`` (:mod:`smokejumper.text.adaptation_pool`);
        ``workers`` processes share the texts of lexicon models (0: one per core, at most
        8; :mod:`smokejumper.text.workers`); ``reader``/``writer`` replace the store's."""
        request = EnrichmentRequest(source=source, model=model, themes=themes,
                                    batch_size=batch_size, limit=limit, device=device,
                                    backend=backend, train=train,
                                    text_vectors=text_vectors, corrections=corrections,
                                    adapt=adapt, readapt=readapt, workers=workers)
        return self.run(request, reader=reader, writer=writer)

    def run(self, request: EnrichmentRequest, *, reader: TextReader | None = None,
            writer: EnrichmentWriter | None = None) -> EnrichmentSummary:
        """Run an :class:`EnrichmentRequest`."""
        from smokejumper.text.adaptation_pool import adaptation_sample
        from smokejumper.text.adaptation_vectors import FOLDER as VECTORS_FOLDER
        from smokejumper.text.enrich import (
            adapt_models,
            adaptable_models,
            build_models,
            run_enrichment,
        )
        from smokejumper.text.enrich_store import StoreTextReader, appender_for

        reporter = self.workspace.reporter
        corrections = None
        if request.corrections:
            corrections = self.corrections()
            if not corrections:
                raise TextError("no labels given yet: label texts with `smokejumper text "
                                "label ID --sentiment LABEL` or `--theme NAME` first")
        models = build_models(request, self.taxonomy(), self.redaction(), reporter,
                              corrections)
        store = self.workspace.analytics
        if request.adapt and adaptable_models(models):
            sample = adaptation_sample(self.workspace.operational.engine, store,
                                       request.sources, request.adapt, request.readapt)
            if sample.kept:
                reporter.info(f"adapting to the same {len(sample.texts):,} texts as before "
                              "(--readapt draws a fresh sample)")
            adapt_models(models, sample.texts, reporter,
                         vectors_folder=self.workspace.root / VECTORS_FOLDER)
        return run_enrichment(reader or StoreTextReader(store), writer or appender_for(store),
                              models, request, reporter)

    def score(self, texts: Sequence[str], model: str = "vader", *, themes: str = AUTO,
              train: str | None = None, corrections: bool = False,
              backend: str = "torch") -> list[dict[str, Any]]:
        """What the models say about ``texts``, without storing anything: per text the
        redacted text, its sentiment (label and score in [-1, 1]), each sentence's
        sentiment, and its themes with their confidence and the sentiment of the sentences
        that mention them. Same models, taxonomy and redaction as :meth:`enrich`."""
        from smokejumper.text.enrich import build_models, enrich_texts
        from smokejumper.text.sentiment import analyse_sentiment

        request = EnrichmentRequest(model=model, themes=themes, train=train,
                                    corrections=corrections, backend=backend)
        models = build_models(request, self.taxonomy(), self.redaction(),
                              self.workspace.reporter,
                              self.corrections() if corrections else None)
        enriched = enrich_texts(list(texts), models)
        sentences = analyse_sentiment(models.sentiment, [e.redacted_text for e in enriched])
        return [{"text": result.redacted_text, "sentiment": result.sentiment,
                 "sentiment_label": result.sentiment_label,
                 "sentences": [{"text": s.text, "start": s.start, "end": s.end,
                                "sentiment": s.score, "sentiment_label": s.label}
                               for s in detail.sentences],
                 "themes": [{"theme": theme, "confidence": confidence, "sentiment": feeling}
                            for theme, confidence, feeling in result.themes],
                 "model_version": models.version}
                for result, detail in zip(enriched, sentences, strict=True)]

    # -- labels given in the product ------------------------------------------------------

    def label(self, text_id: str, *, source: str = "responses", sentiment: str | None = None,
              themes: Sequence[str] | None = None, by: str = "cli",
              note: str | None = None) -> list[TextLabel]:
        """Correct one text's sentiment and/or themes (``themes=[]``: none of the
        taxonomy's); the labels are kept with the text as stored (redacted) and teach the
        models of ``enrich(corrections=True)``. Returns the labels recorded."""
        from datetime import UTC, datetime

        from smokejumper.text.enrich_store import SOURCES
        from smokejumper.text.labels import normalise_themes, record_label
        from smokejumper.text.redact import redact
        from smokejumper.text.sentiment import normalise_sentiment_label

        if source not in SOURCES:
            raise TextError(f"unknown source {source!r}; expected responses or interactions")
        if sentiment is None and themes is None:
            raise TextError("give the text's sentiment, its themes, or both")
        value = normalise_sentiment_label(sentiment) if sentiment is not None else None
        names = None
        if themes is not None:
            taxonomy = self.taxonomy()
            if taxonomy is None:
                raise TextError("the workspace declares no themes ([themes.NAME] in "
                                "smokejumper.toml)")
            names = normalise_themes(themes, taxonomy.names)
        id_column, text_column = SOURCES[source]
        table = self.workspace.analytics.table(source)
        found = table.filter(table[id_column] == text_id).select(text_column).limit(1) \
            .to_pyarrow().column(0).to_pylist()
        if not found:
            raise TextError(f"no {source} row with id {text_id!r}")
        if not (found[0] or "").strip():
            raise TextError(f"{source} {text_id!r} has no text to label")
        text = redact(found[0], self.redaction()).text
        now = datetime.now(UTC).replace(tzinfo=None)
        engine = self.workspace.operational.engine
        recorded = []
        for task, given in (("sentiment", value), ("themes", names)):
            if given is not None:
                recorded.append(record_label(engine, TextLabel(
                    task=task, source_table=source, text_id=text_id, text=text, value=given,
                    labelled_by=by, labelled_at=now, note=note)))
        return recorded

    def labels(self, task: str | None = None) -> pd.DataFrame:
        """The labels given so far (one row per task and text): task, source_table, text_id,
        text (redacted), value, labelled_by, labelled_at, note."""
        import pandas as pd

        from smokejumper.text.labels import read_labels

        columns = ["task", "source_table", "text_id", "text", "value", "labelled_by",
                   "labelled_at", "note"]
        rows = [label.to_dict() for label in read_labels(self.workspace.operational.engine,
                                                         task)]
        return pd.DataFrame(rows, columns=columns)

    def corrections(self) -> Corrections:
        """The labels given so far, as teaching examples."""
        from smokejumper.text.labels import read_labels

        return Corrections.of(read_labels(self.workspace.operational.engine))
