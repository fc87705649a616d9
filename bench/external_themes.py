"""Zero-shot themes on labelled customer texts that nobody here tuned to.

Usage: python bench/external_themes.py --labels FILE [--text-column text]
           [--label-column category] [--domains FILE --domain NAME[,NAME...]]

Developed against the BANKING77 test set (Casanueva et al. 2020, CC BY 4.0: 3,080
customer-service queries to a bank, 77 intents; ``banking_data/test.csv`` of the
PolyAI-LDN/task-specific-datasets repository on GitHub, which the user fetches: nothing is
downloaded here). Any CSV of texts with one theme each will do, and so will a JSON file in
the layout of CLINC150 (Larson et al. 2019, CC BY 3.0; ``data/data_full.json`` or
``data_small.json`` of clinc/oos-eval: its in-scope ``test`` list of [text, intent]
pairs, 4,500 queries, 150 intents), kept to some of its domains with ``--domains
data/domains.json --domain banking,credit_cards`` (900 queries to a bank, 30 intents).

The taxonomy is what a user would write knowing only the label names: one theme per
label, its description the label with ``_`` read as a space ("card_arrival" → "card
arrival"); no examples, no keywords. Baseline: each text's nearest description by
all-MiniLM-L6-v2 cosine (the issue asks for a margin of 0.08 macro-F1 over it). Ours:
the hybrid tagger's best theme from the same descriptions, as it is and adapted to the
texts without their labels (what ``text eval --task themes`` does by default).

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any


def read_labelled(path: Path, text_column: str, label_column: str
                  ) -> tuple[list[str], list[str]]:
    """Texts and their one label: a CSV's two columns, or CLINC150's ``test`` pairs."""
    if path.suffix == ".json":
        rows = [(str(text).strip(), str(label).strip())
                for text, label in json.loads(path.read_text(encoding="utf-8"))["test"]]
    else:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [(row[text_column].strip(), row[label_column].strip())
                    for row in csv.DictReader(handle)]
    kept = [(text, label) for text, label in rows if text and label]
    return [t for t, _ in kept], [label for _, label in kept]


def scores(gold: list[str], predicted: list[str]) -> dict[str, float]:
    from smokejumper.text.evaluate import evaluate_predictions

    report = evaluate_predictions(gold, predicted)
    return {"macro_f1": round(report.macro_f1, 4), "accuracy": round(report.accuracy, 4)}


def main(argv: list[str] | None = None) -> None:
    import numpy as np

    from smokejumper.text.embeddings import EmbeddingConfig, load_embedder
    from smokejumper.text.themes import HybridThemeTagger, Taxonomy, best_themes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--domains", type=Path, help="CLINC150's domains.json (domain: intents)")
    parser.add_argument("--domain", default="", help="keep these domains' intents (comma list)")
    args = parser.parse_args(argv)
    texts, labels = read_labelled(args.labels, args.text_column, args.label_column)
    if args.domain:
        if args.domains is None:
            raise SystemExit("--domain needs --domains FILE (CLINC150's data/domains.json)")
        domains = json.loads(args.domains.read_text(encoding="utf-8"))
        kept = {intent for name in args.domain.split(",") for intent in domains[name.strip()]}
        texts, labels = (list(column) for column in zip(
            *[(t, label) for t, label in zip(texts, labels, strict=True) if label in kept],
            strict=True))
    names = sorted(set(labels))
    taxonomy = Taxonomy.from_mapping({name: {"description": name.replace("_", " ")}
                                      for name in names})
    started = time.perf_counter()
    embedder = load_embedder(EmbeddingConfig(cache_size=len(texts) + 1000))
    vectors = embedder.encode(texts)
    descriptions = embedder.encode([t.description for t in taxonomy.themes])
    nearest = [taxonomy.names[int(i)] for i in np.argmax(vectors @ descriptions.T, axis=1)]
    baseline = scores(labels, nearest)
    hybrid = scores(labels, best_themes(HybridThemeTagger(taxonomy, embedder), texts))
    adapted = scores(labels, best_themes(HybridThemeTagger(taxonomy, embedder).adapt(texts),
                                         texts))
    result: dict[str, Any] = {
        "benchmark": "external_themes", "corpus": args.labels.name, "n": len(texts),
        "themes": len(names),
        "nearest_description_baseline": baseline,
        "zero_shot_hybrid": hybrid,
        "zero_shot_hybrid_adapted": adapted,
        "margin": round(hybrid["macro_f1"] - baseline["macro_f1"], 4),
        "margin_adapted": round(adapted["macro_f1"] - baseline["macro_f1"], 4),
        "goal": 0.08,
        "seconds": round(time.perf_counter() - started, 1), "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
