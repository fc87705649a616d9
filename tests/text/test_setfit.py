"""The `setfit` sentiment model: settings, pairs, a tiny teach-and-predict, registry, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smokejumper.errors import TextError
from smokejumper.text.registry import sentiment_models
from smokejumper.text.setfit import SetFitConfig, contrastive_pairs

TRAIN = [
    ("I love this shop, the staff are wonderful", "positive"),
    ("Brilliant service, thank you so much", "positive"),
    ("Fantastic, quick and friendly help", "positive"),
    ("Great value and a lovely team", "positive"),
    ("Terrible service, I am furious", "negative"),
    ("The agent was rude and useless", "negative"),
    ("Awful experience, never again", "negative"),
    ("I hate this app, it keeps crashing", "negative"),
    ("The store opens at nine on Mondays", "neutral"),
    ("I ordered a blue jumper last week", "neutral"),
    ("My account number ends in 42", "neutral"),
    ("The parcel is sent from Leeds", "neutral"),
]
UNSEEN = [
    ("The staff were wonderful and so helpful", "positive"),
    ("Rude agent and an awful wait, I hate it", "negative"),
    ("The shop opens at ten on Sundays", "neutral"),
]
FAST = SetFitConfig(epochs=3, batch_size=12, learning_rate=5e-5, cv_tuned_folds=1)


@pytest.mark.parametrize(("settings", "message"), [
    ({"loss": "triplet"}, "unknown setfit loss 'triplet'"),
    ({"epochs": 0}, "epochs must be at least 1"),
    ({"batch_size": 1}, "batch_size must be at least 2"),
    ({"pairs_per_example": 1}, "pairs_per_example must be at least 2"),
    ({"learning_rate": 0.0}, "learning_rate must be in (0, 1)"),
    ({"warmup": 1.0}, "warmup must be in [0, 1)"),
    ({"frozen_layers": -1}, "frozen_layers must be 0 or more"),
    ({"regularisation": 0.0}, "regularisation must be positive"),
    ({"cv_tuned_folds": 0}, "cv_tuned_folds must be at least 1"),
])
def test_settings_are_validated(settings: dict, message: str) -> None:
    with pytest.raises(TextError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        SetFitConfig(**settings)


def test_settings_digest_tracks_every_setting() -> None:
    assert SetFitConfig().digest == SetFitConfig().digest
    assert SetFitConfig().digest != SetFitConfig(epochs=2).digest
    assert SetFitConfig().digest != SetFitConfig(seed=1).digest


def test_contrastive_pairs_are_balanced_and_correct() -> None:
    labels = ["a"] * 3 + ["b"] * 2 + ["c"] * 4
    pairs = contrastive_pairs(labels, pairs_per_example=6, seed=3)
    assert len(pairs) == len(labels) * 6
    assert sum(target for _, _, target in pairs) == len(labels) * 3
    assert all(i != j for i, j, _ in pairs)
    assert all((labels[i] == labels[j]) == (target == 1.0) for i, j, target in pairs)
    assert pairs == contrastive_pairs(labels, pairs_per_example=6, seed=3)


def test_registered_as_teachable() -> None:
    entry = sentiment_models.entry("setfit")
    assert entry.teachable and "must be taught" in entry.description


def _separation(vectors, labels) -> float:
    """Mean cosine of same-label pairs minus that of different-label pairs."""
    same, other = [], []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            (same if labels[i] == labels[j] else other).append(float(vectors[i] @ vectors[j]))
    return sum(same) / len(same) - sum(other) / len(other)


def test_teach_and_predict_obvious_sentences(embedder) -> None:
    from smokejumper.text.setfit import SetFitSentimentModel

    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    before = embedder.encode(texts)
    model = SetFitSentimentModel(embedder, FAST)
    with pytest.raises(TextError, match="must be taught first"):
        model.score(["hello"])
    untaught_version = model.version
    model.fit(texts, labels)
    assert model.is_taught and model.version != untaught_version
    assert model.version.startswith(f"setfit:all-MiniLM-L6-v2:{FAST.digest}:")

    scores = model.score([t for t, _ in UNSEEN])
    assert [s.label for s in scores] == [label for _, label in UNSEEN]
    assert scores[0].score > 0.3 and scores[1].score < -0.3
    assert all(-1.0 <= s.score <= 1.0 for s in scores)
    assert model.score([]) == []

    # The tuned copy pulls same-label texts together; the shared embedder is untouched.
    tuned = model._encoder.encode(texts, normalize_embeddings=True)
    assert _separation(tuned, labels) > _separation(before, labels) + 0.1
    assert (embedder.encode(texts) == before).all()
    assert model._encoder is not embedder.model

    # Adapted to a pool of unlabelled texts, a text is read with its nearest pool text (a
    # tenth of 12), nearest as the untuned model sees them: half its own probabilities,
    # half that text's; and each text's probabilities are half the taught model's, half
    # the shipped head's (on the untuned embeddings and VADER's scores).
    import numpy as np

    from smokejumper.text.sentiment import lexicon_features, load_sentiment_head
    from smokejumper.text.social import model_text

    head = load_sentiment_head()
    classes = list(model._classifier.classes_)
    head_columns = [list(head.classes).index(label) for label in classes]

    def with_head(some: list[str]) -> np.ndarray:
        taught = model._classifier.predict_proba(model._features(model._encoder, some))
        read = np.hstack([embedder.encode([model_text(t) for t in some]),
                          lexicon_features(model._vader, some)])
        return 0.5 * taught + 0.5 * head.probabilities(read)[:, head_columns]

    unseen = [t for t, _ in UNSEEN]
    own, pool_own = with_head(unseen), with_head(texts)
    taught_version = model.version
    model.adapt(texts)
    assert model.is_adapted and model.version.startswith(taught_version + ":near-")
    assert model.version.endswith(f"-head0.5-{head.digest}")
    units = before / np.linalg.norm(before, axis=1, keepdims=True)
    nearest = (embedder.encode(unseen) @ units.T).argmax(axis=1)
    expected = 0.5 * own + 0.5 * pool_own[nearest]
    assert [s.score for s in model.score(unseen)] == pytest.approx(
        list(expected[:, classes.index("positive")] - expected[:, classes.index("negative")]),
        abs=1e-5)
    with pytest.raises(TextError, match="a pool of at least 10 texts"):
        model.adapt(unseen)


def test_cross_validation_tunes_only_the_first_folds(embedder) -> None:
    from smokejumper.text.setfit import SetFitSentimentModel

    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    report = SetFitSentimentModel(embedder, FAST).cross_validate(texts, labels, folds=4)
    assert report.folds == 4 and report.n == 3  # one held-out fold of 12 examples
    assert 0.0 <= report.accuracy <= 1.0
    with pytest.raises(TextError, match="needs at least 5 examples of each label"):
        SetFitSentimentModel(embedder, FAST).cross_validate(texts, labels, folds=5)


def test_text_eval_with_setfit_json(tmp_path: Path, capsys, embedder) -> None:
    import smokejumper.cli.text_cmd  # noqa: F401
    from smokejumper.cli.testing import invoke as run

    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "\n".join(f'"{t}",{label}' for t, label in TRAIN) + "\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("text,label\n" + "\n".join(f'"{t}",{label}' for t, label in UNSEEN) + "\n")
    code, out, err = run(["text", "eval", "--task", "sentiment", "--labels", str(labels),
                          "--train", str(train), "--model", "setfit", "--folds", "4",
                          "--format", "json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"task", "model", "model_version", "taught", "adapted", "n",
                           "accuracy", "macro_f1", "per_class_f1", "support", "training"}
    assert (result["model"], result["taught"], result["n"]) == ("setfit", True, 3)
    # too few texts to read each with its neighbours (under 10): left as taught
    assert result["adapted"] is None and ":near-" not in result["model_version"]
    assert result["model_version"].startswith("setfit:all-MiniLM-L6-v2:")
    assert result["training"]["n"] == 12 and result["training"]["folds"] == 4
    assert result["accuracy"] == 1.0


def test_setfit_cannot_score_untaught(tmp_path: Path, capsys, embedder) -> None:
    import smokejumper.cli.text_cmd  # noqa: F401
    from smokejumper.cli.testing import invoke as run

    labels = tmp_path / "labels.csv"
    labels.write_text("text,label\n" + "\n".join(f'"{t}",{label}' for t, label in UNSEEN) + "\n")
    code, _, err = run(["text", "eval", "--task", "sentiment", "--labels", str(labels),
                        "--model", "setfit"], capsys)
    assert code == 1 and "must be taught first" in err


def test_pairs_loss_tunes_too(embedder) -> None:
    import copy

    from smokejumper.text.setfit import tune_encoder

    texts, labels = [t for t, _ in TRAIN], [label for _, label in TRAIN]
    before = embedder.encode(texts)
    model = tune_encoder(copy.deepcopy(embedder.model), texts, labels,
                         SetFitConfig(loss="pairs", pairs_per_example=2, batch_size=12,
                                      epochs=1, learning_rate=1e-4, warmup=0.0))
    after = model.encode(texts, normalize_embeddings=True)
    gain = _separation(after, labels) - _separation(before, labels)
    assert gain > 0.02, gain
    assert all(p.requires_grad for p in model.parameters())
