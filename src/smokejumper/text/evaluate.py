"""How good a text model is: accuracy, macro-F1 and per-class F1, held out or k-fold.

Metrics come from scikit-learn. Per-class F1 is reported for every label that occurs
in the gold labels or the predictions (scikit-learn's default), and macro-F1 is their
unweighted mean, so a model that invents a class pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from smokejumper.errors import TextError
from smokejumper.text._optional import optional_import

# fit_predict(train_indices, test_indices) -> predicted labels for the test indices
FitPredict = Callable[[Sequence[int], Sequence[int]], Sequence[str]]


@dataclass(frozen=True)
class EvaluationReport:
    """Agreement between gold labels and predictions on ``n`` texts."""

    n: int
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float] = field(default_factory=dict)
    support: dict[str, int] = field(default_factory=dict)
    folds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def evaluate_predictions(gold: Sequence[str], predicted: Sequence[str]) -> EvaluationReport:
    """Accuracy, macro-F1 and per-class F1 of ``predicted`` against ``gold``.

    >>> report = evaluate_predictions(["pos", "neg", "neg", "neu"], ["pos", "neg", "pos", "neu"])
    >>> report.accuracy, round(report.macro_f1, 4), report.per_class_f1["neg"]
    (0.75, 0.7778, 0.6667)
    """
    if len(gold) != len(predicted):
        raise TextError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise TextError("nothing to evaluate: no labelled texts")
    metrics = optional_import("sklearn.metrics")
    accuracy_score, f1_score = metrics.accuracy_score, metrics.f1_score

    labels = sorted(set(gold) | set(predicted))
    scores = f1_score(list(gold), list(predicted), labels=labels, average=None, zero_division=0)
    per_class = {label: round(float(score), 4) for label, score in zip(labels, scores,
                                                                        strict=True)}
    return EvaluationReport(
        n=len(gold),
        accuracy=round(float(accuracy_score(list(gold), list(predicted))), 4),
        macro_f1=round(float(sum(scores) / len(scores)), 4),
        per_class_f1=per_class,
        support={label: sum(1 for g in gold if g == label) for label in labels},
    )


def cross_validate(labels: Sequence[str], fit_predict: FitPredict, folds: int = 5,
                   seed: int = 0) -> EvaluationReport:
    """Stratified k-fold: teach on k-1 folds, predict the held-out fold, score all predictions.

    ``fit_predict`` receives train and test indices, so a model can compute its
    features (embeddings) once and only refit the classifier per fold.

    >>> labels = ["a", "b"] * 5
    >>> report = cross_validate(labels, lambda train, test: [labels[i] for i in test], folds=5)
    >>> report.accuracy, report.folds
    (1.0, 5)
    """
    stratified_k_fold = optional_import("sklearn.model_selection").StratifiedKFold

    labels = list(labels)
    smallest = min(labels.count(label) for label in set(labels)) if labels else 0
    if len(set(labels)) < 2:
        raise TextError("teaching needs examples of at least two labels")
    if smallest < folds:
        raise TextError(f"{folds}-fold cross-validation needs at least {folds} examples of "
                        f"each label; the rarest has {smallest}")
    predicted: list[str] = [""] * len(labels)
    splitter = stratified_k_fold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(labels, labels):
        for index, label in zip(test, fit_predict(list(train), list(test)), strict=True):
            predicted[index] = label
    report = evaluate_predictions(labels, predicted)
    return EvaluationReport(report.n, report.accuracy, report.macro_f1, report.per_class_f1,
                            report.support, folds)
