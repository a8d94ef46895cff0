"""Errors a user can meet, each one clear sentence saying what to do."""

from __future__ import annotations


class QuestionError(ValueError):
    """The question cannot be asked as written (empty, or far too long); raised by ``qa.question``."""


class SettingError(ValueError):
    """A setting (e.g. --precision, QA_READER_PRECISION) has a value the product does not know."""
