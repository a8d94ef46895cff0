"""Readable results: the headline table, per-question tables (worst first), JSON and PNG plots.

Several runs (configurations compared in one invocation) share one headline
table, one row each, so that a change is judged by numbers side by side.

    >>> print(headline_table(runs))                 # Markdown, also what the CLI prints
    >>> write_report(runs, Path("reports/article"))  # report.md, summary.json, results.json, *.png
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from eval.metrics import QuestionResult, calibration_bins
from eval.run import EvalRun

MAX_ROWS = 200  # per-question rows shown in Markdown; results.json always holds every question


def _f(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _cell(text: str | None) -> str:
    if text is None:
        return "*(abstain)*"
    return text.replace("|", "\\|").replace("\n", " ") or '""'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def headline_table(runs: Sequence[EvalRun]) -> str:
    """One row per run. Open-domain EM/F1 cover answerable questions; reader-only EM/F1 cover all."""
    if all(r.mode == "open" for r in runs):
        header = ["config", "n", "no-ans", "EM", "F1", "NoAns acc", "R@1", "R@3", "R@5", "R@20", "MRR",
                  "cite acc", "p50 ms", "p95 ms"]  # fmt: skip
        rows = []
        for r in runs:
            s = r.summary
            p50, p95 = s.latency("total") or (None, None)
            rows.append([r.label, str(s.n), str(s.n_no_answer), _f(s.has_ans_em), _f(s.has_ans_f1), _f(s.no_ans_acc),
                         _f(s.recall_at(1), 3), _f(s.recall_at(3), 3), _f(s.recall_at(5), 3), _f(s.recall_at(20), 3),
                         _f(s.mrr, 3), _f(s.citation_acc), _f(p50, 0), _f(p95, 0)])  # fmt: skip
        return _table(header, rows)
    header = ["config", "mode", "n", "no-ans", "EM", "F1", "HasAns EM", "HasAns F1", "HasAns F1 (never abstain)",
              "NoAns acc", "threshold", "seconds"]  # fmt: skip
    rows = [[r.label, r.mode, str(r.summary.n), str(r.summary.n_no_answer), _f(r.summary.overall_em),
             _f(r.summary.overall_f1), _f(r.summary.has_ans_em), _f(r.summary.has_ans_f1),
             _f(r.summary.has_ans_f1_raw), _f(r.summary.no_ans_acc), _f(r.threshold, 3), _f(r.wall_s, 0)]
            for r in runs]  # fmt: skip
    return _table(header, rows)


def worst_first(results: Sequence[QuestionResult]) -> list[QuestionResult]:
    """Failures first: lowest F1, then the most confident among equals, then file order."""
    order = {id(r): i for i, r in enumerate(results)}
    return sorted(results, key=lambda r: (r.f1, -r.score, order[id(r)]))


def question_table(run: EvalRun, max_rows: int = MAX_ROWS) -> str:
    header = ["question", "gold", "predicted", "EM", "F1", "retrieved rank", "score", "abstained"]
    rows = []
    for r in worst_first(run.results)[:max_rows]:
        gold = " / ".join(dict.fromkeys(r.references)) if r.references else "*(no answer)*"
        rank = "–" if run.mode != "open" or not r.answerable else (str(r.rank) if r.rank is not None else "not found")
        rows.append([_cell(r.question), _cell(gold), _cell(r.prediction), f"{r.em:.0f}", f"{r.f1:.2f}", rank,
                     f"{r.score:.3f}", "yes" if r.abstained else "no"])  # fmt: skip
    more = len(run.results) - len(rows)
    note = f"\n\n*{more} more questions in results.json.*" if more > 0 else ""
    return _table(header, rows) + note


def write_report(runs: Sequence[EvalRun], out_dir: Path, title: str = "Evaluation") -> Path:
    """Write report.md, summary.json, results.json and the plots into ``out_dir``; returns report.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps([r.to_json() for r in runs], indent=2) + "\n", encoding="utf-8")
    per_question = {r.label: [asdict(q) for q in r.results] for r in runs}
    (out_dir / "results.json").write_text(json.dumps(per_question, indent=1, ensure_ascii=False) + "\n",
                                          encoding="utf-8")  # fmt: skip
    plots = _plot_all(runs, out_dir)
    parts = [f"# {title}", "", f"Dataset: `{runs[0].dataset}` ({runs[0].summary.n} questions, "
             f"{runs[0].summary.n_no_answer} without an answer in the text).", "", headline_table(runs), "",
             _legend(runs[0].mode), ""]  # fmt: skip
    parts += [f"![{name}]({name})" for name in plots] + [""]
    for run in runs:
        parts += [f"## {run.label}: every question, worst first", "",
                  "Settings: " + ", ".join(f"`{k}={v}`" for k, v in run.settings), "", question_table(run), ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _legend(mode: str) -> str:
    if mode == "open":
        return ("EM/F1: answerable questions, official SQuAD normalisation, abstaining counts as wrong. "
                "NoAns acc: unanswerable questions where the system abstained. R@k: a chunk among the top k "
                "retrieved contains a reference answer occurrence in the question's paragraph; MRR likewise. "
                "cite acc: answered questions whose citation overlaps a reference occurrence. Latency per question, "
                "retrieve + read.")  # fmt: skip
    return ("EM/F1: all questions, gold paragraph given, SQuAD2 convention (abstaining = empty answer). HasAns F1 "
            "(never abstain): the top span of answerable questions as if the reader never abstained.")


def _plot_all(runs: Sequence[EvalRun], out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    for run in runs:
        bins = calibration_bins([r.score for r in run.results], [r.raw_correct for r in run.results])
        ax.plot([b.mean_score for b in bins], [b.accuracy for b in bins], "o-", label=run.label)
    ax.set(xlabel="score of the top span", ylabel="fraction correct (F1 ≥ 0.5)", title="Calibration",
           xlim=(0, 1), ylim=(0, 1))  # fmt: skip
    ax.legend(fontsize=7)
    names.append(_save(fig, out_dir / "calibration.png"))
    open_runs = [r for r in runs if r.summary.recall is not None]
    if open_runs:
        fig, ax = plt.subplots(figsize=(5, 4))
        for run in open_runs:
            ks = range(1, 21)
            ranks = [r.rank for r in run.results if r.answerable]
            ax.plot(list(ks), [sum(1 for x in ranks if x is not None and x <= k) / max(1, len(ranks)) for k in ks],
                    "o-", markersize=3, label=run.label)  # fmt: skip
        ax.set(xlabel="k (chunks retrieved)", ylabel="recall@k", title="Retrieval recall@k", ylim=(0, 1.02))
        ax.legend(fontsize=7)
        names.append(_save(fig, out_dir / "recall_at_k.png"))
        fig, ax = plt.subplots(figsize=(5, 4))
        for run in open_runs:
            ax.hist([r.total_ms for r in run.results], bins=30, alpha=0.5, label=run.label)
        ax.set(xlabel="milliseconds per question (retrieve + read)", ylabel="questions", title="Latency")
        ax.legend(fontsize=7)
        names.append(_save(fig, out_dir / "latency.png"))
    return names


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
