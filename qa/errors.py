"""Errors a user can meet, each one clear sentence saying what to do."""

from __future__ import annotations


class QuestionError(ValueError):
    """The question cannot be asked as written (empty, or far too long)."""


class SettingError(ValueError):
    """A setting (e.g. QA_READER_PRECISION) has a value the product does not know."""


def check_question(question: str | None, max_chars: int) -> str:
    """The stripped question, or a QuestionError that says how to fix it."""
    text = (question or "").strip()
    if not text:
        raise QuestionError("The question is empty: type a question about the documents.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. Ask a shorter question."
        )
    return text
