"""Where enrichment reads texts and writes results: pages from the engine, one transaction
per batch.

Reading: texts come in pages ordered by id (keyset pagination: ``id > last``), so memory
stays bounded whatever the table's size. Each page is joined in the engine to the
enrichments already stored under the same model version on ``(text_id, text_hash)``, the
hash being the engine's own sha256 of the raw text; a text already enriched comes back
without its body. Writing: the rows of a batch go to ``enrichments`` and
``enrichment_themes`` in one transaction (DuckDB, PostgreSQL). Spark has no transactions:
the theme rows are written first and the enrichment rows last, so a text counts as
enriched only once both are written (an interruption in between can leave theme rows
that a later run writes again; the metrics count a theme once per text).

What differs by engine is data: :data:`HASH_FALLBACKS` (PostgreSQL has no Ibis
``hexdigest``) and :data:`APPENDERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from smokejumper.errors import StoreError
from smokejumper.store.analytics import (
    ENRICHMENT_THEMES_SCHEMA,
    ENRICHMENT_THEMES_TABLE,
    ENRICHMENTS_SCHEMA,
    ENRICHMENTS_TABLE,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from smokejumper.store import AnalyticsStore

T = TypeVar("T")

#: source table → (id column, text column)
SOURCES: dict[str, tuple[str, str]] = {
    "responses": ("response_id", "comment"),
    "interactions": ("interaction_id", "transcript"),
}


#: the engine's memory cap (MiB, at least) while enrichment pages through the texts: enough
#: for a page of comments and the rows awaiting the next checkpoint, small against the models
PAGING_MEMORY_MIB = 32


@dataclass(frozen=True)
class TextRow:
    """One text of a page: ``text`` is None when it is already enriched (cached)."""

    text_id: str
    text_hash: str
    text: str | None

    @property
    def cached(self) -> bool:
        return self.text is None


class TextReader(Protocol):
    """Where the pipeline gets its texts (the store, or a fake in tests)."""

    def count(self, source: str, model_version: str) -> tuple[int, int]:
        """(texts, texts not yet enriched under ``model_version``)."""
        ...

    def pages(self, source: str, model_version: str, size: int) -> Iterator[list[TextRow]]:
        """Texts in id order, at most ``size`` per page."""
        ...


class EnrichmentWriter(Protocol):
    """Where the pipeline writes a batch (both tables together)."""

    def append(self, enrichments: pa.Table, themes: pa.Table) -> None: ...


def sha256_hex(text: str) -> str:
    """The text hash stored in ``enrichments.text_hash`` (what the engines compute too).

    >>> sha256_hex("abc")[:16]
    'ba7816bf8f01cfea'
    """
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _postgres_sha256(column: ir.StringValue) -> ir.StringValue:
    """``encode(sha256(convert_to(text, 'UTF8')), 'hex')``: PostgreSQL's own functions."""
    import ibis

    @ibis.udf.scalar.builtin(name="convert_to")
    def convert_to(value: str, encoding: str) -> bytes:  # type: ignore[empty-body]
        ...

    @ibis.udf.scalar.builtin(name="sha256")
    def sha256(value: bytes) -> bytes:  # type: ignore[empty-body]
        ...

    @ibis.udf.scalar.builtin(name="encode")
    def encode(value: bytes, format: str) -> str:  # type: ignore[empty-body]
        ...

    return encode(sha256(convert_to(column, "UTF8")), "hex")  # type: ignore[no-any-return]


#: engines without Ibis ``hexdigest('sha256')``, and what computes it there
HASH_FALLBACKS: dict[str, Callable[[Any], Any]] = {"postgres": _postgres_sha256}


def text_hash_expr(column: ir.StringValue, engine: str) -> ir.StringValue:
    """The engine's sha256 (lower-case hex of the UTF-8 bytes) of a text column."""
    fallback = HASH_FALLBACKS.get(engine)
    return fallback(column) if fallback else column.hexdigest("sha256")


def has_text(column: ir.StringValue) -> ir.BooleanValue:
    """Whether a text counts: not NULL, not only blanks."""
    return column.notnull() & (column.strip().length() > 0)


def source_texts(store: AnalyticsStore, source: str) -> ir.Table:
    """``text_id`` and ``text`` of a source's rows whose text is not empty."""
    id_column, text_column = SOURCES[source]
    table = store.table(source)
    return table.filter(has_text(table[text_column])).select(
        text_id=table[id_column], text=table[text_column])


class StoreTextReader:
    """Texts of ``responses.comment`` / ``interactions.transcript``, in id-ordered pages.

    While the pages are read (and the results written), an embedded engine's memory is
    capped at ``engine_memory_mib`` MiB, or eight times the first page's bytes if that is
    more (:meth:`AnalyticsStore.engine_memory`; None: no cap), and its checkpoints write
    the appended results without merging row groups (:meth:`AnalyticsStore.
    streaming_appends`), so a run's peak memory does not grow with the number of texts.
    """

    def __init__(self, store: AnalyticsStore,
                 engine_memory_mib: int | None = PAGING_MEMORY_MIB) -> None:
        self.store = store
        self.engine_memory_mib = engine_memory_mib

    def _done(self, source: str, model_version: str) -> ir.Table:
        done = self.store.table(ENRICHMENTS_TABLE)
        return done.filter((done.source_table == source)
                           & (done.model_version == model_version)).select(
            "text_id", "text_hash")

    def count(self, source: str, model_version: str) -> tuple[int, int]:
        texts = source_texts(self.store, source)
        texts = texts.mutate(text_hash=text_hash_expr(texts.text, self.store.kind))
        pending = texts.anti_join(self._done(source, model_version), ["text_id", "text_hash"])
        return int(texts.count().execute()), int(pending.count().execute())

    def pages(self, source: str, model_version: str, size: int) -> Iterator[list[TextRow]]:
        # The first page runs uncapped and sizes the cap: a page needs about five times its
        # bytes in DuckDB (long transcripts), so the cap is the larger of the floor and
        # eight times the first page. The consumer writes each page's results while this
        # generator waits inside the blocks, so they cover the reads and the writes.
        with self.store.streaming_appends():
            pages = self._pages(source, model_version, size)
            first = next(pages, None)
            if first is None:
                return
            yield first
            with self.store.engine_memory(self._cap(first)):
                yield from pages

    def _cap(self, page: list[TextRow]) -> str | None:
        if self.engine_memory_mib is None:
            return None
        page_bytes = sum(len(row.text or "") + len(row.text_id) + 64 for row in page)
        return f"{max(self.engine_memory_mib, -(-8 * page_bytes // 2**20))}MiB"

    def _pages(self, source: str, model_version: str, size: int) -> Iterator[list[TextRow]]:
        """Pages of ``size`` texts (the last one shorter), from :meth:`_rows`."""
        pending: list[TextRow] = []
        for rows in self._rows(source, model_version, size):
            pending.extend(rows)
            while len(pending) >= size:
                yield pending[:size]
                pending = pending[size:]
        if pending:
            yield pending

    def _rows(self, source: str, model_version: str, size: int) -> Iterator[list[TextRow]]:
        """The texts of the next ``size`` rows of the source by id, again and again.

        The limit comes before the test for an empty text, so a query reads ``size`` rows
        after ``last`` (the engine stops its ordered scan there) instead of testing every
        row after ``last``, which made each page's cost grow with the table. Rows without
        a text come back with no hash and are left out here.
        """
        import ibis

        id_column, text_column = SOURCES[source]
        table = self.store.table(source)
        done = self._done(source, model_version)
        last: str | None = None
        while True:
            page = table.select(text_id=table[id_column], text=table[text_column])
            if last is not None:
                page = page.filter(page.text_id > last)
                done_here = done.filter(done.text_id > last)
            else:
                done_here = done
            page = page.order_by("text_id").limit(size)
            page = page.mutate(text_hash=ibis.ifelse(
                has_text(page.text), text_hash_expr(page.text, self.store.kind),
                ibis.null(str)))
            marked = done_here.mutate(_done=ibis.literal(1))
            joined = page.left_join(marked, [page.text_id == marked.text_id,
                                             page.text_hash == marked.text_hash])
            query = joined.select(
                text_id=page.text_id, text_hash=page.text_hash,
                text=ibis.ifelse(marked._done.isnull(), page.text, ibis.null(str)),
            ).order_by("text_id")
            result = retry_out_of_memory(self.store, query.to_pyarrow)
            if result.num_rows == 0:
                return
            rows: dict[str, TextRow] = {}
            for text_id, digest, text in zip(*(result.column(c).to_pylist()
                                               for c in ("text_id", "text_hash", "text")),
                                             strict=True):
                if digest is None:  # no text
                    continue
                if text_id not in rows or text is None:  # a duplicate stored row: cached
                    rows[text_id] = TextRow(text_id, digest, text)
            yield list(rows.values())
            last = result.column("text_id")[result.num_rows - 1].as_py()
            # fewer rows than asked: the source is read to its end (rows of an id stored
            # twice only add rows; the source's ids are unique, as ingest keys them)
            if result.num_rows < size:
                return


def _distinct_texts(store: AnalyticsStore, sources: Sequence[str]) -> ir.Table:
    """The distinct texts of ``sources`` with their ``text_hash``."""
    import ibis

    tables = [source_texts(store, source).select("text") for source in sources]
    texts = ibis.union(*tables, distinct=True) if len(tables) > 1 else tables[0].distinct()
    return texts.mutate(text_hash=text_hash_expr(texts.text, store.kind))


def _in_hash_order(store: AnalyticsStore, query: ir.Table) -> list[str]:
    found = [str(t) for t in retry_out_of_memory(store, query.to_pyarrow).column("text")
             .to_pylist()]
    return sorted(found, key=lambda text: (sha256_hex(text), text))  # engines may reorder


def sample_texts(store: AnalyticsStore, sources: Sequence[str], size: int) -> list[str]:
    """Up to ``size`` distinct texts of ``sources``, the same ones on every engine and every
    run while the texts stay the same: those with the smallest SHA-256 (a sample that does
    not favour old or new texts)."""
    texts = _distinct_texts(store, sources)
    return _in_hash_order(store, texts.order_by(["text_hash", "text"]).limit(size)
                          .select("text"))


def texts_with_hashes(store: AnalyticsStore, sources: Sequence[str],
                      hashes: Sequence[str]) -> list[str]:
    """The distinct texts of ``sources`` whose SHA-256 is one of ``hashes`` (those still
    there), in the order :func:`sample_texts` gives."""
    import ibis

    texts = _distinct_texts(store, sources)
    wanted = ibis.memtable({"wanted_hash": list(dict.fromkeys(hashes))},
                           schema={"wanted_hash": "string"})
    kept = texts.join(wanted, texts.text_hash == wanted.wanted_hash)
    return _in_hash_order(store, kept.select("text"))


# -- writing -------------------------------------------------------------------------------------

def arrow_schema(schema: dict[str, str]) -> pa.Schema:
    """The Arrow schema of an enrichment table."""
    import pyarrow as pa

    types = {"string": pa.string(), "float64": pa.float64(), "timestamp": pa.timestamp("us"),
             "int64": pa.int64()}
    return pa.schema([(name, types[kind]) for name, kind in schema.items()])


def enrichments_arrow(rows: Mapping[str, Sequence[Any]]) -> pa.Table:
    """An ``enrichments`` batch from columns."""
    import pyarrow as pa

    return pa.table(dict(rows), schema=arrow_schema(ENRICHMENTS_SCHEMA))


def themes_arrow(rows: Mapping[str, Sequence[Any]]) -> pa.Table:
    """An ``enrichment_themes`` batch from columns."""
    import pyarrow as pa

    return pa.table(dict(rows), schema=arrow_schema(ENRICHMENT_THEMES_SCHEMA))


def retry_out_of_memory(store: AnalyticsStore, run: Callable[[], T]) -> T:
    """``run()``; if the engine runs out of memory under the enrichment's cap (a page of
    unusually long texts), lift the cap and run it once more."""
    try:
        return run()
    except Exception as exc:
        if type(exc).__name__ != "OutOfMemoryException" or not store.lift_engine_memory():
            raise
    return run()


class DuckDBAppender:
    """One ``BEGIN .. COMMIT`` on the store's connection per batch (tried once more without
    the engine's memory cap if it runs out of memory)."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store

    def append(self, enrichments: pa.Table, themes: pa.Table) -> None:
        retry_out_of_memory(self.store, lambda: self._append(enrichments, themes))

    def _append(self, enrichments: pa.Table, themes: pa.Table) -> None:
        con = self.store.raw
        con.execute("BEGIN TRANSACTION")
        try:
            for name, batch in ((ENRICHMENT_THEMES_TABLE, themes),
                                (ENRICHMENTS_TABLE, enrichments)):
                if batch.num_rows:
                    con.register("_sj_enrich_batch", batch)
                    try:
                        con.execute(f"INSERT INTO main.{name} BY NAME "
                                    "SELECT * FROM _sj_enrich_batch")
                    finally:
                        con.unregister("_sj_enrich_batch")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


class PostgresAppender:
    """COPY both tables' rows in one transaction on the backend's connection."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store

    def append(self, enrichments: pa.Table, themes: pa.Table) -> None:
        pg = self.store.raw
        try:
            with pg.transaction(), pg.cursor() as cursor:
                for name, batch in ((ENRICHMENT_THEMES_TABLE, themes),
                                    (ENRICHMENTS_TABLE, enrichments)):
                    if not batch.num_rows:
                        continue
                    columns = ", ".join(batch.column_names)
                    with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                        for row in zip(*(batch.column(c).to_pylist()
                                         for c in batch.column_names), strict=True):
                            copy.write_row(row)
        except Exception as exc:
            if not type(exc).__module__.startswith("psycopg"):
                raise
            raise StoreError(f"PostgreSQL refused the enrichments (nothing of this batch "
                             f"was written): {exc}") from None


class SparkAppender:
    """No transactions: theme rows first, enrichment rows (what marks a text done) last."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store

    def append(self, enrichments: pa.Table, themes: pa.Table) -> None:
        import ibis

        for name, batch, schema in ((ENRICHMENT_THEMES_TABLE, themes, ENRICHMENT_THEMES_SCHEMA),
                                    (ENRICHMENTS_TABLE, enrichments, ENRICHMENTS_SCHEMA)):
            if batch.num_rows:
                self.store.backend.insert(name, ibis.memtable(batch).cast(ibis.schema(schema)))


APPENDERS: dict[str, type[DuckDBAppender] | type[PostgresAppender] | type[SparkAppender]] = {
    "duckdb": DuckDBAppender,
    "postgres": PostgresAppender,
    "spark": SparkAppender,
}


def appender_for(store: AnalyticsStore) -> EnrichmentWriter:
    """The writer for the store's engine."""
    return APPENDERS[store.kind](store)
