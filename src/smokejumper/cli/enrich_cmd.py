"""``smokejumper enrich``: redact, score and tag new customer texts into the enrichments table."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, open_workspace, print_json


class SourceChoice(StrEnum):
    responses = "responses"
    interactions = "interactions"
    all = "all"


class BackendChoice(StrEnum):
    torch = "torch"
    onnx = "onnx"
    onnx_int8 = "onnx-int8"


@app.command("enrich")
def enrich(
    source: Annotated[SourceChoice, typer.Option(
        "--source", "-s", help="Which texts: survey comments (responses), chat and call "
        "transcripts (interactions), or all.")] = SourceChoice.all,
    model: Annotated[str, typer.Option(
        "--model", "-m", help="Sentiment model: vader (no extra, nothing to teach) or "
        "embedding (taught from --train).")] = "vader",
    themes: Annotated[str, typer.Option(
        "--themes", help="Theme model: hybrid, keywords, none, or auto (hybrid when the "
        "text extra is installed, else keywords). Themes come from \\[themes.NAME] in "
        "smokejumper.toml.")] = "auto",
    batch_size: Annotated[int, typer.Option(
        "--batch-size", "-b", min=1, help="Texts read, scored and written together; memory "
        "stays bounded by it.")] = 2000,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=0, help="Enrich at most this many new texts now; the next run goes "
        "on from there.", show_default=False)] = None,
    train: Annotated[Path | None, typer.Option(
        "--train", help="Labelled CSV (columns text, label: negative/neutral/positive) that "
        "teaches the embedding sentiment model first.", show_default=False)] = None,
    corrections: Annotated[bool, typer.Option(
        "--corrections", help="Also teach the models from the labels given with "
        "`smokejumper text label` (sentiment: embedding or setfit; themes: hybrid); texts "
        "are then enriched again under the taught model.")] = False,
    adapt: Annotated[int, typer.Option(
        "--adapt", min=0, help="First let the models learn the language of up to this many "
        "of the workspace's own texts (no labels needed): the embedding or setfit "
        "sentiment model and the untaught hybrid theme tagger (themes described by words "
        "alone; themes with examples or keywords keep them). The sample is kept: later "
        "runs with the same N adapt to the same texts, so only new texts are enriched.")] = 0,
    readapt: Annotated[bool, typer.Option(
        "--readapt", help="With --adapt: draw a fresh sample of the texts there are now "
        "(and keep it); if new texts changed it, every text is enriched again.")] = False,
    device: Annotated[str | None, typer.Option(
        "--device", help="Where the embedding model runs: cpu or cuda (default: a GPU when "
        "there is one).", show_default=False)] = None,
    backend: Annotated[BackendChoice, typer.Option(
        "--backend", help="Embedding runtime: torch, onnx (ONNX Runtime, faster on a "
        "CPU) or onnx-int8 (ONNX Runtime with int8 weights: faster again, nearly the same "
        "results).")] = BackendChoice.torch,
    workers: Annotated[int, typer.Option(
        "--workers", min=0, help="Processes that share the texts with the lexicon models "
        "(vader, keywords): 0 for one per CPU core (at most 8), 1 for this process alone. "
        "Models that embed text run in one process.")] = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Enrich new customer texts: mask personal data, then sentiment, themes and (for
    transcripts) conversation quality, stored in the enrichments table.

    Only texts not yet enriched by the same model version are processed, so a re-run
    adds nothing and an interrupted run resumes. `smokejumper metrics sentiment` and
    `theme_share:THEME` read the results.
    """
    from smokejumper.cli.common import reporter_for

    ws = open_workspace(reporter_for(fmt))
    try:
        summary = ws.text.enrich(source=source.value, model=model, themes=themes,
                                 batch_size=batch_size, limit=limit, device=device,
                                 backend=backend.value,
                                 train=str(train) if train is not None else None,
                                 corrections=corrections, adapt=adapt, readapt=readapt,
                                 workers=workers)
    finally:
        ws.close()
    result = summary.to_dict()
    if fmt is OutputFormat.table:
        _show(result)
    else:
        print_json(result)


def _show(result: dict[str, Any]) -> None:
    more = " (limit reached: run again to go on)" if result["limit_reached"] else ""
    console.print(
        f"read {result['read']:,} texts: enriched {result['enriched']:,}, cached (already "
        f"enriched) {result['cached']:,}; {result['rate_per_s']:,.0f} texts/s{more}",
        highlight=False)
    if result["adapted"]:
        console.print(f"models adapted to {result['adapted']:,} of the workspace's texts "
                      f"in {result['adapt_seconds']:,.0f} s", highlight=False)
    console.print(f"model version {result['model_version']}; {result['theme_rows']:,} theme "
                  f"mentions written; {result['pending']:,} texts still to enrich",
                  highlight=False)
