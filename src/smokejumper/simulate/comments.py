"""Free-text comments that really vary, built vectorised.

A pool of phrasings (every template × slot fills, some with typos) is built once; each
comment is then assembled in Arrow from indices drawn with numpy: an optional opener,
one to three theme mentions (each positive, negative or neutral), optional filler,
closer, personal data, hashtags and emoji, with some comments in lower or upper case.
What each comment says (themes, sentiment per mention, overall sentiment) is returned
as ground truth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from smokejumper.simulate import model as m
from smokejumper.simulate import phrases as ph
from smokejumper.simulate.customers import labels
from smokejumper.simulate.interactions import Batch
from smokejumper.simulate.responses import RELATIONSHIP, REVIEW, SOCIAL

SENTIMENTS = ("negative", "neutral", "positive")
NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2
LENGTHS = ("short", "medium", "long")
THEME = {name: i for i, name in enumerate(ph.THEME_NAMES)}
N_THEMES = len(ph.THEME_NAMES)
SLOT = re.compile(r"\{(\w+)\}")
KEYBOARD_NEIGHBOURS = dict(zip("aeioustnrlmdc", "sraupdyvetnsx", strict=True))
TYPO_SHARE = 0.025


def make_typo(text: str, rng: np.random.Generator) -> str | None:
    """The text with one slip of the finger in one word (swap, drop, double, neighbour)."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return None
    i = candidates[int(rng.integers(len(candidates)))]
    word = words[i]
    j = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(4))
    if op == 0:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    elif op == 1:
        word = word[:j] + word[j + 1:]
    elif op == 2:
        word = word[:j] + word[j] + word[j:]
    else:
        word = word[:j] + KEYBOARD_NEIGHBOURS.get(word[j], word[j] * 2) + word[j + 1:]
    if word == words[i]:
        return None
    words[i] = word
    return " ".join(words)


def fill(template: str, rng: np.random.Generator) -> str:
    def one(match: re.Match[str]) -> str:
        slot = match.group(1)
        values = ph.SLOTS[slot.lower()]
        value = values[int(rng.integers(len(values)))]
        return value.capitalize() if slot[0].isupper() else value

    return SLOT.sub(one, template)


def _but_form(sentence: str, template: str) -> str:
    first = sentence.split(" ", 1)[0]
    if template.startswith("{") or first in ("I", "I'm", "I've", "I'd", "I'll") or \
            first[:1].isdigit() or first.startswith("£"):
        return "But " + sentence
    return "But " + sentence[:1].lower() + sentence[1:]


class _Builder:
    """Collects texts into one Arrow array, remembering where each group starts."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.texts: list[str] = []
        self.typo: list[bool] = []

    def group(self, items: list[str], typos: list[bool] | None = None) -> tuple[int, int]:
        start = len(self.texts)
        self.texts.extend(items)
        self.typo.extend(typos if typos is not None else [False] * len(items))
        return start, len(items)

    def variants(self, templates: tuple[str, ...], per_template: int,
                 typos: bool = True) -> tuple[list[str], list[str], list[bool]]:
        """Distinct fills of each template, plus a few with a typo; with their templates."""
        out: dict[str, tuple[str, bool]] = {}
        for template in templates:
            tries = per_template if SLOT.search(template) else 1
            for _ in range(tries):
                text = fill(template, self.rng)
                out.setdefault(text, (template, False))
                if typos and self.rng.random() < TYPO_SHARE:
                    slipped = make_typo(text, self.rng)
                    if slipped:
                        out.setdefault(slipped, (template, True))
        # typo variants are kept to about TYPO_SHARE of the pool
        texts = list(out)
        return texts, [out[t][0] for t in texts], [out[t][1] for t in texts]


@dataclass
class CommentPool:
    """Every phrasing, and where each (theme, sentiment) group lies in it."""

    texts: pa.Array
    typo: np.ndarray
    sentence: np.ndarray  # (themes, sentiments, 2): start, count
    but_offset: int
    short: np.ndarray  # (themes, sentiments, 2)
    opener: np.ndarray  # (sentiments, 2)
    closer: np.ndarray
    filler: tuple[int, int]
    emoji: np.ndarray
    hashtag: np.ndarray
    prefix: tuple[int, int]
    pii: tuple[int, int]

    @classmethod
    def build(cls, rng: np.random.Generator, per_template: int = 40) -> CommentPool:
        b = _Builder(rng)
        sentence = np.zeros((N_THEMES, 3, 2), dtype=np.int64)
        short = np.zeros((N_THEMES, 3, 2), dtype=np.int64)
        sentences: list[str] = []
        templates: list[str] = []
        typos: list[bool] = []
        for t, name in enumerate(ph.THEME_NAMES):
            theme = ph.THEMES[name]
            for s, group in enumerate((theme.negative, theme.neutral, theme.positive)):
                texts, temps, slipped = b.variants(group, per_template)
                sentence[t, s] = (len(sentences), len(texts))
                sentences.extend(texts)
                templates.extend(temps)
                typos.extend(slipped)
        start, _ = b.group(sentences, typos)
        sentence[:, :, 0] += start
        but = [_but_form(text, template) for text, template in zip(sentences, templates,
                                                                     strict=True)]
        but_start, _ = b.group(but, typos)
        for t, name in enumerate(ph.THEME_NAMES):
            theme = ph.THEMES[name]
            for s, group in enumerate((theme.short_negative, theme.short_neutral,
                                       theme.short_positive)):
                forms: list[str] = []
                for phrase in group:
                    forms.extend(fill(phrase, rng) for _ in range(3 if "{" in phrase else 1))
                forms = list(dict.fromkeys(
                    f for phrase in forms for f in (phrase, phrase[:1].upper() + phrase[1:],
                                                    phrase + "!", phrase[:1].upper()
                                                    + phrase[1:] + ".")))
                typo_forms = [make_typo(f, rng) if rng.random() < TYPO_SHARE else None
                              for f in forms]
                extra = [f for f in typo_forms if f]
                short[t, s] = b.group(forms + extra, [False] * len(forms) + [True] * len(extra))
        opener = np.array([b.group(list(group)) for group in ph.OPENERS])
        closer = np.array([b.group(list(group)) for group in ph.CLOSERS])
        filler_texts, _, _ = b.variants(ph.FILLERS, 12, typos=False)
        filler = b.group(filler_texts)
        emoji = np.array([b.group(list(group)) for group in ph.EMOJI])
        hashtag = np.array([b.group(list(group)) for group in ph.HASHTAGS])
        prefix = b.group(list(ph.SOCIAL_PREFIX))
        pii_texts = []
        for _ in range(200):
            template = ph.PII[int(rng.integers(len(ph.PII)))]
            pii_texts.append(template.format(
                n3=f"{int(rng.integers(0, 1000)):03d}", n2=int(rng.integers(1, 99)),
                first=ph.PII_FIRST[int(rng.integers(len(ph.PII_FIRST)))],
                last=ph.PII_LAST[int(rng.integers(len(ph.PII_LAST)))]))
        pii = b.group(list(dict.fromkeys(pii_texts)))
        return cls(pa.array(b.texts, pa.string()), np.array(b.typo), sentence,
                   but_start - start, short, opener, closer, filler, emoji, hashtag, prefix,
                   pii)

    @property
    def distinct_sentences(self) -> int:
        return int(self.sentence[:, :, 1].sum())


def _pick(rng: np.random.Generator, groups: np.ndarray, which: np.ndarray,
          present: np.ndarray) -> np.ndarray:
    """An index into the pool per row from group ``which`` (rows of start, count); -1 when
    the part is absent."""
    start = groups[which, 0]
    count = groups[which, 1]
    index = start + np.floor(rng.random(len(which)) * count).astype(np.int64)
    return np.where(present & (count > 0), index, -1)


def theme_propensity(r: Batch, rows: np.ndarray, incidents: tuple[m.IncidentSpec, ...]
                     ) -> np.ndarray:
    """How likely each theme is to be mentioned, given what happened (rows × themes)."""
    n = len(rows)
    p = np.full((n, N_THEMES), 0.03)
    tp, reason, kind = r["tp"][rows], r["reason"][rows], r["kind"][rows]
    resolved, handled = r["resolved"][rows], r["agent"][rows] >= 0

    def add(theme: str, mask: np.ndarray | bool, amount: float) -> None:
        p[:, THEME[theme]] += np.where(mask, amount, 0.0)

    add("price", True, 0.25)
    add("billing_error", reason == m.RS["billing"], 1.0)
    add("price", reason == m.RS["billing"], 0.8)
    technical = reason == m.RS["technical"]
    add("network_coverage", technical & (tp != m.TP["app"]) & (tp != m.TP["web"]), 1.6)
    add("app_bug", technical & (tp == m.TP["app"]), 0.8)
    add("website", technical & (tp == m.TP["web"]), 0.8)
    add("price", reason == m.RS["sales"], 0.8)
    add("staff_knowledge", reason == m.RS["sales"], 0.5)
    add("cancellation", reason == m.RS["cancellation"], 2.2)
    add("price", reason == m.RS["cancellation"], 0.6)
    onboarding = reason == m.RS["onboarding"]
    add("delivery_delay", onboarding, 0.6)
    add("technician_visit", onboarding & (tp == m.TP["field_service"]), 0.8)
    add("delivery_delay", reason == m.RS["order_status"], 2.5)
    complaint = reason == m.RS["complaint"]
    add("resolution", complaint, 1.2)
    add("staff_attitude", complaint, 0.6)
    add("billing_error", complaint, 0.4)
    add("wait_time", tp == m.TP["call_centre"], 0.6)
    add("store_experience", tp == m.TP["store"], 1.3)
    add("website", tp == m.TP["web"], 1.3)
    add("app_bug", tp == m.TP["app"], 1.3)
    add("billing_error", tp == m.TP["billing"], 0.8)
    add("technician_visit", tp == m.TP["field_service"], 2.0)
    add("staff_attitude", handled, 0.7)
    add("staff_knowledge", handled, 0.4)
    add("resolution", resolved == 0, 1.8)
    add("resolution", resolved == 1, 0.35)
    add("resolution", r["repeat"][rows], 0.8)
    add("wait_time", r["repeat"][rows], 0.3)
    slow = (r["handle_s"][rows] > 900) & np.isin(r["channel"][rows],
                                                  [m.CH["phone"], m.CH["chat"]])
    add("wait_time", slow, 0.8)
    relationship = kind == RELATIONSHIP
    for theme, amount in (("price", 0.8), ("network_coverage", 0.8), ("billing_error", 0.3),
                          ("app_bug", 0.2), ("staff_attitude", 0.2), ("cancellation", 0.2)):
        add(theme, relationship, amount)
    add("app_bug", (kind == REVIEW) & (tp == m.TP["app"]), 2.0)
    add("store_experience", (kind == REVIEW) & (tp == m.TP["store"]), 2.0)
    add("staff_attitude", (kind == REVIEW) & (tp == m.TP["store"]), 0.5)
    social = kind == SOCIAL
    for theme, amount in (("network_coverage", 1.0), ("wait_time", 0.5), ("price", 0.5),
                          ("app_bug", 0.4), ("billing_error", 0.4)):
        add(theme, social, amount)
    incident = r["incident"][rows]
    for k, spec in enumerate(incidents):
        add(spec.theme, incident == k, 40.0)
    return p


def sentiment_of(latent: np.ndarray) -> np.ndarray:
    """Overall sentiment consistent with the NPS the latent gives: 9-10 positive, 0-6
    negative, 7-8 neutral."""
    return np.where(latent >= 8.5, POSITIVE, np.where(latent < 6.5, NEGATIVE, NEUTRAL))


def write_comments(rng: np.random.Generator, r: Batch, pool: CommentPool,
                   incidents: tuple[m.IncidentSpec, ...]) -> tuple[pa.Array, Batch]:
    """A comment per response where ``r['has_comment']`` (null elsewhere), and what each
    comment says, as arrays over the commented rows."""
    rows = np.flatnonzero(r["has_comment"])
    n = len(rows)
    latent = r["latent"][rows]
    overall = sentiment_of(latent)
    length = np.minimum((rng.random(n)[:, None] >= np.array([0.25, 0.75])).sum(axis=1), 2)
    k = np.where(length == 0, 1,
                 np.where(length == 1, 1 + (rng.random(n) < 0.45),
                          2 + (rng.random(n) < 0.45)))
    propensity = theme_propensity(r, rows, incidents)
    scores = np.log(propensity) + rng.gumbel(size=propensity.shape)
    top = np.argpartition(-scores, 3, axis=1)[:, :3]
    top_scores = np.take_along_axis(scores, top, axis=1)
    themes = np.take_along_axis(top, np.argsort(-top_scores, axis=1), axis=1)
    mention = np.arange(3)[None, :] < k[:, None]

    # sentiment per mention: what the theme is about, else the overall mood
    noisy = latent[:, None] + rng.normal(0.0, 1.0, (n, 3))
    sent = np.where(noisy >= 8.0, POSITIVE, np.where(noisy < 6.5, NEGATIVE, NEUTRAL))
    resolved = r["resolved"][rows][:, None]
    is_theme = {name: themes == THEME[name] for name in ph.THEME_NAMES}
    sent = np.where(is_theme["resolution"] & (resolved == 1), POSITIVE, sent)
    sent = np.where(is_theme["resolution"] & (resolved == 0), NEGATIVE, sent)
    skill = r["skill"][rows]
    staff_mood = (np.nan_to_num(skill)[:, None] + 0.35 * (latent[:, None] - 7.5)
                  + rng.normal(0.0, 0.6, (n, 3)))
    staff = (is_theme["staff_attitude"] | is_theme["staff_knowledge"]) & ~np.isnan(skill)[:, None]
    sent = np.where(staff, np.where(staff_mood > 0.2, POSITIVE,
                                    np.where(staff_mood < -0.5, NEGATIVE, NEUTRAL)), sent)
    slow = (r["handle_s"][rows] > 900) | r["repeat"][rows]
    sent = np.where(is_theme["wait_time"] & slow[:, None], NEGATIVE, sent)
    chased = (r["reason"][rows] == m.RS["order_status"])[:, None]
    sent = np.where(is_theme["delivery_delay"] & chased & (rng.random((n, 3)) < 0.85), NEGATIVE,
                    sent)
    incident = r["incident"][rows]
    for j, spec in enumerate(incidents):
        sent = np.where((themes == THEME[spec.theme]) & (incident == j)[:, None], NEGATIVE, sent)
    short = length == 0
    sent[short, 0] = overall[short]

    # choose phrasings
    parts: dict[str, np.ndarray] = {}
    for j in range(3):
        key = themes[:, j]
        present = mention[:, j]
        index = _pick(rng, pool.sentence.reshape(-1, 2), key * 3 + sent[:, j], present & ~short)
        if j > 0:
            turn = ((sent[:, j] == NEGATIVE) & (sent[:, j - 1] == POSITIVE)) | (
                (sent[:, j] == POSITIVE) & (sent[:, j - 1] == NEGATIVE))
            index = np.where(turn & (index >= 0) & (rng.random(n) < 0.7),
                             index + pool.but_offset, index)
        if j == 0:
            short_index = _pick(rng, pool.short.reshape(-1, 2), key * 3 + sent[:, 0], short)
            index = np.where(short, short_index, index)
        parts[f"mention{j}"] = index
    mixed = (mention & (sent != overall[:, None])).any(axis=1)
    social = r["kind"][rows] == SOCIAL
    longish = ~short
    parts["opener"] = _pick(rng, pool.opener, overall,
                            longish & (rng.random(n) < np.where(length == 2, 0.7, 0.4)))
    parts["filler"] = _pick(rng, np.array([pool.filler]), np.zeros(n, np.int64),
                            (length == 2) & (rng.random(n) < 0.5))
    parts["closer"] = _pick(rng, pool.closer, overall,
                            longish & (mixed | (rng.random(n) < np.where(length == 2, 0.7, 0.35))))
    parts["pii"] = _pick(rng, np.array([pool.pii]), np.zeros(n, np.int64),
                         longish & ~social & (rng.random(n) < 0.01))
    parts["prefix"] = _pick(rng, np.array([pool.prefix]), np.zeros(n, np.int64),
                            social & (rng.random(n) < 0.6))
    parts["hashtag"] = _pick(rng, pool.hashtag, overall, social & (rng.random(n) < 0.3))
    parts["emoji"] = _pick(rng, pool.emoji, overall,
                           rng.random(n) < np.where(social, 0.25, 0.07))
    order = ("prefix", "opener", "filler", "mention0", "mention1", "mention2", "pii", "closer",
             "hashtag", "emoji")
    columns = [pool.texts.take(pa.array(parts[name], mask=parts[name] < 0)) for name in order]
    text = pc.binary_join_element_wise(*columns, " ", null_handling="skip")
    # a few comments all in lower case, a few angry ones in capitals: transformed apart,
    # then put back in place with one take
    lower = np.flatnonzero(rng.random(n) < 0.04)
    upper = np.flatnonzero((overall == NEGATIVE) & (rng.random(n) < 0.025))
    upper = np.setdiff1d(upper, lower)
    cased = pa.concat_arrays([text, pc.utf8_lower(text.take(pa.array(lower))),
                              pc.utf8_upper(text.take(pa.array(upper)))])
    source = np.arange(n, dtype=np.int64)
    source[lower] = n + np.arange(len(lower))
    source[upper] = n + len(lower) + np.arange(len(upper))

    position = np.full(len(r["cust"]), -1, dtype=np.int64)
    position[rows] = source
    comment = cased.take(pa.array(position, mask=position < 0))
    used = np.stack([parts[name] for name in order], axis=1)
    typo = (pool.typo[np.maximum(used, 0)] & (used >= 0)).any(axis=1)
    truth: Batch = {
        "rows": rows, "themes": themes, "k": k, "mention_sentiment": sent,
        "sentiment": overall, "length": length, "typo": typo, "pii": parts["pii"] >= 0,
    }
    return comment, truth


def comment_truth_table(truth: Batch, response_ids: pa.Array) -> pa.Table:
    """The planted content of each comment: themes, sentiment per theme, overall sentiment."""
    k = truth["k"]
    offsets = np.concatenate([[0], np.cumsum(k)]).astype(np.int32)
    mask = np.arange(3)[None, :] < k[:, None]
    theme_values = labels(truth["themes"][mask], ph.THEME_NAMES)
    sentiment_values = labels(truth["mention_sentiment"][mask], SENTIMENTS)
    return pa.table({
        "response_id": response_ids.take(pa.array(truth["rows"])),
        "themes": pa.ListArray.from_arrays(pa.array(offsets), theme_values),
        "theme_sentiments": pa.ListArray.from_arrays(pa.array(offsets), sentiment_values),
        "sentiment": labels(truth["sentiment"], SENTIMENTS),
        "length": labels(truth["length"], LENGTHS),
        "typo": pa.array(truth["typo"]),
        "pii": pa.array(truth["pii"]),
    })
