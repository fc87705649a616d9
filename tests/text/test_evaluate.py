"""Metrics are exact; k-fold is stratified and refuses what it cannot do."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from smokejumper.errors import TextError  # noqa: E402
from smokejumper.text.evaluate import cross_validate, evaluate_predictions  # noqa: E402


@pytest.mark.parametrize(("gold", "predicted", "accuracy", "macro_f1", "per_class"), [
    (["a", "b"], ["a", "b"], 1.0, 1.0, {"a": 1.0, "b": 1.0}),
    (["a", "a", "b", "b"], ["a", "b", "b", "b"], 0.75, 0.7333, {"a": 0.6667, "b": 0.8}),
    # a predicted class that never occurs in the gold labels counts, with F1 0
    (["a", "a"], ["a", "c"], 0.5, 0.3333, {"a": 0.6667, "c": 0.0}),
    (["x"], ["y"], 0.0, 0.0, {"x": 0.0, "y": 0.0}),
])
def test_metrics_table(gold, predicted, accuracy, macro_f1, per_class) -> None:
    report = evaluate_predictions(gold, predicted)
    assert (report.accuracy, report.macro_f1, report.per_class_f1) == (
        accuracy, macro_f1, per_class)
    assert report.n == len(gold)
    assert report.to_dict()["support"] == {k: gold.count(k) for k in per_class}


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(TextError, match="2 gold labels but 1 predictions"):
        evaluate_predictions(["a", "b"], ["a"])
    with pytest.raises(TextError, match="no labelled texts"):
        evaluate_predictions([], [])


def test_cross_validate_holds_out_every_text_once() -> None:
    labels = ["a"] * 6 + ["b"] * 9
    seen: list[int] = []

    def fit_predict(train, test):
        assert not set(train) & set(test)
        seen.extend(test)
        return ["a"] * len(test)

    report = cross_validate(labels, fit_predict, folds=3)
    assert sorted(seen) == list(range(15))
    assert (report.folds, report.accuracy, report.per_class_f1["b"]) == (3, 0.4, 0.0)


def test_cross_validate_needs_enough_of_each_label() -> None:
    with pytest.raises(TextError, match="rarest has 2"):
        cross_validate(["a"] * 10 + ["b"] * 2, lambda tr, te: ["a"] * len(te), folds=5)
    with pytest.raises(TextError, match="at least two labels"):
        cross_validate(["a"] * 10, lambda tr, te: ["a"] * len(te), folds=5)
