"""Read SemEval-2014 Task 4 (aspect-based sentiment) XML as labelled customer text.

Used by the tests and ``bench/text_eval.py``; the data itself is never copied into
the repository.

Sentence label rule (:func:`sentence_sentiment`): take the polarities of every aspect
term and aspect category of a sentence. Any ``conflict``, or both ``positive`` and
``negative``, makes it mixed: it is dropped (None). Otherwise ``positive`` if any is
positive, ``negative`` if any is negative, else ``neutral`` (all neutral, or no aspect).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from smokejumper.errors import TextError


@dataclass(frozen=True)
class AspectTerm:
    """A term in the sentence (``staff``), its polarity and character offsets."""

    term: str
    polarity: str
    start: int
    end: int


@dataclass(frozen=True)
class AspectCategory:
    """A category the sentence talks about (``service``) and its polarity."""

    category: str
    polarity: str


@dataclass(frozen=True)
class SemEvalSentence:
    """One sentence with its aspect terms and (restaurants only) aspect categories."""

    id: str
    text: str
    aspect_terms: tuple[AspectTerm, ...]
    aspect_categories: tuple[AspectCategory, ...]


def read_semeval(path: str | Path) -> list[SemEvalSentence]:
    """Every sentence of a SemEval-2014 Task 4 XML file, in file order.

    >>> import tempfile, os
    >>> xml = ('<sentences><sentence id="1"><text>Great staff.</text><aspectTerms>'
    ...        '<aspectTerm term="staff" polarity="positive" from="6" to="11"/>'
    ...        '</aspectTerms></sentence></sentences>')
    >>> with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
    ...     _ = f.write(xml)
    >>> [s.aspect_terms[0].term for s in read_semeval(f.name)]
    ['staff']
    >>> os.unlink(f.name)
    """
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
    except FileNotFoundError as exc:
        raise TextError(f"SemEval file {path} does not exist") from exc
    except ElementTree.ParseError as exc:
        raise TextError(f"{path} is not valid XML: {exc}") from exc
    sentences = []
    for node in root.iter("sentence"):
        terms = tuple(
            AspectTerm(term.get("term", ""), term.get("polarity", ""),
                       int(term.get("from", 0)), int(term.get("to", 0)))
            for term in node.iter("aspectTerm")
        )
        categories = tuple(
            AspectCategory(category.get("category", ""), category.get("polarity", ""))
            for category in node.iter("aspectCategory")
        )
        sentences.append(SemEvalSentence(node.get("id", ""), node.findtext("text", ""),
                                         terms, categories))
    return sentences


def sentence_sentiment(sentence: SemEvalSentence) -> str | None:
    """The sentence's label by the module's rule, or None for a mixed sentence.

    >>> s = SemEvalSentence("1", "x", (AspectTerm("a", "positive", 0, 1),
    ...                                AspectTerm("b", "neutral", 2, 3)), ())
    >>> sentence_sentiment(s)
    'positive'
    """
    polarities = {term.polarity for term in sentence.aspect_terms}
    polarities |= {category.polarity for category in sentence.aspect_categories}
    if "conflict" in polarities or {"positive", "negative"} <= polarities:
        return None
    if "positive" in polarities:
        return "positive"
    if "negative" in polarities:
        return "negative"
    return "neutral"


def sentiment_examples(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts and sentence labels from a SemEval file, mixed sentences dropped."""
    texts, labels = [], []
    for sentence in read_semeval(path):
        label = sentence_sentiment(sentence)
        if label is not None:
            texts.append(sentence.text)
            labels.append(label)
    return texts, labels


def category_examples(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts and their aspect category, for sentences with exactly one category."""
    texts, labels = [], []
    for sentence in read_semeval(path):
        if len(sentence.aspect_categories) == 1:
            texts.append(sentence.text)
            labels.append(sentence.aspect_categories[0].category)
    return texts, labels
