"""The Evaluate tab: run a question set through the chat's own pipelines and show what ``--report`` shows.

Questions come from an uploaded CSV/JSONL (or SQuAD JSON) file, the bundled gold set or the
chat's feedback set. A question set is asked against the chat's index, through the chat's
pipelines (one per reader picked), one question at a time, alongside the chat's questions (both
hold the same lock shared and may share the reader's forward passes), so the chat keeps
answering. The bundled gold set is a SQuAD file and, as in ``python -m eval``, is asked against
an index of its own paragraph, so its figures are the command line's. Two readers picked are two
runs, side by side.

    tab = EvaluateTab(holder, config, feedback_file=None)
    summary, plots, table, files, history, runs_md = tab.run("gold", None, ["fast"], [])
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from eval.datasets import GOLD_ARTICLE, DatasetError
from qa.config import Config, reader_path
from ui.pipelines import LazyPipeline, Serialized

if TYPE_CHECKING:
    from eval.run import EvalRun

SOURCES = {"gold": "The bundled gold set (83 questions on the article)", "upload": "A file I upload",
           "feedback": "Feedback from the chat"}  # fmt: skip
QUESTION_TYPES = (".csv", ".jsonl", ".json")
MAX_UI_QUESTIONS = 2_000  # a bigger set runs from the command line, where it does not hold the chat's lock for hours
MAX_RUNS_COMPARED = 2
TABLE_HEADERS_ONE = ["question", "reference", "answer", "F1", "score", "rank", "cited passage"]


def source_choices(feedback_file: Path | None) -> list[tuple[str, str]]:
    """The question sets the tab offers, as (label, value) pairs; the feedback set only when it is kept."""
    keys = ["gold", "upload"] + (["feedback"] if feedback_file is not None else [])
    return [(SOURCES[k], k) for k in keys]


def glance(run: EvalRun) -> str:
    """One line of the figures people look for first (pure)."""
    s = run.summary
    figures = [f"EM **{s.has_ans_em:.1f}**", f"F1 **{s.has_ans_f1:.1f}**"]
    if s.no_ans_acc is not None:
        figures.append(f"NoAns **{s.no_ans_acc:.1f}**")
    if s.recall is not None:
        figures.append(f"recall@5 **{s.recall_at(5):.3f}**")
    latency = s.latency("total")
    if latency is not None:
        figures.append(f"p50 **{latency[0]:.0f} ms** (p95 {latency[1]:.0f})")
    return f"**{run.label}** · {s.n} questions ({s.n_no_answer} without an answer): " + " · ".join(figures)


def question_rows(runs: Sequence[EvalRun]) -> tuple[list[str], list[list]]:
    """The per-question table: one row per question, each run's answer side by side, misses first (pure).

    Misses first: the lowest F1 over the runs, then the most confident answer among equals, then
    file order, as ``eval.report.worst_first`` orders one run.
    """
    one = len(runs) == 1
    headers = ["question", "reference"]
    for run in runs:
        tag = "" if one else f" ({run.label})"
        headers += [f"answer{tag}", f"F1{tag}", f"score{tag}", f"rank{tag}", f"cited passage{tag}"]
    rows = []
    for i, results in enumerate(zip(*(run.results for run in runs))):
        first = results[0]
        row: list = [first.question, " | ".join(dict.fromkeys(first.references)) or "(the documents don't say)"]
        for r in results:
            rank = (r.rank if r.rank is not None else "not found") if r.answerable and r.retrieve_ms is not None else ""
            row += [r.prediction if r.prediction is not None else "(abstained)", round(r.f1, 2), round(r.score, 3),
                    rank, r.cited or ""]  # fmt: skip
        key = (min(r.f1 for r in results), -max(r.score for r in results), i)
        rows.append((key, row))
    return headers, [row for _, row in sorted(rows, key=lambda kr: kr[0])]


class EvaluateTab:
    """The tab's one event: load the set, run each reader picked, write the report, fill the page."""

    def __init__(self, holder: LazyPipeline, config: Config, feedback_file: Path | None = None) -> None:
        self.holder = holder
        self.config = config
        self.feedback_file = feedback_file

    def question_file(self, source: str, upload: str | None) -> Path:
        if source == "gold":
            return GOLD_ARTICLE
        if source == "feedback" and self.feedback_file is not None:
            if not self.feedback_file.is_file():
                raise DatasetError("No feedback yet: give 👍 or 👎 to answers in the chat first.")
            return self.feedback_file
        if not upload:
            raise DatasetError("Upload a question set first (.csv or .jsonl; see the format below).")
        return Path(upload)

    def run(self, source: str, upload: str | None, readers: Sequence[str] | None, history: list | None,
            progress=gr.Progress()):  # fmt: skip
        """Evaluate; returns (figures, plots, table, report files, history, runs so far)."""
        history = list(history or [])
        readers = list(dict.fromkeys(readers or []))
        if not readers or len(readers) > MAX_RUNS_COMPARED:
            raise gr.Error("Pick one reader, or two to compare them side by side.")
        try:
            dataset = self._dataset(self.question_file(source, upload))
            runs = [self._run_one(dataset, reader, i, len(readers), progress) for i, reader in enumerate(readers)]
        except (DatasetError, OSError, ValueError, RuntimeError) as error:  # StoreError is a RuntimeError
            raise gr.Error(str(error)) from None
        return self._show(dataset, runs, history)

    def _dataset(self, path: Path):
        from eval.questions import clean_questions, load_questions

        dataset = load_questions(path)
        if len(dataset.items) > MAX_UI_QUESTIONS:
            raise DatasetError(f"{path.name} has {len(dataset.items):,} questions; the tab runs up to "
                               f"{MAX_UI_QUESTIONS:,}: run `python -m eval --questions FILE` for more.")
        return clean_questions(dataset, self.config.max_question_chars)

    def _run_one(self, dataset, reader: str, nth: int, of: int, progress) -> EvalRun:
        from eval.questions import check_documents
        from eval.indexes import document_ids, open_eval_index
        from eval.run import evaluate_open
        from qa.pipeline import Pipeline

        progress(0.0, desc=f"Loading the {reader} reader…")
        pipeline = self.holder.get(reader=reader)
        if dataset.has_own_corpus:  # a SQuAD file (the gold set): its own paragraphs, as on the command line
            config = dataclasses.replace(pipeline.config, reader_model=reader_path(reader), index_dir=None)
            pipeline = Pipeline(open_eval_index(dataset, config, progress=False), pipeline.reader, config)
        else:
            check_documents(dataset, document_ids(pipeline.retriever), self.config.index_path)
        total = len(dataset.items) * of

        def moved(done: int, n: int) -> None:
            progress((nth * n + done, total), desc=f"{reader}: question {done} of {n}", unit="questions")

        return evaluate_open(Serialized(pipeline, self.holder.lock), dataset, label=reader, progress=False,
                             on_question=moved)  # fmt: skip

    def _show(self, dataset, runs: list[EvalRun], history: list):
        from eval.report import headline_table, write_report

        out = Path(tempfile.mkdtemp(prefix="ask-docs-eval-"))
        name = Path(dataset.path).name
        report = write_report(runs, out, title=f"Evaluation: {name}")
        plots = [(str(out / png), png.removesuffix(".png").replace("_", " ")) for png in
                 ("calibration.png", "recall_at_k.png", "latency.png") if (out / png).is_file()]  # fmt: skip
        headers, rows = question_rows(runs)
        notes = "".join(f"\n\n*{note}*" for note in dataset.notes)
        figures = "\n\n".join(glance(r) for r in runs) + "\n\n" + headline_table(runs) + notes
        history = history + [(f"{name}: {r.label}", r) for r in runs]
        runs_so_far = headline_table([dataclasses.replace(r, label=label) for label, r in history[-10:]])
        files = [str(report), str(out / "summary.json"), str(out / "results.json")]
        import pandas as pd  # gradio's own dependency; a DataFrame carries the headers with the rows

        return figures, plots, pd.DataFrame(rows, columns=headers), files, history, runs_so_far
