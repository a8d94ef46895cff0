"""Pure evaluation metrics: SQuAD answer scores, retrieval ranks, citations, latency, and their summary.

Answer scoring follows the official SQuAD v2.0 script (``normalize_answer``,
``compute_exact``, ``compute_f1``) so that our figures can be compared with
published ones: lower-case, drop punctuation and the articles a/an/the, collapse
whitespace, then compare tokens. An abstention is the empty prediction; for an
unanswerable question (no references) only the empty prediction scores 1.

    >>> f1_score("the Serb List", ["Serb List party"])
    0.8
    >>> exact_match(None, [])          # abstaining on an unanswerable question
    1.0
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = frozenset(string.punctuation)
RECALL_KS = (1, 3, 5, 10, 20)


def normalize_answer(text: str | None) -> str:
    """Lower-case, remove punctuation, articles and extra whitespace (the official SQuAD normalisation)."""
    text = (text or "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _references(references: Sequence[str]) -> list[str]:
    """References that survive normalisation; none means the question is unanswerable ([""])."""
    kept = [r for r in references if normalize_answer(r)]
    return kept if kept else [""]


def _exact(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def _f1(prediction: str, reference: str) -> float:
    pred, gold = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not gold:  # an empty side scores 1 only against another empty side
        return float(pred == gold)
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str | None, references: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised reference; ``None`` is an abstention ("")."""
    pred = prediction if prediction is not None else ""
    return max(_exact(pred, ref) for ref in _references(references))


def f1_score(prediction: str | None, references: Sequence[str]) -> float:
    """Token-overlap F1, the maximum over references; ``None`` is an abstention ("")."""
    pred = prediction if prediction is not None else ""
    return max(_f1(pred, ref) for ref in _references(references))


def find_occurrences(text: str, answer: str) -> list[tuple[int, int]]:
    """Every ``[start, end)`` where ``answer`` occurs verbatim in ``text`` (overlaps included)."""
    if not answer:
        return []
    found, start = [], text.find(answer)
    while start >= 0:
        found.append((start, start + len(answer)))
        start = text.find(answer, start + 1)
    return found


def contains_answer(text: str, references: Sequence[str]) -> bool:
    """Whether a reference occurs in ``text`` as whole words after SQuAD normalisation (case, punctuation, articles).

    The recall rule for questions that name no paragraph: a retrieved chunk counts when it says
    the answer. Hand-written references rarely match the text's case and punctuation exactly.

    >>> contains_answer("Spokesman John Kirby said.", ["john kirby"]), contains_answer("In 20080", ["2008"])
    (True, False)
    """
    words = f" {normalize_answer(text)} "
    return any(f" {ref} " in words for ref in map(normalize_answer, references) if ref)


def contains_any(start: int, end: int, occurrences: Sequence[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` wholly contains one of the occurrences (a retrieval hit that counts)."""
    return any(start <= s and e <= end for s, e in occurrences)


def overlaps_any(start: int, end: int, occurrences: Sequence[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` shares at least one character with one of the occurrences (a correct citation)."""
    return any(start < e and s < end for s, e in occurrences)


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Fraction of questions whose first relevant hit has 1-based rank <= k (``None``: never found)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """Mean of 1/rank, counting 0 for questions whose relevant passage was not retrieved."""
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Bin:
    lo: float
    hi: float
    n: int
    mean_score: float
    accuracy: float


def calibration_bins(scores: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> tuple[Bin, ...]:
    """Equal-width score bins over [0, 1] with the fraction correct in each (empty bins left out)."""
    groups: dict[int, list[tuple[float, bool]]] = {}
    for s, c in zip(scores, correct):
        groups.setdefault(min(int(s * n_bins), n_bins - 1), []).append((s, c))
    return tuple(
        Bin(b / n_bins, (b + 1) / n_bins, len(g), sum(s for s, _ in g) / len(g), sum(c for _, c in g) / len(g))
        for b, g in sorted(groups.items())
    )


def best_threshold(
    scores: Sequence[float], f1_if_answered: Sequence[float], f1_if_abstained: Sequence[float]
) -> tuple[float, float]:
    """The abstention threshold maximising mean F1, and that F1 (SQuAD2 convention: abstain = "").

    A question is answered when its score >= threshold. Candidates are 0 (never
    abstain), the midpoints between consecutive distinct scores and just above the
    largest (always abstain); ties go to the lowest threshold, so the choice is
    deterministic.
    """
    n = len(scores)
    if n == 0:
        return 0.0, 0.0
    order = sorted(range(n), key=lambda i: scores[i])
    total = sum(f1_if_answered)  # threshold 0: everything answered
    best_t, best_total = 0.0, total
    for pos, i in enumerate(order):
        total += f1_if_abstained[i] - f1_if_answered[i]  # question i now abstains
        nxt = scores[order[pos + 1]] if pos + 1 < n else None
        if nxt is not None and nxt == scores[i]:
            continue  # cannot separate equal scores
        t = (scores[i] + nxt) / 2 if nxt is not None else math.nextafter(scores[i], math.inf)
        if total > best_total + 1e-12:
            best_t, best_total = t, total
    return best_t, best_total / n


@dataclass(frozen=True)
class QuestionResult:
    """One question scored; ``prediction is None`` means the system abstained."""

    qid: str
    question: str
    references: tuple[str, ...]
    prediction: str | None
    top_span: str | None  # the best candidate even when abstaining
    score: float  # calibrated score of the best candidate (0 when there was none)
    em: float  # of ``prediction`` (after abstention)
    f1: float
    raw_f1: float  # of ``top_span`` (as if the system never abstained)
    rank: int | None = None  # first hit containing a reference occurrence; None: not retrieved
    paragraph_rank: int | None = None  # first hit from the gold paragraph's document
    citation_ok: bool | None = None  # an answer's citation overlaps an occurrence (answered, answerable only)
    retrieve_ms: float | None = None
    read_ms: float | None = None
    named_document: bool = True  # the question names its paragraph or document (paragraph_rank is measured)
    cited: str | None = None  # the sentence the answer cites, for people reading the results
    cited_doc: str | None = None

    @property
    def answerable(self) -> bool:
        return any(normalize_answer(r) for r in self.references)

    @property
    def abstained(self) -> bool:
        return self.prediction is None

    @property
    def raw_correct(self) -> bool:
        """What the calibration predicts: the top span is right (F1 >= 0.5) on an answerable question."""
        return self.answerable and self.raw_f1 >= 0.5

    @property
    def total_ms(self) -> float | None:
        if self.retrieve_ms is None or self.read_ms is None:
            return None
        return self.retrieve_ms + self.read_ms


@dataclass(frozen=True)
class Summary:
    """Aggregate figures of one run. EM/F1/accuracies are percentages; recall and MRR are fractions.

    Retrieval and latency fields are ``None`` when the run did not measure them
    (reader-only runs); ``no_ans_acc`` is ``None`` when no question is unanswerable.
    """

    n: int
    n_answerable: int
    n_no_answer: int
    has_ans_em: float  # answerable questions, after abstention
    has_ans_f1: float
    has_ans_f1_raw: float  # answerable questions, top span as if never abstaining
    overall_em: float  # all questions (SQuAD2 official convention)
    overall_f1: float
    no_ans_acc: float | None
    abstain_rate: float
    recall: tuple[tuple[int, float], ...] | None = None  # ((k, recall@k), ...) over answerable questions
    paragraph_recall: tuple[tuple[int, float], ...] | None = None  # over questions that name their document
    mrr: float | None = None
    citation_acc: float | None = None  # answered answerable questions whose citation overlaps an occurrence
    latency_ms: tuple[tuple[str, float, float], ...] | None = None  # ((stage, p50, p95), ...)

    def recall_at(self, k: int) -> float | None:
        return dict(self.recall)[k] if self.recall is not None else None

    def latency(self, stage: str = "total") -> tuple[float, float] | None:
        """(p50, p95) in milliseconds for "retrieve", "read" or "total"."""
        if self.latency_ms is None:
            return None
        return next(((p50, p95) for s, p50, p95 in self.latency_ms if s == stage), None)

    def to_json(self, em_f1_over: str = "answerable") -> dict:
        """The --json object. ``em``/``f1`` cover answerable questions (open-domain issue) or, with
        ``em_f1_over="all"``, every question as the official SQuAD2 script does (reader-only issue)."""
        if em_f1_over not in ("answerable", "all"):
            raise ValueError(f"em_f1_over must be 'answerable' or 'all', not {em_f1_over!r}.")
        answerable = em_f1_over == "answerable"
        em = self.has_ans_em if answerable else self.overall_em
        f1 = self.has_ans_f1 if answerable else self.overall_f1
        out: dict = {
            "n": self.n, "n_answerable": self.n_answerable, "n_no_answer": self.n_no_answer,
            "em": _r(em), "f1": _r(f1), "em_f1_over": em_f1_over,
            "has_ans_em": _r(self.has_ans_em), "has_ans_f1": _r(self.has_ans_f1),
            "has_ans_f1_raw": _r(self.has_ans_f1_raw), "overall_em": _r(self.overall_em),
            "overall_f1": _r(self.overall_f1), "no_ans_acc": _r(self.no_ans_acc), "abstain_rate": _r(self.abstain_rate),
        }  # fmt: skip
        for k, v in self.recall or ():
            out[f"recall@{k}"] = _r(v, 4)
        for k, v in self.paragraph_recall or ():
            out[f"paragraph_recall@{k}"] = _r(v, 4)
        if self.mrr is not None:
            out["mrr"] = _r(self.mrr, 4)
        if self.citation_acc is not None:
            out["citation_acc"] = _r(self.citation_acc)
        for stage, p50, p95 in self.latency_ms or ():
            prefix = "latency_ms" if stage == "total" else f"{stage}_ms"
            out[f"{prefix}_p50"], out[f"{prefix}_p95"] = _r(p50, 1), _r(p95, 1)
        return out


def _r(x: float | None, digits: int = 2) -> float | None:
    return None if x is None or math.isnan(x) else round(x, digits)


def _mean_pct(values: Sequence[float]) -> float:
    return 100.0 * sum(values) / len(values) if values else 0.0


def summarize(results: Sequence[QuestionResult], ks: Sequence[int] = RECALL_KS) -> Summary:
    """Aggregate per-question results; retrieval figures only when every result has retrieval timings."""
    has = [r for r in results if r.answerable]
    no = [r for r in results if not r.answerable]
    retrieval = bool(results) and all(r.retrieve_ms is not None for r in results)
    recall = paragraph_recall = mrr = citation = latency = None
    if retrieval:
        ranks = [r.rank for r in has]
        recall = tuple((k, recall_at_k(ranks, k)) for k in ks)
        named = [r.paragraph_rank for r in has if r.named_document]
        paragraph_recall = tuple((k, recall_at_k(named, k)) for k in ks) if named else None
        mrr = mean_reciprocal_rank(ranks)
        cited = [r.citation_ok for r in has if not r.abstained and r.citation_ok is not None]
        citation = _mean_pct([float(c) for c in cited]) if cited else None
        stages = {"retrieve": [r.retrieve_ms for r in results], "read": [r.read_ms for r in results],
                  "total": [r.total_ms for r in results]}  # fmt: skip
        latency = tuple((s, percentile(v, 50), percentile(v, 95)) for s, v in stages.items())
    return Summary(
        n=len(results),
        n_answerable=len(has),
        n_no_answer=len(no),
        has_ans_em=_mean_pct([r.em for r in has]),
        has_ans_f1=_mean_pct([r.f1 for r in has]),
        has_ans_f1_raw=_mean_pct([r.raw_f1 for r in has]),
        overall_em=_mean_pct([r.em for r in results]),
        overall_f1=_mean_pct([r.f1 for r in results]),
        no_ans_acc=_mean_pct([r.em for r in no]) if no else None,  # official: EM of the empty answer
        abstain_rate=_mean_pct([float(r.abstained) for r in results]),
        recall=recall,
        paragraph_recall=paragraph_recall,
        mrr=mrr,
        citation_acc=citation,
        latency_ms=latency,
    )
