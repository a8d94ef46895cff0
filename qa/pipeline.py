"""Spell out -> retrieve -> widen to reading windows -> read -> rank -> cite: one question in, one Answer out.

``Pipeline.ask`` is the one path every front end and the evaluation take. The question comes
in already cleaned (``qa.question.normalize_question``, called by the entry point). Within a
conversation a follow-up is first resolved (``qa.followup``). Acronyms the documents never use
are then spelled out from their own names (``index.acronyms``), once, for retrieving and
reading alike. Hits are widened to whole neighbouring sentences of their document and
overlapping windows are merged, so an answer that straddles a chunk boundary is read in one
piece. Each window is read as its own passage and every span is mapped back to document
offsets, so citations are exact slices of the source (``doc.text[c.start:c.end]``), checked
before they are returned.

    >>> pipe = Pipeline.from_config()            # default article, built on first use
    >>> pipe.ask("Who speaks for the National Security Council?").text
    'John Kirby'
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

from corpus.document import Document
from index.hit import Hit
from qa.answer import Answer, Candidate, Citation, Passage, Timings
from qa.config import READERS_OWN, Config
from qa.followup import Conversation, Followup, resolve_followup

INGEST_EMBED_BATCH = 4  # chunks per embedder call while the chat answers: a question waits for one call at most
UPLOAD_PATIENCE_S = 2.0  # the longest an upload's next embedder call waits for questions to finish
UPLOAD_WARM_TEXT = "A short passage, embedded once so that the first upload finds the document embedder loaded."


@dataclass(frozen=True)
class SentenceWindow:
    """A stretch of whole sentences of one document, read as one passage (``qa.windows`` cuts it into tokens)."""

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


def widen_and_merge(hits: list[Hit], sentences_of, width: int) -> list[SentenceWindow]:
    """Widen each hit by ``width`` sentences per side; merge windows of a document that overlap or touch."""
    by_doc: dict[str, list[SentenceWindow]] = {}
    for hit in hits:
        sents = sentences_of(hit.chunk.doc_id)
        if not sents:
            continue
        first, last = sentence_range(sents, hit.chunk.start, hit.chunk.end)
        first, last = max(0, first - width), min(len(sents) - 1, last + width)
        by_doc.setdefault(hit.chunk.doc_id, []).append(
            SentenceWindow(hit.chunk.doc_id, sents[first][0], sents[last][1], first, last, hit.rank, hit.score,
                   dict(hit.source_ranks))
        )
    merged: list[SentenceWindow] = []
    for doc_id, wins in by_doc.items():
        sents = sentences_of(doc_id)
        wins.sort(key=lambda w: w.first)
        cur = wins[0]
        for w in wins[1:]:
            if w.first <= cur.last + 1:
                best = cur if cur.rank <= w.rank else w
                last = max(cur.last, w.last)
                cur = SentenceWindow(doc_id, cur.start, sents[last][1], cur.first, last, best.rank, best.score,
                             best.source_ranks)
            else:
                merged.append(cur)
                cur = w
        merged.append(cur)
    return sorted(merged, key=lambda w: w.rank)


class Pipeline:
    """The chatbot's core. Thread-safe: concurrent ask() calls retrieve one at a time and read together."""

    def __init__(self, retriever, reader, config: Config) -> None:
        self.retriever = retriever  # index.Retriever: search, acronyms, documents and their sentences
        self.reader = reader
        self.config = config
        self._lock = threading.RLock()
        self._asking = 0  # questions being answered now: an upload's embedding waits for none (ingest)
        self._asked = threading.Condition()

    @classmethod
    def from_config(cls, config: Config | None = None, progress: bool = True) -> Pipeline:
        """Open the configured index (building the bundled article's on first use) and load both models."""
        from qa.indexes import open_index
        from qa.reader import Reader

        config = config if config is not None else Config()
        retriever = open_index(config, progress=progress)
        reader = Reader.from_config(config).load()
        return cls(retriever, reader, config)

    @property
    def threshold(self) -> float:
        t = self.config.abstain_threshold
        return t if t is not None else self.reader.threshold

    @property
    def settle(self) -> float | None:
        """The score at which the best hit's window alone settles the answer (None: always read everything)."""
        s = self.config.settle_score
        return self.reader.calibration.settle if s == READERS_OWN else s

    def ingest(self, docs: list[Document], progress: bool = False,
               guard: Callable[[], AbstractContextManager] = nullcontext):  # fmt: skip
        """Add documents to the index (returns the IngestReport); questions wait only for the commit.

        Chunking and embedding a large upload take minutes, the commit a fraction of a second, so
        only the commit holds this pipeline's lock (and ``guard``, entered first: the chat's lock
        shared by every reader's pipeline over the same index). Questions asked meanwhile are
        answered from the index as it was. Embedding goes in small calls, each made only while no
        question is being answered (or after ``UPLOAD_PATIENCE_S``, so that the upload advances
        under a stream of questions) and never beside a forward pass of the reader, so a question
        waits for one such call at most, and two cores are not crowded by four threads.
        """
        from index.ingest import add_documents

        @contextmanager
        def committing():
            with guard(), self._lock:
                yield

        @contextmanager
        def between_questions():  # questions first; after UPLOAD_PATIENCE_S the upload takes its turn anyway
            with self._asked:
                self._asked.wait_for(lambda: self._asking == 0, timeout=UPLOAD_PATIENCE_S)
            with self.reader.compute:
                yield

        return add_documents(self.retriever.store, self.retriever.embedder, docs, progress, commit_guard=committing,
                             embed_guard=between_questions, embed_batch=INGEST_EMBED_BATCH)  # fmt: skip

    def prepare_uploads(self) -> None:
        """Load the document embedder and run it once, so that the first upload does not do it beside questions.

        Why: questions need only the query encoder (``index.query_encoder``, transformers alone); the
        first upload used to import sentence-transformers and load its model while questions were
        being answered, and those questions waited several times their usual time.
        """
        self.retriever.embedder.embed_documents([UPLOAD_WARM_TEXT])

    def ask(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer one question, or abstain below the threshold.

        Args:
            question: cleaned by ``qa.question.normalize_question`` at the entry point; not checked again.
            conversation: the chat so far, to resolve a follow-up against (``qa.followup.reply`` passes it).
        Returns:
            The Answer, with the question as understood and as read, the passages read and the timings.
        """
        with self._asked:
            self._asking += 1
        try:
            return self._ask(question, conversation)
        finally:
            with self._asked:
                self._asking -= 1
                self._asked.notify_all()

    def _ask(self, question: str, conversation: Conversation | None) -> Answer:
        followup = resolve_followup(question, conversation.turns) if conversation is not None else Followup(question)
        t0 = time.perf_counter()
        with self._lock:  # a consistent view of the index while the passages are taken from it
            read_as = self.retriever.spell_out_acronyms(followup.understood)  # "NSC" -> "National Security Council"
            hits = self.retrieve(dataclasses.replace(followup, understood=read_as).retrieval_query)
            passages = self._passages(hits)
            best_alone = self._passages(hits[:1]) if self.settle is not None else ()
        t1 = time.perf_counter()
        # Read outside the lock: questions asked at the same time share the reader's forward passes.
        reading, passages = self._read(read_as, passages, best_alone)
        t2 = time.perf_counter()
        candidates = rank_candidates(
            Candidate(passages[s.passage].doc_id, passages[s.passage].start + s.start,
                      passages[s.passage].start + s.end, s.text, s.score)
            for s in reading.spans
        )  # fmt: skip
        timings = Timings((t1 - t0) * 1000, (t2 - t1) * 1000, (t2 - t0) * 1000, reading.tokens, reading.passages)
        with self._lock:
            # a document replaced or removed while this question was read is not cited from its old text
            candidates = [c for c in candidates if self._still_there(c)]
            return self._answer(followup.understood, read_as, passages, candidates, timings)

    def retrieve(self, query: str, k: int | None = None) -> list[Hit]:
        """The ``k`` (default ``top_k``) best chunks for a query as read: ``ask``'s retrieval step.

        Public for evaluation, which retrieves deeper than the reader reads to measure recall@k.
        """
        with self._lock:
            k = k if k is not None else self.config.top_k
            return self.retriever.search(query, k=k, mode=self.config.retrieval, rrf_k=self.config.rrf_k)

    def _read(self, question: str, passages: tuple[Passage, ...], best_alone: tuple[Passage, ...]):
        """(what the reader found, the passages it came from): the best hit alone if that settles it, else all.

        Why: the top hit holds the answer for most questions, and a calibrated score at or above
        ``settle`` from it alone is rarely beaten (``bench/read_less.py``), so its window of a
        few sentences is read first. When it does not settle the answer, everything is read exactly
        as without a settle score, and the first read is set aside: many separately read windows
        offer more chances of a confident wrong span, which made the pipeline abstain less.
        """
        top_k = self.config.answer_candidates
        alone = None
        if best_alone and best_alone != passages:  # else the best hit's window is all there is to read
            alone = self.reader.read_ranked(question, [p.text for p in best_alone], top_k=top_k)
            if alone.spans and alone.spans[0].score >= self.settle:
                return alone, best_alone
        reading = self.reader.read_ranked(question, [p.text for p in passages], top_k=top_k)
        if alone is not None:
            reading = dataclasses.replace(reading, tokens=reading.tokens + alone.tokens, passages=reading.passages + 1)
        return reading, passages

    def _passages(self, hits: list[Hit]) -> tuple[Passage, ...]:
        """The hits widened to whole sentences and merged, as the passages the reader reads, best rank first."""
        windows = widen_and_merge(hits, self.retriever.sentences, self.config.window_sentences)
        docs = {w.doc_id: self.retriever.document(w.doc_id) for w in windows}
        return tuple(
            Passage(w.doc_id, docs[w.doc_id].title, w.start, w.end, docs[w.doc_id].text[w.start : w.end],
                    w.rank, w.score, w.source_ranks)
            for w in windows
        )  # fmt: skip

    def _answer(self, question: str, read_as: str, passages: tuple[Passage, ...], candidates: list[Candidate],
                timings: Timings) -> Answer:  # fmt: skip
        """The best candidate with its citations, or an abstention when it scores below the threshold."""
        rewritten = read_as if read_as != question else ""
        if not candidates or candidates[0].score < self.threshold:
            score = candidates[0].score if candidates else 0.0
            return Answer(question, None, score, (), passages, tuple(candidates), timings, rewritten)
        best = candidates[0]
        same = [c for c in candidates if c.text.lower() == best.text.lower() and c.score >= self.threshold]
        citations = tuple(self._cite(c) for c in same[: self.config.max_citations])
        return Answer(question, best.text, best.score, citations, passages, tuple(candidates), timings, rewritten)

    def _still_there(self, candidate: Candidate) -> bool:
        from index.errors import DocumentNotFoundError

        try:
            return self.retriever.document(candidate.doc_id).text[candidate.start : candidate.end] == candidate.text
        except DocumentNotFoundError:
            return False

    def _cite(self, candidate: Candidate) -> Citation:
        doc = self.retriever.document(candidate.doc_id)
        if doc.text[candidate.start : candidate.end] != candidate.text:  # our promise to users: never cite loosely
            raise AssertionError(f"citation offsets drifted for {doc.doc_id}:{candidate.start}-{candidate.end}")
        sents = self.retriever.sentences(doc.doc_id)
        first, last = sentence_range(sents, candidate.start, candidate.end)
        s0, s1 = min(sents[first][0], candidate.start), max(sents[last][1], candidate.end)
        return Citation(doc.doc_id, doc.title, candidate.start, candidate.end, s0, s1, doc.text[s0:s1])


def rank_candidates(candidates) -> list[Candidate]:
    """Best first, one per place in the documents: overlapping spans are one answer, not rivals (pure).

    "Kirby" and "John Kirby" in the same sentence are two readings of one answer; the better-scored
    reading stands for both, so the candidates a user sees (and the runner-up) are real alternatives.
    """
    kept: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (-c.score, c.doc_id, c.start, c.end)):
        if not any(k.doc_id == c.doc_id and k.start < c.end and c.start < k.end for k in kept):
            kept.append(c)
    return kept
