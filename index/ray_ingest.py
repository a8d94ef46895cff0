"""Ingest on Ray: read, clean, chunk and embed with Ray Data, write to a Milvus index in batches.

The driver lists the files (ids and sizes checked first, as ``corpus.loading.load_paths`` does)
and asks the index which documents it holds already (content hash). Ray Data then reads and
cleans each file and chunks it (``Dataset.map``, one task per file), skips what is stored with the
same text, and embeds each document's chunks (``map_batches`` with a callable class: one embedder
loaded per worker, ``workers`` of them). The driver writes finished documents to Milvus, one batch
at a time, each retried on failure (``index.milvus_ingest``); a restarted ingest skips what was
written. The chunks and vectors are those of the serial ingest (``tests/test_ray_ingest.py``).

    >>> ray_ingest(store, ["docs/"], address=None, workers=2)           # a local Ray runtime
    >>> ray_ingest(store, ["s3-mounted/docs/"], address="ray://head:10001")   # a running cluster
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from corpus.document import Chunk, Document
from index.errors import StoreError
from index.ingest import IngestReport
from index.milvus import MilvusStore

ROOT = Path(__file__).resolve().parent.parent  # on the workers' path: they import corpus/ and index/ from here
EMBED_BATCH_DOCS = 8  # documents per embedding call on a worker


def planned_files(paths: Sequence[str | os.PathLike], max_mb: float) -> list[dict]:
    """Every file ``load_paths(paths)`` would read, as {file, name, doc_id, source}, nothing read yet."""
    from corpus.loading import (DuplicateDocumentError, _as_path, _check_max_mb, _check_size, _supported_files,
                                doc_id_for)  # fmt: skip

    _check_max_mb(max_mb)
    out: dict[str, dict] = {}
    seen: set[str] = set()
    for path in paths:
        root = _as_path(path)
        if root.is_file():
            pairs = [(root, root.name)]
        elif root.is_dir():
            pairs = [(f, f.relative_to(root).as_posix()) for f in _supported_files(root)]
        else:
            raise StoreError(f"There is no file or folder at {root}: check the path.")
        for file, name in pairs:
            source = os.path.abspath(file)
            if os.path.realpath(source) in seen:
                continue
            doc_id = doc_id_for(name)
            if doc_id in out:
                raise DuplicateDocumentError(doc_id, out[doc_id]["source"], source)
            _check_size(file, str(file), max_mb)
            seen.add(os.path.realpath(source))
            out[doc_id] = {"file": str(file), "name": name, "doc_id": doc_id, "source": source}
    return list(out.values())


class ReadAndChunk:
    """Ray task body: one file -> its document, sentences and chunks; nothing when stored with the same text."""

    def __init__(self, chunk_words: int, overlap_sentences: int, stored: dict[str, str]) -> None:
        self.chunk_words, self.overlap, self.stored = chunk_words, overlap_sentences, stored

    def __call__(self, row: dict) -> list[dict]:
        from corpus.chunking import chunk_document, sentence_spans
        from corpus.loading import _document, _read

        doc = _document(row["name"], _read(Path(row["file"]), row["file"]), row["doc_id"], row["source"])
        if self.stored.get(doc.doc_id) == doc.content_hash:
            return []
        spans = sentence_spans(doc.text)
        chunks = chunk_document(doc, self.chunk_words, self.overlap, spans)
        return [{"doc_id": doc.doc_id, "title": doc.title, "text": doc.text, "source": doc.source,
                 "sentences": [int(x) for s in spans for x in s], "chunk_ids": [c.chunk_id for c in chunks],
                 "starts": [c.start for c in chunks], "ends": [c.end for c in chunks]}]  # fmt: skip


class EmbedChunks:
    """Ray actor body: the embedder loaded once per worker; a batch of documents -> their chunks' vectors."""

    def __init__(self, model: str, threads: int) -> None:
        import torch

        from index.embedder import Embedder

        torch.set_num_threads(threads)
        self.embedder = Embedder(model)

    def __call__(self, batch):
        texts, counts = [], []
        for text, starts, ends in zip(batch["text"], batch["starts"], batch["ends"]):
            texts += [text[s:e] for s, e in zip(starts, ends)]
            counts.append(len(starts))
        vectors = np.asarray(self.embedder.embed_documents(texts), dtype=np.float32)
        parts = np.split(vectors, np.cumsum(counts)[:-1]) if counts else []
        batch["vectors"] = [p.tobytes() for p in parts]
        return batch


def _documents(batch, dimension: int) -> tuple[list[Document], list, list[list[Chunk]], list[np.ndarray]]:
    docs, sentences, chunks, vectors = [], [], [], []
    for i in range(len(batch["doc_id"])):
        doc = Document(batch["doc_id"][i], batch["title"][i], batch["text"][i], batch["source"][i])
        flat = [int(x) for x in batch["sentences"][i]]
        docs.append(doc)
        sentences.append(list(zip(flat[0::2], flat[1::2])))
        chunks.append([Chunk(str(cid), doc.doc_id, int(s), int(e), doc.text[int(s) : int(e)])
                       for cid, s, e in zip(batch["chunk_ids"][i], batch["starts"][i], batch["ends"][i])])  # fmt: skip
        vectors.append(np.frombuffer(batch["vectors"][i], dtype=np.float32).reshape(-1, dimension))
    return docs, sentences, chunks, vectors


def ray_ingest(store: MilvusStore, paths: Sequence[str | os.PathLike], *, address: str | None = None,
               workers: int = 2, threads_per_worker: int = 1, max_mb: float = 20.0, batch_docs: int = 32,
               progress: bool = True, retries: int = 3) -> IngestReport:  # fmt: skip
    """Ingest ``paths`` into ``store`` with Ray: ``address`` None starts a local runtime of ``workers`` CPUs."""
    try:
        import ray
    except ImportError:
        raise StoreError("Ingest on Ray needs ray: install it with `pip install -r requirements-ray.txt` "
                         "(or `make ingest-ray`).") from None  # fmt: skip
    from tqdm import tqdm

    from corpus.loading import DuplicateDocumentError
    from index.milvus_ingest import with_retries

    files = planned_files(paths, max_mb)
    sources = dict(store.view().doc_sources())
    for f in files:  # an id already held from another file that still exists is a collision, as in serial ingest
        old = sources.get(f["doc_id"])
        if old is not None and old != f["source"] and os.path.isfile(old):
            raise DuplicateDocumentError(f["doc_id"], old, f["source"], f" (the index at {store.path} holds the first)")
    stored = store.content_hashes()
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                                           "OMP_NUM_THREADS": str(threads_per_worker),
                                           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}})  # fmt: skip
    try:
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # our one bar, not Ray Data's operator logs
        ray.data.DataContext.get_current().enable_progress_bars = False
        s = store.settings
        ds = ray.data.from_items(files, override_num_blocks=max(1, min(len(files), 64)))
        ds = ds.flat_map(ReadAndChunk, fn_constructor_args=(s.chunk_words, s.overlap_sentences, stored),
                         concurrency=workers)  # fmt: skip
        ds = ds.map_batches(EmbedChunks, fn_constructor_args=(s.embed_model, threads_per_worker), batch_size=EMBED_BATCH_DOCS,
                            batch_format="numpy", concurrency=workers, num_cpus=threads_per_worker)  # fmt: skip
        written = chunks_written = added = 0
        with tqdm(total=len(files), initial=0, desc="Ingesting documents (Ray)", unit="doc", disable=not progress) as bar:
            for batch in ds.iter_batches(batch_size=batch_docs, batch_format="numpy"):
                docs, sentences, chunks, vectors = _documents(batch, store.dimension)
                new = {d.doc_id for d in docs if d.doc_id not in stored}
                with_retries(lambda: store.write(docs, sentences, chunks, vectors, new=new), f"{len(docs)} documents",
                             retries)  # fmt: skip
                written += len(docs)
                added += len(new)
                chunks_written += sum(len(c) for c in chunks)
                bar.update(len(docs))
            bar.update(len(files) - bar.n)  # documents skipped as stored
        if written:
            with_retries(store.flush, "the flush", retries)
    finally:
        if started:
            ray.shutdown()
    return IngestReport(added, written - added, len(files) - written, chunks_written)
