"""Open an index or build it: the one call the CLI, the pipeline, eval and the UI share.

    >>> settings = IndexSettings(config.embed_model, config.chunk_words, config.chunk_overlap_sentences)
    >>> retriever = open_or_build(config.index_dir, settings, sources=config.corpus_paths)  # the default index
    >>> retriever = open_or_build("my-index", settings)               # a user's index: it must exist
    >>> retriever = open_or_build("my-index", settings, create=True)  # `qa ingest`: start it if missing
    >>> add_documents(retriever.store, retriever.embedder, load_path("memo.pdf"))
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from corpus.document import Document
from index.errors import IndexDamagedError, IndexFormatError, IndexMissingError, IndexModelError
from index.ingest import add_documents
from index.retriever import Retriever
from index.settings import IndexSettings
from index.store import IndexStore


def open_or_build(
    path: str | Path,
    settings: IndexSettings | None = None,
    sources: Iterable[str | Path | Document] | None = None,
    *,
    embedder=None,
    create: bool = False,
    rebuild: bool = False,
    progress: bool = True,
    max_mb: float | None = None,
) -> Retriever:
    """The index at ``path`` with a retriever over it, built first when it must be.

    Args:
        path: the index folder.
        settings: model, chunking, dense and compaction settings (``qa.Config`` maps onto them).
        sources: None for an index of its own (a user's), opened as it is. Otherwise what the
            index is built from (files, folders or Documents): it is (re)built from them when it
            is missing, damaged, in an unreadable format, or built with another model or chunking,
            and brought up to date when they changed: new and changed documents are embedded,
            documents that came from them and are gone are removed, and other documents (added
            with ``qa ingest``) are kept. Unchanged documents cost a hash.
        embedder: defaults to ``Embedder(settings.embed_model)``.
        create: with no ``sources``, start an empty index when there is none (``qa ingest``).
        rebuild: start again even if a sound index is there (``qa ingest --rebuild``).
        progress: show progress bars while loading and embedding.
        max_mb: files in ``sources`` larger than this are refused before they are read
            (default: ``corpus.loading.DEFAULT_MAX_MB``).

    Raises:
        IndexMissingError, IndexDamagedError, IndexModelError, IndexFormatError: the index cannot
        be opened and there is nothing to build it from.
    """
    settings = settings if settings is not None else IndexSettings()
    if embedder is None:
        from index.embedder import Embedder

        embedder = Embedder(settings.embed_model)
    if embedder.model_name != settings.embed_model:
        raise ValueError(f"The embedder uses {embedder.model_name}, the settings say {settings.embed_model}.")
    path = Path(path)
    sources = list(sources) if sources is not None else None
    docs = _load(sources, max_mb, progress) if sources is not None else None
    reason = "asked to rebuild" if rebuild else None
    if reason is None:
        store, reason = open_current(lambda: IndexStore.open(path, embedder, settings=settings), docs, sources,
                                     embedder, settings, progress, missing_ok=create,
                                     unusable=(IndexDamagedError, IndexFormatError, IndexModelError))  # fmt: skip
        if store is not None:
            return Retriever(store, embedder)
    where = f" from {_describe(sources)}" if sources is not None else ""
    print(f"Building the index at {path}{where} ({reason}).", file=sys.stderr, flush=True)
    # A rebuild commits nothing until its first documents are in, so until then the old index stays.
    store = IndexStore.create(path, embedder, settings=settings, commit=not docs and not (rebuild and docs is None))
    if docs:
        add_documents(store, embedder, docs, progress)
    return Retriever(store, embedder)


def open_current(open_store, docs: list[Document] | None, sources, embedder, settings: IndexSettings, progress: bool,
                 *, missing_ok: bool, unusable: tuple[type[Exception], ...]):  # fmt: skip
    """(the store, None) when it opens and is current (brought in step with ``docs``), else (None, why to build).

    The one decision both backends make (``open_or_build`` here, ``index.milvus_build`` for Milvus):
    a missing or ``unusable`` index is rebuilt when there is something to build it from, and is
    an error otherwise (a missing one not when ``missing_ok``: an empty index is started).
    """
    try:
        store = open_store()
    except IndexMissingError:
        if docs is None and not missing_ok:
            raise
        return None, "there is none yet"
    except unusable as exc:
        if docs is None:
            raise
        return None, _why_unusable(exc)
    reason = _outdated(store, settings) if docs is not None else None
    if reason is None and docs is not None:
        _sync(store, embedder, docs, sources, progress)
    return (store, None) if reason is None else (None, reason)


def _load(sources: list, max_mb: float | None, progress: bool) -> list[Document]:
    """The documents given plus those loaded from the paths given, as one load (ids must not collide)."""
    from corpus.loading import DEFAULT_MAX_MB, load_paths

    paths = [s for s in sources if not isinstance(s, Document)]
    loaded = load_paths(paths, max_mb if max_mb is not None else DEFAULT_MAX_MB, progress) if paths else []
    return [s for s in sources if isinstance(s, Document)] + loaded


def _why_unusable(exc: Exception) -> str:
    if isinstance(exc, IndexModelError):
        return f"the old one was built with the embedding model {exc.built_with}"
    if isinstance(exc, IndexDamagedError):
        return f"the old one is damaged: {exc.reason}"
    return f"the old one is in format {getattr(exc, 'found', '?')}, which this program cannot read"


def _outdated(store: IndexStore, settings: IndexSettings) -> str | None:
    """Why an index of sources must be rebuilt under ``settings`` (None: it need not be); the model was checked on open."""
    have = store.settings
    if (have.chunk_words, have.overlap_sentences) != (settings.chunk_words, settings.overlap_sentences):
        return (f"it was chunked with {have.chunk_words} words and {have.overlap_sentences} overlapping sentences, "
                f"the settings say {settings.chunk_words} and {settings.overlap_sentences}")  # fmt: skip
    return None


def _sync(store: IndexStore, embedder, docs: list[Document], sources, progress: bool) -> None:
    roots = [Path(s).resolve() for s in sources if not isinstance(s, Document)]
    given = {d.source for d in docs}

    def came_from_sources(source: str) -> bool:
        if source in given:
            return True
        try:
            where = Path(source).resolve()
        except (OSError, ValueError):
            return False
        return any(where == root or root in where.parents for root in roots)

    report = add_documents(store, embedder, docs, progress, remove_missing=came_from_sources)
    if report.added or report.updated or report.removed:
        print(f"Updated the index at {store.path} from {_describe(sources)}: {report.added} added, "
              f"{report.updated} changed, {report.removed} removed.", file=sys.stderr, flush=True)  # fmt: skip


def _describe(sources) -> str:
    paths = [str(s) for s in sources if not isinstance(s, Document)]
    n_docs = sum(isinstance(s, Document) for s in sources)
    return ", ".join(paths + ([f"{n_docs} documents"] if n_docs else [])) or "no documents"
