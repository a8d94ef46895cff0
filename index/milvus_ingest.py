"""Putting documents into a Milvus index and taking them out, batch by batch, resumable.

``index.ingest.add_documents`` and ``remove_documents`` hand a ``MilvusStore`` to these, so every
caller (the CLI, open_or_build's sync, the UI's upload, eval) ingests into either backend the same
way. Documents are chunked and embedded as for the local index; unlike it, each batch of documents
is written (and retried, up to ``retries`` times) on its own, so an interrupted ingest keeps the
batches it finished and a restarted one skips every document already stored with the same text
(content hash). ``index.ray_ingest`` prepares the same rows on a Ray cluster and writes them here.

    >>> add_to_milvus(store, embedder, load_path("reports/"), progress=True)
    IngestReport(added=3, updated=0, unchanged=12, chunks_embedded=41, removed=0)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from corpus.chunking import chunk_document, sentence_spans
from corpus.document import Chunk, Document
from index.errors import IndexModelError, StoreError
from index.ingest import IngestReport, _check_same_source, _distinct, _embed
from index.milvus import MilvusStore
from index.milvus_rows import PAGE_CHARS

BATCH_DOCS = 32  # documents per write: what a failure costs to redo


def plan(store: MilvusStore, docs: Sequence[Document]) -> tuple[list[Document], list[Document], set[str]]:
    """(documents to embed, documents whose title or source changed only, the ids of the new ones)."""
    heads = store.heads(d.doc_id for d in docs)  # page 0 of each: no document text is read
    fresh, kept, new = [], [], set()
    for doc in docs:
        head = heads.get(doc.doc_id)
        if head is not None:
            _check_same_source(head["source"], doc, store.path)
        if head is None or head["content_hash"] != doc.content_hash:
            fresh.append(doc)
            if head is None:
                new.add(doc.doc_id)
        elif (head["title"], head["source"]) != (doc.title[:PAGE_CHARS], doc.source[:PAGE_CHARS]):
            kept.append(doc)
    return fresh, kept, new


def prepare(store: MilvusStore, doc: Document, progress: bool = False) -> tuple[list[tuple[int, int]], list[Chunk]]:
    """A document's sentences and chunks under the index's chunking (what the local index stores too)."""
    spans = sentence_spans(doc.text, progress)
    s = store.settings
    return spans, chunk_document(doc, s.chunk_words, s.overlap_sentences, spans)


def with_retries(write: Callable[[], None], what: str, retries: int = 3, wait_s: float = 1.0) -> None:
    """Run an idempotent write, again after a Milvus or network error, up to ``retries`` more times."""
    from pymilvus.exceptions import MilvusException

    for attempt in range(retries + 1):
        try:
            return write()
        except (MilvusException, ConnectionError, TimeoutError) as exc:
            if attempt == retries:
                raise StoreError(f"Writing {what} to Milvus failed {retries + 1} times ({exc}): the documents "
                                 f"written before are kept; run the same ingest again to resume.") from exc  # fmt: skip
            print(f"Writing {what} failed ({type(exc).__name__}); retrying.", file=sys.stderr, flush=True)
            time.sleep(wait_s * 2**attempt)


def add_to_milvus(store: MilvusStore, embedder, docs: Iterable[Document], progress: bool = False, *,
                  remove_missing: Callable[[str], bool] | None = None, batch_docs: int = BATCH_DOCS,
                  retries: int = 3, commit_guard: Callable[[], AbstractContextManager] = nullcontext,
                  embed_guard: Callable[[], AbstractContextManager] = nullcontext, embed_batch: int = 64,
                  ) -> IngestReport:  # fmt: skip
    """``index.ingest.add_documents`` for a Milvus index: same arguments, same report, same errors.

    ``commit_guard`` is entered around each batch's write, ``embed_guard`` around each call to the
    embedder (as for a local index)."""
    from tqdm import tqdm

    if embedder.model_name != store.settings.embed_model:
        raise IndexModelError(store.path, store.settings.embed_model, embedder.model_name)
    docs = _distinct(docs)
    fresh, kept, new = plan(store, docs)
    wanted = {d.doc_id for d in docs}
    gone = [] if remove_missing is None else [
        doc_id for doc_id, source in store.view().doc_sources() if doc_id not in wanted and remove_missing(source)
    ]
    embedded = 0
    with tqdm(total=len(fresh), desc="Ingesting documents", unit="doc", disable=not progress or len(fresh) < 2,
              leave=False) as bar:  # fmt: skip
        for i in range(0, len(fresh), batch_docs):
            batch = fresh[i : i + batch_docs]
            prepared = [prepare(store, d) for d in batch]
            chunks = [c for _, cs in prepared for c in cs]
            vectors = _embed(embedder, [c.text for c in chunks], store.dimension, False, embed_guard, embed_batch)
            split = np.cumsum([len(cs) for _, cs in prepared])[:-1]
            with commit_guard():
                with_retries(lambda: store.write(batch, [s for s, _ in prepared], [cs for _, cs in prepared],
                                                 np.split(vectors, split), new=new),
                             f"documents {i + 1}-{i + len(batch)}", retries)  # fmt: skip
            embedded += len(chunks)
            bar.update(len(batch))
    with commit_guard():
        if kept:
            old = [store.stored(d.doc_id) for d in kept]  # same text: the chunks stay, the pages are rewritten
            with_retries(lambda: store.write(kept, [o.sentences for o in old], [[None] * o.chunks for o in old],
                                             None), "changed titles", retries)  # fmt: skip
        if gone:
            with_retries(lambda: store.write([], [], [], [], remove=gone), "removals", retries)
        if fresh or kept or gone:
            with_retries(store.flush, "the flush", retries)
    return IngestReport(len(new), len(fresh) - len(new), len(docs) - len(fresh), embedded, len(gone))
