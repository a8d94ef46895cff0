"""The on-disk index: documents, sentence spans, chunks and their vectors, in one folder.

Layout: ``manifest.json`` (format, embedding model, chunking, per-document hash and chunk
count), ``documents.jsonl`` (documents with their sentence spans), ``chunks.jsonl`` and
``vectors.faiss`` (row ``i`` is chunk ``i``). Every save writes a complete new folder next to
the old one and swaps it in, so a crash or a failed embedding never leaves half an index.

    >>> store = IndexStore.create(".cache/index/mine", Embedder())
    >>> store.add_documents(load_path("corpus/data"))
    IngestReport(added=1, updated=0, unchanged=0, chunks_embedded=7)
    >>> hits = IndexStore.open(".cache/index/mine").search("Who speaks for the NSC?", k=3)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from corpus.chunking import chunk_document, sentence_spans
from corpus.document import Chunk, Document
from corpus.loading import load_path
from index.dense import DenseIndex
from index.embedder import Embedder
from index.fusion import reciprocal_rank_fusion
from index.hit import Hit
from index.lexical import LexicalIndex
from index.persist import (  # noqa: F401 - the errors and reports are part of this module's API
    FORMAT_VERSION,
    MODES,
    DocStats,
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMissingError,
    IndexSettings,
    IngestReport,
    MANIFEST,
    SentenceSpan,
    StoreError,
    _now,
    _read,
    _recover_interrupted_swap,
    _State,
    _chunk_counts,
    _write,
)

_EMBED_BATCH = 64
_PROGRESS_MIN = 64  # fewer chunks than this embed too fast for a progress bar to help


class IndexStore:
    """An index folder and its contents in memory; build with ``create`` or ``open``."""

    def __init__(self, path: Path, embedder: Embedder, settings: IndexSettings, state: _State) -> None:
        self.path = path
        self.embedder = embedder
        self.settings = settings
        self._state = state
        self._dense: DenseIndex | None = None
        self._lexical: LexicalIndex | None = None
        self._by_id: dict[str, Chunk] | None = None
        self._acronyms: tuple[dict[str, str], frozenset[str]] | None = None

    @classmethod
    def _new(cls, path: str | Path, embedder: Embedder, chunk_words: int, overlap_sentences: int) -> IndexStore:
        settings = IndexSettings(embedder.model_name, embedder.dimension, chunk_words, overlap_sentences)
        empty = np.zeros((0, settings.dimension), dtype=np.float32)
        return cls(Path(path), embedder, settings, _State({}, {}, (), empty, _now()))

    @classmethod
    def create(
        cls, path: str | Path, embedder: Embedder, chunk_words: int = 120, overlap_sentences: int = 1
    ) -> IndexStore:
        """A new, empty index at ``path``, written at once (replacing any index already there)."""
        store = cls._new(path, embedder, chunk_words, overlap_sentences)
        store._commit(store._state)
        return store

    @classmethod
    def open(cls, path: str | Path, embedder: Embedder | None = None) -> IndexStore:
        """The index at ``path``; the embedder defaults to the model the index was built with."""
        path = Path(path)
        _recover_interrupted_swap(path)
        if not (path / MANIFEST).is_file():
            if path.is_dir() and any(path.iterdir()):
                raise IndexCorruptError(path, f"{MANIFEST} is missing")
            raise IndexMissingError(path)
        try:
            settings, state, dense = _read(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON errors are ValueErrors
            reason = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
            raise IndexCorruptError(path, reason) from exc
        if embedder is None:
            embedder = Embedder(settings.embed_model)
        elif embedder.model_name != settings.embed_model:
            raise IndexCorruptError(path, f"built with {settings.embed_model}, not {embedder.model_name}")
        store = cls(path, embedder, settings, state)
        store._dense = dense
        return store

    # -- changing the contents -------------------------------------------------------------

    def _commit(self, state: _State) -> None:
        """Write ``state`` atomically, then make it current (in memory only once it is on disk)."""
        dense = _write(self.path, self.settings, state)
        self._state, self._dense, self._lexical, self._by_id = state, dense, None, None
        self._acronyms = None

    def _embed(self, texts: list[str], progress: bool) -> np.ndarray:
        from tqdm import tqdm

        parts = [np.zeros((0, self.settings.dimension), dtype=np.float32)]
        quiet = not progress or len(texts) < _PROGRESS_MIN
        with tqdm(total=len(texts), desc="Embedding chunks", unit="chunk", disable=quiet, leave=False) as bar:
            for i in range(0, len(texts), _EMBED_BATCH):
                parts.append(np.asarray(self.embedder.embed_documents(texts[i : i + _EMBED_BATCH]), np.float32))
                bar.update(len(parts[-1]))
        vectors = np.concatenate(parts)
        if vectors.shape != (len(texts), self.settings.dimension):
            raise StoreError(f"The embedder returned vectors of shape {vectors.shape}: check the embedding model.")
        return vectors

    def add_documents(self, docs: Iterable[Document], progress: bool = True) -> IngestReport:
        """Add new documents and replace changed ones (same doc_id, other text); skip unchanged ones.

        Only chunks of new or changed documents are embedded. If anything fails, the index on
        disk and in memory is left as it was.
        """
        old = self._state
        documents, sentences = dict(old.documents), dict(old.sentences)
        fresh: list[Chunk] = []
        replaced: set[str] = set()
        added = unchanged = 0
        for doc in {d.doc_id: d for d in docs}.values():  # a repeated doc_id: the last one wins
            previous = documents.get(doc.doc_id)
            documents[doc.doc_id] = doc  # an unchanged text may still come with a new title
            if previous is not None and previous.content_hash == doc.content_hash:
                unchanged += 1
                continue
            if previous is None:
                added += 1
            else:
                replaced.add(doc.doc_id)
            sentences[doc.doc_id] = sentence_spans(doc.text)
            s = self.settings
            fresh.extend(chunk_document(doc, s.chunk_words, s.overlap_sentences, sentences[doc.doc_id]))
        report = IngestReport(added, len(replaced), unchanged, len(fresh))
        if documents == old.documents:
            return report
        vectors = self._embed([c.text for c in fresh], progress)
        keep = [i for i, c in enumerate(old.chunks) if c.doc_id not in replaced]
        chunks = tuple(old.chunks[i] for i in keep) + tuple(fresh)
        self._commit(_State(documents, sentences, chunks, np.concatenate([old.vectors[keep], vectors]), old.created))
        return report

    def remove_document(self, doc_id: str) -> None:
        """Drop a document, its chunks and their vectors."""
        old = self._state
        if doc_id not in old.documents:
            raise DocumentNotFoundError(self.path, doc_id)
        keep = [i for i, c in enumerate(old.chunks) if c.doc_id != doc_id]
        documents = {k: v for k, v in old.documents.items() if k != doc_id}
        sentences = {k: v for k, v in old.sentences.items() if k != doc_id}
        chunks = tuple(old.chunks[i] for i in keep)
        self._commit(_State(documents, sentences, chunks, old.vectors[keep], old.created))

    # -- reading -----------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        return list(self._state.documents.values())

    def document(self, doc_id: str) -> Document:
        try:
            return self._state.documents[doc_id]
        except KeyError:
            raise DocumentNotFoundError(self.path, doc_id) from None

    def sentences(self, doc_id: str) -> list[SentenceSpan]:
        """Sentence spans of a document, as used for chunking (reading windows grow by these)."""
        self.document(doc_id)
        return list(self._state.sentences[doc_id])

    def chunks(self) -> list[Chunk]:
        return list(self._state.chunks)

    def stats(self) -> list[DocStats]:
        counts = _chunk_counts(self._state.chunks)
        return [DocStats(d.doc_id, d.title, len(d.text), counts.get(d.doc_id, 0)) for d in self.documents()]

    def _ranking(self, source: str, query: str, n: int) -> tuple[list[str], list[float]]:
        if source == "dense":
            if self._dense is None:
                self._dense = DenseIndex.build(self._state.vectors, self.settings.dimension)
            rows, scores = self._dense.search(self.embedder.embed_query(query), n)
        else:
            if self._lexical is None:
                self._lexical = LexicalIndex.build([c.text for c in self._state.chunks])
            rows, scores = self._lexical.search(query, n)
        return [self._state.chunks[r].chunk_id for r in rows], scores

    def spell_out_acronyms(self, text: str) -> str:
        """``text`` with acronyms the documents only ever spell out replaced by the name (``index.acronyms``)."""
        from index.acronyms import acronym_table, spell_out_acronyms, vocabulary

        if self._acronyms is None:
            texts = [d.text for d in self._state.documents.values()]
            self._acronyms = (acronym_table(texts), vocabulary(texts))
        return spell_out_acronyms(text, *self._acronyms)

    def search(self, query: str, k: int = 5, mode: str = "hybrid", rrf_k: int = 60) -> list[Hit]:
        """The ``k`` best chunks for ``query``: "dense" (cosine), "bm25", or "hybrid" (RRF of both).

        Each retriever contributes ``max(4k, 20)`` candidates; ``Hit.score`` is the cosine, the
        BM25 score or the fused RRF score, and ``Hit.source_ranks`` the rank per retriever.
        """
        if mode not in MODES:
            raise ValueError(f"Unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}.")
        if k <= 0 or not query.strip() or not self._state.chunks:
            return []
        if self._by_id is None:
            self._by_id = {c.chunk_id: c for c in self._state.chunks}
        sources = ("dense", "bm25") if mode == "hybrid" else (mode,)
        ranked = {source: self._ranking(source, query, max(k * 4, 20)) for source in sources}
        if mode != "hybrid":
            ids, scores = ranked[mode]
            return [
                Hit(self._by_id[cid], score, rank, {mode: rank})
                for rank, (cid, score) in enumerate(zip(ids[:k], scores[:k]), start=1)
            ]
        fused = reciprocal_rank_fusion({s: ids for s, (ids, _) in ranked.items()}, k=rrf_k, top_k=k)
        return [Hit(self._by_id[f.id], f.score, rank, f.ranks) for rank, f in enumerate(fused, start=1)]


def ensure_default_index(
    path: str | Path,
    corpus_paths: Iterable[str | Path],
    embedder: Embedder,
    progress: bool = True,
    chunk_words: int = 120,
    overlap_sentences: int = 1,
) -> IndexStore:
    """The index at ``path``, (re)built from ``corpus_paths`` first if it is missing or damaged."""
    try:
        return IndexStore.open(path, embedder)
    except IndexMissingError:
        reason = "there is none yet"
    except IndexCorruptError as exc:
        reason = f"the old one is damaged: {exc.reason}"
    corpus_paths = [Path(p) for p in corpus_paths]
    print(
        f"Building the index at {path} from {', '.join(map(str, corpus_paths))} ({reason}).",
        file=sys.stderr,
    )
    store = IndexStore._new(path, embedder, chunk_words, overlap_sentences)
    store.add_documents([doc for p in corpus_paths for doc in load_path(p)], progress=progress)
    return store
