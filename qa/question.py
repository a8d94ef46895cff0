"""The one check a question passes: raw user text in, a clean question or a QuestionError out (pure).

Every entry point (``python -m qa``, the chat in ``ui``, ``python -m eval``) calls
``normalize_question`` once, where the text comes in and before any model loads;
the code behind it (``qa.pipeline``, ``qa.followup``, ``qa.reader``) trusts the result.

    >>> normalize_question("  Who is\\tthe NSC\\u00a0spokesperson?\\n", max_chars=1000)
    'Who is the NSC spokesperson?'
    >>> normalize_question("   ", max_chars=1000)
    Traceback (most recent call last):
    qa.errors.QuestionError: The question is empty: type a question about the documents.
"""

from __future__ import annotations

import unicodedata

from qa.errors import QuestionError

REPLACEMENT = "\ufffd"
# Format characters that change how some scripts and emoji are drawn; every other one is invisible noise.
KEPT_FORMAT = frozenset("\u200c\u200d")  # zero-width non-joiner, zero-width joiner


def normalize_question(raw: str | bytes | None, max_chars: int) -> str:
    """The question as the system reads it, or a QuestionError in one sentence that says what to do.

    Steps, in this order: bytes are decoded as UTF-8 and invalid bytes, like lone surrogates in
    a string, become U+FFFD; the text is put in Unicode NFC (so "é" typed two ways is one
    string); white space of any kind, line breaks included, becomes one space and the ends are
    trimmed; other control and invisible format characters (NUL, escape, zero-width space,
    byte-order mark, bidirectional overrides) are removed. The length limit is checked last, in
    characters of the cleaned text.

    Args:
        raw: what the user typed or a file held; ``None`` counts as empty.
        max_chars: the longest question accepted (``Config.max_question_chars``).
    Returns:
        The cleaned question, never empty.
    """
    text = _valid_unicode(raw)
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or not _invisible(ch))
    text = " ".join(text.split())
    if not text:
        raise QuestionError("The question is empty: type a question about the documents.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. Ask a shorter question."
        )
    return text


def _valid_unicode(raw: str | bytes | None) -> str:
    """A string of valid code points: bad UTF-8 bytes and lone surrogates become U+FFFD."""
    if raw is None:
        return ""
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode("utf-8", errors="replace")
    # A round trip through UTF-16 joins a surrogate pair into its character and replaces a lone half.
    return raw.encode("utf-16-le", errors="surrogatepass").decode("utf-16-le", errors="replace")


def _invisible(ch: str) -> bool:
    """Control (Cc) and format (Cf) characters, except the joiners in KEPT_FORMAT."""
    return unicodedata.category(ch) in ("Cc", "Cf") and ch not in KEPT_FORMAT
