"""Pure span decoding: start/end logits of one window -> ranked character spans, and score calibration.

Why not the transformers QA pipeline's decoding: it softmaxes each window on its
own, so a weak window with one peaked logit outranks a strong window. We keep
raw logits and turn them into a probability with a calibration fitted on held-out
data (``python -m eval calibrate``):

    score = sigmoid(w_span * (start_logit + end_logit) + w_null * null_logit + bias)

where ``null_logit`` is the [CLS] start+end logit of the same window (the
model's "no answer here" vote). The same formula for every window and passage
makes scores comparable across them, and thresholding it is abstention.

    >>> cands = decode_window(start, end, context_mask, max_answer_tokens=30, top_n=5)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    w_span: float = 0.5
    w_null: float = -0.5
    bias: float = 0.0
    threshold: float = 0.5  # abstain when the best calibrated score is below this
    # answer from the best hit's window alone when its best score reaches this (qa.pipeline); None: read all.
    # Chosen per reader on the tune set with bench/read_less.py; a new fit drops it until it is chosen again.
    settle: float | None = None


@dataclass(frozen=True)
class TokenSpan:
    """A span of tokens in one model window (``qa.windows.Window``), before it is mapped to characters."""

    start: int  # token index, inclusive
    end: int  # token index, inclusive
    logit: float  # start_logit[start] + end_logit[end]


def decode_window(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int = 30,
    top_n: int = 5,
) -> list[TokenSpan]:
    """Best spans with start <= end < start + max_answer_tokens, both inside the context.

    Decoding scores all (start, end) pairs jointly (outer sum in a band), never
    an independent argmax, so end < start cannot happen; question, special and
    padding tokens are excluded by ``context_mask``.
    """
    mask = np.asarray(context_mask, dtype=bool)
    if not mask.any() or top_n <= 0:
        return []
    s = np.where(mask, start_logits, -np.inf)
    e = np.where(mask, end_logits, -np.inf)
    n = len(s)
    i = np.arange(n)
    band = (i[None, :] >= i[:, None]) & (i[None, :] < i[:, None] + max_answer_tokens)
    scores = np.where(band, s[:, None] + e[None, :], -np.inf)
    flat = scores.ravel()
    k = min(top_n, int(np.isfinite(flat).sum()))
    if k == 0:
        return []
    best = np.argpartition(-flat, k - 1)[:k]
    best = best[np.argsort(-flat[best], kind="stable")]
    return [TokenSpan(int(b // n), int(b % n), float(flat[b])) for b in best]


def calibrated_score(logit: float, null_logit: float, cal: Calibration) -> float:
    """Probability that a span with these logits is a correct answer (see module docstring)."""
    z = cal.w_span * logit + cal.w_null * null_logit + cal.bias
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def load_calibration(model_dir: str | Path) -> Calibration:
    """The calibration saved beside a model, or the uncalibrated default for other models."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        return Calibration()
    data = json.loads(path.read_text(encoding="utf-8"))
    settle = data.get("settle")
    return Calibration(**{k: float(data[k]) for k in ("w_span", "w_null", "bias", "threshold")},
                       settle=float(settle) if settle is not None else None)  # fmt: skip


def save_calibration(model_dir: str | Path, cal: Calibration, meta: dict | None = None) -> Path:
    path = Path(model_dir) / CALIBRATION_FILE
    payload = {**asdict(cal), "meta": meta if meta is not None else {}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
