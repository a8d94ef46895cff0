"""Each supported format's bytes to cleaned text and a title (.txt, .md, .html/.htm, .pdf).

Used by ``corpus.loading``, which picks the format by extension and builds the ``Document``.

    >>> EXTRACTORS[".md"]("notes.md", b"# Notes\\n\\nKirby spoke.")
    ('# Notes\\n\\nKirby spoke.', 'Notes')
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from corpus.cleaning import clean_text, normalize_whitespace

SUPPORTED_EXTENSIONS = (".htm", ".html", ".md", ".pdf", ".txt")

# A first line this short, not ending like a sentence, is taken as the document's title.
_TITLE_MAX_CHARS = 150
_TITLE_MAX_WORDS = 20
_SENTENCE_END = re.compile(r"[.,;:]$")

_DROPPED_HTML = ("script", "style", "nav", "noscript", "template", "svg", "head")
_BLOCK_HTML = (
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip


class LoadError(ValueError):
    """A file cannot be turned into a document; the message says why and what to do."""


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # a BOM is an encoding mark, not text
    except UnicodeDecodeError:
        raise LoadError(f"{name} is not UTF-8 text: save it with UTF-8 encoding and try again.") from None


def _title_from_first_line(text: str) -> str | None:
    first = text.split("\n", 1)[0].lstrip("#").strip()  # "# Heading" in Markdown
    if len(first) <= _TITLE_MAX_CHARS and len(first.split()) <= _TITLE_MAX_WORDS:
        if first and not _SENTENCE_END.search(first):
            return first
    return None


def _plain(name: str, data: bytes) -> tuple[str, str | None]:
    text = clean_text(_decode(name, data))
    return text, _title_from_first_line(text)


def _html(name: str, data: bytes) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup, NavigableString  # lazily: only HTML needs it

    soup = BeautifulSoup(_decode(name, data), "html.parser")
    heading = soup.title or soup.find("h1")
    title = normalize_whitespace(heading.get_text(" ")) if heading else ""
    for tag in soup(_DROPPED_HTML):
        tag.decompose()
    # Source line breaks inside a paragraph are layout, not structure; blocks get blank lines.
    for string in soup.find_all(string=True):
        # exact type: comments and the doctype are subclasses that get_text leaves out
        if type(string) is NavigableString and string.find_parent("pre") is None:
            string.replace_with(re.sub(r"\s+", " ", string))
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_BLOCK_HTML):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    return clean_text(soup.get_text()), title or None


def _pdf(name: str, data: bytes) -> tuple[str, str | None]:
    from pypdf import PdfReader  # lazily: only PDFs need it

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = normalize_whitespace(str(meta.title)) if meta is not None and meta.title else ""
    except Exception as exc:  # pypdf raises many types for broken or locked files
        raise LoadError(
            f"{name} could not be read as a PDF ({type(exc).__name__}): check that it is a valid, unlocked PDF."
        ) from exc
    text = clean_text("\n\n".join(pages))
    if not text:
        raise LoadError(f"{name} has no extractable text (it may be a scanned image): run OCR on it first.")
    return text, title or None


EXTRACTORS: dict[str, Callable[[str, bytes], tuple[str, str | None]]] = {
    ".txt": _plain, ".md": _plain, ".htm": _html, ".html": _html, ".pdf": _pdf,
}  # fmt: skip
