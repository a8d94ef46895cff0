"""Page furniture removal and whitespace normalisation, applied once before any offset is taken.

Scraped pages carry navigation lines ("top of page", "Skip to main content", "Back to top") that
are not part of the article: left in, they merge with headlines, get retrieved and even read as
answers. Cleaning happens in the loader, so ``Document.text`` *is* the cleaned text and every
offset refers to it; nothing rewrites a document afterwards.

    >>> clean_text("top of page\\r\\n\\r\\nKirby  spoke.\\n\\n\\n\\nbottom of page")
    'Kirby spoke.'
"""

from __future__ import annotations

import re
import unicodedata

# Whole lines that are navigation, never content. Generic web patterns, matched case-insensitively
# on a line of their own (arrows, carets and brackets around them allowed): a sentence that merely
# mentions "the top of the page" is left alone.
_FURNITURE_PHRASES = (
    r"(?:back|return|go|jump|scroll)\s+to\s+(?:the\s+)?top(?:\s+of\s+(?:the\s+)?page)?",
    r"(?:top|bottom|end)\s+of\s+(?:the\s+)?page",
    r"skip\s+(?:to\s+)?(?:the\s+)?(?:main\s+)?(?:content|navigation|menu|search)",
    r"skip\s+navigation",
    r"jump\s+to\s+(?:the\s+)?(?:main\s+)?(?:content|navigation)",
    r"toggle\s+(?:navigation|menu)",
    r"(?:open|close)\s+(?:the\s+)?(?:menu|navigation)",
    r"print\s+(?:this\s+)?(?:page|article)",
    r"share\s+(?:this\s+)?(?:page|article|story|post)",
    r"advertisement",
)
_DECORATION = r"[\s\W_]*"  # "↑ Back to top", "[Skip to content]", "^ top of page ^"
_FURNITURE = re.compile(
    rf"^{_DECORATION}(?:{'|'.join(_FURNITURE_PHRASES)}){_DECORATION}$", re.IGNORECASE
)

# Characters that render as nothing or as a plain space; kept, they break word matching and
# make the offsets shown to users point at invisible text.
# (Whole-text regular expressions, not per-line or str.translate work: a 52 MB file cleans in seconds.)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]+")
# Any whitespace except newline (tabs, NBSP, thin spaces…) that is not already one plain space.
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_LINE_EDGES = re.compile(r" \n ?|\n ")  # after _SPACES, a line's edges hold at most one space
_BLANK_RUNS = re.compile(r"\n{3,}")


def is_furniture(line: str) -> bool:
    """Whether a single line is page furniture (navigation text) rather than content."""
    return bool(line.strip()) and _FURNITURE.match(line) is not None


def normalize_whitespace(text: str) -> str:
    """NFC text with ``\\n`` line ends, single spaces, trimmed lines and at most one blank line in a row.

    NFC first, so that "Vučić" typed with a combining caron and a precomposed one are the same
    string for search and for offsets.
    """
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _LINE_EDGES.sub("\n", _SPACES.sub(" ", text))  # single spaces, trimmed lines
    return _BLANK_RUNS.sub("\n\n", text).strip()


def remove_furniture(text: str) -> str:
    """The text without furniture lines; line structure is otherwise kept."""
    return "\n".join(line for line in text.split("\n") if not is_furniture(line))


def clean_text(text: str) -> str:
    """What a loader stores as ``Document.text``: furniture removed, whitespace normalised."""
    return normalize_whitespace(remove_furniture(normalize_whitespace(text)))
