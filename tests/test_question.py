"""qa.question.normalize_question: hand-written inputs and the exact question each one becomes (pure)."""

from __future__ import annotations

import pytest

from qa.errors import QuestionError
from qa.question import normalize_question

LIMIT = 1000


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("Who is John Kirby?", "Who is John Kirby?"),  # a clean question is returned as it is
        ("  Who is\tJohn   Kirby?\n", "Who is John Kirby?"),  # white space collapsed, ends trimmed
        ("Who\r\nis\u2028John\u00a0Kirby\u3000?", "Who is John Kirby ?"),  # every kind of white space
        ("Who is Aleksandar Vuc\u030cic\u0301?", "Who is Aleksandar Vučić?"),  # NFC: combining marks composed
        ("Who\x00 is\x1b[31m Kirby\x7f?", "Who is[31m Kirby?"),  # control characters removed
        ("Who is\u200b Kirby\ufeff?", "Who is Kirby?"),  # zero-width space and byte-order mark removed
        ("Who is \u202eybriK\u202c?", "Who is ybriK?"),  # bidirectional overrides removed
        ("Is \U0001f468\u200d\U0001f692 (\u0645\u06cc\u200c\u062e\u0648\u0627\u0645) here?",
         "Is \U0001f468\u200d\U0001f692 (\u0645\u06cc\u200c\u062e\u0648\u0627\u0645) here?"),  # joiners kept: emoji, Persian
        ("Who is \ud800Kirby?", "Who is \ufffdKirby?"),  # a lone surrogate is replaced
        ("Who is \ud83d\ude00?", "Who is \U0001f600?"),  # a surrogate pair becomes its character
        (b"Caf\xc3\xa9 or \xff?", "Café or \ufffd?"),  # bytes: UTF-8, invalid bytes replaced
    ],
)
def test_normalizes(raw, clean):
    assert normalize_question(raw, LIMIT) == clean


@pytest.mark.parametrize("raw", [None, "", "   ", "\n\t\u00a0", "\x00\u200b\ufeff", b""])
def test_empty_after_cleaning_is_one_clear_sentence(raw):
    with pytest.raises(QuestionError) as error:
        normalize_question(raw, LIMIT)
    assert str(error.value) == "The question is empty: type a question about the documents."


def test_limit_counts_the_cleaned_characters():
    assert normalize_question("x" * 10 + " " * 50, max_chars=10) == "x" * 10  # trailing spaces do not count
    with pytest.raises(QuestionError) as error:
        normalize_question("x" * 20_000, max_chars=LIMIT)
    assert str(error.value) == "The question is 20,000 characters long; the limit is 1,000. Ask a shorter question."


def test_idempotent():
    raw = "  Vuc\u030cic\u0301\x00 said\u200b \ud800 what?\n"
    once = normalize_question(raw, LIMIT)
    assert normalize_question(once, LIMIT) == once
