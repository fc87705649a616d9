"""Theme discovery: what customers talk about that no configured theme explains.

1. **Unexplained texts**: with a tagger, the texts whose most confident theme stays below
   ``DiscoveryConfig.min_confidence``; without one, all texts.
2. **Vectors**: sentence embeddings (all-MiniLM-L6-v2) when the ``text`` extra is
   installed, else TF-IDF reduced by truncated SVD (LSA); rows are unit length.
3. **Clusters**: k-means for every k in ``k_range``; the k with the best silhouette wins.
4. **Names**: each cluster is named by its most distinctive words, class-based TF-IDF
   (a word's frequency in the cluster times ``log(1 + average words per cluster / the
   word's frequency in all clusters)``), stop words left out.
5. **Emerging themes** (:func:`emerging_themes`): current and baseline texts are
   clustered together; a cluster emerges when its share of *all* current texts is higher
   than its share of all baseline texts by a one-sided two-proportion z-test at ``alpha``
   (Bonferroni-corrected for the number of clusters), grows at least ``min_growth``
   times, and has at least ``min_count`` current texts. Examples shown are redacted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from smokejumper.errors import MissingDependencyError, TextError
from smokejumper.text.redact import redact

if TYPE_CHECKING:
    import numpy as np

    from smokejumper.text.embeddings import Embedder
    from smokejumper.text.themes import ThemeModel

#: words that name nothing (added to scikit-learn's English stop words)
EXTRA_STOP_WORDS = ("just", "really", "got", "get", "ve", "ll", "don", "didn", "doesn", "im",
                    "t", "s", "m", "d", "re", "wasn", "isn", "won", "can", "cant", "did",
                    "does", "dont", "thanks", "thank", "please", "hi", "hello", "ok", "okay")
#: scikit-learn's stop words that mean something in customer feedback ("bill", "call")
KEPT_WORDS = ("bill", "call", "system", "fire", "amount", "detail", "describe", "empty",
              "full", "front", "back", "top", "bottom", "side", "serious", "move", "show",
              "find", "found", "interest", "cry", "thick", "thin", "sincere")


@dataclass(frozen=True)
class DiscoveryConfig:
    """How unexplained texts are found, clustered, named and judged.

    ``vectors``: ``auto`` (embeddings when the ``text`` extra is installed, else TF-IDF),
    ``embeddings`` or ``tfidf``.
    """

    min_confidence: float = 0.5
    k_range: tuple[int, int] = (2, 12)
    min_cluster_size: int = 5
    vectors: str = "auto"
    top_words: int = 5
    name_words: int = 3
    examples: int = 3
    alpha: float = 0.01
    min_growth: float = 1.5
    min_count: int = 10
    silhouette_sample: int = 3000
    max_texts: int = 20_000
    seed: int = 0


@dataclass(frozen=True)
class DiscoveredTheme:
    """A cluster of texts: its name, distinctive words, redacted examples and members."""

    name: str
    top_words: tuple[str, ...]
    examples: tuple[str, ...]
    size: int
    members: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["top_words"], out["examples"] = list(self.top_words), list(self.examples)
        out.pop("members")
        return out


@dataclass(frozen=True)
class EmergingTheme:
    """A discovered theme's volume and share now and in the baseline, and whether it grows
    significantly (``emerging``)."""

    name: str
    top_words: tuple[str, ...]
    examples: tuple[str, ...]
    n_current: int
    n_baseline: int
    share_current: float
    share_baseline: float
    growth: float
    difference_low: float
    difference_high: float
    z: float
    p_value: float
    emerging: bool

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["top_words"], out["examples"] = list(self.top_words), list(self.examples)
        return out


def unexplained(texts: Sequence[str], tagger: ThemeModel | None,
                min_confidence: float = 0.5) -> list[int]:
    """Indices of the texts whose most confident theme is below ``min_confidence``."""
    if tagger is None:
        return list(range(len(texts)))
    rows = tagger.confidences(list(texts)) if texts else []
    return [i for i, row in enumerate(rows) if not row or max(row) < min_confidence]


def _stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted((set(ENGLISH_STOP_WORDS) | set(EXTRA_STOP_WORDS)) - set(KEPT_WORDS))


def text_vectors(texts: Sequence[str], config: DiscoveryConfig | None = None,
                 embedder: Embedder | None = None) -> np.ndarray:
    """Unit-length vectors for clustering: embeddings, or TF-IDF + SVD without the extra."""
    import numpy as np

    config = config or DiscoveryConfig()
    if config.vectors not in ("auto", "embeddings", "tfidf"):
        raise TextError(f"unknown vectors {config.vectors!r}; expected auto, embeddings or "
                        "tfidf")
    use_embeddings = config.vectors == "embeddings" or embedder is not None
    if config.vectors == "auto" and embedder is None:
        from smokejumper.text.embeddings import embeddings_available

        use_embeddings = embeddings_available()
    if config.vectors == "tfidf":
        use_embeddings = False
    if use_embeddings:
        from smokejumper.text.embeddings import load_embedder

        return (embedder or load_embedder()).encode(list(texts))
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(stop_words=_stop_words(), sublinear_tf=True,
                            min_df=2 if len(texts) >= 20 else 1,
                            token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b")
    try:
        matrix = tfidf.fit_transform(texts)
    except ValueError:  # only stop words
        return np.zeros((len(texts), 1), dtype=np.float32)
    components = min(100, matrix.shape[1] - 1, len(texts) - 1)
    if components >= 2:
        matrix = TruncatedSVD(components, random_state=config.seed).fit_transform(matrix)
    else:
        matrix = matrix.toarray()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def cluster(vectors: np.ndarray, config: DiscoveryConfig | None = None) -> np.ndarray:
    """Cluster labels from k-means with the k of the best silhouette in ``k_range``."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    config = config or DiscoveryConfig()
    n = len(vectors)
    low, high = config.k_range
    high = min(high, n // max(config.min_cluster_size, 1), n - 1)
    if n < 2 * max(config.min_cluster_size, 1) or high < max(low, 2):
        return np.zeros(n, dtype=np.int64)
    best: tuple[float, Any] = (-2.0, None)
    for k in range(max(low, 2), high + 1):
        labels = KMeans(k, n_init=4, random_state=config.seed).fit_predict(vectors)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine",
                                       sample_size=min(n, config.silhouette_sample),
                                       random_state=config.seed))
        if score > best[0]:
            best = (score, labels)
    return np.zeros(n, dtype=np.int64) if best[1] is None else np.asarray(best[1])


def distinctive_words(texts: Sequence[str], labels: Sequence[int],
                      top: int = 5) -> dict[int, list[str]]:
    """Each cluster's most distinctive words by class-based TF-IDF.

    >>> words = distinctive_words(["the esim activation failed", "my esim qr code failed",
    ...                            "the bill is too high", "bill wrong again"], [0, 0, 1, 1])
    >>> words[0][:2], words[1][0]
    (['esim', 'failed'], 'bill')
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(labels))
    documents = [" ".join(t for t, label in zip(texts, labels, strict=True) if label == c)
                 for c in classes]
    counter = CountVectorizer(stop_words=_stop_words(), ngram_range=(1, 2),
                              token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b")
    try:
        counts = counter.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:
        return {c: [] for c in classes}
    vocabulary = counter.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    average = counts.sum() / len(classes)
    idf = np.log1p(average / np.maximum(counts.sum(axis=0), 1.0))
    weight = tf * idf
    out = {}
    for row, c in enumerate(classes):
        order = np.argsort(-weight[row], kind="stable")
        chosen: list[str] = []
        for index in order:
            if weight[row, index] <= 0 or len(chosen) >= top:
                break
            word = str(vocabulary[index])
            # a bigram whose words are both chosen already, or a word inside a chosen
            # bigram, adds nothing
            if any(word in other.split() or other in word.split() for other in chosen):
                continue
            chosen.append(word)
        out[c] = chosen
    return out


def _themes_from(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray,
                 config: DiscoveryConfig) -> dict[int, DiscoveredTheme]:
    import numpy as np

    words = distinctive_words(texts, labels.tolist(), config.top_words)
    themes = {}
    for c, top_words in words.items():
        members = np.flatnonzero(labels == c)
        centre = vectors[members].mean(axis=0)
        nearest = members[np.argsort(-(vectors[members] @ centre), kind="stable")]
        examples, seen = [], set()
        for index in nearest:
            example = redact(texts[int(index)]).text
            if example not in seen:
                seen.add(example)
                examples.append(example)
            if len(examples) >= config.examples:
                break
        name = "_".join(w.replace(" ", "_") for w in top_words[:config.name_words]) or \
            f"cluster_{c}"
        themes[c] = DiscoveredTheme(name, tuple(top_words), tuple(examples), len(members),
                                    tuple(int(i) for i in members))
    return themes


def discover_themes(texts: Sequence[str], tagger: ThemeModel | None = None,
                    config: DiscoveryConfig | None = None,
                    embedder: Embedder | None = None) -> list[DiscoveredTheme]:
    """Clusters of the texts no theme explains, largest first (members index ``texts``)."""
    import numpy as np

    config = config or DiscoveryConfig()
    keep = unexplained(texts, tagger, config.min_confidence)[:config.max_texts]
    if not keep:
        return []
    chosen = [texts[i] for i in keep]
    vectors = text_vectors(chosen, config, embedder)
    labels = cluster(vectors, config)
    themes = _themes_from(chosen, vectors, labels, config)
    index = np.asarray(keep)
    out = [DiscoveredTheme(t.name, t.top_words, t.examples, t.size,
                           tuple(int(index[m]) for m in t.members)) for t in themes.values()]
    return sorted(out, key=lambda t: -t.size)


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """z and the one-sided p-value that proportion 1 is above proportion 2 (pooled).

    >>> z, p = two_proportion_test(30, 200, 10, 200)
    >>> round(z, 3), round(p, 5)
    (3.333, 0.00043)
    """
    from scipy.stats import norm

    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (k1 / n1 - k2 / n2) / se
    return z, float(norm.sf(z))


def _newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Newcombe's 95% interval for p1 - p2 from the two Wilson intervals."""
    from smokejumper.metrics.intervals import wilson_interval

    p, low, high = wilson_interval([k1, k2], [n1, n2])
    d = p[0] - p[1]
    return (float(d - math.sqrt((p[0] - low[0]) ** 2 + (high[1] - p[1]) ** 2)),
            float(d + math.sqrt((high[0] - p[0]) ** 2 + (p[1] - low[1]) ** 2)))


def emerging_themes(current_texts: Sequence[str], baseline_texts: Sequence[str],
                    tagger: ThemeModel | None = None, config: DiscoveryConfig | None = None,
                    embedder: Embedder | None = None) -> list[EmergingTheme]:
    """Discovered themes with their growth from the baseline; emerging ones first.

    Shares are of *all* texts of each window (explained ones included), so a theme's
    share means the same thing whatever the taxonomy covers.
    """
    config = config or DiscoveryConfig()
    if not current_texts:
        return []
    current = unexplained(current_texts, tagger, config.min_confidence)
    baseline = unexplained(baseline_texts, tagger, config.min_confidence)
    pooled = [current_texts[i] for i in current] + [baseline_texts[i] for i in baseline]
    if len(pooled) > config.max_texts:
        raise TextError(f"{len(pooled)} unexplained texts is more than max_texts "
                        f"({config.max_texts}); narrow the windows or sample")
    if not pooled:
        return []
    import numpy as np

    try:
        vectors = text_vectors(pooled, config, embedder)
    except MissingDependencyError:
        vectors = text_vectors(pooled, DiscoveryConfig(**{**asdict(config), "vectors": "tfidf"}))
    labels = cluster(vectors, config)
    themes = _themes_from(pooled, vectors, labels, config)
    in_current = np.arange(len(pooled)) < len(current)
    n1, n2 = len(current_texts), len(baseline_texts)
    tests = len(themes)
    out = []
    for c, theme in themes.items():
        members = labels == c
        k1 = int((members & in_current).sum())
        k2 = int((members & ~in_current).sum())
        z, p = two_proportion_test(k1, n1, k2, n2)
        share1 = k1 / n1
        share2 = k2 / n2 if n2 else 0.0
        growth = ((k1 + 0.5) / (n1 + 1)) / ((k2 + 0.5) / (n2 + 1))
        low, high = _newcombe(k1, n1, k2, n2) if n2 else (float("nan"), float("nan"))
        emerging = (p * tests < config.alpha and growth >= config.min_growth
                    and k1 >= config.min_count)
        out.append(EmergingTheme(theme.name, theme.top_words, theme.examples, k1, k2,
                                 round(share1, 6), round(share2, 6), round(growth, 4),
                                 round(low, 6), round(high, 6), round(z, 4), p, emerging))
    return sorted(out, key=lambda t: (not t.emerging, t.p_value))


#: where each source keeps its texts: table, text column
SOURCES = {"responses": "comment", "interactions": "transcript"}


def discover_in_workspace(ws: Any, *, source: str = "responses", since: Any = None,
                          until: Any = None, baseline_days: int = 90, model: str = "auto",
                          sample: int = 5000, config: DiscoveryConfig | None = None
                          ) -> dict[str, Any]:
    """Emerging themes among a workspace's texts: the window ``[since, until)`` (default:
    the last 28 days up to the newest text) against the ``baseline_days`` before it.

    Texts the workspace's ``[themes.*]`` explain are left out (``model``: hybrid, keywords,
    none or auto); each window is sampled down to ``sample`` texts.
    """
    import datetime as dt

    import pandas as pd

    if source not in SOURCES:
        raise TextError(f"unknown source {source!r}; expected {' or '.join(SOURCES)}")
    config = config or DiscoveryConfig()
    column = SOURCES[source]
    table = ws.table(source)
    texts = table.filter(table[column].notnull())
    newest = texts.ts.max().execute()
    if newest is None or pd.isna(newest):
        raise TextError(f"{source} has no {column} texts")
    end = pd.Timestamp(until) if until is not None else \
        pd.Timestamp(newest).normalize() + pd.Timedelta(days=1)
    start = pd.Timestamp(since) if since is not None else end - pd.Timedelta(days=28)
    if start >= end:
        raise TextError(f"--since {start.date()} is not before --until {end.date()}")
    base_start = start - pd.Timedelta(days=baseline_days)

    def window(low: pd.Timestamp, high: pd.Timestamp) -> list[str]:
        frame = texts.filter((texts.ts >= low.to_pydatetime())
                             & (texts.ts < high.to_pydatetime())).select(column).execute()
        values = frame[column].astype(str)
        if len(values) > sample:
            values = values.sample(sample, random_state=config.seed)
        return values.tolist()

    current, baseline = window(start, end), window(base_start, start)
    tagger = None
    taxonomy = ws.text.taxonomy() if model != "none" else None
    if taxonomy is not None:
        from smokejumper.text.embeddings import embeddings_available
        from smokejumper.text.registry import TextModelOptions, theme_models

        name = model if model != "auto" else ("hybrid" if embeddings_available() else
                                              "keywords")
        tagger = theme_models.create(name, TextModelOptions(taxonomy=taxonomy))
    found = emerging_themes(current, baseline, tagger, config)
    return {
        "source": source,
        "current": {"since": start.date().isoformat(),
                    "until": (end - dt.timedelta(days=1)).date().isoformat(),
                    "texts": len(current)},
        "baseline": {"since": base_start.date().isoformat(),
                     "until": (start - dt.timedelta(days=1)).date().isoformat(),
                     "texts": len(baseline)},
        "theme_model": getattr(tagger, "name", "none"),
        "alpha": config.alpha,
        "themes": [theme.to_dict() for theme in found],
    }


__all__ = ["DiscoveredTheme", "DiscoveryConfig", "EmergingTheme", "cluster", "discover_themes",
           "discover_in_workspace", "distinctive_words", "emerging_themes", "text_vectors",
           "two_proportion_test", "unexplained"]
