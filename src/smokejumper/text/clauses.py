"""Split text into sentences and clauses: the units that carry one theme and one mood.

Customers often say two things in one sentence ("the staff were lovely but the bill was
wrong"). A sentence is cut before a contrast word (but, although, though, however,
whereas, yet), at a semicolon, and before "and" after a comma or between two clauses
long enough to stand alone; pieces shorter than ``min_words`` stay joined.

>>> text = "The staff were lovely but the bill was wrong. Quick and easy!"
>>> [text[a:b] for a, b in split_clauses(text)]
['The staff were lovely', 'but the bill was wrong.', 'Quick and easy!']
"""

from __future__ import annotations

import re
from functools import lru_cache

from smokejumper.text.sentiment import split_sentences

_CUT = re.compile(
    r"\s*;\s*|,?\s+(?=(?:but|although|though|however|whereas|yet|except|while)\b)"
    r"|,\s+(?=and\b)|\s+(?=and\s+(?:the|my|their|your|it|they|he|she|i|we|you|this|that|"
    r"there|nobody|no|nothing|then|also)\b)",
    re.IGNORECASE)


def split_clauses(text: str, min_words: int = 3) -> list[tuple[int, int]]:
    """Start and end offsets of each clause of each sentence of ``text``."""
    return list(_split_clauses(text, min_words))


@lru_cache(maxsize=8_192)  # one page of enrichment splits each text at several stages
def _split_clauses(text: str, min_words: int) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for start, end in split_sentences(text):
        pieces: list[list[int]] = []
        position = start
        for match in _CUT.finditer(text, start, end):
            if match.start() > position:
                pieces.append([position, match.start()])
            position = match.end()
        if position < end:
            pieces.append([position, end])
        merged: list[list[int]] = []
        for piece in pieces:
            if merged and (_words(text, *merged[-1]) < min_words
                           or _words(text, *piece) < min_words):
                merged[-1][1] = piece[1]
            else:
                merged.append(piece)
        spans.extend((a, b) for a, b in merged)
    return tuple(spans)


def _words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


__all__ = ["split_clauses"]
