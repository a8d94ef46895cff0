"""Format 1 to 2: an index written before segments existed is converted in place, once.

Format 1 was one folder (``manifest.json``, ``documents.jsonl`` with sentence spans,
``chunks.jsonl``, ``vectors.faiss``: a flat FAISS index whose row i is chunk i), rewritten whole
on every change by building a temporary folder beside it and swapping the two with renames.
Converting reads it, checks it as that version did, and commits it as one segment: nothing is
re-chunked or re-embedded, so searches answer as before. Its files go with the commit's clean-up.

Format 1 named a file's document by its relative path without the extension (``notes``) until
ids took the extension (``notes.md``, so ``x.html`` and ``x.txt`` stay two documents). Such ids,
and their chunks', get the extension of the file they came from, so ingesting the same file
again replaces its document instead of adding a second copy under the new id.

    >>> migrate_format1(Path(".cache/index/default"))   # IndexStore.open does this when it must
    Converting the index at .cache/index/default to format 2 (once; nothing is re-embedded).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import numpy as np

from corpus.document import Chunk, Document
from index.errors import IndexDamagedError, IndexFormatError, IndexWriteError
from index.manifest import FORMAT_VERSION, MANIFEST
from index.segment import SegmentData
from index.settings import IndexSettings


def recover_interrupted_swap(path: Path) -> None:
    """If a format-1 write crashed between its two renames, put the previous index back."""
    if path.exists() or not path.parent.is_dir():
        return
    olds = sorted(path.parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.replace(olds[-1], path)


def migrate_format1(path: Path) -> None:
    from index.store import IndexStore  # the store opens through here: import when needed

    print(f"Converting the index at {path} to format {FORMAT_VERSION} (once; nothing is re-embedded).",
          file=sys.stderr, flush=True)  # fmt: skip
    try:
        manifest, docs, sentences, chunks, vectors = _read(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON errors are ValueErrors
        reason = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
        raise IndexDamagedError(path, reason) from exc
    chunking = manifest["chunking"]
    settings = IndexSettings(manifest["embed_model"], int(chunking["chunk_words"]), int(chunking["overlap_sentences"]))
    model = SimpleNamespace(model_name=settings.embed_model, dimension=int(manifest["dimension"]))
    store = IndexStore.create(path, model, settings=settings, commit=False)
    try:
        store.commit(SegmentData.from_documents(docs, sentences, chunks, vectors) if docs else None)
    except IndexWriteError as exc:
        raise IndexFormatError(path, 1, FORMAT_VERSION, f"{exc}") from exc


def _read(path: Path):
    """Load and cross-check a format-1 index, as format 1 did; ``ValueError`` names what is wrong."""
    from index.dense import DenseIndex

    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    docs, sentences = [], []
    for rec in _jsonl(path / "documents.jsonl"):
        docs.append(Document(rec["doc_id"], rec["title"], rec["text"], rec["source"]))
        sentences.append([(int(s), int(e)) for s, e in rec["sentences"]])
    listed = {d["doc_id"]: d for d in manifest["documents"]}
    if listed.keys() != {d.doc_id for d in docs}:
        raise ValueError("documents.jsonl does not list the documents of manifest.json")
    by_id = {d.doc_id: d for d in docs}
    chunks = [Chunk(**rec) for rec in _jsonl(path / "chunks.jsonl")]
    if any(c.doc_id not in by_id or by_id[c.doc_id].text[c.start : c.end] != c.text for c in chunks):
        raise ValueError("chunks.jsonl does not match the document texts")
    for doc in docs:
        n = sum(c.doc_id == doc.doc_id for c in chunks)
        if doc.content_hash != listed[doc.doc_id]["content_hash"] or n != listed[doc.doc_id]["chunks"]:
            raise ValueError(f"document {doc.doc_id!r} does not match manifest.json")
    dense = DenseIndex.load(path / "vectors.faiss")
    if dense.dimension != int(manifest["dimension"]) or len(dense) != len(chunks):
        raise ValueError(f"vectors.faiss holds {len(dense)} vectors of size {dense.dimension} for {len(chunks)} chunks")
    vectors = dense.vectors()
    docs, chunks = _ids_with_extensions(docs, chunks)
    # Format 1 appended each ingest's chunks at the end; a segment keeps each document's chunks together.
    position = {d.doc_id: i for i, d in enumerate(docs)}
    order = sorted(range(len(chunks)), key=lambda i: (position[chunks[i].doc_id], i))
    return manifest, docs, sentences, [chunks[i] for i in order], np.asarray(vectors[order], dtype=np.float32)


def _ids_with_extensions(docs: list[Document], chunks: list[Chunk]) -> tuple[list[Document], list[Chunk]]:
    """Ids of the older scheme (``reports/q1`` for ``reports/q1.pdf``) given their file's extension."""
    from corpus.loading import doc_id_for

    taken, renamed = {d.doc_id for d in docs}, {}
    for doc in docs:
        name = PurePosixPath(doc.source.replace("\\", "/")).name
        suffix = PurePosixPath(name).suffix
        last = doc.doc_id.rsplit("/", 1)[-1]
        if suffix and last == doc_id_for(PurePosixPath(name).stem) and not doc.doc_id.endswith(suffix):
            new = doc_id_for(doc.doc_id + suffix)
            if new not in taken:
                renamed[doc.doc_id] = new
                taken.add(new)
    if not renamed:
        return docs, chunks
    docs = [dataclasses.replace(d, doc_id=renamed.get(d.doc_id, d.doc_id)) for d in docs]
    chunks = [c if c.doc_id not in renamed else
              dataclasses.replace(c, doc_id=renamed[c.doc_id], chunk_id=renamed[c.doc_id] + c.chunk_id[len(c.doc_id):])
              for c in chunks]  # fmt: skip
    return docs, chunks


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
