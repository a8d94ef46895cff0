"""One immutable segment of an index: documents, sentence spans, chunks, vectors and BM25 postings.

A segment is a folder written once and never changed; deleting a document only lists its row in
the manifest. It is written under its final name and is part of the index only once a manifest
names it: the commit flushes the segment and the new manifest together, then renames the
manifest (``index.persist.replace_file``); a segment a crash left unnamed goes at the next write.
Files, all read lazily and memory-mapped, so opening costs nothing until a search or a lookup
needs them:

    doc_ids.strs  doc_meta.strs (JSON: title, source, content_hash)  doc_text.strs
    doc_sentences.npy (int64, documents + 1: where each document's sentences start)
    sentences.npy (int64, n x 2)   chunks.npy (int64, n x 3: document row, start, end)
    chunk_ids.strs   dense.faiss (row i = chunk i)   bm25_*.npy (``index.lexical.Postings``)

    >>> data = SegmentData.from_documents([doc], [sentence_spans(doc.text)], chunks, vectors)
    >>> entry = write_segment(index_dir, "seg-000001-ab12cd34", data, 384, DenseSettings())
    >>> Segment(index_dir, entry).chunk(0).text == chunks[0].text
    True
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from corpus.document import Chunk, Document
from index.dense import DenseIndex
from index.errors import IndexDamagedError
from index.lexical import Postings
from index.manifest import SegmentEntry
from index.persist import (
    SentenceSpan,
    StringTable,
    file_problem,
    file_record,
    load_array,
    save_array,
    write_strings,
)
from index.settings import DenseSettings

_POSTINGS = ("terms", "starts", "rows", "tfs", "lengths")


@dataclass(frozen=True, eq=False)
class SegmentData:
    """The contents of a segment about to be written (document row ``i`` owns its chunks in order)."""

    doc_ids: list[str]
    doc_meta: list[str]  # JSON per document: title, source, content_hash
    doc_texts: list[str]
    doc_sentences: np.ndarray
    sentences: np.ndarray
    chunks: np.ndarray
    chunk_ids: list[str]
    vectors: np.ndarray  # unit rows, float32
    postings: Postings

    @classmethod
    def from_documents(cls, docs: Sequence[Document], sentences: Sequence[Sequence[SentenceSpan]],
                       chunks: Sequence[Chunk], vectors: np.ndarray) -> SegmentData:  # fmt: skip
        """``chunks`` grouped by document in the order of ``docs``; ``vectors`` one unit row per chunk."""
        row = {d.doc_id: i for i, d in enumerate(docs)}
        table = np.array([(row[c.doc_id], c.start, c.end) for c in chunks], dtype=np.int64).reshape(-1, 3)
        if np.any(np.diff(table[:, 0]) < 0):
            raise ValueError("Chunks must be grouped by document, in the order of the documents.")
        counts = [len(s) for s in sentences]
        meta = [json.dumps({"title": d.title, "source": d.source, "content_hash": d.content_hash}, ensure_ascii=False)
                for d in docs]  # fmt: skip
        spans = np.array([span for spans in sentences for span in spans], dtype=np.int64).reshape(-1, 2)
        return cls([d.doc_id for d in docs], meta, [d.text for d in docs], np.r_[0, np.cumsum(counts)].astype(np.int64),
                   spans, table, [c.chunk_id for c in chunks], np.asarray(vectors, dtype=np.float32),
                   Postings.build([c.text for c in chunks]))  # fmt: skip

    @classmethod
    def merge(cls, parts: Sequence[tuple[Segment, np.ndarray]], dimension: int) -> SegmentData:
        """The kept documents (bool per document row) of several segments, in order, as one segment."""
        doc_ids, meta, texts, sent_parts, counts, chunk_parts, chunk_ids, vec_parts, post_parts = ([] for _ in range(9))
        doc_offset = 0
        for seg, keep_docs in parts:
            keep_chunks = keep_docs[seg.chunk_table[:, 0]] if seg.chunks else np.zeros(0, bool)
            rows = np.flatnonzero(keep_docs)
            doc_ids += [seg.doc_ids[int(r)] for r in rows]
            meta += [seg.doc_meta[int(r)] for r in rows]
            texts += [seg.doc_texts[int(r)] for r in rows]
            starts = seg.doc_sentences
            sent_parts += [np.asarray(seg.sentences[starts[r] : starts[r + 1]]) for r in rows]
            counts += [int(starts[r + 1] - starts[r]) for r in rows]
            new_doc_row = np.cumsum(keep_docs) - 1 + doc_offset
            table = np.array(seg.chunk_table[keep_chunks], dtype=np.int64)
            table[:, 0] = new_doc_row[table[:, 0]]
            chunk_parts.append(table)
            chunk_ids += [seg.chunk_ids[int(r)] for r in np.flatnonzero(keep_chunks)]
            vec_parts.append(seg.dense.vectors()[keep_chunks])
            post_parts.append((seg.postings, keep_chunks))
            doc_offset += len(rows)
        spans = np.concatenate(sent_parts).astype(np.int64) if sent_parts else np.zeros((0, 2), np.int64)
        return cls(doc_ids, meta, texts, np.r_[0, np.cumsum(counts)].astype(np.int64), spans.reshape(-1, 2),
                   np.concatenate(chunk_parts) if chunk_parts else np.zeros((0, 3), np.int64), chunk_ids,
                   np.concatenate(vec_parts) if vec_parts else np.zeros((0, dimension), np.float32),
                   Postings.merge(post_parts))  # fmt: skip


def write_segment(index_dir: Path, name: str, data: SegmentData, dimension: int,
                  dense: DenseSettings) -> SegmentEntry:  # fmt: skip
    """Write ``data`` as the folder ``index_dir/name``, *not flushed*: ``segment_paths`` lists what
    the commit must flush before a manifest may name it (one round of fsyncs for a whole commit
    instead of one per step: a small add waited on four rounds, a replace on six)."""
    folder = index_dir / name
    os.mkdir(folder)  # not mkdtemp: that would make it 0700
    try:
        write_strings(folder / "doc_ids.strs", data.doc_ids, sync=False)
        write_strings(folder / "doc_meta.strs", data.doc_meta, sync=False)
        write_strings(folder / "doc_text.strs", data.doc_texts, sync=False)
        save_array(folder / "doc_sentences.npy", data.doc_sentences, sync=False)
        save_array(folder / "sentences.npy", data.sentences, sync=False)
        save_array(folder / "chunks.npy", data.chunks, sync=False)
        write_strings(folder / "chunk_ids.strs", data.chunk_ids, sync=False)
        for field in _POSTINGS:
            save_array(folder / f"bm25_{field}.npy", getattr(data.postings, field), sync=False)
        index = DenseIndex.build(data.vectors, dimension, dense)
        index.save(folder / "dense.faiss")
        files = {p.name: file_record(p) for p in sorted(folder.iterdir())}
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return SegmentEntry(name, len(data.doc_ids), len(data.chunk_ids), int(data.postings.lengths.sum()),
                        index.params(), files)  # fmt: skip


def segment_paths(index_dir: Path, entry: SegmentEntry) -> list[Path]:
    """A written segment's files and its folder: what must be on disk before a manifest names it."""
    folder = index_dir / entry.name
    return [*(folder / name for name in sorted(entry.files)), folder]


class Segment:
    """A segment folder opened for reading: files verified and loaded on first use, then cached.

    While it is open it holds a shared lock on its folder, so a writer never deletes a segment
    that a reader (in this process or another) may still read.
    """

    def __init__(self, index_dir: Path, entry: SegmentEntry, verify: bool = True,
                 dense: DenseSettings | None = None) -> None:  # fmt: skip
        self.index_dir, self.entry, self.folder = index_dir, entry, index_dir / entry.name
        # The data files; the list of deleted rows changes with each commit and is the view's to read.
        self.files = {name: record for name, record in entry.files.items() if name != entry.deleted}
        self._dense_settings = dense  # how its vectors are searched
        self._verified: set[str] = set()
        self._lock = threading.Lock()
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except FileNotFoundError:
            raise IndexDamagedError(index_dir, f"segment {entry.name} is missing") from None
        fcntl.flock(fd, fcntl.LOCK_SH)
        weakref.finalize(self, os.close, fd)  # closing the folder releases the lock
        for name, record in self.files.items():
            if problem := file_problem(self.folder / name, record, hash_it=verify):  # sizes always: cheap
                raise IndexDamagedError(index_dir, problem)
        if verify:
            self._verified.update(self.files)

    def verify_file(self, name: str) -> str | None:
        """Checksum one of the segment's files once per process; the problem, or None."""
        if name in self._verified:
            return None
        problem = file_problem(self.folder / name, self.files[name])
        if problem is None:
            self._verified.add(name)
        return problem

    def trust(self) -> Segment:
        """Mark every file as verified (this process just wrote them)."""
        self._verified.update(self.files)
        return self

    @property
    def documents(self) -> int:
        return self.entry.documents

    @property
    def chunks(self) -> int:
        return self.entry.chunks

    def _load(self, name: str, loader):
        """``loader(path)``, after checking the file's checksum if that was not done at open."""
        path = self.folder / name
        with self._lock:
            if problem := self.verify_file(name):
                raise IndexDamagedError(self.index_dir, problem)
            try:
                return loader(path)
            except (OSError, ValueError, EOFError) as exc:
                raise IndexDamagedError(self.index_dir, f"{self.entry.name}/{name}: {exc}") from exc

    def _array(self, name: str, shape_tail: tuple[int, ...], rows: int) -> np.ndarray:
        array = self._load(name, load_array)
        if array.shape[1:] != shape_tail or array.shape[0] != rows:
            raise IndexDamagedError(self.index_dir, f"{self.entry.name}/{name} has shape {array.shape}")
        return array

    def _strings(self, name: str, rows: int) -> StringTable:
        table = self._load(name, StringTable)
        if len(table) != rows:
            raise IndexDamagedError(self.index_dir, f"{self.entry.name}/{name} holds {len(table)} entries, not {rows}")
        return table

    @cached_property
    def doc_ids(self) -> StringTable:
        return self._strings("doc_ids.strs", self.documents)

    @cached_property
    def doc_meta(self) -> StringTable:
        return self._strings("doc_meta.strs", self.documents)

    @cached_property
    def doc_texts(self) -> StringTable:
        return self._strings("doc_text.strs", self.documents)

    @cached_property
    def doc_sentences(self) -> np.ndarray:
        return self._array("doc_sentences.npy", (), self.documents + 1)

    @cached_property
    def sentences(self) -> np.ndarray:
        return self._array("sentences.npy", (2,), int(self.doc_sentences[-1]))

    @cached_property
    def chunk_table(self) -> np.ndarray:
        return self._array("chunks.npy", (3,), self.chunks)

    @cached_property
    def chunk_ids(self) -> StringTable:
        return self._strings("chunk_ids.strs", self.chunks)

    @cached_property
    def dense(self) -> DenseIndex:
        index = self._load("dense.faiss", lambda p: DenseIndex.load(p, self._dense_settings))
        if len(index) != self.chunks:
            raise IndexDamagedError(self.index_dir, f"{self.entry.name}/dense.faiss holds {len(index)} vectors")
        return index

    @cached_property
    def postings(self) -> Postings:
        arrays = {f: self._load(f"bm25_{f}.npy", load_array) for f in _POSTINGS}
        if len(arrays["lengths"]) != self.chunks or len(arrays["starts"]) != len(arrays["terms"]) + 1:
            raise IndexDamagedError(self.index_dir, f"{self.entry.name}: the BM25 postings do not fit its chunks")
        return Postings(**arrays)

    @cached_property
    def _rows_by_id(self) -> dict[str, int]:
        return {doc_id: row for row, doc_id in enumerate(self.doc_ids)}

    def row_of(self, doc_id: str) -> int | None:
        return self._rows_by_id.get(doc_id)

    def document(self, row: int) -> Document:
        meta = json.loads(self.doc_meta[row])
        return Document(self.doc_ids[row], meta["title"], self.doc_texts[row], meta["source"])

    def content_hash(self, row: int) -> str:
        return json.loads(self.doc_meta[row])["content_hash"]

    def sentence_spans(self, row: int) -> list[SentenceSpan]:
        s, e = int(self.doc_sentences[row]), int(self.doc_sentences[row + 1])
        return [(int(a), int(b)) for a, b in self.sentences[s:e]]

    def chunk_rows(self, doc_row: int) -> range:
        """Rows of a document's chunks (they are consecutive)."""
        docs = self.chunk_table[:, 0]
        return range(int(np.searchsorted(docs, doc_row, "left")), int(np.searchsorted(docs, doc_row, "right")))

    def chunk(self, row: int) -> Chunk:
        doc_row, start, end = (int(v) for v in self.chunk_table[row])
        text = self.doc_texts[doc_row][start:end]
        return Chunk(self.chunk_ids[row], self.doc_ids[doc_row], start, end, text)

    def sort_key(self, row: int) -> tuple[str, int, int]:
        """(document id, start, end): orders equal scores the same however the index was built."""
        doc_row, start, end = (int(v) for v in self.chunk_table[row])
        return self.doc_ids[doc_row], start, end
