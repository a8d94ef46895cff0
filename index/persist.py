"""How an index folder is laid out and written: manifest, JSONL files, vectors, atomic swaps.

Kept apart from ``index.store`` (which decides *what* the index holds) so that the
crash-safety rules live in one short file: every save writes a complete new folder
beside the old one and swaps it in with renames; an interrupted swap is undone on open.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from corpus.document import Chunk, Document
from index.dense import DenseIndex

FORMAT_VERSION = 1
MODES = ("dense", "bm25", "hybrid")
MANIFEST, DOCUMENTS, CHUNKS, VECTORS = "manifest.json", "documents.jsonl", "chunks.jsonl", "vectors.faiss"

SentenceSpan = tuple[int, int]  # [start, end) of one sentence in its document


class StoreError(RuntimeError):
    """An index problem a user can meet; the message says what to do."""


class IndexMissingError(StoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"No index at {path}: run `python -m qa ingest PATH` to build one.")


class IndexCorruptError(StoreError):
    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"The index at {path} is damaged ({reason}): rebuild it with `python -m qa ingest PATH --rebuild`."
        )


class DocumentNotFoundError(StoreError):
    def __init__(self, path: Path, doc_id: str) -> None:
        super().__init__(f"There is no document '{doc_id}' in the index at {path}: list them with `stats()`.")


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int
    chunks_embedded: int


@dataclass(frozen=True)
class DocStats:
    doc_id: str
    title: str
    chars: int
    chunks: int


@dataclass(frozen=True)
class IndexSettings:
    """What an index was built with; changing any of these means rebuilding it."""

    embed_model: str
    dimension: int
    chunk_words: int
    overlap_sentences: int


@dataclass(frozen=True, eq=False)
class _State:
    """One consistent version of the contents; replaced whole, never edited in place."""

    documents: dict[str, Document]
    sentences: dict[str, list[SentenceSpan]]
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray  # (len(chunks), dimension) float32
    created: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _manifest(settings: IndexSettings, state: _State, counts: dict[str, int]) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "embed_model": settings.embed_model,
        "dimension": settings.dimension,
        "created": state.created,
        "updated": _now(),
        "chunking": {"chunk_words": settings.chunk_words, "overlap_sentences": settings.overlap_sentences},
        "documents": [
            {"doc_id": d.doc_id, "title": d.title, "source": d.source, "content_hash": d.content_hash,
             "chars": len(d.text), "chunks": counts.get(d.doc_id, 0)}
            for d in state.documents.values()
        ],  # fmt: skip
        "chunk_count": len(state.chunks),
    }


def _chunk_counts(chunks: Sequence[Chunk]) -> dict[str, int]:
    return Counter(chunk.doc_id for chunk in chunks)


def _swap_in(tmp: Path, path: Path) -> None:
    """Replace ``path`` by the complete folder ``tmp``: two renames, the old copy kept until done."""
    if not path.exists():
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex}")
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted_swap(path: Path) -> None:
    """If a crash fell between the two renames of ``_swap_in``, put the previous index back."""
    if path.exists() or not path.parent.is_dir():
        return
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.replace(olds[-1], path)


def _looks_like_index(path: Path) -> bool:
    return any((path / name).exists() for name in (MANIFEST, DOCUMENTS, CHUNKS, VECTORS))


def _write(path: Path, settings: IndexSettings, state: _State) -> DenseIndex:
    # Never swap away something that is not an index: the path may be a typo for the user's files.
    if path.exists() and not (path.is_dir() and (_looks_like_index(path) or not any(path.iterdir()))):
        raise StoreError(f"{path} exists and holds no index: choose an empty or new folder for the index.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        dense = DenseIndex.build(state.vectors, settings.dimension)
        dense.save(tmp / VECTORS)
        _fsync(tmp / VECTORS)
        docs = state.documents.values()
        _write_text(tmp / DOCUMENTS, _jsonl({**asdict(d), "sentences": state.sentences[d.doc_id]} for d in docs))
        _write_text(tmp / CHUNKS, _jsonl(asdict(c) for c in state.chunks))
        manifest = _manifest(settings, state, _chunk_counts(state.chunks))
        _write_text(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        _fsync(tmp)
        _swap_in(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dense


def _read(path: Path) -> tuple[IndexSettings, _State, DenseIndex]:
    """Load and cross-check every file; any inconsistency raises ``ValueError`` naming it."""
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format version {manifest.get('format_version')!r}, this program reads {FORMAT_VERSION}")
    chunking = manifest["chunking"]
    settings = IndexSettings(
        str(manifest["embed_model"]), int(manifest["dimension"]),
        int(chunking["chunk_words"]), int(chunking["overlap_sentences"]),
    )  # fmt: skip
    documents, sentences = {}, {}
    for rec in _read_jsonl(path / DOCUMENTS):
        doc = Document(rec["doc_id"], rec["title"], rec["text"], rec["source"])
        documents[doc.doc_id] = doc
        sentences[doc.doc_id] = [(int(s), int(e)) for s, e in rec["sentences"]]
    listed = {d["doc_id"]: d for d in manifest["documents"]}
    if listed.keys() != documents.keys():
        raise ValueError(f"{DOCUMENTS} does not list the documents of {MANIFEST}")
    chunks = tuple(Chunk(**rec) for rec in _read_jsonl(path / CHUNKS))
    counts = _chunk_counts(chunks)
    for doc_id, doc in documents.items():
        if doc.content_hash != listed[doc_id]["content_hash"] or counts.get(doc_id, 0) != listed[doc_id]["chunks"]:
            raise ValueError(f"document {doc_id!r} does not match {MANIFEST}")
    if any(c.doc_id not in documents or documents[c.doc_id].text[c.start : c.end] != c.text for c in chunks):
        raise ValueError(f"{CHUNKS} does not match the document texts")
    dense = DenseIndex.load(path / VECTORS)
    if dense.dimension != settings.dimension or len(dense) != len(chunks):
        raise ValueError(f"{VECTORS} holds {len(dense)} vectors of size {dense.dimension} for {len(chunks)} chunks")
    return settings, _State(documents, sentences, chunks, dense.vectors(), str(manifest["created"])), dense
