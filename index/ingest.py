"""Putting documents into an index and taking them out: chunk, embed only what changed, commit.

A document whose text is unchanged (same content hash) is never re-chunked or re-embedded; a
changed one is replaced whole; each call is one commit, so the work and the bytes written are
proportional to what changed, not to the index.

    >>> add_documents(store, embedder, load_path("reports/"))
    IngestReport(added=3, updated=1, unchanged=12, chunks_embedded=41, removed=0)
    >>> remove_documents(store, ["reports/old-memo"])
    1
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from corpus.chunking import chunk_document, sentence_spans
from corpus.document import Chunk, Document
from index.dense import unit_rows
from index.errors import IndexModelError, StoreError
from index.segment import SegmentData

_EMBED_BATCH = 64
_PROGRESS_MIN = 64  # fewer chunks than this embed too fast for a progress bar to help


@dataclass(frozen=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int
    chunks_embedded: int
    removed: int = 0


def add_documents(store, embedder, docs: Iterable[Document], progress: bool = False, *,
                  remove_missing: Callable[[str], bool] | None = None,
                  commit_guard: Callable[[], AbstractContextManager] = nullcontext,
                  embed_guard: Callable[[], AbstractContextManager] = nullcontext,
                  embed_batch: int = _EMBED_BATCH) -> IngestReport:  # fmt: skip
    """Add new documents and replace changed ones (same doc_id, other text); skip unchanged ones.

    Args:
        store: an ``IndexStore``; its recorded chunking is used.
        embedder: must use the index's model.
        docs: each doc_id at most once (two documents of one id would silently lose one).
        remove_missing: a test on a document's ``source``: the index's documents it accepts that
            ``docs`` does not hold are removed in the same commit (documents whose file is gone).
        commit_guard: entered around each write that readers of the index can see (the commit),
            not around chunking and embedding: a running chat keeps answering while a large
            upload is embedded and waits only for the commit (``qa.pipeline.Pipeline.ingest``).
        embed_guard, embed_batch: each call of ``embed_batch`` chunks to the embedder is made
            inside ``embed_guard``: the chat passes its reader's compute lock, so that embedding
            and reading take turns on the cores instead of crowding them both at once.

    A document replaces the indexed one of its id only when it comes from the same source, or
    when that source file no longer exists (it was moved); otherwise it is a collision.

    Raises:
        TypeError: ``docs`` holds something other than Documents.
        corpus.loading.DuplicateDocumentError: a doc_id twice in ``docs``, or a doc_id the index
            holds from another source file that still exists; the message names both.

    If embedding fails, nothing is written and the index is as it was. A Milvus index
    (``index.milvus``) is written batch by batch instead (``index.milvus_ingest``).
    """
    if getattr(store, "backend", "local") == "milvus":
        from index.milvus_ingest import add_to_milvus

        return add_to_milvus(store, embedder, docs, progress, remove_missing=remove_missing, commit_guard=commit_guard,
                             embed_guard=embed_guard, embed_batch=embed_batch)  # fmt: skip
    if embedder.model_name != store.settings.embed_model:
        raise IndexModelError(store.path, store.settings.embed_model, embedder.model_name)
    docs = _distinct(docs)
    with store.writing() as view:
        fresh, kept, added = [], [], 0
        for doc in docs:
            old = view.content_hash(doc.doc_id)
            if old is not None:
                _check_same_source(view.source(doc.doc_id), doc, store.path)
            if old is None or old != doc.content_hash:
                fresh.append(doc)
                added += old is None
            elif view.document(doc.doc_id) != doc:
                kept.append(doc)  # same text, new title or source: rewritten with its old vectors
        wanted = {d.doc_id for d in docs}
        gone = [] if remove_missing is None else [
            doc_id for doc_id, source in view.doc_sources() if doc_id not in wanted and remove_missing(source)
        ]
        sentences = [sentence_spans(d.text, progress) for d in fresh]  # a bar (with ETA) for long texts only
        s = store.settings
        chunks = [c for d, spans in zip(fresh, sentences) for c in chunk_document(d, s.chunk_words, s.overlap_sentences, spans)]
        report = IngestReport(added, len(fresh) - added, len(docs) - len(fresh), len(chunks), len(gone))
        if not fresh and not kept and not gone:
            return report
        vectors = unit_rows(_embed(embedder, [c.text for c in chunks], store.dimension, progress, embed_guard,
                                   embed_batch))  # fmt: skip
        old_chunks, old_vectors, old_sentences = _carried_over(view, kept, store.dimension)
        del view  # the commit may drop segments; an old view kept here would hold them until the next write
        data = SegmentData.from_documents(fresh + kept, sentences + old_sentences, chunks + old_chunks,
                                          np.concatenate([vectors, old_vectors]))  # fmt: skip
        with commit_guard():
            store.commit(data, remove=gone)
    return report


def _distinct(docs: Iterable[Document]) -> list[Document]:
    """``docs`` as a list, refusing non-Documents and repeated ids (one of them would be lost)."""
    if isinstance(docs, (str, bytes, Document)):
        raise TypeError("add_documents expects a list of Documents (corpus.loading.load_paths makes them).")
    out: dict[str, Document] = {}
    for doc in docs:
        if not isinstance(doc, Document):
            raise TypeError(f"add_documents expects Documents, not {type(doc).__name__} (load files with corpus.loading).")
        if doc.doc_id in out:
            from corpus.loading import DuplicateDocumentError

            raise DuplicateDocumentError(doc.doc_id, out[doc.doc_id].source, doc.source)
        out[doc.doc_id] = doc
    return list(out.values())


def _check_same_source(old_source: str, doc: Document, index_path) -> None:
    """A new text under an indexed id replaces it only from the same source (or one that is gone)."""
    if old_source == doc.source or not os.path.isfile(old_source):
        return
    from corpus.loading import DuplicateDocumentError

    hint = (f" (the index at {index_path} already holds the first), or remove it first with "
            f"`python -m qa remove --index {index_path} {doc.doc_id}`")  # fmt: skip
    raise DuplicateDocumentError(doc.doc_id, old_source, doc.source, hint)


def gone_from(roots: Iterable[str | os.PathLike]) -> Callable[[str], bool]:
    """A ``remove_missing`` test for ``ingest --prune``: a source under one of ``roots`` (files or
    folders, as given to ``load_paths``) whose file no longer exists.

    Sources are the absolute paths ``corpus.loading`` recorded; a root is compared both as given
    (made absolute) and with its links resolved, so ``docs/`` and a link to it prune the same
    documents. Documents from other roots, and uploads (whose source is a bare name), never match.

        >>> gone = gone_from(["/srv/docs"])
        >>> gone("/srv/docs/old/memo.txt"), gone("/srv/other/memo.txt")   # the first file was deleted
        (True, False)
    """
    forms = {form for root in roots for form in (os.path.abspath(root), os.path.realpath(root))}

    def under(path: str) -> bool:
        return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in forms)

    def gone(source: str) -> bool:
        if not os.path.isabs(source) or os.path.exists(source):  # a broken link is gone: loading skips it
            return False
        return under(source) or under(os.path.realpath(source))

    return gone


def remove_documents(store, doc_ids: Sequence[str]) -> int:
    """Remove documents by id in one commit; ``DocumentNotFoundError`` (nothing removed) if one is unknown."""
    if getattr(store, "backend", "local") == "milvus":
        store.remove(set(doc_ids))
    else:
        store.commit(None, remove=set(doc_ids))
    return len(set(doc_ids))


def _carried_over(view, docs: list[Document], dimension: int):
    """The chunks, vectors and sentences of unchanged documents, read back from their segments."""
    chunks: list[Chunk] = []
    vectors = [np.zeros((0, dimension), dtype=np.float32)]
    sentences = []
    for doc in docs:
        i, row = view.locate(doc.doc_id)
        seg = view.segments[i]
        rows = seg.chunk_rows(row)
        chunks += [seg.chunk(r) for r in rows]
        vectors.append(seg.dense.vectors(np.arange(rows.start, rows.stop)))
        sentences.append(seg.sentence_spans(row))
    return chunks, np.concatenate(vectors), sentences


def _embed(embedder, texts: list[str], dimension: int, progress: bool,
           guard: Callable[[], AbstractContextManager] = nullcontext, batch: int = _EMBED_BATCH) -> np.ndarray:  # fmt: skip
    from tqdm import tqdm

    parts = [np.zeros((0, dimension), dtype=np.float32)]
    quiet = not progress or len(texts) < _PROGRESS_MIN
    with tqdm(total=len(texts), desc="Embedding chunks", unit="chunk", disable=quiet, leave=False) as bar:
        for i in range(0, len(texts), batch):
            with guard():
                parts.append(np.asarray(embedder.embed_documents(texts[i : i + batch]), np.float32))
            bar.update(len(parts[-1]))
    vectors = np.concatenate(parts)
    if vectors.shape != (len(texts), dimension):
        raise StoreError(f"The embedder returned vectors of shape {vectors.shape}: check the embedding model.")
    return vectors
