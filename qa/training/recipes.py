"""One training recipe per base encoder: the defaults ``python -m qa.training --recipe NAME`` starts from.

A recipe is data, not a copy of the trainer: every field is also a command-line flag,
and a flag given on the command line wins. Windows are what the pipeline reads with
(its 1-sentence windows are far shorter than either length), so the shorter MPNet
window mostly saves padding; the stride keeps an answer whole in at least one window.
"""

from __future__ import annotations

SHARED = "../shared/data"
SQUAD_TRAIN = f"{SHARED}/squad/train-v1.1.json"
TYDI = f"{SHARED}/tydiqa-goldp-en/train.json"
REDDIT = f"{SHARED}/squadshifts/reddit-v1.0.json"
AMAZON = f"{SHARED}/squadshifts/amazon-reviews-v1.0.json"
V2_DEV = f"{SHARED}/squad/dev-v2.0.json"
V2_SPLIT = f"{SHARED}/squad/dev-v2.0-split.json"

RECIPES: dict[str, dict] = {
    # The 6-layer reader shipped in qa/models/minilm-squad (stage 1; stage 2 continued it with --init).
    "minilm": {
        "encoder": "minilm", "out": "qa/models/minilm-squad", "limit": 48000, "neg_ratio": 0.2, "adv_ratio": 0.0,
        "extra": [f"{TYDI}:2000"], "v2_unanswerable": False, "batch_size": 32, "lr": 1.5e-4, "warmup": 0.1,
        "max_length": 384, "stride": 128,
    },
    # all-mpnet-base-v2 (12 x 768), fully fine-tuned with a fresh QA head: the pilot put LoRA
    # 12 F1 below full fine-tuning at equal data and no faster per step on CPU.
    "mpnet": {
        "encoder": "mpnet", "out": "qa/models/mpnet-squad", "limit": 24000, "neg_ratio": 0.08, "adv_ratio": 0.08,
        "extra": [f"{TYDI}:2500", f"{REDDIT}:1500", f"{AMAZON}:1500"], "v2_unanswerable": True,
        "batch_size": 16, "lr": 5e-5, "warmup": 0.06, "max_length": 256, "stride": 96,
    },
}
