"""Text models on SemEval-2014 Task 4 (training sets): sentiment and aspect categories.

Usage: python bench/text_eval.py [--data DIR] [--folds 5] [--skip-throughput]

Prints one JSON document:
- sentiment: sentence-level macro-F1 and accuracy on restaurants and laptops, untaught
  (VADER) and taught (all-MiniLM-L6-v2 embeddings + logistic regression, k-fold);
- themes: aspect-category macro-F1 on restaurants (sentences with exactly one
  category): nearest-description baseline (cosine to each description), the hybrid
  zero-shot tagger from descriptions only, from the full taxonomy below (descriptions,
  examples, keywords), each also adapted to the sentences themselves (self-training on its
  own surest labels, no gold label read), keywords only, and the taught tagger (k-fold);
- throughput on this machine: VADER, embeddings (uncached), redaction.

Sentence labels (smokejumper.text.semeval.sentence_sentiment): polarities of all aspect
terms and categories; conflict or positive+negative → dropped; any positive → positive;
any negative → negative; otherwise (all neutral, or no aspect) → neutral.

The taxonomy was written from the README's category names before any scoring and not
tuned on the sentences; it is not the held-out evaluation the issue asks for.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from smokejumper.text.evaluate import evaluate_predictions
from smokejumper.text.semeval import category_examples, sentiment_examples

RESTAURANTS = "Restaurants_Train_v2.xml"
LAPTOPS = "Laptop_Train_v2.xml"

RESTAURANT_THEMES: dict[str, dict[str, Any]] = {
    "food": {
        "description": "The food and drink: dishes, taste, flavour, freshness, portions, "
                       "the menu, the kitchen and the chef.",
        "examples": ["The pasta was delicious.", "The fish was overcooked and bland.",
                     "Great selection of wines and desserts."],
        "keywords": ["food", "dish", "menu", "taste", "tasty", "delicious", "flavor", "flavour",
                     "fresh", "dessert", "wine", "chef", "pizza", "sushi", "pasta", "meal",
                     "portion", "cooked", "appetizer", "entree"],
    },
    "service": {
        "description": "The service and the staff: waiters, servers, hosts and managers, how "
                       "friendly, attentive and quick they were, waiting to be seated or "
                       "served.",
        "examples": ["Our waiter was rude and ignored us.",
                     "The staff were friendly and attentive.",
                     "We waited forty minutes for our table."],
        "keywords": ["service", "staff", "waiter", "waitress", "server", "host", "hostess",
                     "manager", "rude", "friendly", "attentive", "served", "wait", "waited",
                     "owner", "bartender"],
    },
    "price": {
        "description": "Prices and value for money: whether it was expensive, cheap, "
                       "overpriced or worth what it cost.",
        "examples": ["Way too expensive for what you get.", "Great value for money.",
                     "The prices are reasonable."],
        "keywords": ["price", "priced", "expensive", "cheap", "overpriced", "value",
                     "affordable", "cost", "bill", "pricey", "inexpensive", "money", "worth"],
    },
    "ambience": {
        "description": "The atmosphere and the place: decor, music, noise, lighting, seating, "
                       "space and how the room looks and feels.",
        "examples": ["The decor is beautiful and cozy.", "It was far too noisy to talk.",
                     "Romantic atmosphere with candle light."],
        "keywords": ["ambience", "ambiance", "atmosphere", "decor", "music", "noisy", "loud",
                     "cozy", "romantic", "lighting", "seating", "room", "space", "crowded",
                     "view", "setting", "interior", "vibe"],
    },
    "anecdotes/miscellaneous": {
        "description": "The visit in general: stories about the evening, the restaurant as a "
                       "whole, its location, occasions, and whether people would recommend "
                       "it or come back.",
        "examples": ["We went there for my birthday last week.",
                     "I have been coming here for years.",
                     "This place is a gem, I would recommend it to anyone."],
        "keywords": ["place", "restaurant", "recommend", "visit", "birthday", "neighborhood",
                     "location", "experience", "night", "return", "again"],
    },
}


def _data_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "semeval2014"


def _scores(report: Any) -> dict[str, Any]:
    return {"macro_f1": report.macro_f1, "accuracy": report.accuracy,
            "per_class_f1": report.per_class_f1}


def sentiment(data: Path, folds: int) -> dict[str, Any]:
    from smokejumper.text.sentiment import EmbeddingSentimentModel, VaderSentimentModel

    vader = VaderSentimentModel()
    out: dict[str, Any] = {}
    for name, file in (("restaurants", RESTAURANTS), ("laptops", LAPTOPS)):
        texts, labels = sentiment_examples(data / file)
        counts = {label: labels.count(label) for label in sorted(set(labels))}
        untaught = evaluate_predictions(labels, [s.label for s in vader.score(texts)])
        taught = EmbeddingSentimentModel().cross_validate(texts, labels, folds)
        out[name] = {"n": len(texts), "labels": counts,
                     "untaught_vader": _scores(untaught),
                     f"taught_embedding_{folds}fold": _scores(taught)}
    return out


def themes(data: Path, folds: int) -> dict[str, Any]:
    import numpy as np

    from smokejumper.text.embeddings import load_embedder
    from smokejumper.text.themes import (
        HybridThemeTagger,
        KeywordThemeTagger,
        Taxonomy,
        best_themes,
    )

    texts, labels = category_examples(data / RESTAURANTS)
    taxonomy = Taxonomy.from_mapping(RESTAURANT_THEMES)
    descriptions_only = Taxonomy.from_mapping(
        {t.name: {"description": t.description} for t in taxonomy.themes})
    embedder = load_embedder()
    vectors = embedder.encode(texts)
    description_vectors = embedder.encode([t.description for t in taxonomy.themes])
    nearest = [taxonomy.names[int(i)] for i in np.argmax(vectors @ description_vectors.T, 1)]
    return {"restaurants": {
        "n": len(texts),
        "labels": {label: labels.count(label) for label in sorted(set(labels))},
        "nearest_description_baseline": _scores(evaluate_predictions(labels, nearest)),
        "zero_shot_hybrid_descriptions_only": _scores(evaluate_predictions(
            labels, best_themes(HybridThemeTagger(descriptions_only, embedder), texts))),
        "zero_shot_hybrid_descriptions_only_adapted": _scores(evaluate_predictions(
            labels, best_themes(HybridThemeTagger(descriptions_only, embedder).adapt(texts),
                                texts))),
        "zero_shot_hybrid_full_taxonomy": _scores(evaluate_predictions(
            labels, best_themes(HybridThemeTagger(taxonomy, embedder), texts))),
        "keywords_only": _scores(evaluate_predictions(
            labels, best_themes(KeywordThemeTagger(taxonomy), texts))),
        f"taught_hybrid_{folds}fold": _scores(
            HybridThemeTagger(taxonomy, embedder).cross_validate(texts, labels, folds)),
    }}


def throughput(data: Path) -> dict[str, Any]:
    from smokejumper.text.embeddings import EmbeddingConfig, load_embedder
    from smokejumper.text.redact import redact
    from smokejumper.text.sentiment import VaderSentimentModel

    texts, _ = sentiment_examples(data / RESTAURANTS)
    vader = VaderSentimentModel()
    start = time.perf_counter()
    vader.score(texts)
    vader_rate = len(texts) / (time.perf_counter() - start)

    sample = texts[:1000]
    embedder = load_embedder(EmbeddingConfig(cache_size=0))
    embedder.encode(sample[:64])  # warm-up: loads the model
    start = time.perf_counter()
    embedder.encode(sample)
    embed_rate = len(sample) / (time.perf_counter() - start)

    with_identifiers = [f"{t} Call me on +44 20 7946 0958 or mail jo@example.com, "
                        f"paid €12.50 on 03/05/2024." for t in texts]
    start = time.perf_counter()
    for text in texts:
        redact(text)
    redact_plain = len(texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    for text in with_identifiers:
        redact(text)
    redact_identifiers = len(texts) / (time.perf_counter() - start)
    return {
        "vader_sentences_per_s": round(vader_rate),
        "embedding_sentences_per_s": round(embed_rate),
        "embedding_device": embedder.device,
        "redact_texts_per_s_plain": round(redact_plain),
        "redact_texts_per_s_with_identifiers": round(redact_identifiers),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the SemEval-2014 XML files")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    data = _data_dir(args.data)
    if not (data / RESTAURANTS).exists():
        sys.exit(f"SemEval-2014 data not found in {data} (use --data DIR)")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sentiment": sentiment(data, args.folds),
        "themes": themes(data, args.folds),
    }
    if not args.skip_throughput:
        result["throughput"] = throughput(data)
    result["seconds"] = round(time.perf_counter() - started, 1)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
