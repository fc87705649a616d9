"""Theme discovery: clusters of unexplained texts, named by their words, and emerging ones."""

from __future__ import annotations

import numpy as np
import pytest

from smokejumper.text.discovery import (
    DiscoveryConfig,
    discover_themes,
    distinctive_words,
    emerging_themes,
    two_proportion_test,
    unexplained,
)
from smokejumper.text.themes import KeywordThemeTagger, Taxonomy

PLACES = ("Aldport", "the high street", "the retail park", "town", "the station")
DEVICES = ("iPhone", "Pixel", "Samsung", "tablet", "watch")
PREDICATES = ("was a nightmare", "took ages", "is getting worse", "was impossible",
              "let me down again", "is really annoying", "was a joke", "needs fixing")
CONTEXT = ("", " this week", " again", " on Monday", " as usual", " every time")
# each topic: the things customers complain about, with the topic's own words
TOPICS = {
    "parking": ("parking at {place}", "the car park at {place}", "finding a parking space "
                "near {place}", "parking outside the {place} shop"),
    "music": ("the hold music", "the music on the phone line", "that loud hold music",
              "the music while I was on hold"),
    "letters": ("the paper letter you posted", "getting letters by post",
                "the letter confirming my contract", "your paper letters"),
    "billing": ("my bill", "the bill this month", "the charge on my bill",
                "being charged twice"),
    "esim": ("my eSIM activation on my {device}", "the eSIM QR code", "setting up the eSIM "
             "on my {device}", "the eSIM download"),
}
TAXONOMY = Taxonomy.from_mapping({"billing": {"description": "Bills and charges",
                                              "keywords": ["bill", "charged"]}})


def corpus(rng: np.random.Generator, n: int, shares: dict[str, float]) -> list[str]:
    """``n`` comments drawn from the topics in ``shares``: subject, predicate, context."""
    names = list(shares)
    picks = rng.choice(len(names), size=n, p=np.array([shares[k] for k in names]))
    texts = []
    for pick in picks:
        subjects = TOPICS[names[pick]]
        subject = subjects[int(rng.integers(len(subjects)))].format(
            place=PLACES[int(rng.integers(len(PLACES)))],
            device=DEVICES[int(rng.integers(len(DEVICES)))])
        text = (f"{subject} {PREDICATES[int(rng.integers(len(PREDICATES)))]}"
                f"{CONTEXT[int(rng.integers(len(CONTEXT)))]}.")
        texts.append(text[0].upper() + text[1:])
    return texts


STABLE = {"parking": 0.3, "music": 0.3, "letters": 0.2, "billing": 0.2}
TFIDF = DiscoveryConfig(vectors="tfidf", k_range=(2, 8))


def test_two_proportion_test_matches_the_formula() -> None:
    import math

    z, p = two_proportion_test(30, 200, 10, 200)
    assert z == pytest.approx(0.1 / math.sqrt(0.1 * 0.9 * 2 / 200))  # pooled p = 0.1
    assert p == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    assert two_proportion_test(0, 0, 5, 10) == (0.0, 1.0)


def test_distinctive_words_name_each_cluster() -> None:
    rng = np.random.default_rng(1)
    texts, truth = [], []
    for topic in STABLE:
        texts += corpus(rng, 50, {topic: 1.0})
        truth += [topic] * 50
    words = distinctive_words(texts, truth)
    assert words["parking"][0] == "parking" and words["music"][0] == "music"
    assert words["letters"][0] in ("letter", "letters") and words["billing"][0] == "bill"


def test_the_tagger_decides_what_is_unexplained() -> None:
    texts = ["My bill is wrong.", "The hold music is awful."]
    assert unexplained(texts, KeywordThemeTagger(TAXONOMY)) == [1]
    assert unexplained(texts, None) == [0, 1]


def test_discover_clusters_the_unexplained_texts() -> None:
    texts = corpus(np.random.default_rng(2), 400, STABLE)
    themes = discover_themes(texts, KeywordThemeTagger(TAXONOMY), TFIDF)
    members = {i for theme in themes for i in theme.members}
    billing = {i for i, t in enumerate(texts) if "bill" in t or "charged" in t}
    assert members == set(range(len(texts))) - billing  # billing is explained
    named = " ".join(" ".join(theme.top_words) for theme in themes)
    assert all(word in named for word in ("music", "letter", "parking"))


@pytest.mark.parametrize("vectors", ["tfidf", "embeddings"])
def test_an_injected_topic_emerges(vectors: str, request: pytest.FixtureRequest) -> None:
    embedder = request.getfixturevalue("embedder") if vectors == "embeddings" else None
    rng = np.random.default_rng(3)
    n = 250 if vectors == "embeddings" else 400
    baseline = corpus(rng, n, STABLE)
    current = corpus(rng, n, {"parking": 0.25, "music": 0.25, "letters": 0.2, "billing": 0.15,
                              "esim": 0.15})
    config = DiscoveryConfig(vectors=vectors, k_range=(2, 8))
    found = emerging_themes(current, baseline, KeywordThemeTagger(TAXONOMY), config, embedder)
    emerging = [t for t in found if t.emerging]
    assert len(emerging) == 1
    theme = emerging[0]
    assert "esim" in theme.top_words[:2] and theme.name.startswith("esim")
    injected = sum("eSIM" in t for t in current)
    assert injected * 0.9 <= theme.n_current <= injected * 1.1 and theme.n_baseline <= 2
    assert theme.share_current == pytest.approx(theme.n_current / len(current))
    assert theme.p_value < 1e-6 and theme.growth > 10 and theme.difference_low > 0.08
    assert all("eSIM" in example for example in theme.examples)
    assert set(theme.to_dict()) >= {"name", "top_words", "examples", "n_current", "n_baseline",
                                    "share_current", "share_baseline", "growth", "p_value"}


def test_a_stable_corpus_has_no_emerging_theme() -> None:
    rng = np.random.default_rng(4)
    baseline, current = corpus(rng, 500, STABLE), corpus(rng, 500, STABLE)
    found = emerging_themes(current, baseline, KeywordThemeTagger(TAXONOMY), TFIDF)
    assert found and not any(t.emerging for t in found)
    assert min(t.p_value for t in found) * len(found) >= TFIDF.alpha


def test_examples_are_redacted() -> None:
    rng = np.random.default_rng(5)
    current = [f"{t} Mail me at sam.jones{i}@example.com." for i, t in enumerate(
        corpus(rng, 120, {"esim": 1.0}))]
    baseline = corpus(rng, 120, {"music": 1.0})
    found = emerging_themes(current, baseline, None, TFIDF)
    examples = [e for theme in found for e in theme.examples]
    assert examples and not any("@example.com" in e for e in examples)
    assert any("[EMAIL]" in e for e in examples)


def test_cli_discovers_on_the_demo(small_demo_path, capsys) -> None:
    import json

    from smokejumper.cli.testing import invoke

    code, out, err = invoke(["-w", str(small_demo_path), "text", "themes", "--format", "json"],
                            capsys)
    assert code == 0, err
    listed = json.loads(out)["themes"]
    assert len(listed) == 13 and all(t["keywords"] and t["examples"] for t in listed)

    code, out, err = invoke(["-w", str(small_demo_path), "text", "themes", "--discover",
                             "--since", "2025-12-01", "--model", "keywords", "--vectors",
                             "tfidf", "--sample", "400", "--format", "json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["current"] == {"since": "2025-12-01", "until": "2025-12-31", "texts": 400}
    assert result["baseline"]["since"] == "2025-09-02" and result["baseline"]["texts"] == 400
    assert result["theme_model"] == "keywords" and result["themes"]
    for theme in result["themes"]:
        assert 0 <= theme["p_value"] <= 1 and theme["n_current"] + theme["n_baseline"] > 0
        assert theme["share_current"] == pytest.approx(theme["n_current"] / 400, abs=1e-6)
