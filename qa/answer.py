"""What the pipeline returns: the answer, its citations, the passages read and the ranked candidates.

All offsets are half-open ``[start, end)`` into ``Document.text``. The span types, from the
model outwards: ``qa.spans.TokenSpan`` (token indices in one model window) ->
``qa.reader.PassageSpan`` (characters of one passage handed to the reader) -> ``Candidate``
here (characters of a document, ranked by score) -> ``Citation`` (a candidate given as proof).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    """A possible answer: a reader span mapped to document offsets, ranked among the others by ``score``."""

    doc_id: str
    start: int
    end: int
    text: str
    score: float  # calibrated probability that this span answers the question


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from: the answer span and the sentence(s) around it."""

    doc_id: str
    title: str
    start: int  # the answer span
    end: int
    sentence_start: int  # the supporting sentence(s) that contain the span
    sentence_end: int
    sentence: str


@dataclass(frozen=True)
class Passage:
    """A reading window the reader saw, with the retrieval ranks that brought it in."""

    doc_id: str
    title: str
    start: int
    end: int
    text: str
    rank: int  # 1-based rank of the best hit inside this window
    retrieval_score: float
    source_ranks: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Timings:
    retrieve_ms: float
    read_ms: float
    total_ms: float
    tokens_read: int = 0  # model tokens the reader read (it stops early once an answer is settled)
    passages_read: int = 0  # of the passages retrieved, best-ranked first


@dataclass(frozen=True)
class Answer:
    """``text is None`` means the documents do not contain the answer (the system abstained)."""

    question: str  # as understood: a follow-up resolved against its conversation (qa.followup)
    text: str | None
    score: float
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    candidates: tuple[Candidate, ...] = ()  # best first, kept even when abstaining
    timings: Timings | None = None
    read_as: str = ""  # the question with acronyms spelled out, when that changed it (else "")

    @property
    def abstained(self) -> bool:
        return self.text is None

    @property
    def question_as_read(self) -> str:
        """The question exactly as it was retrieved and read."""
        return self.read_as if self.read_as else self.question

    def to_json(self) -> dict:
        """The CLI/API contract: {question, answer, score, citations[{doc_id, title, start, end, sentence}]}."""
        return {
            "question": self.question,
            "answer": self.text,
            "score": round(self.score, 4),
            "citations": [
                {"doc_id": c.doc_id, "title": c.title, "start": c.start, "end": c.end, "sentence": c.sentence}
                for c in self.citations
            ],
        }
