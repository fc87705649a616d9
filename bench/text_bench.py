"""Benchmark: text enrichment throughput on demo comments, against plain encode in the same run.

Takes the first comments of a demo company in ``--dir`` (the large or medium demo that
``bench/run.py`` builds, else it builds the medium one), loads them into fresh workspaces
and measures:

- lexicon: ``enrich`` with VADER + keyword themes on ``--texts`` comments (comments/s),
  with one worker process per core (``--workers`` 0) and once more in one process, in
  a fresh process per input size (25%, 50%, 100%, 200% of ``--texts``) that reports its
  RSS before the run and its peak: the growth must stay flat as the input grows. The
  largest size runs once more without the engine's memory cap
  (``StoreTextReader(engine_memory_mib=None)``), to show what the cap holds back;
- cached: the same enrichment run again (everything cached: comments/s);
- embeddings: ``enrich`` with the taught embedding sentiment model + hybrid themes on
  ``--embed-texts`` comments (100k) for each of ``--embed-backends`` (torch, onnx-int8)
  against a plain encode of the same texts with the same backend in the same process
  (``SentenceTransformer.encode`` for torch), with accuracy against the demo's planted
  sentiment and themes and the peak RSS growth of the run;
- backends compared: every backend (torch, onnx, onnx-int8) on ``--compare-texts``
  comments (3,000): the same figures, and how far ONNX and int8 move the vectors
  (cosine), sentiment labels and theme sets; ``--compare-whole`` adds int8 with
  whole-text vectors (what the clause-mean vectors change).

    .venv/bin/python bench/text_bench.py [--texts 100000] [--embed-texts 100000]
        [--compare-texts 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LEXICON = {"model": "vader", "themes": "keywords"}
BATCH = 2000


def _status_mb(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _reset_peak() -> None:
    """Start ``VmHWM`` again from the current RSS (Linux ``clear_refs``; no-op elsewhere)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    # VmHWM, not ru_maxrss: a child started with vfork inherits the parent's ru_maxrss
    return _status_mb("VmHWM")


def find_demo(root: Path) -> Path:
    """A demo with enough comments: large or medium if built, else build the medium one."""
    for size in ("large", "medium"):
        demo = root / f"demo-{size}-7"
        if (demo / "data" / "responses.parquet").is_file():
            return demo
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import ensure_demo  # the same demo bench/run.py uses

    return ensure_demo(root, "medium", 7)


def make_workspace(demo: Path, target: Path, texts: int, offset: int = 0) -> Path:
    """A fresh workspace holding ``texts`` demo responses with a comment (and the demo's
    theme taxonomy)."""
    import duckdb

    from smokejumper import Workspace

    shutil.rmtree(target, ignore_errors=True)
    Workspace.init(target).close()
    try:  # today's demo taxonomy (an older demo's toml may lack keywords or examples)
        from smokejumper.simulate.taxonomy import demo_themes_toml

        themes = demo_themes_toml()
    except ImportError:
        text = (demo / "smokejumper.toml").read_text(encoding="utf-8")
        themes = text[text.find("[themes."):] if "[themes." in text else ""
    with (target / "smokejumper.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + themes)
    subset = target / "responses.parquet"
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{demo / 'data' / 'responses.parquet'}') "
        f"WHERE comment IS NOT NULL AND trim(comment) <> '' LIMIT {texts} OFFSET {offset}) "
        f"TO '{subset}' (FORMAT parquet)")
    with Workspace(target) as ws:
        ws.ingest([subset], "responses")
    subset.unlink()
    return target


def training_csv(demo: Path, target: Path, per_class: int, skip: int) -> Path:
    """Labelled comments (planted sentiment) taken after the benchmarked ones; plain texts
    only (no quotes, commas...), since the labelled-CSV reader sniffs the CSV dialect."""
    import duckdb

    target.parent.mkdir(parents=True, exist_ok=True)
    frame = duckdb.sql(f"""
        SELECT r.comment AS text, t.sentiment AS label
        FROM (SELECT response_id, comment
              FROM read_parquet('{demo / 'data' / 'responses.parquet'}')
              WHERE comment IS NOT NULL AND trim(comment) <> ''
              LIMIT 20000 OFFSET {skip}) r
        JOIN read_parquet('{demo / 'data' / 'comment_truth.parquet'}') t USING (response_id)
        ORDER BY r.response_id""").df()
    frame = frame[~frame.text.str.contains(r"[\"',;\t\n]")]
    frame.groupby("label").head(per_class).to_csv(target, index=False)
    return target


# -- lexicon, cached and memory: one fresh process per input size ---------------------------------

def lexicon_worker(workspace: Path, capped: bool = True, workers: int = 0) -> dict[str, Any]:
    from smokejumper import Workspace
    from smokejumper.text.enrich_store import PAGING_MEMORY_MIB, StoreTextReader

    with Workspace(workspace) as ws:
        ws.text.enrich(source="responses", limit=0, **LEXICON)  # load models, open the store
        reader = StoreTextReader(ws.analytics, PAGING_MEMORY_MIB if capped else None)
        before = _rss_mb()
        first = ws.text.enrich(source="responses", batch_size=BATCH, reader=reader,
                               workers=workers, **LEXICON)
        peak = _peak_mb()
        engine = ws.analytics.raw.execute(
            "SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
        again = ws.text.enrich(source="responses", batch_size=BATCH, **LEXICON)
    return {"texts": first.read, "enriched": first.enriched, "computed": first.computed,
            "theme_rows": first.theme_rows, "seconds": round(first.seconds, 2),
            "comments_per_s": round(first.enriched_per_s), "processes": first.processes,
            "rss_before_mb": round(before, 1),
            "peak_rss_mb": round(peak, 1), "rss_growth_mb": round(peak - before, 1),
            "duckdb_memory_mb": round((engine or 0) / 2**20, 1),
            "cached_rerun": {"read": again.read, "cached": again.cached,
                             "enriched": again.enriched, "seconds": round(again.seconds, 3),
                             "comments_per_s": round(again.rate_per_s)}}


def run_worker(args: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- embeddings: pipeline against plain encode, torch and ONNX ----------------------------------

BACKENDS = ("torch", "onnx", "onnx-int8")


def planted_truth(demo: Path) -> Any:
    """The demo's planted sentiment and themes per response id."""
    import pandas as pd

    return pd.read_parquet(demo / "data" / "comment_truth.parquet",
                           columns=["response_id", "themes", "sentiment"]
                           ).set_index("response_id")


def macro_f1(truth: list[set[str]], predicted: list[set[str]], names: list[str]) -> float:
    """Unweighted mean over ``names`` of each one's F1 (multi-label sets)."""
    scores = []
    for name in names:
        tp = sum(name in t and name in p for t, p in zip(truth, predicted, strict=True))
        fp = sum(name not in t and name in p for t, p in zip(truth, predicted, strict=True))
        fn = sum(name in t and name not in p for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def run_results(ws: Any, version: str) -> tuple[Any, Any]:
    """(sentiment label per text id, theme set per text id) of one model version."""
    empty: frozenset[str] = frozenset()
    rows = ws.analytics.raw.execute(
        "SELECT text_id, sentiment_label FROM enrichments WHERE model_version = ?",
        [version]).df().set_index("text_id").sentiment_label
    themes = ws.analytics.raw.execute(
        "SELECT text_id, theme FROM enrichment_themes WHERE model_version = ?",
        [version]).df().groupby("text_id").theme.agg(frozenset)
    return rows, themes.reindex(rows.index).apply(lambda v: v if isinstance(v, frozenset)
                                                   else empty)


def accuracy(labels: Any, themes: Any, truth: Any) -> dict[str, float]:
    """Sentiment accuracy and macro-F1, theme macro-F1, against the planted truth."""
    planted = truth.reindex(labels.index)
    classes = ["negative", "neutral", "positive"]
    sentiment_f1 = macro_f1([{v} for v in planted.sentiment], [{v} for v in labels], classes)
    names = sorted({t for values in planted.themes for t in values})
    return {"sentiment_accuracy": round(float((labels == planted.sentiment).mean()), 4),
            "sentiment_macro_f1": round(sentiment_f1, 4),
            "theme_macro_f1": round(macro_f1([set(v) for v in planted.themes],
                                             [set(v) for v in themes], names), 4)}


def agreement(a: tuple[Any, Any], b: tuple[Any, Any]) -> dict[str, float]:
    """Share of texts with the same sentiment label / the same theme set in two runs."""
    return {"sentiment_label_agreement": round(float((a[0] == b[0].reindex(a[0].index)
                                                      ).mean()), 4),
            "theme_set_agreement": round(float((a[1] == b[1].reindex(a[1].index)).mean()), 4)}


def plain_encode(backend: str, texts: list[str]) -> tuple[float, Any]:
    """(texts/s, vectors) of the bare model on ``texts``: ``SentenceTransformer.encode``
    for torch, the same call on the ONNX model (length-sorted batches of 64)."""
    import numpy as np

    from smokejumper.text.embeddings import EmbeddingConfig, load_embedder

    model = load_embedder(EmbeddingConfig(backend=backend, cache_size=0)).model
    model.encode(texts[:64], batch_size=64)  # warm up
    started = time.perf_counter()
    vectors = np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True))
    return len(texts) / (time.perf_counter() - started), vectors


def embedding_bench(workspace: Path, train: Path, demo: Path,
                    backends: tuple[str, ...] = BACKENDS,
                    compare_whole: bool = False) -> dict[str, Any]:
    """Per backend: plain encode of the texts, then the pipeline on the same texts (taught
    embedding sentiment + hybrid themes), their ratio, and accuracy against the planted
    truth; then how far ONNX and int8 move the results."""
    from smokejumper import Workspace
    from smokejumper.text.clauses import split_clauses
    from smokejumper.text.embeddings import forget_vectors
    from smokejumper.text.enrich import EnrichmentRequest

    truth = planted_truth(demo)
    result: dict[str, Any] = {}
    with Workspace(workspace) as ws:
        texts = ws.table("responses").comment.to_pandas().tolist()
        distinct = list(dict.fromkeys(texts))
        units: set[str] = set()
        for text in distinct:
            spans = split_clauses(text)
            units.update([text[a:b] for a, b in spans] if len(spans) > 1 else [text])
        result.update(texts=len(texts), distinct_texts=len(distinct),
                      distinct_clauses=len(units))
        vectors: dict[str, Any] = {}
        outputs: dict[str, tuple[Any, Any]] = {}
        variants = [(backend, "clauses") for backend in backends]
        if compare_whole:
            variants.append((backends[-1], "whole"))
        for backend, text_vectors in variants:
            key = backend if text_vectors == "clauses" else f"{backend}/whole-text-vectors"
            try:
                if backend not in vectors:
                    encode_rate, vectors[backend] = plain_encode(backend, texts)
                    result.setdefault("plain_encode_comments_per_s", {})[backend] = round(
                        encode_rate, 1)
            except Exception as exc:  # onnxruntime missing: say so
                result[key] = {"error": str(exc)}
                continue
            encode_rate = result["plain_encode_comments_per_s"][backend]
            forget_vectors()  # start cold, as a new process would: no vectors of earlier runs
            _reset_peak()
            before = _rss_mb()
            started = time.perf_counter()
            summary = ws.text.run(EnrichmentRequest(
                source="responses", model="embedding", themes="hybrid", train=str(train),
                backend=backend, batch_size=BATCH, text_vectors=text_vectors))
            total_s = time.perf_counter() - started
            outputs[key] = run_results(ws, summary.model_version)
            result[key] = {
                "pipeline_s": round(summary.seconds, 2),
                "pipeline_with_teaching_s": round(total_s, 2),
                "pipeline_comments_per_s": round(summary.enriched_per_s, 1),
                "plain_encode_comments_per_s": encode_rate,
                "ratio_pipeline_to_encode": round(summary.enriched_per_s / encode_rate, 3),
                "meets_goals": summary.enriched_per_s >= 300
                and summary.enriched_per_s / encode_rate >= 0.9,
                "enriched": summary.enriched, "computed": summary.computed,
                "theme_rows": summary.theme_rows, "model_version": summary.model_version,
                "peak_rss_growth_mb": round(_peak_mb() - before, 1),
                "accuracy_vs_planted": accuracy(*outputs[key], truth)}
        if "torch" in vectors:
            result["ratio_to_plain_torch_encode"] = {
                key: round(value["pipeline_comments_per_s"]
                           / result["plain_encode_comments_per_s"]["torch"], 3)
                for key, value in result.items()
                if isinstance(value, dict) and "pipeline_comments_per_s" in value}
        pairs = [("onnx", "torch"), ("onnx-int8", "onnx"), ("onnx-int8", "torch")]
        if compare_whole:
            pairs.append((f"{backends[-1]}/whole-text-vectors", backends[-1]))
        for new, old in pairs:
            if new in outputs and old in outputs:
                entry = agreement(outputs[old], outputs[new])
                if new in vectors and old in vectors:
                    cosine = (vectors[new] * vectors[old]).sum(axis=1)
                    entry = {"cosine_mean": round(float(cosine.mean()), 5),
                             "cosine_min": round(float(cosine.min()), 5), **entry}
                result[f"{new}_vs_{old}"] = entry
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".bench"))
    parser.add_argument("--texts", type=int, default=100_000,
                        help="comments for the lexicon, cached and memory runs (0: skip)")
    parser.add_argument("--embed-texts", type=int, default=100_000,
                        help="comments for the embedding pipelines against plain encode "
                        "(0: skip)")
    parser.add_argument("--embed-backends", default="torch,onnx-int8",
                        help="backends run on --embed-texts comments")
    parser.add_argument("--compare-texts", type=int, default=3_000,
                        help="comments on which every backend runs, to compare their "
                        "accuracy and how far ONNX and int8 move the results (0: skip)")
    parser.add_argument("--skip-embeddings", action="store_true")
    parser.add_argument("--compare-whole", action="store_true",
                        help="also run int8 with whole-text vectors (accuracy of the clause "
                        "mean)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--uncapped", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--lexicon-workers", type=int, default=0,
                        help="worker processes of the lexicon and memory runs (0: one per "
                        "core, at most 8; 1: none)")
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(lexicon_worker(args.worker, capped=not args.uncapped,
                                        workers=args.workers)))
        return

    started = time.perf_counter()
    root = args.dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    demo = find_demo(root)
    scratch = root / "text"
    report: dict[str, Any] = {
        "benchmark": "text_enrichment", "demo": demo.name, "cores": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2)}
    if args.texts:
        sizes = sorted({max(1, args.texts // 4), max(1, args.texts // 2), args.texts,
                        2 * args.texts})
        runs = {}
        for size in sizes:
            workspace = make_workspace(demo, scratch / f"lexicon-{size}", size)
            runs[size] = run_worker(["--worker", str(workspace),
                                     "--workers", str(args.lexicon_workers)])
            if size == args.texts:  # the same texts again in one process
                workspace = make_workspace(demo, scratch / f"lexicon-{size}", size)
                alone = run_worker(["--worker", str(workspace), "--workers", "1"])
            if size == sizes[-1]:  # the same texts again, not yet enriched, with no cap
                workspace = make_workspace(demo, scratch / f"lexicon-{size}", size)
                uncapped = run_worker(["--worker", str(workspace), "--uncapped",
                                       "--workers", str(args.lexicon_workers)])
            shutil.rmtree(workspace, ignore_errors=True)
        full = runs[args.texts]
        report.update({
            "lexicon": {"comments": args.texts, "comments_per_s": full["comments_per_s"],
                        "processes": full["processes"], "seconds": full["seconds"],
                        "distinct_computed": full["computed"],
                        "theme_rows": full["theme_rows"],
                        "one_process": {k: alone[k] for k in (
                            "comments_per_s", "seconds", "processes", "rss_growth_mb")}},
            "cached_rerun": {**full["cached_rerun"], "goal_per_s": 50_000,
                             "meets_goal": full["cached_rerun"]["comments_per_s"] >= 50_000},
            "memory": {"pipeline": "lexicon (vader + keywords), batch 2000; the calling "
                                   "process (worker processes hold their own copy of the "
                                   "models and one slice of a page at a time)",
                       "by_input": {str(size): {k: run[k] for k in (
                           "rss_before_mb", "peak_rss_mb", "rss_growth_mb", "duckdb_memory_mb",
                           "comments_per_s", "processes")}
                           for size, run in runs.items()}},
        })
        growth = [runs[size]["rss_growth_mb"] for size in sizes]
        report["memory"]["growth_spread_mb"] = round(max(growth) - min(growth), 1)
        report["memory"]["engine_memory_cap"] = "32MiB (smokejumper.text.enrich_store." \
            "PAGING_MEMORY_MIB, or 8x the first page)"
        report["memory"]["uncapped_at_largest"] = {
            "comments": sizes[-1], **{k: uncapped[k] for k in (
                "rss_growth_mb", "duckdb_memory_mb", "comments_per_s")}}
    if not args.skip_embeddings:
        train = training_csv(demo, scratch / "train.csv", 100,
                             max(args.texts, args.embed_texts) + 1000)
        if args.embed_texts:
            workspace = make_workspace(demo, scratch / "embeddings", args.embed_texts)
            backends = tuple(b.strip() for b in args.embed_backends.split(",") if b.strip())
            embeddings = embedding_bench(workspace, train, demo, backends=backends)
            shutil.rmtree(workspace, ignore_errors=True)
            embeddings["note"] = (
                "Each distinct clause is embedded once (a text's vector is the mean of its "
                "clauses'), and the demo's comments repeat clauses a lot, which the "
                "pipeline gains from and a plain encode does not")
            embeddings["goal_ratio"] = 0.9
            embeddings["goal_comments_per_s"] = 300
            report["embeddings"] = embeddings
        if args.compare_texts:
            workspace = make_workspace(demo, scratch / "compare", args.compare_texts)
            report["backends_compared"] = embedding_bench(
                workspace, train, demo, compare_whole=args.compare_whole)
            shutil.rmtree(workspace, ignore_errors=True)
    report["total_s"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
