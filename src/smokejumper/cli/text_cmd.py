"""``smokejumper text``: measure the text models (sentiment, themes) on labelled files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import (
    FormatOption,
    OutputFormat,
    console,
    open_workspace,
    print_json,
    reporter_for,
)

text_app = typer.Typer(
    name="text",
    help="Text models: sentiment and themes, measured on labelled customer texts.",
    no_args_is_help=True,
)
app.add_typer(text_app, name="text")


class TaskChoice(StrEnum):
    sentiment = "sentiment"
    themes = "themes"


@text_app.command("eval")
def eval_command(
    task: Annotated[TaskChoice, typer.Option("--task", help="What to measure.",
                                             show_default=False)],
    labels: Annotated[Path, typer.Option("--labels", help="Labelled CSV to score the model on.",
                                         show_default=False)],
    text_column: Annotated[str, typer.Option("--text-column",
                                             help="Column holding the text.")] = "text",
    label_column: Annotated[str, typer.Option(
        "--label-column",
        help="Column holding the label: negative/neutral/positive, or a theme name.")] = "label",
    train: Annotated[Path | None, typer.Option(
        "--train", help="Labelled CSV (same columns) to teach the model first; its k-fold "
                        "accuracy is reported too.", show_default=False)] = None,
    themes: Annotated[Path | None, typer.Option(
        "--themes", help="TOML file with one \\[themes.NAME] table per theme (description, "
                         "examples, keywords, parent). Needed for --task themes.",
        show_default=False)] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Registered model: sentiment vader|embedding|setfit (default "
                        "embedding, or setfit with --train; vader without the text extra); "
                        "themes hybrid|keywords (default hybrid). The JSON names the model used.",
        show_default=False)] = None,
    model_path: Annotated[Path | None, typer.Option(
        "--model-path", help="Local Hugging Face / sentence-transformers model folder to use "
                             "instead of the bundled all-MiniLM-L6-v2.",
        show_default=False)] = None,
    folds: Annotated[int, typer.Option("--folds", min=2,
                                       help="Folds for cross-validating on --train.")] = 5,
    adapt: Annotated[bool, typer.Option(
        "--adapt/--no-adapt",
        help="Let the model first learn from the texts it scores, reading none of their "
             "labels (`enrich --adapt N` does the same with a workspace's texts). Untaught "
             "(hybrid themes, embedding sentiment), it labels them itself and learns from "
             "the ones it is surest of (themes with examples or keywords keep them); "
             "taught (embedding, setfit sentiment), it reads each text together with the "
             "texts most like it (setfit on the bundled embedding model also with the "
             "shipped sentiment head's reading, at half weight).")] = True,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Score a text model on a labelled CSV: accuracy, macro-F1, per-class F1.

    With --train, the model is first taught from a training CSV with the same columns,
    and its k-fold accuracy on that file is reported too. The hybrid theme tagger (untaught)
    and the embedding and setfit sentiment models adapt to the texts themselves first
    (--no-adapt: theme descriptions only, the sentiment head as shipped or as taught).
    """
    from smokejumper.text.embeddings import EmbeddingConfig
    from smokejumper.text.tasks import TextEvaluationRequest, run_text_evaluation

    request = TextEvaluationRequest(
        task=task.value, labels_path=labels, text_column=text_column,
        label_column=label_column, train_path=train, themes_path=themes, model=model,
        embedding=EmbeddingConfig(model_path=str(model_path) if model_path else None),
        folds=folds, adapt=adapt,
    )
    result = run_text_evaluation(request, reporter_for(fmt))
    if fmt is OutputFormat.table:
        _show(result)
    else:
        print_json(result)


def _show(result: dict[str, Any]) -> None:
    from rich.table import Table

    taught = " (taught)" if result["taught"] else (
        f" (adapted to {result['adapted']:,} texts)" if result.get("adapted") else "")
    grid = Table(title=f"{result['task']} · {result['model']}{taught} · n={result['n']:,}",
                 title_justify="left")
    grid.add_column("class")
    grid.add_column("F1", justify="right")
    grid.add_column("n", justify="right")
    for label, score in result["per_class_f1"].items():
        grid.add_row(label, f"{score:.3f}", f"{result['support'].get(label, 0):,}")
    console.print(grid)
    console.print(f"accuracy {result['accuracy']:.3f}   macro-F1 {result['macro_f1']:.3f}",
                  highlight=False)
    training = result["training"]
    if training and training.get("accuracy") is not None:
        console.print(f"taught on {training['n']:,} examples; {training['folds']}-fold "
                      f"accuracy {training['accuracy']:.3f}, macro-F1 "
                      f"{training['macro_f1']:.3f}", highlight=False)


class DiscoverSource(StrEnum):
    responses = "responses"
    interactions = "interactions"


@text_app.command("themes")
def themes_command(
    discover: Annotated[bool, typer.Option(
        "--discover", help="Find what customers write about that no theme explains, and "
        "which of those topics are growing (emerging) against the baseline.")] = False,
    since: Annotated[str | None, typer.Option(
        "--since", help="First day of the window to look at (YYYY-MM-DD; default: 28 days "
        "before --until).", show_default=False)] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="Day after the window (YYYY-MM-DD; default: the day after the "
        "newest text).", show_default=False)] = None,
    baseline_days: Annotated[int, typer.Option(
        "--baseline-days", min=1, help="Days before --since to compare with.")] = 90,
    source: Annotated[DiscoverSource, typer.Option(
        "--source", "-s", help="Survey comments (responses) or transcripts "
        "(interactions).")] = DiscoverSource.responses,
    model: Annotated[str, typer.Option(
        "--model", help="Which tagger decides what the themes already explain: hybrid, "
        "keywords, none, or auto (hybrid when the text extra is installed).")] = "auto",
    sample: Annotated[int, typer.Option(
        "--sample", min=10, help="At most this many texts per window (a random "
        "sample).")] = 2000,
    vectors: Annotated[str, typer.Option(
        "--vectors", help="How texts are compared for clustering: embeddings, tfidf (fast, "
        "no extra), or auto (embeddings when the text extra is installed).")] = "auto",
    alpha: Annotated[float, typer.Option(
        "--alpha", min=0.0, max=1.0, help="Significance level for growth (corrected for "
        "the number of topics).")] = 0.01,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The workspace's themes, or (with --discover) new topics in recent texts.

    --discover clusters the recent texts that no [themes.*] theme explains, names each
    topic by its most distinctive words, and flags as emerging the topics whose share of
    all texts grew significantly against the baseline window. Examples are redacted.
    """
    from smokejumper.cli.common import open_workspace

    ws = open_workspace(reporter_for(fmt))
    try:
        if not discover:
            taxonomy = ws.text.taxonomy()
            rows = [] if taxonomy is None else [
                {"theme": t.name, "parent": t.parent, "description": t.description,
                 "keywords": len(t.keywords), "examples": len(t.examples)}
                for t in taxonomy.themes]
            if fmt is OutputFormat.table:
                _show_taxonomy(rows)
            else:
                print_json({"themes": rows})
            return
        from smokejumper.text.discovery import DiscoveryConfig, discover_in_workspace

        result = discover_in_workspace(
            ws, source=source.value, since=since, until=until, baseline_days=baseline_days,
            model=model, sample=sample, config=DiscoveryConfig(alpha=alpha, vectors=vectors))
    finally:
        ws.close()
    if fmt is OutputFormat.table:
        _show_discovery(result)
    else:
        print_json(result)


def _show_taxonomy(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not rows:
        console.print("No themes: add [themes.NAME] tables to smokejumper.toml.")
        return
    grid = Table(title="Themes", title_justify="left")
    for name in ("theme", "parent", "description", "keywords", "examples"):
        grid.add_column(name, justify="right" if name in ("keywords", "examples") else "left")
    for row in rows:
        grid.add_row(row["theme"], row["parent"] or "", row["description"],
                     str(row["keywords"]), str(row["examples"]))
    console.print(grid)


def _show_discovery(result: dict[str, Any]) -> None:
    from rich.table import Table

    current, baseline = result["current"], result["baseline"]
    grid = Table(title=f"Topics no theme explains · {current['since']}..{current['until']} "
                       f"({current['texts']:,} texts) vs {baseline['since']}.."
                       f"{baseline['until']} ({baseline['texts']:,})", title_justify="left")
    for name in ("topic", "words", "now", "before", "share now", "share before", "growth",
                 "p", "emerging"):
        grid.add_column(name, justify="left" if name in ("topic", "words") else "right")
    for theme in result["themes"]:
        grid.add_row(theme["name"], ", ".join(theme["top_words"]), f"{theme['n_current']:,}",
                     f"{theme['n_baseline']:,}", f"{theme['share_current']:.2%}",
                     f"{theme['share_baseline']:.2%}", f"{theme['growth']:.1f}×",
                     f"{theme['p_value']:.2g}", "yes" if theme["emerging"] else "")
    console.print(grid)
    for theme in result["themes"]:
        if theme["emerging"]:
            console.print(f"[bold]{theme['name']}[/bold]: " + " | ".join(theme["examples"]))


class LabelSource(StrEnum):
    responses = "responses"
    interactions = "interactions"


@text_app.command("label")
def label_command(
    text_id: Annotated[str, typer.Argument(help="The response or interaction id.",
                                           show_default=False)],
    source: Annotated[LabelSource, typer.Option(
        "--source", "-s", help="Survey comment (responses) or transcript "
        "(interactions).")] = LabelSource.responses,
    sentiment: Annotated[str | None, typer.Option(
        "--sentiment", help="The text's sentiment: negative, neutral or positive.",
        show_default=False)] = None,
    theme: Annotated[list[str] | None, typer.Option(
        "--theme", help="A theme the text is about (repeat for several); the text's themes "
        "become exactly these.", show_default=False)] = None,
    no_themes: Annotated[bool, typer.Option(
        "--no-themes", help="The text is about none of the workspace's themes.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why, for the audit log.",
                                             show_default=False)] = None,
    who: Annotated[str | None, typer.Option(
        "--who", help="Who gives the label (default: your user name).",
        show_default=False)] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Correct what the models said about one text: its sentiment and/or its themes.

    The label is kept with the text as stored (personal data masked) and replaces an
    earlier one; `smokejumper enrich --corrections` teaches the models from all labels.
    """
    if no_themes and theme:
        raise typer.BadParameter("--theme and --no-themes exclude each other")
    import getpass

    themes = [] if no_themes else (theme or None)
    ws = open_workspace(reporter_for(fmt))
    try:
        recorded = ws.text.label(text_id, source=source.value, sentiment=sentiment,
                                 themes=themes, by=who or getpass.getuser(), note=note)
    finally:
        ws.close()
    rows = [label.to_dict() for label in recorded]
    if fmt is OutputFormat.table:
        for row in rows:
            value = row["value"] if isinstance(row["value"], str) else \
                (", ".join(row["value"]) or "no theme")
            console.print(f"{row['source_table']} {row['text_id']}: {row['task']} = {value}",
                          highlight=False)
        if rows:
            console.print(f"text: {rows[0]['text']}", highlight=False)
    else:
        print_json(rows)


@text_app.command("labels")
def labels_command(
    task: Annotated[TaskChoice | None, typer.Option(
        "--task", help="Only sentiment or only themes labels.", show_default=False)] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The labels given with `smokejumper text label`: text (masked), label, who, when.

    `--format csv` gives columns a training CSV can be made from (text, value).
    """
    from smokejumper.cli.common import print_frame

    ws = open_workspace(reporter_for(fmt))
    try:
        frame = ws.text.labels(task.value if task is not None else None)
    finally:
        ws.close()
    if fmt is not OutputFormat.json:
        frame["value"] = [v if isinstance(v, str) else "|".join(v) for v in frame["value"]]
    print_frame(frame, fmt, title="Text labels")


@text_app.command("score")
def score_command(
    texts: Annotated[list[str] | None, typer.Argument(
        help="Texts to score (or --file).", show_default=False)] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="A CSV whose --text-column holds the texts.", show_default=False)] = None,
    text_column: Annotated[str, typer.Option("--text-column",
                                             help="Column of --file holding the text.")] = "text",
    model: Annotated[str, typer.Option(
        "--model", "-m", help="Sentiment model: vader, embedding (the shipped head, or taught "
        "with --train) or setfit (taught).")] = "vader",
    themes: Annotated[str, typer.Option(
        "--themes", help="Theme model: hybrid, keywords, none, or auto.")] = "auto",
    train: Annotated[Path | None, typer.Option(
        "--train", help="Labelled CSV (text, label) that teaches the sentiment model first.",
        show_default=False)] = None,
    corrections: Annotated[bool, typer.Option(
        "--corrections", help="Also teach the models from the labels given with "
        "`smokejumper text label`.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """What the models say about some texts, sentence by sentence; nothing is stored.

    Personal data is masked first, as `smokejumper enrich` does; the workspace's themes
    and redaction settings apply.
    """
    from smokejumper.text.tasks import read_labelled_csv

    given = list(texts or [])
    if file is not None:
        given += list(read_labelled_csv(file, text_column, None).texts)
    if not given:
        raise typer.BadParameter("give texts to score, or --file FILE")
    ws = open_workspace(reporter_for(fmt))
    try:
        results = ws.text.score(given, model, themes=themes,
                                train=str(train) if train is not None else None,
                                corrections=corrections)
    finally:
        ws.close()
    if fmt is not OutputFormat.table:
        print_json(results)
        return
    for result in results:
        found = ", ".join(f"{t['theme']} {t['confidence']:.2f} ({t['sentiment']:+.2f})"
                          for t in result["themes"]) or "no theme"
        console.print(f"[bold]{result['sentiment_label']} {result['sentiment']:+.2f}[/bold]"
                      f"  {result['text']}", highlight=False)
        console.print(f"  themes: {found}", highlight=False)
        if len(result["sentences"]) > 1:
            for sentence in result["sentences"]:
                console.print(f"  · {sentence['sentiment_label']} "
                              f"{sentence['sentiment']:+.2f}  {sentence['text']}",
                              highlight=False)
