"""Evaluation runners: open-domain (the full pipeline over all of a file's paragraphs) and reader-only.

Open-domain asks every question through ``Pipeline.ask``, the path users take (never handing
over the gold paragraph), and scores the answer, its citation and its latency; a second,
deeper retrieval of the question as read (``recall_hits``, not timed) gives the rank of the
first chunk that contains a reference answer occurrence in the question's paragraph (so
re-chunking never breaks the labels) for recall@k and MRR. Reader-only gives the reader the
gold paragraph. Both are deterministic: file order, no sampling. Questions come cleaned by
the entry point (``qa.question``).

    >>> ds = load_squad("eval/gold/article.json")
    >>> runs = run_configs(ds, [("default", Config())])
    >>> runs[0].summary.has_ans_f1
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import Dataset, QAItem
from eval.metrics import (
    QuestionResult,
    Summary,
    contains_answer,
    contains_any,
    exact_match,
    f1_score,
    find_occurrences,
    normalize_answer,
    overlaps_any,
    summarize,
)
from eval.indexes import EVAL_INDEX_ROOT, index_cache_dir, open_eval_index, open_question_index  # noqa: F401
from qa.config import READERS, Config, reader_name, reader_path

RECALL_K = 20  # chunks retrieved per question for recall@k and MRR (the reader reads config.top_k of its own)
READ_BLOCK = 256  # questions per reader call in reader-only runs (bounds memory, drives the progress bar)


class ConfigError(ValueError):
    """A --compare or --reader value cannot be turned into a configuration."""


@dataclass(frozen=True)
class EvalRun:
    label: str
    mode: str  # "open" (retrieve + read) or "reader" (gold paragraph given)
    dataset: str
    settings: tuple[tuple[str, str], ...]  # what was evaluated, for the report
    threshold: float | None  # abstention threshold used (None: never abstained)
    results: tuple[QuestionResult, ...]  # in file order
    summary: Summary
    wall_s: float

    def to_json(self) -> dict:
        """Summary JSON; em/f1 are over answerable questions in open mode, over all questions reader-only."""
        body = self.summary.to_json("answerable" if self.mode == "open" else "all")
        return {"label": self.label, "mode": self.mode, "dataset": self.dataset, "threshold": self.threshold,
                "wall_s": round(self.wall_s, 1), **dict(self.settings), **body}  # fmt: skip


def config_variants(base: Config, compare: Sequence[str] = (), readers: Sequence[str] = ()) -> list[tuple[str, Config]]:
    """Every combination of ``FIELD=V1,V2`` values and readers, labelled, in the order given.

    >>> [label for label, _ in config_variants(Config(), ["retrieval=dense,bm25"])]
    ['retrieval=dense', 'retrieval=bm25']
    """
    variants: list[tuple[list[str], Config]] = [([], base)]
    for spec in compare:
        name, _, values = spec.partition("=")
        name = name.strip()
        if name not in {f.name for f in dataclasses.fields(Config)} or not values.strip():
            raise ConfigError(f"--compare {spec!r} is not FIELD=V1,V2 with a Config field (e.g. retrieval=dense,bm25).")
        texts = [v.strip() for v in values.split(",") if v.strip()]
        parsed = [_coerce(base, name, v) for v in texts]
        variants = [(labels + [f"{name}={v}"], dataclasses.replace(c, **{name: p}))
                    for labels, c in variants for v, p in zip(texts, parsed)]  # fmt: skip
    if readers:
        variants = [(labels + [f"reader={_reader_label(r)}"],
                     dataclasses.replace(c, reader_model=reader_path(r)))
                    for labels, c in variants for r in readers]  # fmt: skip
    return [(", ".join(labels) or "default", c) for labels, c in variants]


def _reader_label(reader: str) -> str:
    """"fast" for a named reader, else the folder's or hub model's last part ("models/a" -> "a")."""
    name = reader_name(reader_path(reader))
    return name if name in READERS else Path(name).name or name


def _coerce(base: Config, name: str, value: str):
    current = getattr(base, name)
    try:
        if name == "abstain_threshold":
            return None if value.lower() == "none" else float(value)
        if isinstance(current, (bool, tuple)):
            raise ConfigError(f"--compare cannot vary {name!r}: only text and number settings can be compared.")
        return type(current)(value)  # int, float, str or Path
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"--compare {name}={value!r}: {name} takes a {type(current).__name__} value.") from None


def score_open(item: QAItem, doc_text: str | None, hits, answer) -> QuestionResult:
    """Score one open-domain question (pure).

    Args:
        item: the question and its reference answers.
        doc_text: the indexed text of the paragraph or document the question names (None when it
            names none: then a hit counts when its chunk says a reference, ``contains_answer``).
        hits: the ranked chunks recall@k and MRR are measured on.
        answer: what ``Pipeline.ask`` returned, with its timings.
    """
    if doc_text is None:
        rank = next((pos for pos, hit in enumerate(hits, start=1) if contains_answer(hit.chunk.text, item.answers)),
                    None)  # fmt: skip
        paragraph_rank, citation_ok = None, _cites_a_reference(answer, item.answers)
    else:
        rank, paragraph_rank, citation_ok = _paragraph_rule(item, doc_text, hits, answer)
    top = answer.candidates[0] if answer.candidates else None
    cited = answer.citations[0] if answer.citations else None
    return QuestionResult(
        qid=item.qid, question=item.question, references=item.answers, prediction=answer.text,
        top_span=top.text if top else answer.text, score=top.score if top else answer.score,
        em=exact_match(answer.text, item.answers), f1=f1_score(answer.text, item.answers),
        raw_f1=f1_score(top.text if top else answer.text, item.answers), rank=rank,
        paragraph_rank=paragraph_rank, citation_ok=citation_ok, retrieve_ms=answer.timings.retrieve_ms,
        read_ms=answer.timings.read_ms, named_document=doc_text is not None,
        cited=cited.sentence if cited else None, cited_doc=cited.doc_id if cited else None,
    )  # fmt: skip


def _paragraph_rule(item: QAItem, doc_text: str, hits, answer) -> tuple[int | None, int | None, bool | None]:
    """Rank, paragraph rank and citation check when the question names its paragraph or document.

    A hit counts only where it contains a reference occurrence in that document, so re-chunking
    never breaks the labels and a stray mention elsewhere is not counted.
    """
    occurrences = sorted({o for ref in set(item.answers) for o in find_occurrences(doc_text, ref)})
    rank = paragraph_rank = None
    for pos, hit in enumerate(hits, start=1):
        if hit.chunk.doc_id != item.context_id:
            continue
        paragraph_rank = paragraph_rank or pos
        if contains_any(hit.chunk.start, hit.chunk.end, occurrences):
            rank = pos
            break
    citation_ok = None
    if answer.text is not None and occurrences:
        citation_ok = any(c.doc_id == item.context_id and overlaps_any(c.start, c.end, occurrences)
                          for c in answer.citations)  # fmt: skip
    return rank, paragraph_rank, citation_ok


def _cites_a_reference(answer, references) -> bool | None:
    """Without a named document: a citation is right when its answer span overlaps a reference in its sentence."""
    if answer.text is None or not any(normalize_answer(r) for r in references):
        return None
    for c in answer.citations:
        found = [(c.sentence_start + s, c.sentence_start + e) for ref in set(references)
                 for s, e in find_occurrences(c.sentence, ref)]  # fmt: skip
        if overlaps_any(c.start, c.end, found):
            return True
    return False


def recall_hits(pipeline, answer) -> list:
    """The ranked chunks recall@k and MRR are measured on: the question as ``answer`` read it, retrieved deeper.

    A step of its own, after ``Pipeline.ask`` and outside its timings, so that the answer, its
    score and its latency are exactly what a user gets.
    """
    return pipeline.retrieve(answer.question_as_read, k=max(RECALL_K, pipeline.config.top_k))


def evaluate_open(
    pipeline, dataset: Dataset, label: str = "default", progress: bool = True,
    on_question: Callable[[int, int], None] | None = None,
) -> EvalRun:  # fmt: skip
    """Ask every question with ``Pipeline.ask``, then retrieve it again (``recall_hits``) for recall@k.

    ``on_question(done, total)`` is called after each question (the chat's Evaluate tab moves its
    progress bar with it).
    """
    from tqdm import tqdm

    texts: dict[str, str] = {}
    results = []
    start = time.perf_counter()
    if dataset.items:
        # One untimed question first: the embedder loads lazily and the first forward pass sets up
        # kernels (about a second), which would otherwise land in the first question's latency.
        pipeline.ask(dataset.items[0].question)
    for done, item in enumerate(tqdm(dataset.items, desc=f"ask [{label}]", unit="q", disable=not progress), 1):
        pipeline.reader.forget()  # each answer computed, not recalled (the warm-up, or another --compare variant)
        answer = pipeline.ask(item.question)
        doc = item.context_id
        if doc is not None and doc not in texts:
            texts[doc] = pipeline.retriever.document(doc).text
        results.append(score_open(item, texts.get(doc) if doc is not None else None,
                                  recall_hits(pipeline, answer), answer))  # fmt: skip
        if on_question is not None:
            on_question(done, len(dataset.items))
    config = pipeline.config
    return EvalRun(label, "open", dataset.path, _settings(config, open_domain=True), pipeline.threshold,
                   tuple(results), summarize(results), time.perf_counter() - start)  # fmt: skip


def score_reader(item: QAItem, spans, threshold: float | None) -> QuestionResult:
    """Score one reader-only question (pure): the top span, or an abstention below ``threshold``."""
    top = spans[0] if spans else None
    answered = top is not None and (threshold is None or top.score >= threshold)
    prediction = top.text if answered else None
    return QuestionResult(
        qid=item.qid, question=item.question, references=item.answers, prediction=prediction,
        top_span=top.text if top else None, score=top.score if top else 0.0,
        em=exact_match(prediction, item.answers), f1=f1_score(prediction, item.answers),
        raw_f1=f1_score(top.text if top else None, item.answers),
    )  # fmt: skip


def read_gold(reader, dataset: Dataset, top_k: int = 1, progress: bool = True) -> list[list]:
    """The reader's ranked spans for every question over its gold paragraph, in file order."""
    from tqdm import tqdm

    items = [(it.question, [dataset.context(it.context_id).text]) for it in dataset.items]
    out: list[list] = []
    with tqdm(total=len(items), desc="read", unit="q", disable=not progress) as bar:
        for i in range(0, len(items), READ_BLOCK):
            out.extend(reader.read_many(items[i : i + READ_BLOCK], top_k=top_k))
            bar.update(len(items[i : i + READ_BLOCK]))
    return out


def evaluate_reader(
    reader, dataset: Dataset, label: str = "default", threshold: float | None = None, progress: bool = True,
    config: Config | None = None,
) -> EvalRun:
    """Reader-only run; abstains below the threshold only when the questions include unanswerable ones."""
    start = time.perf_counter()
    spans = read_gold(reader, dataset, top_k=1, progress=progress)
    used = (threshold if threshold is not None else reader.threshold) if dataset.has_unanswerable else None
    results = [score_reader(item, s, used) for item, s in zip(dataset.items, spans)]
    settings = _settings(config, open_domain=False) if config is not None else (("reader", reader.model_name),)
    return EvalRun(label, "reader", dataset.path, settings, used, tuple(results), summarize(results),
                   time.perf_counter() - start)  # fmt: skip


def _settings(config: Config, open_domain: bool) -> tuple[tuple[str, str], ...]:
    keys = ["reader_model", "reader_precision", "max_answer_tokens", "abstain_threshold"]
    if open_domain:
        keys += ["retrieval", "top_k", "embed_model", "chunk_words", "chunk_overlap_sentences", "window_sentences",
                 "settle_score"]
    from qa.reader import resolve_precision

    values = {**{k: getattr(config, k) for k in keys}, "reader_precision": resolve_precision(config.reader_precision)}
    return tuple((k, str(values[k])) for k in keys)  # the precision as run ("auto" is bf16 or fp32 by CPU)


def run_configs(
    dataset: Dataset, variants: Sequence[tuple[str, Config]], reader_only: bool = False, progress: bool = True
) -> list[EvalRun]:
    """Evaluate each labelled configuration; readers and indexes are loaded once and shared.

    A SQuAD file is its own corpus (its paragraphs, indexed in ``.cache/eval-index``); a question
    set (``eval.questions``) is asked against each configuration's index (``Config.index_path``).
    """
    from index.retriever import MODES
    from qa.pipeline import Pipeline
    from qa.reader import Reader

    for label, config in variants:
        if config.retrieval not in MODES:
            raise ConfigError(f"[{label}] retrieval must be one of {', '.join(MODES)}, not {config.retrieval!r}.")
    if reader_only and not dataset.has_own_corpus:
        raise ConfigError("--reader-only needs a SQuAD-format file: a question set gives no paragraph to read.")
    readers: dict[tuple, object] = {}
    stores: dict[object, object] = {}
    runs = []
    for label, config in variants:
        key = (config.reader_model, config.max_answer_tokens, config.max_question_tokens, config.reader_batch_size,
               config.reader_precision)  # everything Reader.from_config reads  # fmt: skip
        if key not in readers:
            readers[key] = Reader.from_config(config).load()
        reader = readers[key]
        if reader_only:
            runs.append(evaluate_reader(reader, dataset, label, config.abstain_threshold, progress, config))
            continue
        where = index_cache_dir(dataset, config) if dataset.has_own_corpus else (config.index_path, config.embed_model)
        where = (where, config.backend, config.milvus_address)  # --compare backend=local,milvus: one index each
        if where not in stores:
            stores[where] = open_eval_index(dataset, config, progress) if dataset.has_own_corpus \
                else open_question_index(dataset, config, progress)  # fmt: skip
        runs.append(evaluate_open(Pipeline(stores[where], reader, config), dataset, label, progress))
    return runs
