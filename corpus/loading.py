"""Files and uploads to cleaned ``Document``s: .txt, .md, .html/.htm and .pdf.

Cleaning (page furniture, whitespace) happens here, before any offset exists, so ``Document.text``
is final. Every problem a user can cause is a ``LoadError`` of one sentence saying what to do.

    >>> docs = load_path("corpus/data")          # a folder: recursive, sorted, deterministic
    >>> doc = load_bytes("notes.md", b"# Notes\\n\\nKirby spoke.")
    >>> doc.doc_id, doc.title
    ('notes', 'Notes')
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from corpus.cleaning import clean_text, normalize_whitespace
from corpus.document import Document

SUPPORTED_EXTENSIONS = (".htm", ".html", ".md", ".pdf", ".txt")
_SUPPORTED_TEXT = ", ".join(SUPPORTED_EXTENSIONS)

# A first line this short, not ending like a sentence, is taken as the document's title.
_TITLE_MAX_CHARS = 150
_TITLE_MAX_WORDS = 20
_SENTENCE_END = re.compile(r"[.,;:]$")
_ID_UNSAFE = re.compile(r"[^\w.\-/]+")  # "#" in particular: chunk ids are f"{doc_id}#{i}"

_DROPPED_HTML = ("script", "style", "nav", "noscript", "template", "svg", "head")
_BLOCK_HTML = (
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip


class LoadError(ValueError):
    """A file cannot be turned into a document; the message says why and what to do."""


def doc_id_for(name: str) -> str:
    """A stable id from a (relative) file name: extension dropped, unsafe characters replaced."""
    stem = str(PurePosixPath(name.replace("\\", "/")).with_suffix(""))
    return _ID_UNSAFE.sub("-", stem).strip("-./") or "document"


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


_EXTRACTORS: dict[str, Callable[[str, bytes], tuple[str, str | None]]] = {
    ".txt": _plain, ".md": _plain, ".htm": _html, ".html": _html, ".pdf": _pdf,
}  # fmt: skip


def _document(name: str, data: bytes, doc_id: str, source: str) -> Document:
    ext = PurePosixPath(name).suffix.lower()
    extractor = _EXTRACTORS.get(ext)
    if extractor is None:
        raise LoadError(f"{name} has an unsupported extension ('{ext}'): supported are {_SUPPORTED_TEXT}.")
    text, title = extractor(name, data)
    if not text:
        raise LoadError(f"{name} is empty: it has no text once page furniture is removed.")
    return Document(doc_id=doc_id, title=title or PurePosixPath(name).name, text=text, source=source)


def load_bytes(name: str, data: bytes) -> Document:
    """A document from an upload: ``name`` (its file name) picks the format and the doc_id."""
    base = PurePosixPath(name.replace("\\", "/")).name  # browsers may send "C:\\fakepath\\x.txt"
    return _document(base, data, doc_id_for(base), base)


def _supported_files(root: Path) -> list[Path]:
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def load_path(path: str | Path) -> list[Document]:
    """Documents from a file, or from every supported file under a folder (hidden ones skipped).

    A folder's doc_ids are the relative paths without extension (made unique if two files
    differ only by extension); a single file's is its name without extension.
    """
    root = Path(path)
    if root.is_file():
        return [_document(root.name, root.read_bytes(), doc_id_for(root.name), str(root))]
    if not root.is_dir():
        raise LoadError(f"There is no file or folder at {root}: check the path.")
    files = _supported_files(root)
    if not files:
        raise LoadError(f"No loadable files in {root}: supported extensions are {_SUPPORTED_TEXT}.")
    docs, seen = [], set()
    for file in files:
        rel = file.relative_to(root).as_posix()
        doc_id = doc_id_for(rel)
        if doc_id in seen:
            doc_id = _ID_UNSAFE.sub("-", rel)  # "a.md" next to "a.txt": keep the extension
        seen.add(doc_id)
        docs.append(_document(rel, file.read_bytes(), doc_id, str(file)))
    return docs
