"""Open a Milvus index or build it: ``index.build.open_or_build`` for ``--backend milvus``.

Same contract as the local one: with ``sources`` the index is built from them when missing or
chunked otherwise, and kept in step with them (new and changed documents embedded, documents
that came from them and are gone removed); without, it must exist unless ``create``.

    >>> retriever = open_or_build_milvus(".cache/milvus/index.db", "askdocs_default", settings, ["corpus/data"])
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from corpus.document import Document
from index.build import _describe, _load, open_current
from index.errors import IndexModelError
from index.ingest import add_documents
from index.milvus import MilvusStore, connect
from index.retriever import Retriever
from index.settings import IndexSettings


def open_or_build_milvus(uri: str, name: str, settings: IndexSettings | None = None,
                         sources: Iterable[str | Path | Document] | None = None, *, token: str | None = None,
                         embedder=None, create: bool = False, rebuild: bool = False, progress: bool = True,
                         max_mb: float | None = None) -> Retriever:  # fmt: skip
    """A retriever over the Milvus index ``name`` at ``uri`` (a ``.db`` path: Milvus Lite), built first when it must be."""
    settings = settings if settings is not None else IndexSettings()
    if embedder is None:
        from index.embedder import Embedder

        embedder = Embedder(settings.embed_model)
    client = connect(uri, token)
    sources = list(sources) if sources is not None else None
    docs = _load(sources, max_mb, progress) if sources is not None else None
    reason = "asked to rebuild" if rebuild else None
    if reason is None:
        store, reason = open_current(
            lambda: MilvusStore.open(uri, name, embedder, settings=settings, create=create, client=client),
            docs, sources, embedder, settings, progress, missing_ok=False, unusable=(IndexModelError,))
        if store is not None:
            return Retriever(store, embedder)
    where = f" from {_describe(sources)}" if sources is not None else ""
    print(f"Building the Milvus index {name} at {uri}{where} ({reason}).", file=sys.stderr, flush=True)
    store = MilvusStore.open(uri, name, embedder, settings=settings, rebuild=True, client=client)
    if docs:
        add_documents(store, embedder, docs, progress)
    return Retriever(store, embedder)
