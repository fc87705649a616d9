"""Mask personal data in free text before it is stored, shown or exported.

Finds e-mail addresses, phone numbers (any country, through ``phonenumbers``), payment
cards (Luhn-checked), IBANs (mod-97 checked), URLs that carry a token, and any
configured pattern (account numbers, national ids), and replaces each with a token
such as ``[EMAIL]``. Ordinary numbers (amounts, dates, times, counts, years) stay,
because each identifier is validated rather than matched on digits alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from smokejumper.errors import TextError
from smokejumper.text._optional import optional_import

EMAIL = "email"
PHONE = "phone"
CARD = "card"
IBAN = "iban"
URL = "url"

TOKENS: dict[str, str] = {
    EMAIL: "[EMAIL]",
    PHONE: "[PHONE]",
    CARD: "[CARD]",
    IBAN: "[IBAN]",
    URL: "[URL]",
}

# Query parameters whose value is a credential or a personal link, whatever it looks like.
TOKEN_PARAMETERS: tuple[str, ...] = (
    "token", "access_token", "refresh_token", "id_token", "auth", "auth_token", "authorization",
    "key", "api_key", "apikey", "secret", "client_secret", "sig", "signature", "session",
    "session_id", "sessionid", "sid", "jwt", "otp", "code", "password", "pass", "pwd",
    "reset", "reset_token", "invite", "ticket", "hash", "nonce", "x-amz-signature",
    "x-amz-credential", "x-amz-security-token",
)


@dataclass(frozen=True)
class RedactionPattern:
    """An extra identifier to mask, given as a regular expression.

    ``kind`` names it in the spans found; ``token`` replaces it in the text.

    >>> RedactionPattern("account", r"\\bACC-\\d{8}\\b").token
    '[ID]'
    """

    kind: str
    pattern: str
    token: str = "[ID]"
    ignore_case: bool = False


# Ready-made patterns a workspace can switch on by name (``RedactionConfig.with_presets``).
PRESET_PATTERNS: dict[str, RedactionPattern] = {
    "us_ssn": RedactionPattern(
        "national_id", r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"
    ),
    "uk_nino": RedactionPattern(
        "national_id", r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
    ),
}


@dataclass(frozen=True)
class RedactionConfig:
    """What to look for. Frozen and serialisable, so it can be stored beside its output.

    ``phone_regions`` are the countries whose *national* formats (``020 7946 0958``,
    ``(415) 555-0132``) are recognised; numbers written with ``+`` or ``00`` are found
    for every country.
    """

    emails: bool = True
    phones: bool = True
    cards: bool = True
    ibans: bool = True
    urls: bool = True
    phone_regions: tuple[str, ...] = ("US", "GB")
    token_parameters: tuple[str, ...] = TOKEN_PARAMETERS
    extra_patterns: tuple[RedactionPattern, ...] = ()

    def with_presets(self, *names: str) -> RedactionConfig:
        """This config plus named preset patterns (``us_ssn``, ``uk_nino``).

        >>> len(RedactionConfig().with_presets("us_ssn").extra_patterns)
        1
        """
        unknown = [name for name in names if name not in PRESET_PATTERNS]
        if unknown:
            raise TextError(f"unknown redaction preset {unknown[0]!r}; "
                            f"known: {', '.join(sorted(PRESET_PATTERNS))}")
        extra = self.extra_patterns + tuple(PRESET_PATTERNS[name] for name in names)
        return replace(self, extra_patterns=extra)


@dataclass(frozen=True)
class RedactedSpan:
    """One identifier found: where it was in the original text, what kind, its token."""

    start: int
    end: int
    kind: str
    token: str


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text and the spans (in the original text) that were masked."""

    text: str
    spans: tuple[RedactedSpan, ...] = field(default=())


def redact(text: str, config: RedactionConfig | None = None) -> RedactionResult:
    """Replace every personal identifier in ``text`` with its token.

    >>> redact("Mail jo.smith@example.com, card 4111 1111 1111 1111, paid $49.99").text
    'Mail [EMAIL], card [CARD], paid $49.99'
    >>> redact("Call +44 20 7946 0958 about order 12 on 2024-05-01").text
    'Call [PHONE] about order 12 on 2024-05-01'
    >>> [s.kind for s in redact("IBAN DE89 3704 0044 0532 0130 00 thanks").spans]
    ['iban']
    """
    spans = find_identifiers(text, config)
    if not spans:
        return RedactionResult(text, ())
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position:span.start])
        pieces.append(span.token)
        position = span.end
    pieces.append(text[position:])
    return RedactionResult("".join(pieces), tuple(spans))


def redact_many(texts: Sequence[str], config: RedactionConfig | None = None) -> list[str]:
    """Redacted copies of many texts (the spans are dropped).

    >>> redact_many(["a@b.io", "no identifiers here"])
    ['[EMAIL]', 'no identifiers here']
    """
    return [redact(text, config).text for text in texts]


def find_identifiers(text: str, config: RedactionConfig | None = None) -> list[RedactedSpan]:
    """The identifier spans in ``text``, sorted and never overlapping.

    Detectors run from the most specific to the least (URL with a token, e-mail, IBAN,
    card, configured patterns, phone); a later span that overlaps an earlier one is
    dropped, so ``https://user:pw@host/`` is one [URL], not a URL around an [EMAIL].

    >>> [(s.start, s.end, s.kind) for s in find_identifiers("to x@y.com now")]
    [(3, 10, 'email')]
    """
    config = config or RedactionConfig()
    taken: list[RedactedSpan] = []

    def add(candidates: Iterator[tuple[int, int, str, str]]) -> None:
        for start, end, kind, token in candidates:
            if start < end and not any(start < s.end and s.start < end for s in taken):
                taken.append(RedactedSpan(start, end, kind, token))

    if config.urls and ("://" in text or "www." in text.lower()):
        add(_urls(text, config.token_parameters))
    if config.emails and "@" in text:
        add(_emails(text))
    has_digits = _enough_digits(text, 7)
    if config.ibans and has_digits:
        add(_ibans(text))
    if config.cards and has_digits:
        add(_cards(text))
    for pattern in config.extra_patterns:
        add(_extra(text, pattern))
    if config.phones and has_digits:
        add(_phones(text, config.phone_regions))
    return sorted(taken, key=lambda span: span.start)


# --- detectors --------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
)
_URL = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'\""
_RANDOM_PIECE = re.compile(r"[A-Za-z0-9_~=-]{16,}|[A-Za-z0-9+/_-]{20,}={0,2}")
_CARD = re.compile(r"(?<![\d+\-./,])\d(?:[ -]?\d){12,18}(?![\d,.-]?\d)")
_IBAN_START = re.compile(r"\b([A-Za-z]{2})\d{2}")
_NOT_A_PHONE_LABEL = re.compile(
    r"(?:\b(?:order|invoice|ticket|ref|reference|serial|tracking|booking|confirmation|case|"
    r"parcel|receipt|transaction|sku)(?:\s+(?:number|no\.?|nr\.?|id|code))?|#)\s*[:#]?\s*$",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.,;]\s")
_CARD_SHAPED = re.compile(r"^\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}$")
_DIGIT_BEFORE = re.compile(r"\d[ .-]?$")
_DIGIT_AFTER = re.compile(r"[ .-]?\d")
_INTERNATIONAL = re.compile(r"^\s*(?:\+|00)[1-9]\d?[\d\s().-]{6,}\d\s*$")
_DATE_OR_TIME = re.compile(  # a date or a time at the start of a phone candidate
    r"^\s*(?:\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|\d{1,2}:\d{2}\b)"
)


def _enough_digits(text: str, count: int) -> bool:
    found = 0
    for _ in _DIGIT.finditer(text):
        found += 1
        if found >= count:
            return True
    return False


def _emails(text: str) -> Iterator[tuple[int, int, str, str]]:
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), EMAIL, TOKENS[EMAIL]


def _urls(text: str, token_parameters: tuple[str, ...]) -> Iterator[tuple[int, int, str, str]]:
    names = frozenset(name.lower() for name in token_parameters)
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if url.count("(") < url.count(")"):
            url = url[: url.rfind(")")]
        if url_carries_token(url, names):
            yield match.start(), match.start() + len(url), URL, TOKENS[URL]


def url_carries_token(url: str, token_parameters: frozenset[str] | None = None) -> bool:
    """Whether a URL carries a credential: a token-like query parameter, user info, or a
    long random path segment (a signed link, a reset link, a session id).

    >>> url_carries_token("https://shop.example.com/help/returns?lang=en")
    False
    >>> url_carries_token("https://shop.example.com/reset?token=abc")
    True
    >>> url_carries_token("https://x.io/r/9fQ2kLm7Xz81Ab4Tq0Ps")
    True
    """
    names = token_parameters if token_parameters is not None else frozenset(TOKEN_PARAMETERS)
    candidate = url if "://" in url else "http://" + url
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return False
    if parts.username or parts.password:
        return True
    for query in (parts.query, parts.fragment):
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name.lower() in names and value:
                return True
            if _looks_random(value):
                return True
    return any(_looks_random(segment) for segment in parts.path.split("/"))


def _looks_random(piece: str) -> bool:
    """A long run of letters and digits mixed together: a token, not a slug or a word."""
    if not _RANDOM_PIECE.fullmatch(piece):
        return False
    kinds = ["d" if ch.isdigit() else "u" if ch.isupper() else "l" if ch.isalpha() else "-"
             for ch in piece]
    pairs = list(zip(kinds, kinds[1:], strict=False))
    # Letters and digits interleaved (a hex signature, a random id), not "SpringSale2024".
    if sum((a == "d") != (b == "d") and "-" not in (a, b) for a, b in pairs) >= 3:
        return True
    letters = [kind for kind in kinds if kind in "ul"]
    flips = sum(a != b for a, b in zip(letters, letters[1:], strict=False))
    capitals_together = sum(a == b == "u" for a, b in pairs)
    # Mostly letters: a token flips case, or runs capitals together, far more often
    # than CamelCase words do.
    return flips >= 0.3 * len(piece) or (capitals_together >= 3 and letters.count("l") >= 3)


def luhn_valid(number: str) -> bool:
    """The Luhn checksum that every payment card number satisfies.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _cards(text: str) -> Iterator[tuple[int, int, str, str]]:
    for match in _CARD.finditer(text):
        found = _card_in(match.group(0))
        if found is not None:
            yield match.start() + found[0], match.start() + found[1], CARD, TOKENS[CARD]


def _card_in(raw: str) -> tuple[int, int] | None:
    """The longest run of whole digit groups in ``raw`` that is a card number.

    The candidate may have picked up a neighbouring number ("4111 1111 1111 1111 12"),
    so runs of groups are tried from the longest down.
    """
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", raw)]
    separators = {raw[a:b] for (_, a), (b, _) in zip(groups, groups[1:], strict=False)}
    if len(separators) > 1:  # "4111 1111-1111 1111" mixes separators: not one number
        return None
    runs = sorted(((i, j) for i in range(len(groups)) for j in range(i, len(groups))),
                  key=lambda run: groups[run[0]][0] - groups[run[1]][1])
    for first, last in runs:
        start, end = groups[first][0], groups[last][1]
        digits = "".join(ch for ch in raw[start:end] if ch.isdigit())
        # Issuer ranges start with 2-6 (Mastercard, Amex, Visa, Discover, JCB, UnionPay...).
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            return start, end
    return None


# IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_valid(iban: str) -> bool:
    """An IBAN with its country's length and a correct mod-97 check.

    >>> iban_valid("GB82WEST12345698765432"), iban_valid("GB82WEST12345698765433")
    (True, False)
    """
    iban = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1
    except ValueError:
        return False


def _ibans(text: str) -> Iterator[tuple[int, int, str, str]]:
    # Every place a country code and check digits start is tried, so that a failed
    # candidate ("AC24 57937025 and ...") cannot swallow the real IBAN after it.
    for match in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(match.group(1).upper())
        if length is None:
            continue
        end = _iban_end(text, match.start(), length)
        if end and iban_valid("".join(ch for ch in text[match.start():end] if ch.isalnum())):
            yield match.start(), end, IBAN, TOKENS[IBAN]


def _iban_end(text: str, start: int, length: int) -> int:
    """Where an IBAN of ``length`` characters starting at ``start`` ends (0: it does not).

    Characters may be grouped with single spaces or dashes; the IBAN must not run on
    into a longer word or number.
    """
    kept = 0
    position = start
    while position < len(text) and kept < length:
        char = text[position]
        if char.isascii() and char.isalnum():
            kept += 1
        elif not (char in " -" and position > start and text[position - 1].isalnum()):
            return 0
        position += 1
    if kept < length or (position < len(text) and text[position].isalnum()):
        return 0
    return position


@lru_cache(maxsize=64)
def _compiled(pattern: RedactionPattern) -> re.Pattern[str]:
    try:
        return re.compile(pattern.pattern, re.IGNORECASE if pattern.ignore_case else 0)
    except re.error as exc:
        raise TextError(f"redaction pattern {pattern.kind!r} is not a valid regular "
                        f"expression: {exc}") from exc


def _extra(text: str, pattern: RedactionPattern) -> Iterator[tuple[int, int, str, str]]:
    for match in _compiled(pattern).finditer(text):
        yield match.start(), match.end(), pattern.kind, pattern.token


def _phones(text: str, regions: tuple[str, ...]) -> Iterator[tuple[int, int, str, str]]:
    phonenumbers = optional_import("phonenumbers")
    seen: set[tuple[int, int]] = set()
    # "ZZ" (unknown region) still finds every number written with + and a country code.
    for region in regions or ("ZZ",):
        matcher = phonenumbers.PhoneNumberMatcher(text, region,
                                                  leniency=phonenumbers.Leniency.POSSIBLE)
        for match in matcher:
            raw, number = match.raw_string, match.number
            cut = _SENTENCE_BREAK.search(raw)
            if cut:  # "+31 6 30662965. 5 stars": the matcher ran past the sentence's end
                raw = raw[:cut.start()]
                try:
                    number = phonenumbers.parse(raw, region)
                except phonenumbers.NumberParseException:
                    continue
            end = match.start + len(raw)
            if (match.start, end) in seen or not _is_phone(phonenumbers, text, match.start,
                                                            end, raw, number):
                continue
            seen.add((match.start, end))
            yield match.start, end, PHONE, TOKENS[PHONE]


def _is_phone(phonenumbers: Any, text: str, start: int, end: int, raw: str, number: Any) -> bool:
    """Whether a candidate the matcher found is a phone number and not an ordinary number."""
    digits = sum(ch.isdigit() for ch in raw)
    # Seven digits at least; not a date or time; not a piece of a longer run of digit
    # groups (a rejected card number, a reference).
    if (digits < 7 or (digits > 15 and not raw.startswith("00"))
            or _DATE_OR_TIME.match(raw) or _CARD_SHAPED.match(raw)
            or _DIGIT_BEFORE.search(text, 0, start) or _DIGIT_AFTER.match(text, end)):
        return False
    # A number after a label such as "order" or "invoice" is that, not a phone number.
    if _NOT_A_PHONE_LABEL.search(text, max(0, start - 30), start):
        return False
    # Written in international form (+44..., 0049...): no amount, date or count looks like it.
    if _INTERNATIONAL.match(raw):
        return True
    # Written nationally: outside North America a national number starts with the trunk
    # prefix (020..., 06...).
    if number.country_code != 1 and not raw.lstrip("(").startswith("0"):
        return False
    # A national number of ten digits or more with the trunk prefix is a phone number even
    # in a range the numbering plan keeps unassigned (07700 900xxx, the UK's range for
    # fiction and tests): it reaches a person the day the range is assigned.
    if digits >= 10 and raw.lstrip("(").startswith("0"):
        return bool(phonenumbers.is_possible_number(number))
    return bool(phonenumbers.is_valid_number(number))
