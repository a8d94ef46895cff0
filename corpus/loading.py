"""Files and uploads to cleaned ``Document``s: .txt, .md, .html/.htm and .pdf.

Cleaning (page furniture, whitespace) happens here, before any offset exists, so ``Document.text``
is final. A document's id is its path relative to the folder that was loaded, extension included
(``reports/q1.pdf``), or its file name when a file is loaded on its own or uploaded (``q1.pdf``);
``Document.source`` is the file's absolute path (an upload's: its name). So ``x.html`` and
``x.txt`` are two documents, and two files of one load that would still share an id are an error
naming both, never a silent replacement.

Every problem a user can cause is a ``LoadError`` (a ``ValueError``) of one sentence saying what to
do: a missing or empty path, a file over ``max_mb`` (``DocumentTooLargeError``, raised before the
file is read), two files with one id (``DuplicateDocumentError``), and a file or folder that cannot
be read. An unreadable file fails the whole load, naming it, rather than being skipped: an index
silently missing part of a folder answers "the documents don't say" where they do. Arguments of
the wrong type are a ``TypeError``.

    >>> [d.doc_id for d in load_path("corpus/data")]   # a folder: recursive, sorted, deterministic
    ['serbian-military-buildup-kosovo-border.txt']
    >>> doc = load_bytes("notes.md", b"# Notes\\n\\nKirby spoke.")
    >>> doc.doc_id, doc.title
    ('notes.md', 'Notes')
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from corpus.document import Document
from corpus.formats import EXTRACTORS, SUPPORTED_EXTENSIONS, LoadError

__all__ = [
    "DEFAULT_MAX_MB", "SUPPORTED_EXTENSIONS", "DocumentTooLargeError", "DuplicateDocumentError", "LoadError",
    "doc_id_for", "load_bytes", "load_path", "load_paths",
]  # fmt: skip

_SUPPORTED_TEXT = ", ".join(SUPPORTED_EXTENSIONS)
# Generous: 20 MB of prose is about 33,000 chunks, an hour or more of embedding on two busy cores.
DEFAULT_MAX_MB = 20.0
_MB = 1_000_000
_PROGRESS_MIN_FILES = 20  # fewer files load too fast for a progress bar to help

_ID_UNSAFE = re.compile(r"[^\w.\-/]+")  # "#" in particular: chunk ids are f"{doc_id}#{i}"


class DocumentTooLargeError(LoadError):
    """A file over the size limit, refused before it is read (``name``, ``size_mb``, ``max_mb``)."""

    def __init__(self, name: str, size_bytes: int, max_mb: float) -> None:
        self.name, self.size_mb, self.max_mb = name, size_bytes / _MB, max_mb
        super().__init__(
            f"{name} is {self.size_mb:.1f} MB, over the {max_mb:g} MB limit for one document: split it into "
            f"smaller files, or raise the limit (max_mb) if a long ingest is acceptable."
        )


class DuplicateDocumentError(LoadError):
    """Two files of one load that would get the same document id (``doc_id``, ``first``, ``second``)."""

    def __init__(self, doc_id: str, first: str, second: str, hint: str = "") -> None:
        self.doc_id, self.first, self.second = doc_id, first, second
        super().__init__(f"{first} and {second} would both be document {doc_id!r}: rename one of them{hint}.")


def doc_id_for(name: str) -> str:
    """A stable id from a (relative) file name: extension kept, unsafe characters replaced."""
    path = name.replace("\\", "/")
    return _ID_UNSAFE.sub("-", path).strip("-./") or "document"


def _document(name: str, data: bytes, doc_id: str, source: str) -> Document:
    ext = PurePosixPath(name).suffix.lower()
    extractor = EXTRACTORS.get(ext)
    if extractor is None:
        raise LoadError(f"{name} has an unsupported extension ('{ext}'): supported are {_SUPPORTED_TEXT}.")
    text, title = extractor(name, data)
    if not text:
        raise LoadError(f"{name} is empty: it has no text once page furniture is removed.")
    return Document(doc_id=doc_id, title=title or PurePosixPath(name).name, text=text, source=source)


def _check_max_mb(max_mb: float) -> None:
    if not isinstance(max_mb, (int, float)) or isinstance(max_mb, bool):
        raise TypeError(f"max_mb must be a number of megabytes, not {type(max_mb).__name__}.")
    if not max_mb > 0:
        raise ValueError(f"max_mb must be a positive number of megabytes, not {max_mb!r}.")


def load_bytes(name: str, data: bytes, max_mb: float = DEFAULT_MAX_MB) -> Document:
    """A document from an upload: ``name`` (its file name) picks the format and is the doc_id.

    Raises:
        TypeError: ``name`` is not a str or ``data`` is not bytes.
        LoadError: the name, format, size or contents cannot make a document (the message says why).
    """
    if not isinstance(name, str):
        raise TypeError(f"load_bytes expects the file name as a str, not {type(name).__name__}.")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_bytes expects the file's contents as bytes, not {type(data).__name__}.")
    _check_max_mb(max_mb)
    base = name.replace("\\", "/").rsplit("/", 1)[-1]  # browsers may send "C:\\fakepath\\x.txt"
    if not base.strip() or base in (".", ".."):
        raise LoadError("An upload needs a file name, such as notes.txt: its extension picks the format.")
    if len(data) > max_mb * _MB:
        raise DocumentTooLargeError(base, len(data), max_mb)
    return _document(base, bytes(data), doc_id_for(base), base)


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _check_size(file: Path, shown: str, max_mb: float) -> None:
    """Refuse a file over ``max_mb`` before anything is read; any OS error becomes a one-line LoadError."""
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise LoadError(f"Cannot read {shown}: {_reason(exc)}; check its permissions or leave it out.") from None
    if size > max_mb * _MB:
        raise DocumentTooLargeError(shown, size, max_mb)


def _read(file: Path, shown: str) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise LoadError(f"Cannot read {shown}: {_reason(exc)}; check its permissions or leave it out.") from None


def _each(files: list, enabled: bool) -> Iterable:
    """``files``, through a tqdm bar when asked for and there are enough of them to wait for."""
    if not enabled or len(files) < _PROGRESS_MIN_FILES:
        return files
    from tqdm import tqdm  # lazily: progress is optional

    return tqdm(files, desc="Loading files", unit="file", leave=False)


def _supported_files(root: Path) -> list[Path]:
    """Supported files under ``root``, sorted by relative path; hidden entries and linked folders skipped.

    Linked folders are not followed, so a link loop cannot recurse forever; linked files are read,
    and anything that is not a regular file (a broken link, a pipe) is left out.
    """
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif Path(entry.name).suffix.lower() in SUPPORTED_EXTENSIONS and entry.is_file():
                        found.append(Path(entry.path))
        except OSError as exc:
            raise LoadError(
                f"Cannot read the folder {folder}: {_reason(exc)}; check its permissions or leave it out."
            ) from None
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _as_path(path: str | os.PathLike) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected a file or folder path as a str or Path, not {type(path).__name__}.")
    if not str(path).strip():
        raise LoadError("An empty path was given: name a file or folder to load.")
    return Path(path)


def load_path(path: str | os.PathLike, max_mb: float = DEFAULT_MAX_MB, progress: bool = False, *,
              allow_empty: bool = False) -> list[Document]:  # fmt: skip
    """Documents from a file, or from every supported file under a folder (hidden ones skipped).

    Args:
        path: a file, or a folder (loaded recursively, in sorted order).
        max_mb: files larger than this are refused before they are read.
        progress: show a progress bar (tqdm, on stderr) over a folder of many files.
        allow_empty: a folder without loadable files gives no documents instead of an error
            (``ingest --prune`` of a folder whose files were all deleted).

    Returns:
        Documents whose ids are paths relative to ``path`` (a single file: its name), with extension.

    Raises:
        LoadError: nothing to load there, a file or folder that cannot be read or is too large, an
            unsupported or broken file, or two files that would get the same id.
    """
    root = _as_path(path)
    _check_max_mb(max_mb)
    try:
        is_file, is_dir = root.is_file(), root.is_dir()
    except OSError as exc:  # e.g. a folder on the way that we may not enter
        raise LoadError(f"Cannot read {root}: {_reason(exc)}; check its permissions.") from None
    if is_file:
        _check_size(root, str(root), max_mb)
        return [_document(root.name, _read(root, str(root)), doc_id_for(root.name), os.path.abspath(root))]
    if not is_dir:
        if root.exists() or root.is_symlink():
            raise LoadError(f"{root} is neither a regular file nor a folder (a broken link or a pipe?): check the path.")
        raise LoadError(f"There is no file or folder at {root}: check the path.")
    files = _supported_files(root)
    if not files and not allow_empty:
        raise LoadError(f"No loadable files in {root}: supported extensions are {_SUPPORTED_TEXT}.")
    # Ids and sizes first: a collision or a huge file is reported before minutes of reading.
    named: dict[str, tuple[Path, str]] = {}
    for file in files:
        rel = file.relative_to(root).as_posix()
        doc_id = doc_id_for(rel)
        if doc_id in named:  # "a b.txt" next to "a-b.txt": both sanitise to "a-b.txt"
            raise DuplicateDocumentError(doc_id, str(named[doc_id][0]), str(file))
        _check_size(file, str(file), max_mb)
        named[doc_id] = (file, rel)
    return [
        _document(rel, _read(file, str(file)), doc_id, os.path.abspath(file))
        for doc_id, (file, rel) in _each(list(named.items()), progress)
    ]


def load_paths(
    paths: Iterable[str | os.PathLike], max_mb: float = DEFAULT_MAX_MB, progress: bool = False, *,
    allow_empty: bool = False,
) -> list[Document]:
    """Documents from several files and folders as one load (what ``ingest a/x.txt b/`` means).

    A file reached twice (a folder and a file in it) is loaded once, the first time. Two different
    files that would get the same id, from one path or from two, are a ``DuplicateDocumentError``.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError("load_paths expects a list of paths; for a single path use load_path.")
    docs: list[Document] = []
    sources: dict[str, str] = {}  # doc_id -> source
    seen: set[str] = set()  # real paths already loaded
    for path in paths:
        for doc in load_path(path, max_mb, progress, allow_empty=allow_empty):
            real = os.path.realpath(doc.source)
            if real in seen:
                continue
            if doc.doc_id in sources:
                hint = ", or load a folder that holds both (ids are paths relative to the folder loaded)"
                raise DuplicateDocumentError(doc.doc_id, sources[doc.doc_id], doc.source, hint)
            seen.add(real)
            sources[doc.doc_id] = doc.source
            docs.append(doc)
    return docs
