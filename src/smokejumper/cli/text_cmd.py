"""``smokejumper text``: measure the text models (sentiment, themes) on labelled files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, print_json, reporter_for

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
        "--model", help="Registered model: sentiment vader|embedding (default vader, or "
                        "embedding with --train); themes hybrid|keywords (default hybrid).",
        show_default=False)] = None,
    model_path: Annotated[Path | None, typer.Option(
        "--model-path", help="Local Hugging Face / sentence-transformers model folder to use "
                             "instead of the bundled all-MiniLM-L6-v2.",
        show_default=False)] = None,
    folds: Annotated[int, typer.Option("--folds", min=2,
                                       help="Folds for cross-validating on --train.")] = 5,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Score a text model on a labelled CSV: accuracy, macro-F1, per-class F1.

    With --train, the model is first taught from a training CSV with the same columns,
    and its k-fold accuracy on that file is reported too.
    """
    from smokejumper.text.embeddings import EmbeddingConfig
    from smokejumper.text.tasks import TextEvaluationRequest, run_text_evaluation

    request = TextEvaluationRequest(
        task=task.value, labels_path=labels, text_column=text_column,
        label_column=label_column, train_path=train, themes_path=themes, model=model,
        embedding=EmbeddingConfig(model_path=str(model_path) if model_path else None),
        folds=folds,
    )
    result = run_text_evaluation(request, reporter_for(fmt))
    if fmt is OutputFormat.table:
        _show(result)
    else:
        print_json(result)


def _show(result: dict[str, Any]) -> None:
    from rich.table import Table

    taught = " (taught)" if result["taught"] else ""
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
