"""Train the sentiment head shipped in smokejumper/text/heads/ (development time only).

Usage: python bench/train_sentiment_head.py [--data DIR] [--cache DIR] [--out FILE]

The head is a logistic regression over all-MiniLM-L6-v2 sentence embeddings (384) and
VADER's four scores (compound, pos, neg, neu), fitted on public SemEval-2014 Task 4
training sentences: all restaurant sentences and the laptop sentences that carry at
least one aspect term (a laptop sentence without one has no sentiment annotation at all,
so the rule in smokejumper.text.semeval would call it neutral whatever it says). Mixed
sentences are dropped. Settings (C=0.3, balanced classes) were chosen by cross-domain
macro-F1 (fit on one domain, score the other), never on the data scored in-domain.

``--cache DIR`` reuses ``rest_sent.npy`` / ``lap_sent.npy`` embeddings written by an
earlier run (the embeddings take minutes on a small CPU).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from smokejumper.text.semeval import read_semeval, sentence_sentiment

HEAD = Path(__file__).resolve().parents[1] / "src" / "smokejumper" / "text" / "heads" / \
    "sentiment_minilm.json"


def _sentences(path: Path, need_aspect_terms: bool) -> tuple[list[str], list[str], list[bool]]:
    texts, labels, keep = [], [], []
    for sentence in read_semeval(path):
        label = sentence_sentiment(sentence)
        if label is None:
            continue
        texts.append(sentence.text)
        labels.append(label)
        keep.append(bool(sentence.aspect_terms) or not need_aspect_terms)
    return texts, labels, keep


def main(argv: list[str] | None = None) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from smokejumper.text.embeddings import load_embedder
    from smokejumper.text.sentiment import VaderSentimentModel, lexicon_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" /
                                              "data" / "semeval2014"))
    parser.add_argument("--cache", help="folder with rest_sent.npy and lap_sent.npy")
    parser.add_argument("--out", default=str(HEAD))
    args = parser.parse_args(argv)
    data = Path(args.data)
    vader = VaderSentimentModel()
    features, labels = [], []
    sources = (("rest", "Restaurants_Train_v2.xml", False), ("lap", "Laptop_Train_v2.xml", True))
    for short, file, need_terms in sources:
        texts, file_labels, keep = _sentences(data / file, need_terms)
        cached = Path(args.cache or "/nonexistent") / f"{short}_sent.npy"
        vectors = np.load(cached) if cached.exists() else load_embedder().encode(texts)
        rows = np.hstack([vectors, lexicon_features(vader, texts)])
        mask = np.array(keep)
        features.append(rows[mask])
        labels.extend(label for label, k in zip(file_labels, keep, strict=True) if k)
    x = np.vstack(features)
    classifier = LogisticRegression(C=0.3, class_weight="balanced", max_iter=3000).fit(x, labels)
    head = {
        "format": "smokejumper-sentiment-head/1",
        "embedding_model": "all-MiniLM-L6-v2",
        "features": "384 unit-length embedding values, then VADER compound, pos, neg, neu",
        "classes": [str(c) for c in classifier.classes_],
        "coef": [[round(float(v), 6) for v in row] for row in classifier.coef_],
        "intercept": [round(float(v), 6) for v in classifier.intercept_],
        "provenance": {
            "data": "SemEval-2014 Task 4 training sets (Pontiki et al.): Restaurants_Train_v2 "
                    "all sentences, Laptop_Train_v2 sentences with aspect terms; mixed dropped",
            "n": len(labels),
            "labels": {c: labels.count(c) for c in sorted(set(labels))},
            "fit": "sklearn LogisticRegression(C=0.3, class_weight='balanced')",
            "script": "bench/train_sentiment_head.py",
        },
    }
    text = json.dumps(head, indent=1) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(labels)} sentences, sha256 "
          f"{hashlib.sha256(text.encode()).hexdigest()[:12]})")


if __name__ == "__main__":
    main()
