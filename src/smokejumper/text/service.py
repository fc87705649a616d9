"""``ws.text``: the workspace's text capabilities (enrichment), as one small facade.

>>> import tempfile
>>> from smokejumper import Workspace
>>> ws = Workspace.init(tempfile.mkdtemp())
>>> ws.text.enrich(model="vader", themes="keywords").enriched   # an empty workspace
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smokejumper.text.enrich import AUTO, EnrichmentRequest, EnrichmentSummary, Source

if TYPE_CHECKING:
    from smokejumper.text.enrich_store import EnrichmentWriter, TextReader
    from smokejumper.text.redact import RedactionConfig
    from smokejumper.text.themes import Taxonomy
    from smokejumper.workspace import Workspace


class TextService:
    """Text enrichment over one workspace's analytics store."""

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
               text_vectors: str = "clauses", reader: TextReader | None = None,
               writer: EnrichmentWriter | None = None) -> EnrichmentSummary:
        """Enrich the texts not yet enriched under this model version (see
        :mod:`smokejumper.text.enrich`); ``reader``/``writer`` replace the store's."""
        request = EnrichmentRequest(source=source, model=model, themes=themes,
                                    batch_size=batch_size, limit=limit, device=device,
                                    backend=backend, train=train,
                                    text_vectors=text_vectors)
        return self.run(request, reader=reader, writer=writer)

    def run(self, request: EnrichmentRequest, *, reader: TextReader | None = None,
            writer: EnrichmentWriter | None = None) -> EnrichmentSummary:
        """Run an :class:`EnrichmentRequest`."""
        from smokejumper.text.enrich import build_models, run_enrichment
        from smokejumper.text.enrich_store import StoreTextReader, appender_for

        reporter = self.workspace.reporter
        models = build_models(request, self.taxonomy(), self.redaction(), reporter)
        store = self.workspace.analytics
        return run_enrichment(reader or StoreTextReader(store), writer or appender_for(store),
                              models, request, reporter)
