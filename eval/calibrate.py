"""Fit the reader's score calibration and abstention threshold on one half of a file, report on the other.

Why: raw start+end logits are not probabilities and are not comparable between
the "answer" and "no answer" cases; a logistic regression of "the top span is
correct" on (span logit, null logit) turns them into one calibrated score (see
``qa.spans``), and the threshold on that score is where abstaining maximises F1.
Tuning and reporting on the same questions would flatter the figures, so the
file is split by article title: sorted titles, even positions (0, 2, ...) tune,
odd positions report.

    $ python -m eval calibrate --squad ../shared/data/squad/dev-v2.0.json
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import Dataset
from eval.metrics import best_threshold, f1_score
from eval.run import EvalRun, evaluate_reader, read_gold
from qa.config import Config
from qa.spans import Calibration, calibrated_score, save_calibration

SPLIT_RULE = "by article title: sorted titles, even positions (0, 2, ...) = tune, odd positions = report"
RANDOM_STATE = 0


class CalibrationError(ValueError):
    """The data cannot support a calibration (e.g. every prediction right, or none)."""


@dataclass(frozen=True)
class CalibrationResult:
    calibration: Calibration
    n_tune: int
    n_report: int
    tune_f1: float  # overall F1 (percent) on the tune half at the chosen threshold
    report: EvalRun  # held-out half, read with the new calibration
    saved_to: Path | None


def split_by_title(dataset: Dataset) -> tuple[Dataset, Dataset]:
    """(tune, report) halves of the questions, by article title (see SPLIT_RULE); deterministic."""
    titles = sorted({dataset.context(it.context_id).title for it in dataset.items})
    tune_titles = set(titles[0::2])
    tune = tuple(it for it in dataset.items if dataset.context(it.context_id).title in tune_titles)
    report = tuple(it for it in dataset.items if dataset.context(it.context_id).title not in tune_titles)
    return dataclasses.replace(dataset, items=tune), dataclasses.replace(dataset, items=report)


def fit_logistic(features: list[tuple[float, float]], correct: list[bool]) -> tuple[float, float, float]:
    """(w_span, w_null, bias) of P(correct | logit, null_logit), fitted with a fixed random_state."""
    from sklearn.linear_model import LogisticRegression

    if len(set(correct)) < 2:
        raise CalibrationError(
            "Every top span on the tune half is equally right or wrong: use more questions (a larger --limit)."
        )
    model = LogisticRegression(random_state=RANDOM_STATE, max_iter=1000).fit(features, correct)
    return float(model.coef_[0][0]), float(model.coef_[0][1]), float(model.intercept_[0])


def rerank(spans, cal: Calibration):
    """The candidates rescored with ``cal`` and ordered as the reader would order them."""
    scored = [(calibrated_score(s.logit, s.null_logit, cal), s) for s in spans]
    return sorted(scored, key=lambda p: (-p[0], p[1].passage, p[1].start))


def fit_calibration(dataset: Dataset, spans_per_item: list[list]) -> tuple[Calibration, float]:
    """The calibration fitted on these questions' spans, and the overall F1 (percent) it gives them."""
    features, correct = [], []
    for item, spans in zip(dataset.items, spans_per_item):
        if spans:  # label: the top span is right (F1 >= 0.5); never right for an unanswerable question
            features.append((spans[0].logit, spans[0].null_logit))
            correct.append(not item.is_impossible and f1_score(spans[0].text, item.answers) >= 0.5)
    w_span, w_null, bias = fit_logistic(features, correct)
    cal = Calibration(w_span, w_null, bias, threshold=0.0)
    scores, answered, abstained = [], [], []
    for item, spans in zip(dataset.items, spans_per_item):
        ranked = rerank(spans, cal)
        scores.append(ranked[0][0] if ranked else 0.0)
        answered.append(f1_score(ranked[0][1].text if ranked else None, item.answers))
        abstained.append(f1_score(None, item.answers))
    threshold, f1 = best_threshold(scores, answered, abstained)
    return dataclasses.replace(cal, threshold=threshold), 100.0 * f1


def calibrate(
    dataset: Dataset, config: Config | None = None, save: bool = True, progress: bool = True
) -> CalibrationResult:
    """Fit on the tune half with the uncalibrated reader, save beside the model, report the other half."""
    from qa.reader import Reader

    config = config if config is not None else Config()
    tune, report = split_by_title(dataset)
    if not tune.items or not report.items:
        raise CalibrationError("Calibration needs questions from at least two article titles: raise --limit.")
    reader = Reader.from_config(config, calibration=Calibration()).load()
    spans = read_gold(reader, tune, top_k=5, progress=progress)
    cal, tune_f1 = fit_calibration(tune, spans)
    reader.calibration = cal  # same weights, new scores: no reload needed
    held_out = evaluate_reader(reader, report, "held-out", cal.threshold, progress, config)
    saved = None
    if save:
        if config.reader_precision == "int8":
            raise CalibrationError(
                "The saved calibration serves the bf16/fp32 reader (their scores agree to a hair); fit with int8 "
                "only with --no-save."
            )
        model_dir = Path(config.reader_model)
        if not model_dir.is_dir():
            raise CalibrationError(
                f"{model_dir} is not a local model folder: calibration can only be saved beside one (or use --no-save)."
            )
        meta = {
            "file": Path(dataset.path).name, "sha256": dataset.sha256, "split": SPLIT_RULE, "tuned_on": "tune",
            "n": len(dataset.items), "n_tune": len(tune.items), "n_report": len(report.items),
            "date": datetime.date.today().isoformat(), "features": ["logit", "null_logit"],
            "label": "top span F1 >= 0.5 on an answerable question", "tune_f1": round(tune_f1, 2),
            "precision": reader.precision,
            "report": {k: v for k, v in held_out.summary.to_json("all").items() if "ms" not in k},
        }  # fmt: skip
        saved = save_calibration(model_dir, cal, meta)
    return CalibrationResult(cal, len(tune.items), len(report.items), tune_f1, held_out, saved)
