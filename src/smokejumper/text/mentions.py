"""Sentiment per theme mention: a comment can praise the staff and hate the bill.

Each text is cut into sentences and clauses (:func:`~smokejumper.text.clauses.split_clauses`
cuts before "but", "although", ...). The text's themes are the tagger's themes for the
whole text; each theme's mention is carried by the clauses the tagger finds it in (when
only the whole text shows it, by the clause most like it), and the mention's sentiment
is the mean sentiment of those clauses.

>>> from smokejumper.text.sentiment import VaderSentimentModel
>>> from smokejumper.text.themes import KeywordThemeTagger, Taxonomy
>>> tagger = KeywordThemeTagger(Taxonomy.from_mapping({
...     "staff": {"keywords": ["staff"]}, "billing": {"keywords": ["bill"]}}))
>>> [(m.theme, m.label) for m in theme_mentions(
...     ["The staff were lovely but the bill was wrong and nobody could explain it."],
...     tagger, VaderSentimentModel())[0]]
[('staff', 'positive'), ('billing', 'negative')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from smokejumper.text.clauses import split_clauses
from smokejumper.text.sentiment import label_for_score
from smokejumper.text.themes import tag_themes

if TYPE_CHECKING:
    from smokejumper.text.sentiment import SentimentModel
    from smokejumper.text.themes import ThemeModel


#: a mention whose clauses score within this band of 0 is a plain statement ("I was on
#: hold for 40 minutes"): it takes ``CONTEXT_WEIGHT`` times the mean sentiment of the
#: text's clauses that carry no theme ("Very disappointed.")
NEUTRAL_BAND = 0.05
CONTEXT_WEIGHT = 0.3


@dataclass(frozen=True)
class Mention:
    """One theme in one text: the tagger's confidence and the sentiment of the clauses
    that carry it, in [-1, 1]."""

    theme: str
    confidence: float
    sentiment: float
    label: str = "neutral"
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values (one row of the ``enrichment_themes`` table, less the text id)."""
        out = asdict(self)
        out["evidence"] = list(self.evidence)
        return out


def theme_mentions(texts: Sequence[str], tagger: ThemeModel, sentiment_model: SentimentModel,
                   threshold: float | None = None) -> list[list[Mention]]:
    """The theme mentions of each text, most confident first, each with its sentiment.

    The clauses of all texts go to the tagger and the sentiment model in one batch each.
    """
    if not texts:
        return []
    cut = tagger.config.threshold if threshold is None else threshold
    names = tagger.taxonomy.names
    column = {name: index for index, name in enumerate(names)}
    tags = tag_themes(tagger, texts, cut)
    spans = [split_clauses(text) or [(0, len(text))] for text in texts]
    clauses = [[text[a:b] for a, b in text_spans]
               for text, text_spans in zip(texts, spans, strict=True)]
    # clauses of texts with one clause are the text itself: no second look needed
    multi = [i for i, (found, parts) in enumerate(zip(tags, clauses, strict=True))
             if found and len(parts) > 1]
    flat = [clause for i in multi for clause in clauses[i]]
    clause_confidence = iter(tagger.confidences(flat) if flat else [])
    per_clause: dict[int, list[list[float]]] = {
        i: [next(clause_confidence) for _ in clauses[i]] for i in multi}

    carriers: list[list[tuple[int, list[int]]]] = []  # per text: (tag index, clause indices)
    needed: dict[tuple[int, int], None] = {}
    for i, found in enumerate(tags):
        rows = []
        for t, tag in enumerate(found):
            if i in per_clause:
                confidence = [row[column[tag.theme]] for row in per_clause[i]]
                chosen = [c for c, value in enumerate(confidence) if value >= cut] or \
                    [max(range(len(confidence)), key=confidence.__getitem__)]
            else:
                chosen = [0]
            rows.append((t, chosen))
            needed.update({(i, c): None for c in chosen})
        carriers.append(rows)
    # the context of a text: its clauses that carry no theme ("Very disappointed.")
    context: dict[int, list[int]] = {
        i: [c for c, row in enumerate(per_clause[i]) if max(row) < cut] for i in multi}
    for i, plain in context.items():
        needed.update({(i, c): None for c in plain})
    keys = list(needed)
    scored = sentiment_model.score([clauses[i][c] for i, c in keys]) if keys else []
    sentiment = {key: score.score for key, score in zip(keys, scored, strict=True)}

    mentions = []
    for i, (found, rows) in enumerate(zip(tags, carriers, strict=True)):
        text_mentions = []
        around = [sentiment[(i, c)] for c in context.get(i, ())]
        mood = sum(around) / len(around) if around else 0.0
        for t, chosen in rows:
            value = sum(sentiment[(i, c)] for c in chosen) / len(chosen)
            if abs(value) < NEUTRAL_BAND:  # a plain statement takes the mood around it
                value = CONTEXT_WEIGHT * mood
            value = round(value, 4)
            text_mentions.append(Mention(found[t].theme, found[t].confidence, value,
                                         label_for_score(value),
                                         tuple(clauses[i][c] for c in chosen)))
        mentions.append(text_mentions)
    return mentions


__all__ = ["Mention", "theme_mentions"]
