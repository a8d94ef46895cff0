"""``manifest.json``: the one file that says what the index is; replacing it is how a change commits.

It names the embedding model, the chunking, the dense settings and every segment with the size
and sha256 of each of its files and its deleted rows. Segments are written first, then the
manifest is replaced atomically (write, fsync, rename), so a reader or a crash sees the old
index or the new one. The manifest carries a checksum of its own body, so a damaged manifest is
told apart from a foreign one.

    >>> m = read_manifest(Path(".cache/index/default"))
    >>> m.generation, [s.name for s in m.segments]
    (3, ['seg-000002-5f0c1a9e'])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from index.errors import IndexDamagedError, IndexFormatError
from index.persist import FileRecord, replace_file
from index.settings import DenseSettings

FORMAT_VERSION = 2  # 1: one folder of JSONL files and a flat FAISS index, rewritten whole on each change
MANIFEST = "manifest.json"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SegmentEntry:
    """One immutable segment folder, plus the document rows deleted from it since it was written."""

    name: str
    documents: int
    chunks: int
    tokens: int  # BM25 length of all its chunks, so the average length needs no array read
    dense: dict  # DenseIndex.params(): {"kind": "flat" | "ivf" | "hnsw", ...}
    files: dict[str, FileRecord]
    deleted: str | None = None  # file (in the segment folder) listing deleted document rows
    deleted_documents: int = 0
    deleted_chunks: int = 0
    deleted_tokens: int = 0

    @property
    def live_chunks(self) -> int:
        return self.chunks - self.deleted_chunks

    @property
    def live_documents(self) -> int:
        return self.documents - self.deleted_documents

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.files.values())


@dataclass(frozen=True)
class Manifest:
    generation: int
    embed_model: str
    dimension: int
    chunk_words: int
    overlap_sentences: int
    dense: DenseSettings
    created: str
    updated: str = ""
    segments: tuple[SegmentEntry, ...] = field(default_factory=tuple)

    @property
    def chunks(self) -> int:
        return sum(s.live_chunks for s in self.segments)

    @property
    def documents(self) -> int:
        return sum(s.live_documents for s in self.segments)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.segments)

    def next(self, segments) -> Manifest:
        return replace(self, generation=self.generation + 1, updated=now(), segments=tuple(segments))


def _body(m: Manifest) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "generation": m.generation,
        "embed_model": m.embed_model,
        "dimension": m.dimension,
        "chunking": {"chunk_words": m.chunk_words, "overlap_sentences": m.overlap_sentences},
        "dense": m.dense.to_json(),
        "created": m.created,
        "updated": m.updated,
        "documents": m.documents,
        "chunks": m.chunks,
        "segments": [
            {"name": s.name, "documents": s.documents, "chunks": s.chunks, "tokens": s.tokens, "dense": s.dense,
             "deleted": s.deleted, "deleted_documents": s.deleted_documents, "deleted_chunks": s.deleted_chunks,
             "deleted_tokens": s.deleted_tokens,
             "files": {name: [r.bytes, r.sha256] for name, r in sorted(s.files.items())}}
            for s in m.segments
        ],  # fmt: skip
    }


def _checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def write_manifest(folder: Path, manifest: Manifest, flush_first: Iterable[Path] = ()) -> None:
    """Commit ``manifest``; ``flush_first``: the unflushed files and folders it names, flushed before
    it replaces the old one (``index.persist.replace_file``)."""
    body = _body(manifest)
    text = json.dumps({**body, "checksum": _checksum(body)}, ensure_ascii=False, indent=1)
    replace_file(folder / MANIFEST, text.encode("utf-8"), flush_first)


def format_version(folder: Path) -> object:
    """The ``format_version`` a manifest claims (None when it has none or cannot be parsed)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("format_version") if isinstance(data, dict) else None


def read_manifest(folder: Path) -> Manifest:
    """Parse and check the manifest; ``IndexFormatError`` for another format, damage otherwise."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexDamagedError(folder, f"{MANIFEST} cannot be read: {exc}") from exc
    if not isinstance(data, dict) or "format_version" not in data:
        raise IndexDamagedError(folder, f"{MANIFEST} has no format version")
    if data["format_version"] != FORMAT_VERSION:
        raise IndexFormatError(folder, data["format_version"], FORMAT_VERSION)
    checksum = data.pop("checksum", None)
    if checksum != _checksum(data):
        raise IndexDamagedError(folder, f"{MANIFEST} does not match its checksum")
    try:
        segments = tuple(
            SegmentEntry(s["name"], int(s["documents"]), int(s["chunks"]), int(s["tokens"]), dict(s["dense"]),
                         {n: FileRecord(int(b), str(h)) for n, (b, h) in s["files"].items()}, s["deleted"],
                         int(s["deleted_documents"]), int(s["deleted_chunks"]), int(s["deleted_tokens"]))
            for s in data["segments"]
        )  # fmt: skip
        chunking = data["chunking"]
        return Manifest(int(data["generation"]), str(data["embed_model"]), int(data["dimension"]),
                        int(chunking["chunk_words"]), int(chunking["overlap_sentences"]),
                        DenseSettings.from_json(data["dense"]), str(data["created"]), str(data["updated"]),
                        segments)  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexDamagedError(folder, f"{MANIFEST} is incomplete: {type(exc).__name__}: {exc}") from exc
