"""Enrichment as a pipeline: redact, score sentiment, tag themes, rate conversations, store.

``ws.text.enrich()`` (``smokejumper enrich``) reads the texts of ``responses.comment`` and
``interactions.transcript`` in id-ordered batches, skips every text already enriched under
the same model version (same id and same sha256 of the text: a changed text is enriched
again), computes each distinct text once, and appends one ``enrichments`` row per text and
one ``enrichment_themes`` row per theme found, batch by batch in one transaction each. A
re-run adds nothing; an interrupted run resumes where it stopped.

Per text: the redacted text (personal data masked *before* any model sees it or anything is
stored), sentiment label and score, themes with confidence and the sentiment of the
sentences that mention each (``smokejumper.text.mentions`` when present, else the text's
sentiment), and for transcripts the conversation quality (``smokejumper.text.conversation``
when present, else NULL).

With embeddings, each distinct clause (:func:`~smokejumper.text.clauses.split_clauses`)
of a batch is embedded once and a text of several clauses takes the normalised mean of
its clauses' vectors (``text_vectors="clauses"``, the default) instead of being embedded
again as a whole (``"whole"``): the themes and mention sentiments need the clauses
anyway, so this halves the model's work, and clauses repeat across texts far more than
whole texts do.

The model version names the sentiment and theme models and hashes everything that changes
a result (model versions, taxonomy, redaction settings, which optional steps ran, how
text vectors are made), so changing any of them enriches again under a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from smokejumper.errors import TextError
from smokejumper.reporter import Reporter, SilentReporter
from smokejumper.text.enrich_store import (
    SOURCES,
    EnrichmentWriter,
    TextReader,
    TextRow,
    enrichments_arrow,
    themes_arrow,
)
from smokejumper.text.labels import Corrections
from smokejumper.text.workers import WorkerPool, auto_workers

if TYPE_CHECKING:
    from smokejumper.text.redact import RedactionConfig
    from smokejumper.text.sentiment import SentimentModel
    from smokejumper.text.themes import Taxonomy, ThemeModel

Source = Literal["responses", "interactions", "all"]
AUTO = "auto"
NO_THEMES = "none"
#: how a text's embedding is made: mean of its clauses' vectors, or the whole text embedded
TEXT_VECTORS = ("clauses", "whole")
#: sentiment models that embed with their own (tuned) copy of the model, not their embedder
OWN_ENCODER_MODELS = ("setfit",)


@dataclass(frozen=True)
class EnrichmentRequest:
    """One enrichment run, as data.

    ``themes`` names the theme model: ``auto`` is ``hybrid`` when the ``text`` extra is
    installed, else ``keywords``; ``none`` tags no themes. ``train`` is a labelled CSV
    (``text_column``, ``label_column``) that teaches a teachable sentiment model such as
    ``embedding`` first. ``limit`` caps the texts enriched in this run (the rest wait for
    the next one). ``device`` (cpu, cuda) and ``backend`` (torch, onnx, onnx-int8) run the
    embedding model; ``text_vectors`` is how a text of several clauses gets its vector
    (``clauses``: the mean of its clauses' vectors; ``whole``: embedded again as a whole);
    ``reuse`` is how many recent distinct texts' results are kept for duplicates;
    ``corrections`` teaches the models from the labels given in the product too
    (:mod:`smokejumper.text.labels`). ``adapt`` > 0 lets the ``embedding`` or ``setfit``
    sentiment model and the untaught ``hybrid`` theme tagger learn the workspace's own
    language first, from a sample of up to that many of its texts (no label read; see
    :func:`adapt_models`): the sample an earlier run drew and kept, unless ``readapt``
    (:mod:`smokejumper.text.adaptation_pool`). ``workers`` is how many processes share
    the texts of lexicon models (:mod:`smokejumper.text.workers`; 0: the machine's cores,
    at most 8; 1: this process alone).

    >>> EnrichmentRequest().sources
    ('responses', 'interactions')
    """

    source: Source = "all"
    model: str = "vader"
    themes: str = AUTO
    batch_size: int = 2000
    limit: int | None = None
    device: str | None = None
    backend: str = "torch"
    train: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    reuse: int = 10_000
    text_vectors: str = "clauses"
    corrections: bool = False
    adapt: int = 0
    readapt: bool = False
    workers: int = 0

    def __post_init__(self) -> None:
        if self.text_vectors not in TEXT_VECTORS:
            raise TextError(f"unknown text_vectors {self.text_vectors!r}; expected clauses "
                            "or whole")
        if self.source not in (*SOURCES, "all"):
            raise TextError(f"unknown source {self.source!r}; expected responses, "
                            "interactions or all")
        if self.batch_size < 1:
            raise TextError("the batch size must be at least 1")
        if self.limit is not None and self.limit < 0:
            raise TextError("the limit cannot be negative")
        if self.adapt < 0:
            raise TextError("the number of texts to adapt to cannot be negative")
        if self.workers < 0:
            raise TextError("the number of worker processes cannot be negative")
        if self.readapt and not self.adapt:
            raise TextError("readapt draws a fresh sample to adapt to: give the number of "
                            "texts too (--adapt N)")

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(SOURCES) if self.source == "all" else (self.source,)


@dataclass(frozen=True)
class EnrichmentSummary:
    """What a run did. ``read`` = ``enriched`` + ``cached`` (texts looked at);
    ``computed`` counts distinct texts run through the models; ``processes`` how many
    processes ran them (:mod:`smokejumper.text.workers`; 0 when none was computed)."""

    sources: tuple[str, ...]
    model_version: str
    models: dict[str, str]
    read: int
    enriched: int
    cached: int
    computed: int
    theme_rows: int
    pending: int
    seconds: float
    limit_reached: bool
    device: str | None = None
    adapted: int = 0
    adapt_seconds: float = 0.0
    processes: int = 0

    @property
    def rate_per_s(self) -> float:
        """Texts looked at per second (cached ones included)."""
        return self.read / self.seconds if self.seconds > 0 else 0.0

    @property
    def enriched_per_s(self) -> float:
        """Texts enriched per second."""
        return self.enriched / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = list(self.sources)
        data["seconds"] = round(self.seconds, 3)
        data["adapt_seconds"] = round(self.adapt_seconds, 3)
        data["rate_per_s"] = round(self.rate_per_s, 1)
        data["enriched_per_s"] = round(self.enriched_per_s, 1)
        return data


# -- models -----------------------------------------------------------------------------------

@dataclass
class EnrichmentModels:
    """The models of one run, and the version that names their results."""

    sentiment: SentimentModel
    themes: ThemeModel | None
    redaction: RedactionConfig
    extra: dict[str, str] = field(default_factory=dict)
    text_vectors: str = "clauses"
    adapted: int = 0
    adapt_seconds: float = 0.0

    def embedders(self, untuned: bool = False) -> list[Any]:
        """The distinct embedders the models embed texts with (none for lexicon models; a
        sentiment model that embeds with its own tuned copy, such as ``setfit``, is left
        out unless ``untuned``: its embedder still embeds what it adapts to)."""
        found: dict[int, Any] = {}
        for model in (self.sentiment, self.themes):
            if not untuned and model is self.sentiment and \
                    getattr(model, "name", "") in OWN_ENCODER_MODELS:
                continue
            embedder = getattr(model, "embedder", None)
            if embedder is not None:
                found.setdefault(id(embedder), embedder)
        return list(found.values())

    def components(self) -> dict[str, str]:
        """Everything that changes a result, by step."""
        redaction = hashlib.sha256(repr(self.redaction).encode()).hexdigest()[:12]
        vectors = {"text_vectors": self.text_vectors} if self.embedders() else {}
        return {
            "sentiment": self.sentiment.version,
            "themes": self.themes.version if self.themes is not None else NO_THEMES,
            "redaction": redaction,
            "mentions": _optional_version("smokejumper.text.mentions"),
            "conversation": _optional_version("smokejumper.text.conversation"),
            **vectors,
            **self.extra,
        }

    @property
    def version(self) -> str:
        """``<sentiment>+<themes>:<hash of the components>``, e.g. ``vader+keywords:3f2a…``."""
        components = self.components()
        digest = hashlib.sha256(json.dumps(components, sort_keys=True).encode()).hexdigest()
        themes = self.themes.name if self.themes is not None else NO_THEMES
        return f"{self.sentiment.name}+{themes}:{digest[:12]}"


def _optional_module(name: str) -> Any | None:
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def _optional_version(name: str) -> str:
    module = _optional_module(name)
    if module is None:
        return "absent"
    return str(getattr(module, "VERSION", getattr(module, "__version__", "present")))


def workspace_taxonomy(themes: dict[str, Any]) -> Taxonomy | None:
    """The workspace's ``[themes.*]`` as a taxonomy (None when it declares none).

    A ``parent`` may be a theme or a group name (``billing`` for ``price`` and
    ``billing_error``); tags carry it.

    >>> workspace_taxonomy({}) is None
    True
    >>> workspace_taxonomy({"price": {"description": "Prices", "parent": "billing"}}).names
    ('price',)
    """
    from smokejumper.text.themes import Taxonomy

    if not themes:
        return None
    return Taxonomy.from_mapping(themes)


def build_models(request: EnrichmentRequest, taxonomy: Taxonomy | None,
                 redaction: RedactionConfig, reporter: Reporter | None = None,
                 corrections: Corrections | None = None) -> EnrichmentModels:
    """The sentiment and theme models a request names, taught from ``train`` and from the
    labels given in the product (``corrections``, see :mod:`smokejumper.text.labels`)."""
    from smokejumper.text.embeddings import EmbeddingConfig, embeddings_available
    from smokejumper.text.registry import TextModelOptions, sentiment_models, theme_models
    from smokejumper.text.sentiment import TeachableSentimentModel

    embedding = EmbeddingConfig(device=request.device, backend=request.backend)
    theme_name = request.themes
    if theme_name == AUTO:
        theme_name = "hybrid" if embeddings_available() else "keywords"
    options = TextModelOptions(embedding=embedding, taxonomy=taxonomy)
    reporter = reporter or SilentReporter()
    corrections = corrections or Corrections()
    sentiment = sentiment_models.create(request.model, options)
    if corrections.sentiment_texts and not isinstance(sentiment, TeachableSentimentModel):
        raise TextError(f"the {request.model} sentiment model cannot be taught from the "
                        "labels given in the product; use --model embedding or setfit")
    if isinstance(sentiment, TeachableSentimentModel):
        texts, labels = list(corrections.sentiment_texts), list(corrections.sentiment_labels)
        if request.train is not None:
            from smokejumper.text.sentiment import normalise_sentiment_label
            from smokejumper.text.tasks import read_labelled_csv

            labelled = read_labelled_csv(request.train, request.text_column,
                                         request.label_column, normalise_sentiment_label)
            texts, labels = [*labelled.texts, *texts], [*labelled.labels, *labels]
        if texts:
            reporter.info(f"teaching {request.model} on {len(texts):,} labelled texts")
            sentiment.fit(texts, labels)
        elif not getattr(sentiment, "is_taught", True) and not getattr(
                sentiment, "_uses_head", lambda: False)():
            raise TextError(f"the {request.model} sentiment model must be taught first: give "
                            "a labelled CSV with --train FILE (columns text and label)")
    themes = None
    if theme_name != NO_THEMES and taxonomy is not None:
        themes = theme_models.create(theme_name, options)
        if corrections.theme_texts:
            if not hasattr(themes, "fit"):
                raise TextError(f"the {theme_name} theme model cannot be taught from the "
                                "labels given in the product; use --themes hybrid")
            reporter.info(f"teaching {theme_name} themes on "
                          f"{len(corrections.theme_texts):,} labelled texts")
            themes.fit(list(corrections.theme_texts),
                       [list(names) for names in corrections.theme_labels])
        # load the models now (a hybrid tagger embeds its taxonomy's prototypes on first
        # use), so the run's clock counts the texts' work only, as it does for teaching
        themes.confidences([taxonomy.names[0]])
    extra = {"backend": request.backend} if request.backend != "torch" else {}
    return EnrichmentModels(sentiment, themes, redaction, extra, request.text_vectors)


def adaptable_models(models: EnrichmentModels) -> list[Any]:
    """The run's models that can learn from unlabelled texts: the ``embedding`` sentiment
    model (taught, or on its shipped head), the taught ``setfit`` model, the untaught
    ``hybrid`` theme tagger."""
    return [model for model in (models.sentiment, models.themes)
            if getattr(model, "can_adapt", False)]


def adapt_models(models: EnrichmentModels, texts: Sequence[str],
                 reporter: Reporter | None = None, vectors_folder: Path | None = None) -> int:
    """Let the :func:`adaptable_models` adapt to ``texts``, redacted first as every text
    the models see is. An untaught model learns from its own surest labels; a taught one
    learns no pseudo-label (examples beat them) but reads each text with its nearest
    texts of the sample. Their versions then name the texts adapted to, so the same
    sample gives the same version (a re-run is cached) and another sample re-enriches.
    A model that cannot adapt to these texts is left as it is, with a warning
    (:func:`~smokejumper.text.self_training.adapt_or_warn`). Returns how many texts the
    models adapted to (0: none did); the time it took is kept as ``models.adapt_seconds``
    (the run's ``seconds`` count the enrichment only). With ``vectors_folder``, the
    vectors embedded while adapting are kept there, and a later run's adaptation reads
    them instead of embedding the same texts again
    (:mod:`~smokejumper.text.adaptation_vectors`)."""
    import time

    from smokejumper.text.adaptation_vectors import kept_vectors
    from smokejumper.text.redact import redact
    from smokejumper.text.self_training import adapt_or_warn

    reporter = reporter or SilentReporter()
    candidates = adaptable_models(models)
    if not texts or not candidates:
        return 0
    started = time.perf_counter()
    redacted = [redact(text, models.redaction).text for text in texts]
    adapted = 0
    with reporter.progress(f"adapting {', '.join(m.name for m in candidates)} to "
                           f"{len(redacted):,} of the workspace's texts"), \
            kept_vectors(vectors_folder, models.embedders(untuned=True), reporter):
        for model in candidates:
            if adapt_or_warn(model, redacted, reporter):
                adapted = len(redacted)
    models.adapted = adapted
    models.adapt_seconds = time.perf_counter() - started
    return adapted


# -- one batch of distinct texts --------------------------------------------------------------

@dataclass(frozen=True)
class TextEnrichment:
    """The result for one distinct text (shared by every row with the same text)."""

    redacted_text: str
    sentiment: float
    sentiment_label: str
    conversation_score: float | None
    details: str
    themes: tuple[tuple[str, float, float], ...]  # theme, confidence, sentiment


def enrich_texts(texts: Sequence[str], models: EnrichmentModels,
                 transcripts: bool = False) -> list[TextEnrichment]:
    """Enrich distinct raw texts: redact first, then every model on the redacted text.

    >>> from smokejumper.text.redact import RedactionConfig
    >>> from smokejumper.text.sentiment import VaderSentimentModel
    >>> models = EnrichmentModels(VaderSentimentModel(), None, RedactionConfig())
    >>> result = enrich_texts(["Great help, mail me at jo@example.com"], models)[0]
    >>> result.redacted_text, result.sentiment_label
    ('Great help, mail me at [EMAIL]', 'positive')
    """
    from smokejumper.text.redact import redact
    from smokejumper.text.themes import tag_themes

    if not texts:
        return []
    redactions = [redact(text, models.redaction) for text in texts]
    redacted = [r.text for r in redactions]
    with _text_vectors(redacted, models):
        scores = models.sentiment.score(redacted)
        mentions = _mentions(redacted, models)
        if mentions is not None:
            themes = mentions
        elif models.themes is not None:
            themes = [tuple((tag.theme, float(tag.confidence), float(score.score))
                            for tag in tags)
                      for tags, score in zip(tag_themes(models.themes, redacted), scores,
                                             strict=True)]
        else:
            themes = [() for _ in redacted]
    quality = _conversation_quality(redacted) if transcripts else [None] * len(redacted)
    results = []
    for index, text in enumerate(redacted):
        score = scores[index]
        details: dict[str, Any] = {}
        kinds: dict[str, int] = {}
        for span in redactions[index].spans:
            kinds[span.kind] = kinds.get(span.kind, 0) + 1
        if kinds:
            details["redacted"] = kinds
        conversation = quality[index]
        if conversation is not None:
            details["conversation"] = conversation.to_dict()
        results.append(TextEnrichment(
            redacted_text=text, sentiment=float(score.score), sentiment_label=score.label,
            conversation_score=(float(conversation.score) if conversation is not None
                                else None),
            details=json.dumps(details, sort_keys=True, default=str), themes=themes[index]))
    return results


def _text_vectors(texts: Sequence[str], models: EnrichmentModels) -> AbstractContextManager[Any]:
    """Embed each distinct clause of ``texts`` once and, with ``text_vectors="clauses"``,
    serve each text of several clauses the normalised mean of its clauses' vectors while
    the models run (with ``"whole"`` nothing is served: the models embed texts as they go).
    """
    embedders = models.embedders()
    if not embedders or models.text_vectors != "clauses" or models.themes is None:
        return nullcontext()  # without themes no clause is embedded: nothing to share
    import numpy as np

    from smokejumper.text.clauses import split_clauses

    units: dict[str, None] = {}
    composed: dict[str, list[str]] = {}
    for text in dict.fromkeys(texts):
        pieces = [text[a:b] for a, b in split_clauses(text)]
        if len(pieces) > 1:
            composed[text] = pieces
            units.update(dict.fromkeys(pieces))
        else:
            units[text] = None
    stack = ExitStack()
    unit_texts = list(units)
    for embedder in embedders:
        vectors = embedder.encode(unit_texts)
        row = {text: index for index, text in enumerate(unit_texts)}
        served = [vectors]
        if composed:
            means = np.stack([vectors[[row[p] for p in pieces]].mean(axis=0)
                              for pieces in composed.values()])
            if embedder.config.normalize:
                means /= np.clip(np.linalg.norm(means, axis=1, keepdims=True), 1e-12, None)
            served.append(means.astype(np.float32))
        stack.enter_context(embedder.serving([*unit_texts, *composed],
                                             np.concatenate(served)))
    return stack


def _mentions(texts: Sequence[str], models: EnrichmentModels
              ) -> list[tuple[tuple[str, float, float], ...]] | None:
    """Per text, (theme, confidence, sentiment of the sentences that mention it) from
    :mod:`smokejumper.text.mentions`; None without that module (or without themes)."""
    if models.themes is None:
        return None
    module = _optional_module("smokejumper.text.mentions")
    if module is None:
        return None
    out = []
    for found in module.theme_mentions(list(texts), models.themes, models.sentiment):
        merged: dict[str, tuple[float, list[float]]] = {}
        for mention in found:  # one row per theme, even if several sentences mention it
            confidence, sentiments = merged.get(mention.theme, (0.0, []))
            merged[mention.theme] = (max(confidence, float(mention.confidence)),
                                     [*sentiments, float(mention.sentiment)])
        out.append(tuple(sorted(((theme, confidence, sum(values) / len(values))
                                 for theme, (confidence, values) in merged.items()),
                                key=lambda row: -row[1])))
    return out


def _conversation_quality(texts: Sequence[str]) -> list[Any]:
    module = _optional_module("smokejumper.text.conversation")
    if module is None:
        return [None] * len(texts)
    return list(module.score_transcripts(list(texts)))


# -- the pipeline -----------------------------------------------------------------------------

def run_enrichment(reader: TextReader, writer: EnrichmentWriter, models: EnrichmentModels,
                   request: EnrichmentRequest, reporter: Reporter | None = None,
                   clock: Callable[[], float] | None = None) -> EnrichmentSummary:
    """Enrich every text not yet enriched under the models' version, batch by batch."""
    import time

    reporter = reporter or SilentReporter()
    clock = clock or time.perf_counter
    started = clock()
    version = models.version
    components = models.components()
    counts = {source: reader.count(source, version) for source in request.sources}
    pending_total = sum(pending for _, pending in counts.values())
    target = pending_total if request.limit is None else min(pending_total, request.limit)
    reuse: OrderedDict[str, TextEnrichment] = OrderedDict()
    read = enriched = cached = computed = theme_rows = 0
    limit_reached = False
    pool = WorkerPool(models, request.workers or auto_workers(), reporter)
    with pool, reporter.progress(f"enriching texts ({version})", total=target) as progress:
        for source in request.sources:
            if limit_reached:
                break
            if counts[source][1] == 0:  # everything cached: nothing to page through
                read += counts[source][0]
                cached += counts[source][0]
                continue
            with closed_after(reader.pages(source, version, request.batch_size)) as pages:
                for page in pages:
                    if len(page) > request.batch_size:
                        raise TextError(f"the reader returned {len(page)} texts for a batch of "
                                        f"{request.batch_size}")
                    batch: list[TextRow] = []
                    for row in page:
                        if row.cached:
                            read += 1
                            cached += 1
                            continue
                        if request.limit is not None and enriched + len(batch) >= request.limit:
                            limit_reached = True
                            break
                        read += 1
                        batch.append(row)
                    if batch:
                        new, themes = _enrich_batch(batch, source, version, pool, writer,
                                                    reuse, request.reuse)
                        computed += new
                        theme_rows += themes
                        enriched += len(batch)
                        progress.advance(len(batch))
                    if limit_reached:
                        break
    seconds = clock() - started
    return EnrichmentSummary(
        sources=request.sources, model_version=version, models=components, read=read,
        enriched=enriched, cached=cached, computed=computed, theme_rows=theme_rows,
        pending=pending_total - enriched, seconds=seconds, limit_reached=limit_reached,
        device=_device(models), adapted=models.adapted, adapt_seconds=models.adapt_seconds,
        processes=len(pool.processes))


@contextmanager
def closed_after(pages: Iterator[list[TextRow]]) -> Iterator[Iterator[list[TextRow]]]:
    """``pages``, closed however the loop over them ends (a generator's ``close``), so a
    reader's engine settings are set back at once, not when the garbage is collected."""
    try:
        yield pages
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def _enrich_batch(batch: Sequence[TextRow], source: str, version: str,
                  pool: WorkerPool, writer: EnrichmentWriter,
                  reuse: OrderedDict[str, TextEnrichment], reuse_size: int) -> tuple[int, int]:
    """Compute the batch's new distinct texts and write its rows; return (distinct texts
    computed, theme rows written)."""
    fresh: dict[str, str] = {}
    for row in batch:
        if row.text_hash not in reuse and row.text_hash not in fresh:
            assert row.text is not None
            fresh[row.text_hash] = row.text
    results = dict(zip(fresh, pool.enrich(list(fresh.values()),
                                          transcripts=source == "interactions"),
                       strict=True))
    for digest in {row.text_hash for row in batch} - set(fresh):
        results[digest] = reuse[digest]
        reuse.move_to_end(digest)
    now = datetime.now(UTC).replace(tzinfo=None)
    columns: dict[str, list[Any]] = {name: [] for name in (
        "text_id", "source_table", "text_hash", "model_version", "enriched_at",
        "redacted_text", "sentiment", "sentiment_label", "conversation_score", "details")}
    themes: dict[str, list[Any]] = {name: [] for name in (
        "text_id", "source_table", "theme", "confidence", "sentiment", "text_hash",
        "model_version")}
    for row in batch:
        result = results[row.text_hash]
        for name, value in (("text_id", row.text_id), ("source_table", source),
                            ("text_hash", row.text_hash), ("model_version", version),
                            ("enriched_at", now), ("redacted_text", result.redacted_text),
                            ("sentiment", result.sentiment),
                            ("sentiment_label", result.sentiment_label),
                            ("conversation_score", result.conversation_score),
                            ("details", result.details)):
            columns[name].append(value)
        for theme, confidence, sentiment in result.themes:
            for name, value in (("text_id", row.text_id), ("source_table", source),
                                ("theme", theme), ("confidence", confidence),
                                ("sentiment", sentiment), ("text_hash", row.text_hash),
                                ("model_version", version)):
                themes[name].append(value)
    writer.append(enrichments_arrow(columns), themes_arrow(themes))
    for digest, result in results.items():
        reuse[digest] = result
        reuse.move_to_end(digest)
    while len(reuse) > max(reuse_size, len(batch)):
        reuse.popitem(last=False)
    return len(fresh), len(themes["theme"])


def _device(models: EnrichmentModels) -> str | None:
    for model in (models.sentiment, models.themes):
        embedder = getattr(model, "embedder", None)
        if embedder is not None:
            return str(embedder.device)
    return None
