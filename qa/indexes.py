"""Config -> index: the one place the CLI, the pipeline, eval and the UI open (or build) an index.

``index.build.open_or_build`` does the work and knows nothing of ``Config``; this module maps
every index setting of ``Config`` onto ``IndexSettings`` (model, chunking, dense search), so a
setting honoured in one front end is honoured in all of them.

    >>> retriever = open_index(Config())                       # the bundled article's, built on first use
    >>> retriever = open_index(config, create=True)            # `qa ingest --index DIR`: start it if missing
    >>> retriever = open_index(config, path=cache, sources=dataset.documents())   # eval's cached index
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from qa.config import Config


def index_settings(config: Config):
    """The ``IndexSettings`` that ``config`` asks for (what an index is built and searched with)."""
    from index.settings import DenseSettings, IndexSettings

    dense = DenseSettings(flat_max_rows=config.dense_flat_max_rows, large=config.dense_large, ivf_lists=config.ivf_lists,
                          ivf_probe=config.ivf_probe, hnsw_m=config.hnsw_m, hnsw_ef_construction=config.hnsw_ef_construction,
                          hnsw_ef_search=config.hnsw_ef_search)  # fmt: skip
    return IndexSettings(config.embed_model, config.chunk_words, config.chunk_overlap_sentences, dense)


def open_index(config: Config, *, path: Path | None = None, sources: Iterable | None = None, create: bool = False,
               rebuild: bool = False, progress: bool = True, embedder=None):  # fmt: skip
    """A ``Retriever`` over the index ``config`` names, built or brought up to date first where it must be.

    Args:
        config: the settings; its chunking, model and dense settings are used for any build.
        path: the index folder; default ``config.index_path``.
        sources: what the index is built from and kept in step with (files, folders or Documents).
            Default: ``config.corpus_paths`` for the bundled article's index (no ``--index``), none
            for a user's index, which is opened as it is.
        create: start an empty index when there is none (``qa ingest``).
        rebuild: start again even if a sound index is there (``qa ingest --rebuild``).
        progress: progress bars while loading and embedding.
        embedder: reuse one already loaded (tests, the UI); default: ``config.embed_model``'s.

    Raises:
        index.errors.StoreError: the index is missing, damaged, of another format or model, and there
            is nothing to build it from; the message says what to do.
    """
    from index.build import open_or_build

    if sources is None and path is None and config.index_dir is None:
        sources = config.corpus_paths
    if config.backend == "milvus":
        from index.milvus_build import open_or_build_milvus

        name = milvus_collection(path if path is not None else config.index_dir)
        return open_or_build_milvus(config.milvus_address, name, index_settings(config), sources, token=config.milvus_token,
                                    embedder=embedder, create=create, rebuild=rebuild, progress=progress,
                                    max_mb=config.max_document_mb)  # fmt: skip
    return open_or_build(path if path is not None else config.index_path, index_settings(config), sources,
                         embedder=embedder, create=create, rebuild=rebuild, progress=progress,
                         max_mb=config.max_document_mb)  # fmt: skip


def milvus_collection(index: Path | None) -> str:
    """The Milvus collection name for an index: ``--index NAME`` (its last part), or "default" (pure).

    >>> milvus_collection(Path(".cache/eval-index/3f2a")), milvus_collection(None)
    ('askdocs_3f2a', 'askdocs_default')
    """
    import re

    name = Path(index).name if index is not None else "default"
    return "askdocs_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
