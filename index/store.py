"""The on-disk index: a manifest and immutable segments, changed only by atomic commits.

Persistence only: what is stored and how a change becomes durable. Searching lives in
``index.retriever`` (it reads a ``view()``), chunking and embedding in ``index.ingest``, and
``index.build.open_or_build`` puts them together.

    manifest.json          model, chunking, dense settings; every segment with its files' sizes and sha256
    seg-000007-1a2b3c4d/   one immutable segment (``index.segment``) and the list of its deleted rows

A commit writes the new segment and deletion lists, then replaces ``manifest.json`` (write,
fsync, rename; the new files are flushed in the same round as the manifest's bytes, before the
rename): a kill -9 at any moment leaves the last committed index, complete, and whatever it left
behind (``.tmp-*``, segments no manifest names) goes at the next write. Each view holds a
shared lock on its segment folders, so a writer never deletes a segment a reader still uses.
Segments pile up and deleted rows linger until ``compact()``, or until a commit passes the
thresholds in ``IndexSettings``. The index folder itself is never replaced (it keeps its mode).

    >>> store = IndexStore.create(".cache/index/mine", Embedder())
    >>> add_documents(store, Embedder(), load_path("corpus/data"))          # index.ingest
    IngestReport(added=1, updated=0, unchanged=0, chunks_embedded=7, removed=0)
    >>> IndexStore.open(".cache/index/mine").view().document("serbian-military-buildup-kosovo-border").title
    'Serbian Military Buildup on Kosovo Border Raises Alarm Bells'
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from corpus.document import Chunk, Document
from index.errors import (  # noqa: F401 - re-exported: callers import the errors from here
    DocumentNotFoundError,
    IndexBusyError,
    IndexDamagedError,
    IndexFormatError,
    IndexMissingError,
    IndexModelError,
    IndexWriteError,
    StoreError,
)
from index.manifest import (  # noqa: F401 - FORMAT_VERSION is re-exported
    FORMAT_VERSION,
    MANIFEST,
    Manifest,
    SegmentEntry,
    format_version,
    now,
    read_manifest,
    write_manifest,
)
from index.persist import SentenceSpan, file_problem, file_record, save_array
from index.segment import Segment, SegmentData, segment_paths, write_segment
from index.settings import IndexSettings
from index.upkeep import collect_garbage, looks_like_index, merge_plan, replace_group, segment_problems
from index.view import DocStats, IndexView


@dataclass(frozen=True)
class CheckReport:
    path: Path
    generation: int
    documents: int
    chunks: int
    segments: int
    files: int
    bytes: int


class IndexStore:
    """An index folder and its current view; open with ``open``, start one with ``create``."""

    def __init__(self, path: Path, manifest: Manifest, settings: IndexSettings) -> None:
        self.path, self.settings = path, settings
        self._view = IndexView(path, manifest, (), ())
        self._lock = threading.RLock()  # one writer per process; a view is swapped in whole
        self._writing_depth = 0
        self._fresh = False  # created, not yet committed: the first commit replaces what is on disk

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, embedder=None, *, settings: IndexSettings | None = None,
             verify: bool | None = None) -> IndexStore:  # fmt: skip
        """The index at ``path``; ``embedder``, when given, must use the model the index was built with.

        Files are checksummed now when the index is at most ``settings.verify_max_bytes`` (or
        ``verify`` is True), else each file the first time it is read. An index in format 1 is
        converted in place first (one line on stderr; nothing is re-embedded). ``settings``
        gives the dense and compaction settings; the model and chunking are the index's own.
        """
        from index.migrate import migrate_format1, recover_interrupted_swap

        path = Path(path)
        recover_interrupted_swap(path)
        if not (path / MANIFEST).is_file():
            if path.is_dir() and any(path.iterdir()):
                raise IndexDamagedError(path, f"{MANIFEST} is missing")
            raise IndexMissingError(path)
        if format_version(path) == 1:
            migrate_format1(path)
        manifest = read_manifest(path)
        if embedder is not None and embedder.model_name != manifest.embed_model:
            raise IndexModelError(path, manifest.embed_model, embedder.model_name)
        store = cls(path, manifest, _recorded(manifest, settings))
        verify = verify if verify is not None else manifest.bytes <= store.settings.verify_max_bytes
        store._view = store._load_view(verify)
        return store

    @classmethod
    def create(cls, path: str | Path, embedder, chunk_words: int = 120, overlap_sentences: int = 1, *,
               settings: IndexSettings | None = None, commit: bool = True) -> IndexStore:  # fmt: skip
        """A new, empty index at ``path`` for ``embedder``'s model, replacing any index there.

        With ``commit=False`` nothing is written until the first commit, which then replaces the
        old index in one step (so a rebuild keeps the old index until the new one is complete).
        """
        path = Path(path)
        if path.exists() and not (path.is_dir() and (looks_like_index(path) or not any(path.iterdir()))):
            raise StoreError(f"{path} exists and holds no index: choose an empty or new folder for the index.")
        if settings is None:
            settings = IndexSettings(embedder.model_name, chunk_words, overlap_sentences)
        try:
            generation = read_manifest(path).generation  # generations only grow, even across rebuilds
        except StoreError:
            generation = 0
        manifest = Manifest(generation, settings.embed_model, int(embedder.dimension), settings.chunk_words,
                            settings.overlap_sentences, settings.dense, now(), now())  # fmt: skip
        store = cls(path, manifest, settings)
        store._fresh = True
        if commit:
            store.commit()
        return store

    @property
    def dimension(self) -> int:
        return self._view.manifest.dimension

    def view(self) -> IndexView:
        """The current committed version; hold it for one whole search."""
        return self._view

    def reload(self) -> bool:
        """Pick up a commit made by another process; True when there was one."""
        with self._lock:
            if read_manifest(self.path).generation == self._view.generation:
                return False
            self._view = self._load_view(verify=False)
            return True

    def _load_view(self, verify: bool) -> IndexView:
        """Read the manifest and open its segments (reusing this process's), retrying if a commit races us."""
        known = {s.entry.name: s for s in self._view.segments}
        for attempt in range(3):
            manifest = read_manifest(self.path)
            try:
                segments = [known.get(e.name) or Segment(self.path, e, verify, self.settings.dense) for e in manifest.segments]
                return IndexView(self.path, manifest, segments, [self._deleted_rows(e) for e in manifest.segments])
            except IndexDamagedError:  # a writer may have deleted what an older manifest named
                if attempt == 2 or read_manifest(self.path).generation == manifest.generation:
                    raise
        raise AssertionError("unreachable")

    def _deleted_rows(self, entry: SegmentEntry) -> np.ndarray:
        if entry.deleted is None:
            return np.zeros(0, dtype=np.int64)
        path = self.path / entry.name / entry.deleted
        if problem := file_problem(path, entry.files[entry.deleted]):
            raise IndexDamagedError(self.path, problem)
        rows = np.load(path, allow_pickle=False)
        if rows.ndim != 1 or len(rows) != entry.deleted_documents or (len(rows) and rows.max() >= entry.documents):
            raise IndexDamagedError(self.path, f"{entry.name}/{entry.deleted} does not fit the segment")
        return rows

    # -- reading (the current view's, for callers written before views) ------------------------

    def documents(self) -> list[Document]:
        return list(self._view.documents())

    def document(self, doc_id: str) -> Document:
        return self._view.document(doc_id)

    def sentences(self, doc_id: str) -> list[SentenceSpan]:
        """Sentence spans of a document, as used for chunking (reading windows grow by these)."""
        return self._view.sentences(doc_id)

    def chunks(self) -> list[Chunk]:
        return list(self._view.chunks())

    def stats(self) -> list[DocStats]:
        return self._view.stats()

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[IndexView]:
        """Hold the write lock, with the view brought up to date; yields that view.

        Threads of this process wait for each other; another process gets ``IndexBusyError``.
        """
        with self._lock:
            if self._writing_depth:
                yield self._view
                return
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDONLY)
            except OSError as exc:
                raise IndexWriteError(self.path, exc) from exc
            self._writing_depth = 1
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise IndexBusyError(self.path) from None
                if not self._fresh and read_manifest(self.path).generation != self._view.generation:
                    self._view = self._load_view(verify=False)
                self._collect_garbage()
                yield self._view
            except OSError as exc:  # permissions, a full disk: nothing was committed
                raise IndexWriteError(self.path, exc) from exc
            finally:
                self._writing_depth = 0
                os.close(fd)

    def commit(self, data: SegmentData | None = None, remove: Collection[str] = ()) -> IndexView:
        """Add ``data`` as a new segment (replacing documents with the same ids) and delete the
        documents ``remove`` names, in one atomic step; then compact if a threshold is passed."""
        with self.writing() as view:
            remove = set(remove)
            if missing := sorted(d for d in remove if not view.has(d)):
                raise DocumentNotFoundError(self.path, missing[0])
            generation = view.generation + 1
            dead: dict[int, list[int]] = {}
            for doc_id in remove | set(data.doc_ids if data is not None else ()):
                if (found := view.locate(doc_id)) is not None:
                    dead.setdefault(found[0], []).append(found[1])
            entries, segments, deleted = list(view.manifest.segments), list(view.segments), list(view.deleted)
            unflushed: list[Path] = []  # written for this commit; flushed with the manifest, before it is renamed
            for i, rows in dead.items():
                entries[i], deleted[i] = self._delete_rows(segments[i], entries[i], deleted[i], rows, generation,
                                                           unflushed)  # fmt: skip
            if data is not None and data.doc_ids:
                entry, segment = self._write_segment(data, generation, unflushed)
                entries.append(entry)
                segments.append(segment)
                deleted.append(np.zeros(0, dtype=np.int64))
            keep = [i for i, e in enumerate(entries) if e.live_documents > 0]  # fully deleted segments go
            self._publish([entries[i] for i in keep], [segments[i] for i in keep], [deleted[i] for i in keep],
                          unflushed)  # fmt: skip
            del view, segments, deleted  # release the old view's locks before collecting
            self._collect_garbage()
            self._compact(full=False)
            return self._view

    def _write_segment(self, data: SegmentData, generation: int,
                       unflushed: list[Path]) -> tuple[SegmentEntry, Segment]:  # fmt: skip
        """Write ``data`` as a new segment, not yet flushed: its paths are added to ``unflushed``."""
        name = f"seg-{generation:06d}-{uuid.uuid4().hex[:8]}"
        entry = write_segment(self.path, name, data, self.dimension, self.settings.dense)
        unflushed += segment_paths(self.path, entry)
        return entry, Segment(self.path, entry, False, self.settings.dense).trust()

    def _delete_rows(self, seg: Segment, entry: SegmentEntry, old: np.ndarray, rows: list[int],
                     generation: int, unflushed: list[Path]) -> tuple[SegmentEntry, np.ndarray]:  # fmt: skip
        """A new deletion list for ``seg`` (written, not yet flushed or committed) and the entry naming it."""
        dead = np.union1d(old, np.array(rows, dtype=np.int64)).astype(np.int64)
        name = f"deleted-{generation:06d}.npy"
        save_array(seg.folder / name, dead, sync=False)
        unflushed += [seg.folder / name, seg.folder]
        chunk_rows = np.array([c for r in dead for c in seg.chunk_rows(int(r))], dtype=np.int64)
        files = {k: v for k, v in entry.files.items() if k != entry.deleted}
        files[name] = file_record(seg.folder / name)
        tokens = int(seg.postings.lengths[chunk_rows].sum()) if len(chunk_rows) else 0
        return replace(entry, files=files, deleted=name, deleted_documents=len(dead),
                       deleted_chunks=len(chunk_rows), deleted_tokens=tokens), dead  # fmt: skip

    def _publish(self, entries, segments, deleted, unflushed: Collection[Path] = ()) -> None:
        """Commit: flush ``unflushed`` (what this commit wrote) and replace the manifest, then make
        the new view current (only once it is on disk)."""
        manifest = replace(self._view.manifest.next(entries), dense=self.settings.dense)
        write_manifest(self.path, manifest, unflushed)
        self._fresh = False
        self._view = IndexView(self.path, manifest, segments, deleted)

    def compact(self) -> bool:
        """Rewrite all live documents into one segment, dropping deleted rows; False if nothing to do."""
        return self._compact(full=True)

    def _compact(self, full: bool) -> bool:
        with self.writing() as view:
            entries = view.manifest.segments
            if full:
                group = list(range(len(entries))) if len(entries) > 1 or any(e.deleted_documents for e in entries) else []
            else:
                group = merge_plan(entries, self.settings)
            if not group:
                return False
            data = SegmentData.merge([(view.segments[i], view.live_document_mask(i)) for i in group], self.dimension)
            unflushed: list[Path] = []
            merged = self._write_segment(data, view.generation + 1, unflushed) if data.doc_ids else None
            self._publish(*replace_group(view, group, merged), unflushed)
            del view, merged  # release the merged segments' locks before collecting
            self._collect_garbage()
            return True

    def _collect_garbage(self) -> None:
        collect_garbage(self.path)

    # -- checking ----------------------------------------------------------------------------

    def check(self) -> CheckReport:
        """Checksum every file and cross-check the segments; ``IndexDamagedError`` lists what is wrong."""
        view, problems, files, size = self._view, [], 1, (self.path / MANIFEST).stat().st_size
        for seg, entry in zip(view.segments, view.manifest.segments):
            files, size = files + len(entry.files), size + entry.bytes
            found = [p for name in seg.files if (p := seg.verify_file(name))]
            if entry.deleted and (p := file_problem(seg.folder / entry.deleted, entry.files[entry.deleted])):
                found.append(p)
            problems += found or segment_problems(seg)
        if problems:
            raise IndexDamagedError(self.path, "; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
        m = view.manifest
        return CheckReport(self.path, m.generation, m.documents, m.chunks, len(m.segments), files, size)


def check(path: str | Path) -> CheckReport:
    """``python -m qa check``: open the index without trusting it, then checksum and cross-check all of it."""
    return IndexStore.open(path, verify=False).check()


def _recorded(manifest: Manifest, settings: IndexSettings | None) -> IndexSettings:
    """The index's own model and chunking, with the caller's dense and compaction settings if given."""
    base = settings if settings is not None else IndexSettings(dense=manifest.dense)
    return replace(base, embed_model=manifest.embed_model, chunk_words=manifest.chunk_words,
                   overlap_sentences=manifest.overlap_sentences)  # fmt: skip

