"""Unanswerable look-alikes of a question, for teaching the reader to abstain on its own paragraph.

Pairing a question with another paragraph (``train_data.make_negative``) teaches "this passage
is about something else". It does not teach the harder case users hit and SQuAD v2 measures:
the passage is about the right thing, a plausible span is there, but the question asks about a
detail the passage does not state. SQuAD v2's authors list how such questions are written
(Rajpurkar et al., 2018, table 3): entity swap, number swap, negation, antonym. Each rule below
makes one of those edits and keeps the result only when the passage cannot support it, i.e. the
new words do not occur in the passage:

    swap_entity("When did Beyonce leave Destiny's Child?", ..., pool=["Madonna", ...])
        -> "When did Madonna leave Destiny's Child?"   (Madonna is not in the passage)
    swap_number("... in 2005?") -> "... in 1987?"      negate("What was the ...") -> "What was not the ..."
    antonym("... the largest ...") -> "... the smallest ..." (only if "smallest" is not in the passage)

Rules are tried in a seeded random order and the first that applies wins, so the same seed
gives the same training set.
"""

from __future__ import annotations

import random
import re

_ENTITY = re.compile(r"(?<![\w'’])[A-Z][\w'’.-]*(?:\s+(?:of\s+|the\s+|de\s+|and\s+)?[A-Z][\w'’.-]*)*")
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w,]\d)|(?<![\w.,])\d+(?:\.\d+)?(?![\w.]\d)")
_AUX = re.compile(r"^((?:what|which|who|whom|whose|when|where|why|how(?:\s+\w+)?)(?:\s+\w+)??\s+"
                  r"(?:is|was|are|were))\s", re.I)
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|without)\b|n't\b", re.I)

# Pairs where one word in a question turns into its opposite; both directions are used.
_ANTONYMS = dict(
    pair
    for a, b in [
        ("largest", "smallest"), ("biggest", "smallest"), ("first", "last"), ("before", "after"),
        ("most", "least"), ("highest", "lowest"), ("increase", "decrease"), ("increased", "decreased"),
        ("north", "south"), ("east", "west"), ("northern", "southern"), ("eastern", "western"),
        ("earliest", "latest"), ("oldest", "youngest"), ("older", "younger"), ("more", "fewer"),
        ("maximum", "minimum"), ("won", "lost"), ("win", "lose"), ("began", "ended"), ("start", "end"),
        ("inside", "outside"), ("above", "below"), ("public", "private"), ("major", "minor"),
        ("longest", "shortest"), ("best", "worst"), ("strongest", "weakest"), ("higher", "lower"),
        ("larger", "smaller"), ("early", "late"), ("rich", "poor"), ("modern", "ancient"),
        ("success", "failure"), ("allowed", "banned"), ("supported", "opposed"), ("accepted", "rejected"),
        ("male", "female"), ("internal", "external"), ("minimum", "maximum"), ("cheapest", "most expensive"),
    ]
    for pair in ((a, b), (b, a))
)


def _absent(words: str, passage: str) -> bool:
    return words.lower() not in passage.lower()


def swap_entity(question: str, passage: str, rng: random.Random, pool: list[str]) -> str | None:
    """Replace a name the question shares with the passage by a name from elsewhere."""
    names = [m for m in _ENTITY.finditer(question) if m.start() > 0 and m.group() in passage]
    if not names or not pool:
        return None
    m = rng.choice(names)
    for _ in range(10):
        other = rng.choice(pool)
        if other != m.group() and _absent(other, passage) and _absent(other, question):
            return question[: m.start()] + other + question[m.end() :]
    return None


def swap_number(question: str, passage: str, rng: random.Random) -> str | None:
    """Shift a number the question shares with the passage to one the passage never mentions."""
    nums = [m for m in _NUMBER.finditer(question) if m.group() in passage]
    if not nums:
        return None
    m = rng.choice(nums)
    value = float(m.group().replace(",", ""))
    is_year = m.group().isdigit() and 1000 <= value <= 2100
    for _ in range(10):
        if is_year:
            new = str(int(value) + rng.choice([-1, 1]) * rng.randint(2, 40))
        elif m.group().replace(",", "").isdigit():
            new = f"{max(2, round(value * rng.choice([0.5, 2, 3, 1.5]) + rng.randint(1, 9))):,}"
        else:
            new = f"{value * rng.choice([0.5, 2, 3]):g}"
        if _absent(new, passage) and _absent(new.replace(",", ""), passage):
            return question[: m.start()] + new + question[m.end() :]
    return None


def negate(question: str, passage: str, rng: random.Random) -> str | None:
    """"What was the ..." -> "What was not the ...", when the passage has no negation to match it."""
    m = _AUX.match(question)
    if not m or _NEGATION.search(passage) or _NEGATION.search(question):
        return None
    return question[: m.end(1)] + " not" + question[m.end(1) :]


def antonym(question: str, passage: str, rng: random.Random) -> str | None:
    """Turn one word of the question into its opposite, when the passage never uses the opposite."""
    words = [m for m in re.finditer(r"[A-Za-z]+", question) if m.group().lower() in _ANTONYMS]
    rng.shuffle(words)
    for m in words:
        opposite = _ANTONYMS[m.group().lower()]
        stem = opposite[: max(3, len(opposite) - 2)]  # "lose" is unsafe if "lost" is there
        if re.search(rf"\b{re.escape(stem)}", passage, re.I):
            continue
        if m.group()[0].isupper():
            opposite = opposite[0].upper() + opposite[1:]
        return question[: m.start()] + opposite + question[m.end() :]
    return None


def perturb(question: str, passage: str, rng: random.Random, entity_pool: list[str]) -> str | None:
    """One unanswerable variant of ``question`` for ``passage``, or None when no rule applies safely."""
    rules = [
        lambda: swap_entity(question, passage, rng, entity_pool),
        lambda: swap_number(question, passage, rng),
        lambda: negate(question, passage, rng),
        lambda: antonym(question, passage, rng),
    ]
    rng.shuffle(rules)
    for rule in rules:
        new = rule()
        if new and new != question:
            return new
    return None


def entity_pool(questions: list[str]) -> list[str]:
    """Names as they appear inside questions (not the capitalised first word), for ``swap_entity``."""
    return sorted({m.group() for q in questions for m in _ENTITY.finditer(q) if m.start() > 0})
