"""Embedding, dense (FAISS) and lexical (BM25) retrieval over chunks, and the on-disk index.

    retriever = index.open_or_build(path, IndexSettings(...), sources=[...])   # open, or build first
    retriever.search(query, k=5) ; retriever.spell_out_acronyms(query) ; retriever.document(doc_id)
    index.add_documents(retriever.store, retriever.embedder, docs) ; index.remove_documents(store, ids)
    store.compact() ; index.check(path)

Names are imported on first use, so ``import index.fusion`` stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "open_or_build": "index.build",
    "Retriever": "index.retriever",
    "MODES": "index.retriever",
    "IndexStore": "index.store",
    "CheckReport": "index.store",
    "check": "index.store",
    "IndexSettings": "index.settings",
    "DenseSettings": "index.settings",
    "add_documents": "index.ingest",
    "remove_documents": "index.ingest",
    "IngestReport": "index.ingest",
    "DocStats": "index.view",
    "Embedder": "index.embedder",
    "Hit": "index.hit",
    "StoreError": "index.errors",
    "IndexMissingError": "index.errors",
    "IndexDamagedError": "index.errors",
    "IndexModelError": "index.errors",
    "IndexFormatError": "index.errors",
    "IndexBusyError": "index.errors",
    "IndexWriteError": "index.errors",
    "DocumentNotFoundError": "index.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
