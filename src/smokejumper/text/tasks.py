"""Measure a text model on a labelled CSV (``smokejumper text eval``), optionally taught first.

Reads the labelled files, builds the model from the registry, teaches it from the
training file (reporting its k-fold accuracy there), and scores it on the labels file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smokejumper.errors import TextError
from smokejumper.reporter import Reporter, SilentReporter
from smokejumper.text.embeddings import EmbeddingConfig
from smokejumper.text.evaluate import EvaluationReport, evaluate_predictions

TASKS = ("sentiment", "themes")


@dataclass(frozen=True)
class LabelledTexts:
    """Texts and their labels, read from ``source``."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    source: str


def read_labelled_csv(path: str | Path, text_column: str, label_column: str | None,
                      normalise: Callable[[str], str] | None = None) -> LabelledTexts:
    """Texts and labels from a CSV file with a header row (texts only, with empty labels,
    when ``label_column`` is None).

    Rows with an empty text are skipped; an empty or unknown label is an error naming
    the row. ``normalise`` maps a raw label to its canonical form or raises TextError.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("comment,label\\nGreat!,Positive\\n,neutral\\n")
    >>> read_labelled_csv(f.name, "comment", "label", str.lower).labels
    ('positive',)
    >>> os.unlink(f.name)
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise TextError(f"labelled file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise TextError(f"labelled file {path} is a folder") from exc
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not content.strip():
        raise TextError(f"{path} is empty")
    # The delimiter is the one the header row uses most; quoting is standard CSV (double
    # quotes), so commas and apostrophes inside a quoted text stay in it, as do newlines.
    header = content.splitlines()[0]
    delimiter = max(",;\t", key=header.count)
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    columns = list(reader.fieldnames or [])
    text_key = _column(columns, text_column, path)
    label_key = _column(columns, label_column, path) if label_column is not None else None
    texts: list[str] = []
    labels: list[str] = []
    try:
        for line, row in enumerate(reader, start=2):
            text = (row.get(text_key) or "").strip()
            if not text:
                continue
            if label_key is None:
                texts.append(text)
                labels.append("")
                continue
            label = (row.get(label_key) or "").strip()
            if not label:
                raise TextError(f"{path} row {line} has no label in column {label_column!r}")
            if normalise is not None:
                try:
                    label = normalise(label)
                except TextError as exc:
                    raise TextError(f"{path} row {line}: {exc}") from exc
            texts.append(text)
            labels.append(label)
    except csv.Error as exc:
        raise TextError(f"{path} is not a readable CSV file: {exc}") from exc
    if not texts:
        raise TextError(f"{path} has no {'labelled ' if label_column else ''}texts")
    return LabelledTexts(tuple(texts), tuple(labels), str(path))


def _column(columns: list[str], wanted: str, path: Path) -> str:
    if wanted in columns:
        return wanted
    folded = [c for c in columns if c.strip().lower() == wanted.strip().lower()]
    if folded:
        return folded[0]
    raise TextError(f"column {wanted!r} is not in {path}; its columns are: "
                    f"{', '.join(columns) or '(none)'}")


@dataclass(frozen=True)
class TextEvaluationRequest:
    """One ``text eval`` run: the task, the files, the columns and the model."""

    task: str
    labels_path: Path
    text_column: str = "text"
    label_column: str = "label"
    train_path: Path | None = None
    themes_path: Path | None = None
    model: str | None = None
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    folds: int = 5
    adapt: bool = True


def default_model(task: str, taught: bool) -> str:
    """The model ``text eval`` uses when none is named.

    Sentiment with the ``text`` extra installed: ``setfit`` when taught (it tunes the
    embedding model on the examples; on SemEval-2014 reviews, 100 examples per class,
    0.04 to 0.12 macro-F1 above embeddings + logistic regression, see docs/text.md),
    else the ``embedding`` model with its shipped head. Without the extra: VADER
    untaught; taught, ``embedding``, whose error names the extra to install.

    >>> from smokejumper.text.embeddings import embeddings_available
    >>> default_model("sentiment", taught=True) == ("setfit" if embeddings_available()
    ...                                             else "embedding")
    True
    >>> default_model("sentiment", taught=False) == ("embedding" if embeddings_available()
    ...                                              else "vader")
    True
    >>> default_model("themes", taught=False)
    'hybrid'
    """
    if task == "sentiment":
        from smokejumper.text.embeddings import embeddings_available

        if embeddings_available():
            return "setfit" if taught else "embedding"
        return "embedding" if taught else "vader"
    return "hybrid"


def run_text_evaluation(request: TextEvaluationRequest,
                        reporter: Reporter | None = None) -> dict[str, Any]:
    """Evaluate (and optionally teach) a text model; a JSON-ready result.

    Keys: task, model, model_version, taught, adapted (texts the model learnt from
    without their labels, see :meth:`HybridThemeTagger.adapt`,
    :meth:`EmbeddingSentimentModel.adapt` and :meth:`SetFitSentimentModel.adapt`, else
    None), n,
    accuracy, macro_f1, per_class_f1, support, and training (n, folds, accuracy, macro_f1
    of k-fold on the training file) or None.
    """
    from smokejumper.text.registry import TextModelOptions, sentiment_models, theme_models

    reporter = reporter or SilentReporter()
    if request.task not in TASKS:
        raise TextError(f"unknown task {request.task!r}; expected sentiment or themes")
    taught = request.train_path is not None
    name = request.model or default_model(request.task, taught)

    if request.task == "sentiment":
        from smokejumper.text.sentiment import normalise_sentiment_label

        normalise: Callable[[str], str] = normalise_sentiment_label
        registry: Any = sentiment_models
        options = TextModelOptions(embedding=request.embedding)
    else:
        from smokejumper.text.themes import load_taxonomy

        if request.themes_path is None:
            raise TextError("the themes task needs --themes FILE (a [themes.NAME] table "
                            "per theme)")
        taxonomy = load_taxonomy(request.themes_path)

        def normalise(label: str) -> str:
            if label not in taxonomy.names:
                raise TextError(f"unknown theme {label!r}; the themes file has: "
                                f"{', '.join(taxonomy.names)}")
            return label

        registry = theme_models
        options = TextModelOptions(embedding=request.embedding, taxonomy=taxonomy)

    entry = registry.entry(name)
    if taught and not entry.teachable:
        raise TextError(f"the {name!r} model cannot be taught; teachable models: "
                        f"{', '.join(n for n in registry.names() if registry.entry(n).teachable)}")
    test = read_labelled_csv(request.labels_path, request.text_column, request.label_column,
                             normalise)
    train = (read_labelled_csv(request.train_path, request.text_column, request.label_column,
                               normalise) if request.train_path is not None else None)
    model = registry.create(name, options)

    training: dict[str, Any] | None = None
    if train is not None:
        training = {"n": len(train.texts)}
        folds = min(request.folds, *(train.labels.count(label) for label in set(train.labels)))
        if folds >= 2 and len(set(train.labels)) >= 2:
            with reporter.progress(f"cross-validating on {len(train.texts)} examples"):
                report: EvaluationReport = model.cross_validate(list(train.texts),
                                                                list(train.labels), folds)
            training.update(folds=folds, accuracy=report.accuracy, macro_f1=report.macro_f1)
        else:
            training.update(folds=None, accuracy=None, macro_f1=None)
            reporter.warn("too few examples per label for cross-validation")
        with reporter.progress(f"teaching {name} on {len(train.texts)} examples"):
            model.fit(list(train.texts), list(train.labels))

    adapted = None
    if request.adapt and getattr(model, "can_adapt", False):
        from smokejumper.text.self_training import adapt_or_warn

        with reporter.progress(f"adapting {name} to {len(test.texts)} unlabelled texts"):
            if adapt_or_warn(model, list(test.texts), reporter):
                adapted = len(test.texts)
    with reporter.progress(f"scoring {len(test.texts)} texts with {name}"):
        predicted = _predict(request.task, model, list(test.texts))
    result = evaluate_predictions(list(test.labels), predicted)
    return {
        "task": request.task,
        "model": name,
        "model_version": model.version,
        "taught": taught,
        "adapted": adapted,
        "n": result.n,
        "accuracy": result.accuracy,
        "macro_f1": result.macro_f1,
        "per_class_f1": result.per_class_f1,
        "support": result.support,
        "training": training,
    }


def _predict(task: str, model: Any, texts: list[str]) -> list[str]:
    if task == "sentiment":
        return [score.label for score in model.score(texts)]
    from smokejumper.text.themes import best_themes

    return best_themes(model, texts)
