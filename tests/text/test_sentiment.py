"""Sentiment: VADER with no extra; a taught embedding model that beats it; offline loading."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("vaderSentiment")

from smokejumper.errors import TextError  # noqa: E402
from smokejumper.text.sentiment import (  # noqa: E402
    VaderSentimentModel,
    analyse_sentiment,
    normalise_sentiment_label,
    split_sentences,
)


@pytest.mark.parametrize(("text", "label"), [
    ("The staff were wonderful and so helpful!", "positive"),
    ("I love this shop, best service ever.", "positive"),
    ("Terrible experience, the agent was rude and useless.", "negative"),
    ("I hate waiting forty minutes on hold.", "negative"),
    ("The store opens at nine on Mondays.", "neutral"),
    ("I ordered a blue jumper.", "neutral"),
])
def test_vader_labels_obvious_sentences(text: str, label: str) -> None:
    score = VaderSentimentModel().score([text])[0]
    assert score.label == label
    assert -1.0 <= score.score <= 1.0


def test_per_sentence_sentiment() -> None:
    text = "The staff were lovely. The bill was a disgrace!\nI ordered on Monday."
    [result] = analyse_sentiment(VaderSentimentModel(), [text])
    assert [(s.text, s.label) for s in result.sentences] == [
        ("The staff were lovely.", "positive"),
        ("The bill was a disgrace!", "negative"),
        ("I ordered on Monday.", "neutral"),
    ]
    assert all(text[s.start:s.end] == s.text for s in result.sentences)
    assert analyse_sentiment(VaderSentimentModel(), [""]) [0].sentences == ()


@pytest.mark.parametrize(("text", "pieces"), [
    ("One. Two? Three!", ["One.", "Two?", "Three!"]),
    ("No full stop", ["No full stop"]),
    ("Price 12.50 was fine.", ["Price 12.50 was fine."]),
    ("  ", []),
])
def test_split_sentences(text: str, pieces: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == pieces


def test_labels_are_normalised_or_refused() -> None:
    assert normalise_sentiment_label("NEUTRAL") == "neutral"
    with pytest.raises(TextError, match="unknown sentiment label 'great'"):
        normalise_sentiment_label("great")


# --- the taught model ---------------------------------------------------------------

ITEMS = ["parcel", "sofa", "laptop", "order", "fridge", "phone", "mattress", "printer",
         "bike", "lamp", "kettle", "camera"]
NEGATIVE = ["arrived crushed", "came with parts missing", "turned up soaked through",
            "was delivered to the wrong address", "arrived dented", "was left in the rain"]
POSITIVE = ["arrived a day early", "came well packed", "was delivered to the door",
            "turned up before lunch", "arrived in one piece", "was carried upstairs for me"]
NEUTRAL = ["was ordered on Tuesday", "is listed in the catalogue", "has a serial number",
           "was ordered in blue", "is in the second box", "comes in two sizes"]


def delivery_task(items: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Domain phrases a lexicon cannot read: "arrived crushed" carries no sentiment word."""
    rng = random.Random(seed)
    texts, labels = [], []
    for item in items:
        for label, phrases in (("negative", NEGATIVE), ("positive", POSITIVE),
                               ("neutral", NEUTRAL)):
            texts.append(f"The {item} {rng.choice(phrases)}.")
            labels.append(label)
    return texts, labels


def test_taught_model_improves_on_vader(embedder) -> None:
    from smokejumper.text.evaluate import evaluate_predictions
    from smokejumper.text.sentiment import EmbeddingSentimentModel

    train_texts, train_labels = delivery_task(ITEMS[:8], seed=1)
    test_texts, test_labels = delivery_task(ITEMS[8:], seed=2)
    vader = evaluate_predictions(test_labels,
                                 [s.label for s in VaderSentimentModel().score(test_texts)])
    model = EmbeddingSentimentModel(embedder)
    assert not model.is_taught and ":head-" in model.version  # untaught: the shipped head
    report = model.cross_validate(train_texts, train_labels, folds=4)
    assert report.folds == 4 and report.n == 24 and 0.0 <= report.accuracy <= 1.0
    taught = evaluate_predictions(test_labels,
                                  [s.label for s in model.fit(train_texts, train_labels)
                                   .score(test_texts)])
    assert model.is_taught and model.version.startswith("embedding-lr:all-MiniLM-L6-v2:")
    assert taught.macro_f1 >= vader.macro_f1 + 0.2
    assert all(-1.0 <= s.score <= 1.0 for s in model.score(test_texts))


def test_teaching_needs_two_labels(embedder) -> None:
    from smokejumper.text.sentiment import EmbeddingSentimentModel

    with pytest.raises(TextError, match="at least two"):
        EmbeddingSentimentModel(embedder).fit(["a", "b"], ["positive", "positive"])


def test_embedding_model_loads_offline_with_the_network_blocked(embedder) -> None:
    # A fresh interpreter where any connection attempt fails and no offline variable is
    # set beforehand: the model must still load from the package and encode.
    script = textwrap.dedent("""
        import os, socket
        def refuse(*args, **kwargs):
            raise OSError("network disabled by the test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from smokejumper.text.embeddings import load_embedder
        vectors = load_embedder().encode(["The courier was late."])
        print(vectors.shape, os.environ["HF_HUB_OFFLINE"])
    """)
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(1, 384) 1"


def test_missing_model_folder_is_a_clear_error(tmp_path) -> None:
    pytest.importorskip("sentence_transformers")
    from smokejumper.text.embeddings import Embedder, EmbeddingConfig

    with pytest.raises(TextError, match="does not exist"):
        Embedder(EmbeddingConfig(model_path=str(tmp_path / "nope"))).encode(["x"])


def test_a_plain_hugging_face_folder_can_replace_the_bundled_model(tmp_path, embedder) -> None:
    from smokejumper.text.embeddings import EmbeddingConfig, load_embedder

    # Only the transformers files (no sentence-transformers config): mean pooling is used.
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "vocab.txt", "special_tokens_map.json"):
        (tmp_path / name).symlink_to(embedder.model_path / name)
    local = load_embedder(EmbeddingConfig(model_path=str(tmp_path), device="cpu"))
    text = ["The courier was late."]
    assert local.model_id == tmp_path.name
    assert float((local.encode(text) * embedder.encode(text)).sum()) > 0.9999


def test_shipped_head_is_a_softmax_over_embedding_and_lexicon_features() -> None:
    import numpy as np

    from smokejumper.text.sentiment import SentimentHead, load_sentiment_head

    head = load_sentiment_head()
    assert head.classes == ("negative", "neutral", "positive")
    assert len(head.coef) == 3 and all(len(row) == 384 + 4 for row in head.coef)
    features = np.random.default_rng(0).normal(size=(5, 388)).astype(np.float32)
    logits = features @ np.asarray(head.coef).T + np.asarray(head.intercept)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.allclose(head.probabilities(features), expected, atol=1e-5)
    tiny = SentimentHead(("negative", "positive"), ((0.0,), (0.0,)), (0.0, np.log(3.0)), "t")
    assert np.allclose(tiny.probabilities(np.zeros((1, 1))), [[0.25, 0.75]])


def test_broken_head_file_is_a_clear_error(tmp_path) -> None:
    from smokejumper.text.sentiment import load_sentiment_head

    broken = tmp_path / "head.json"
    broken.write_text('{"classes": ["negative"]}')
    with pytest.raises(TextError, match="cannot read the sentiment head"):
        load_sentiment_head(str(broken))


def test_untaught_embedding_model_uses_the_shipped_head(embedder) -> None:
    from smokejumper.text.sentiment import EmbeddingSentimentModel

    model = EmbeddingSentimentModel(embedder)
    scores = model.score(["The waiter was rude and the food was cold.",
                          "Absolutely loved the staff, they were wonderful.",
                          "The laptop has a 15 inch screen and two USB ports."])
    assert [s.label for s in scores] == ["negative", "positive", "neutral"]
    assert scores[0].score < -0.5 < 0.5 < scores[1].score
    assert model.version.startswith("embedding-lr:all-MiniLM-L6-v2:social1:head-")


def test_untaught_default_is_the_head_with_the_text_extra_else_vader(monkeypatch) -> None:
    import smokejumper.text.embeddings as embeddings
    from smokejumper.text.tasks import default_model

    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    assert default_model("sentiment", taught=False) == "vader"
    assert default_model("sentiment", taught=True) == "embedding"
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: True)
    assert default_model("sentiment", taught=False) == "embedding"


# -- adapting the untaught model to a workspace's own texts ----------------------------------

ADAPT_POOL = [f"@Skyline {text}" for text in (
    "flight delayed three hours and nobody told us anything",
    "lost my bag again, terrible service",
    "the crew were lovely, thanks for a great flight",
    "best upgrade ever, thank you so much!",
    "what time does the Boston gate open?",
    "is flight 212 on time today?",
    "rude agent at the desk, never again",
    "smooth boarding and friendly staff, loved it",
    "can I change my seat online?",
    "cancelled my flight and charged me twice",
    "amazing service in the lounge",
    "does the fare include a checked bag?",
    "the wifi never worked, what a waste of money",
    "great legroom and a tasty meal",
    "how do I add my frequent flyer number?",
    "stuck on the tarmac for two hours, awful",
    "the pilot kept us informed, much appreciated",
    "which terminal do you fly from in Denver?",
    "my refund still has not arrived after a month",
    "thank you for finding my lost phone!",
    "do you allow pets in the cabin?",
    "the seat was broken and nobody cared",
    "fantastic crew on the red-eye, thanks",
    "when does check-in open for international flights?",
    "overbooked again and bumped off my flight",
    "lovely smooth landing, well done",
    "can I bring a stroller on board?",
    "worst customer service I have ever had",
    "upgraded for free, you made my day",
    "what is the baggage allowance to London?",
)]


def test_adapting_learns_from_unlabelled_texts_and_names_them_in_the_version(embedder) -> None:
    import numpy as np

    from smokejumper.text.sentiment import EmbeddingClassifierConfig, EmbeddingSentimentModel
    from smokejumper.text.sentiment_adapt import AdaptationConfig

    shipped = EmbeddingSentimentModel(embedder)
    before = shipped.version
    config = EmbeddingClassifierConfig(adaptation=AdaptationConfig(adapt_neighbours=3))
    adapted = EmbeddingSentimentModel(embedder, config).adapt(ADAPT_POOL)
    assert adapted.is_adapted and not adapted.is_taught
    assert adapted.version.startswith(before + ":adapted-")
    assert "-0.1-0.5-3-0.5-" in adapted.version
    assert adapted._adaptation.neighbourhood.size == 3  # min(3, a tenth of the 30 texts)
    # the same texts give the same version (a re-run is cached); others another one
    assert EmbeddingSentimentModel(embedder, config).adapt(ADAPT_POOL).version == \
        adapted.version
    assert EmbeddingSentimentModel(embedder, config).adapt(ADAPT_POOL[:-1]).version != \
        adapted.version
    # a text's probabilities: half its own (regression and head, half each), half the
    # mean of its 3 nearest pool texts' own probabilities
    adaptation = adapted._adaptation
    features = adapted.features(ADAPT_POOL)
    head = adapted._head().probabilities(features)
    learnt = adaptation.classifier.predict_proba(features[:, :-4])
    assert list(adaptation.classifier.classes_) == list(adapted._head().classes)
    own = 0.5 * learnt + 0.5 * head
    units = features[:, :-4] / np.linalg.norm(features[:, :-4], axis=1, keepdims=True)
    nearest = np.argsort(-(units @ units.T), axis=1, kind="stable")[:, :3]
    expected = 0.5 * own[nearest].mean(axis=1) + 0.5 * own
    scores = [s.score for s in adapted.score(ADAPT_POOL)]
    assert np.allclose(scores, expected[:, 2] - expected[:, 0], atol=1e-5)
    assert [s.label for s in adapted.score(ADAPT_POOL)] == \
        [adapted._head().classes[i] for i in expected.argmax(axis=1)]
    # unadapted, the head's probabilities exactly
    assert [s.score for s in shipped.score(ADAPT_POOL)] == pytest.approx(
        list(head[:, 2] - head[:, 0]), abs=1e-6)


def test_a_label_the_regression_never_saw_keeps_the_heads_share() -> None:
    import numpy as np

    from smokejumper.text.sentiment_adapt import blend_with_head

    class TwoLabels:
        classes_ = np.array(["negative", "positive"])

        def predict_proba(self, vectors):
            return np.array([[0.8, 0.2]] * len(vectors))

    head = np.array([[0.2, 0.5, 0.3]])
    blended = blend_with_head(TwoLabels(), ("negative", "neutral", "positive"),
                              np.zeros((1, 4)), head, 0.5)
    # the regression's part: 0.8, 0.5 (the head's neutral), 0.2, renormalised by 1.5
    expected = 0.5 * np.array([0.8, 0.5, 0.2]) / 1.5 + 0.5 * head[0]
    assert np.allclose(blended[0], expected) and np.isclose(blended.sum(), 1.0)


def test_a_pool_of_one_label_or_under_ten_texts() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from smokejumper.text.sentiment_adapt import SentimentAdaptation

    classes = ("negative", "neutral", "positive")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(8, 4))
    all_negative = np.tile([0.7, 0.2, 0.1], (8, 1))
    with pytest.raises(TextError, match="at least two sentiment labels"):
        SentimentAdaptation.learn([str(i) for i in range(8)], vectors, all_negative, classes,
                                  LogisticRegression)
    mixed = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]] * 4)
    small = SentimentAdaptation.learn([str(i) for i in range(8)], vectors, mixed, classes,
                                      LogisticRegression)
    assert small.neighbourhood.size == 0  # under 10 texts: no neighbourhood, its own only
    own = small.neighbourhood.probabilities
    assert np.allclose(small.probabilities(vectors, mixed), own)


def test_adaptation_settings_are_checked() -> None:
    from smokejumper.text.sentiment_adapt import AdaptationConfig

    with pytest.raises(TextError, match="adapt_share must be in"):
        AdaptationConfig(adapt_share=0)
    with pytest.raises(TextError, match="neighbour_weight must be in"):
        AdaptationConfig(neighbour_weight=1.5)
    with pytest.raises(TextError, match="adapt_neighbours must be at least 1"):
        AdaptationConfig(adapt_neighbours=0)
    with pytest.raises(TextError, match="head_weight must be in"):
        AdaptationConfig(head_weight=-0.1)


def test_untaught_adapted_versions_keep_their_settings_digest() -> None:
    import hashlib

    from smokejumper.text.sentiment import EmbeddingClassifierConfig
    from smokejumper.text.sentiment_adapt import AdaptationConfig

    # an untaught adapted version hashes the config's repr; head_weight (read by taught
    # models only) must not change it, or every workspace would be enriched again
    for config in (EmbeddingClassifierConfig(),
                   EmbeddingClassifierConfig(adaptation=AdaptationConfig(head_weight=0.5))):
        assert hashlib.sha256(repr(config).encode()).hexdigest()[:6] == "65777d"


def test_a_taught_model_adapts_by_reading_each_text_with_its_nearest_pool_texts(
        embedder) -> None:
    import numpy as np

    from smokejumper.text.sentiment import (
        EmbeddingClassifierConfig,
        EmbeddingSentimentModel,
        load_sentiment_head,
    )
    from smokejumper.text.sentiment_adapt import AdaptationConfig

    examples = (["awful", "terrible", "great", "lovely", "ok", "fine"],
                ["negative", "negative", "positive", "positive", "neutral", "neutral"])
    config = EmbeddingClassifierConfig(adaptation=AdaptationConfig(adapt_neighbours=3,
                                                                   head_weight=0.5))
    taught = EmbeddingSentimentModel(embedder, config).fit(*examples)
    model = EmbeddingSentimentModel(embedder, config).fit(*examples).adapt(ADAPT_POOL)
    assert model.is_taught and model.is_adapted and model.can_adapt
    head = load_sentiment_head()
    assert model.version.startswith(taught.version + ":near-")
    assert model.version.endswith(f"-3-0.5-head0.5-{head.digest}")
    # no pseudo-label is learnt: each text's probabilities are half the taught model's,
    # half the shipped head's; and the scores are half those, half the mean of those of
    # the 3 most similar pool texts
    features = taught.features(ADAPT_POOL)
    classes = list(taught._classifier.classes_)
    head_columns = [list(head.classes).index(label) for label in classes]
    own = 0.5 * taught._classifier.predict_proba(features) + \
        0.5 * head.probabilities(features)[:, head_columns]
    units = features[:, :-4] / np.linalg.norm(features[:, :-4], axis=1, keepdims=True)
    nearest = np.argsort(-(units @ units.T), axis=1, kind="stable")[:, :3]
    expected = 0.5 * own[nearest].mean(axis=1) + 0.5 * own
    scores = model.score(ADAPT_POOL)
    assert np.allclose([s.score for s in scores],
                       expected[:, classes.index("positive")]
                       - expected[:, classes.index("negative")], atol=1e-5)
    assert [s.label for s in scores] == [classes[i] for i in expected.argmax(axis=1)]
    # head_weight 0 (the default here): the taught model's own probabilities alone, read
    # with their neighbours'
    alone = EmbeddingClassifierConfig(adaptation=AdaptationConfig(adapt_neighbours=3))
    without_head = EmbeddingSentimentModel(embedder, alone).fit(*examples).adapt(ADAPT_POOL)
    assert without_head.version.endswith("-3-0.5") and "head" not in \
        without_head.version.split(":near-")[1]
    own = taught._classifier.predict_proba(features)
    expected = 0.5 * own[nearest].mean(axis=1) + 0.5 * own
    assert np.allclose([s.score for s in without_head.score(ADAPT_POOL)],
                       expected[:, classes.index("positive")]
                       - expected[:, classes.index("negative")], atol=1e-5)
    # teaching again drops the adaptation; so does teaching after an untaught adaptation
    model.fit(*examples)
    assert not model.is_adapted and model.version == taught.version
    adapted = EmbeddingSentimentModel(embedder).adapt(ADAPT_POOL)
    adapted.fit(["awful", "great"], ["negative", "positive"])
    assert adapted.is_taught and not adapted.is_adapted and "adapted-" not in adapted.version
