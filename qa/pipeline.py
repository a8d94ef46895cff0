"""Retrieve -> widen to reading windows -> read -> merge -> cite: one question in, one Answer out.

Acronyms the documents never use are first spelled out from their own names
(``index.acronyms``), for retrieving and for reading alike. Hits are widened to
whole neighbouring sentences of their document and
overlapping windows are merged, so an answer that straddles a chunk boundary is
read in one piece. Each window is read as its own passage and every span is
mapped back to document offsets, so citations are exact slices of the source
(``doc.text[c.start:c.end]``), checked before they are returned.

    >>> pipe = Pipeline.from_config()            # default article, built on first use
    >>> pipe.ask("Who speaks for the National Security Council?").text
    'John Kirby'
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass

from corpus.document import Document
from index.hit import Hit
from qa.answer import Answer, Citation, Passage, Span, Timings
from qa.config import Config, default_index_dir
from qa.errors import check_question


@dataclass(frozen=True)
class Window:
    """A stretch of whole sentences of one document, read as one passage."""

    doc_id: str
    start: int
    end: int
    first: int  # sentence indices, inclusive
    last: int
    rank: int
    score: float
    source_ranks: dict[str, int]


def sentence_range(sentences: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """Indices of the first and last sentence overlapping ``[start, end)`` (pure)."""
    ends = [e for _, e in sentences]
    first = min(bisect.bisect_right(ends, start), len(sentences) - 1)
    last = first
    while last + 1 < len(sentences) and sentences[last + 1][0] < end:
        last += 1
    return first, last


def widen_and_merge(hits: list[Hit], sentences_of, width: int) -> list[Window]:
    """Widen each hit by ``width`` sentences per side; merge windows of a document that overlap or touch."""
    by_doc: dict[str, list[Window]] = {}
    for hit in hits:
        sents = sentences_of(hit.chunk.doc_id)
        if not sents:
            continue
        first, last = sentence_range(sents, hit.chunk.start, hit.chunk.end)
        first, last = max(0, first - width), min(len(sents) - 1, last + width)
        by_doc.setdefault(hit.chunk.doc_id, []).append(
            Window(hit.chunk.doc_id, sents[first][0], sents[last][1], first, last, hit.rank, hit.score,
                   dict(hit.source_ranks))
        )
    merged: list[Window] = []
    for doc_id, wins in by_doc.items():
        sents = sentences_of(doc_id)
        wins.sort(key=lambda w: w.first)
        cur = wins[0]
        for w in wins[1:]:
            if w.first <= cur.last + 1:
                best = cur if cur.rank <= w.rank else w
                last = max(cur.last, w.last)
                cur = Window(doc_id, cur.start, sents[last][1], cur.first, last, best.rank, best.score,
                             best.source_ranks)
            else:
                merged.append(cur)
                cur = w
        merged.append(cur)
    return sorted(merged, key=lambda w: w.rank)


class Pipeline:
    """The chatbot's core. Thread-safe: concurrent ask() calls are served one at a time."""

    def __init__(self, store, reader, config: Config) -> None:
        self.store = store
        self.reader = reader
        self.config = config
        self._lock = threading.RLock()

    @classmethod
    def from_config(cls, config: Config | None = None, progress: bool = True) -> Pipeline:
        """Open the configured index (building the default one on first use) and load both models."""
        from index.embedder import Embedder
        from index.store import IndexStore, ensure_default_index
        from qa.reader import Reader

        config = config if config is not None else Config()
        embedder = Embedder(config.embed_model)
        if config.index_dir.resolve() == default_index_dir().resolve():
            store = ensure_default_index(config.index_dir, list(config.corpus_paths), embedder, progress=progress)
        else:
            store = IndexStore.open(config.index_dir, embedder=embedder)
        reader = Reader.from_config(config).load()
        return cls(store, reader, config)

    @property
    def threshold(self) -> float:
        t = self.config.abstain_threshold
        return t if t is not None else self.reader.threshold

    def ingest(self, docs: list[Document], progress: bool = False):
        """Add documents to the index while no question is being answered (returns the IngestReport)."""
        with self._lock:
            return self.store.add_documents(docs, progress=progress)

    def retrieve(self, question: str, k: int | None = None) -> list[Hit]:
        with self._lock:
            query = self.store.spell_out_acronyms(question)
            return self.store.search(query, k=k if k is not None else self.config.top_k, mode=self.config.retrieval)

    def ask(self, question: str, retrieval_query: str | None = None) -> Answer:
        """Answer one question; ``retrieval_query`` (e.g. with a follow-up's context) replaces it for retrieval."""
        question = check_question(question, self.config.max_question_chars)
        query = check_question(retrieval_query, 4 * self.config.max_question_chars) if retrieval_query else question
        with self._lock:
            t0 = time.perf_counter()
            hits = self.retrieve(query)
            retrieve_ms = (time.perf_counter() - t0) * 1000
            return self.answer_from_hits(question, hits, retrieve_ms=retrieve_ms)

    def answer_from_hits(self, question: str, hits: list[Hit], retrieve_ms: float = 0.0) -> Answer:
        """Read the windows around ``hits`` and build the Answer (abstaining below the threshold)."""
        question = check_question(question, self.config.max_question_chars)
        with self._lock:
            t0 = time.perf_counter()
            windows = widen_and_merge(hits, self.store.sentences, self.config.window_sentences)
            docs = {w.doc_id: self.store.document(w.doc_id) for w in windows}
            passages = tuple(
                Passage(w.doc_id, docs[w.doc_id].title, w.start, w.end, docs[w.doc_id].text[w.start : w.end],
                        w.rank, w.score, w.source_ranks)
                for w in windows
            )
            read_as = self.store.spell_out_acronyms(question)  # "NSC" -> "National Security Council"
            found = self.reader.read(read_as, [p.text for p in passages], top_k=5) if passages else []
            read_ms = (time.perf_counter() - t0) * 1000
        spans = merge_spans(
            Span(passages[s.passage].doc_id, passages[s.passage].start + s.start, passages[s.passage].start + s.end,
                 s.text, s.score)
            for s in found
        )
        timings = Timings(retrieve_ms, read_ms, retrieve_ms + read_ms)
        rewritten = read_as if read_as != question else ""
        if not spans or spans[0].score < self.threshold:
            score = spans[0].score if spans else 0.0
            return Answer(question, None, score, (), passages, tuple(spans), timings, rewritten)
        best = spans[0]
        same = [s for s in spans if s.text.lower() == best.text.lower() and s.score >= self.threshold][:3]
        citations = tuple(self._cite(s, docs[s.doc_id]) for s in same)
        return Answer(question, best.text, best.score, citations, passages, tuple(spans), timings, rewritten)

    def _cite(self, span: Span, doc: Document) -> Citation:
        if doc.text[span.start : span.end] != span.text:  # the promise we make to users: never cite loosely
            raise AssertionError(f"citation offsets drifted for {doc.doc_id}:{span.start}-{span.end}")
        sents = self.store.sentences(doc.doc_id)
        first, last = sentence_range(sents, span.start, span.end)
        s0, s1 = min(sents[first][0], span.start), max(sents[last][1], span.end)
        return Citation(doc.doc_id, doc.title, span.start, span.end, s0, s1, doc.text[s0:s1])


def merge_spans(spans) -> list[Span]:
    """One entry per document location (the best score wins), ranked by score (pure)."""
    best: dict[tuple[str, int, int], Span] = {}
    for s in spans:
        key = (s.doc_id, s.start, s.end)
        if key not in best or best[key].score < s.score:
            best[key] = s
    return sorted(best.values(), key=lambda s: (-s.score, s.doc_id, s.start))
