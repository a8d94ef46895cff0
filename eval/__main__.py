"""Command line: ``python -m eval`` (see --help). The only place in eval/ that parses arguments.

As the other entry points do, it builds the one ``Config`` (defaults, ``QA_*`` environment,
flags), sets the environment before any model loads, and cleans every question once
(``qa.question``) as it comes in from the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from eval.datasets import GOLD_ARTICLE
from qa.config import OFFLINE_ENVIRONMENT, REPO_ROOT, Config, add_config_arguments, config_from, reader_path

# Eval has its own repeatable --reader; --index is for --questions (a SQuAD file is indexed on its own).
NOT_FLAGS = ("reader_model",)

EXAMPLES = """\
examples:
  python -m eval                                   the default pipeline on the article's gold set
  python -m eval --json summary.json --report      also write JSON and a report in reports/article/
  python -m eval --compare retrieval=dense,bm25,hybrid
  python -m eval --squad ../shared/data/squad/dev-v1.1.json --limit 1000
  python -m eval --questions my-questions.csv --index .cache/index/mine --report
  python -m eval --questions .cache/index/mine.feedback.jsonl --index .cache/index/mine
  python -m eval --squad ../shared/data/squad/dev-v2.0.json --split ../shared/data/squad/dev-v2.0-split.json:report
  python -m eval --squad ../shared/data/squad/dev-v2.0.json --reader-only --json v2.json
  python -m eval --reader qa/models/minilm-squad --reader path/to/other-model --reader-only --squad FILE
  python -m eval calibrate --squad ../shared/data/squad/dev-v2.0.json

Open-domain runs index every paragraph of a SQuAD file (cached in .cache/eval-index/) and ask each
question through retrieval; --reader-only gives the reader the gold paragraph instead. A question set
(--questions: CSV with question,answer[,answer...][,doc_id][,id], or JSONL with {"question", "answers",
"doc_id"?}; an empty answer means the documents don't say) is asked against --index (default: the
bundled article's index); recall@k counts a chunk that says a reference answer, within the named
document where a row names one (doc_id: the path relative to the ingested folder, with extension). In JSON,
em/f1 cover answerable questions in open-domain runs and all questions (SQuAD2 convention) with
--reader-only; has_ans_f1, overall_f1 and no_ans_acc are always there.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval",
        description="Evaluate answers, retrieval, abstention and latency on a SQuAD-format file "
        "(default: the article's gold set). Subcommand: 'calibrate' (python -m eval calibrate --help).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--squad", type=Path, metavar="FILE", help="a SQuAD-format JSON file (v1.1, v2.0, TyDi GoldP)")
    src.add_argument("--gold", type=Path, metavar="FILE", default=GOLD_ARTICLE, help="gold set (default: %(default)s)")
    src.add_argument("--questions", type=Path, metavar="FILE",
                     help="a question set (.csv, .jsonl, or SQuAD-format .json) asked against --index")
    p.add_argument("--split", metavar="FILE:NAME",
                   help="only the articles of split NAME in a split file (e.g. dev-v2.0-split.json:report)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions in file order")
    p.add_argument("--reader-only", action="store_true", help="give the reader each question's gold paragraph")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the summary as JSON (a list when comparing)")
    p.add_argument("--report", nargs="?", const="", metavar="DIR",
                   help="write report.md, JSON and plots (default folder: reports/<name>/)")
    p.add_argument("--compare", action="append", default=[], metavar="FIELD=V1,V2",
                   help="evaluate each value of a Config field side by side (repeatable)")
    p.add_argument("--reader", action="append", default=[], metavar="MODEL",
                   help="fast, accurate, or a reader model folder or hub name; repeat to compare readers")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_arguments(p, skip=NOT_FLAGS)
    return p


def _calibrate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval calibrate",
        description="Fit the reader's score calibration and abstention threshold on half of a SQuAD-format "
        "file (article titles sorted, even positions), save it as calibration.json beside the model, "
        "and report the held-out half (odd positions).",
    )
    p.add_argument("--squad", type=Path, metavar="FILE", required=True, help="e.g. ../shared/data/squad/dev-v2.0.json")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions in file order (smoke tests)")
    p.add_argument("--reader", metavar="MODEL", help="fast, accurate or a model folder to calibrate (default: the configured reader)")
    p.add_argument("--no-save", action="store_true", help="fit and report without writing calibration.json")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the calibration and held-out summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_arguments(p, skip=NOT_FLAGS + ("index_dir",))
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    from corpus.loading import LoadError
    from eval.calibrate import CalibrationError
    from eval.datasets import DatasetError
    from eval.run import ConfigError
    from index.errors import StoreError
    from qa.errors import QuestionError, SettingError

    return (DatasetError, ConfigError, CalibrationError, LoadError, QuestionError, SettingError, StoreError,
            FileNotFoundError)  # fmt: skip


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _dataset(args: argparse.Namespace, config: Config):
    """The questions of --squad, --gold or --questions, each cleaned as the CLI and the chat clean theirs."""
    from eval.datasets import DatasetError, load_split, load_squad
    from eval.questions import FORMATS, clean_questions, load_questions

    split = load_split(args.split) if getattr(args, "split", None) else None
    path = getattr(args, "questions", None)
    if path is not None and FORMATS.get(path.suffix.lower()) != "squad":
        if split is not None:
            raise DatasetError("--split selects articles of a SQuAD-format file, not rows of a question set.")
        dataset = load_questions(path, limit=args.limit)
    else:
        path = path if path is not None else args.squad if args.squad is not None else args.gold
        dataset = load_squad(path, limit=args.limit, split=split)
    if dataset.has_own_corpus and config.index_dir is not None:
        raise DatasetError("--index is for a question set (--questions FILE.csv or .jsonl): "
                           "a SQuAD-format file is indexed on its own.")
    for note in dataset.notes:
        print(f"note: {note}", file=sys.stderr)
    return clean_questions(dataset, config.max_question_chars)


def evaluate(args: argparse.Namespace, config: Config) -> None:
    from eval.report import headline_table, write_report
    from eval.run import config_variants, run_configs
    from qa.reader import hide_loading_bars

    dataset = _dataset(args, config)
    path = Path(dataset.path)
    hide_loading_bars()
    variants = config_variants(config, args.compare, args.reader)
    runs = run_configs(dataset, variants, reader_only=args.reader_only, progress=not args.no_progress)
    print(headline_table(runs))
    if args.json is not None:
        _write_json(args.json, runs[0].to_json() if len(runs) == 1 else [r.to_json() for r in runs])
    if args.report is not None:
        name = path.stem + (f"-{args.split.rpartition(':')[2]}" if args.split else "") \
            + ("-reader" if args.reader_only else "") + (f"-{args.limit}" if args.limit else "")  # fmt: skip
        out = Path(args.report) if args.report else REPO_ROOT / "reports" / name
        print(f"report: {write_report(runs, out, title=f'Evaluation: {path.name}')}")


def calibrate_cmd(args: argparse.Namespace, config: Config) -> None:
    from eval.calibrate import SPLIT_RULE, calibrate
    from eval.report import headline_table
    from qa.reader import hide_loading_bars

    config = config if args.reader is None else dataclasses.replace(config, reader_model=reader_path(args.reader))
    dataset = _dataset(args, config)
    hide_loading_bars()
    result = calibrate(dataset, config, save=not args.no_save,
                       progress=not args.no_progress)  # fmt: skip
    cal = result.calibration
    print(f"split {SPLIT_RULE}: {result.n_tune} tune / {result.n_report} report questions")
    print(f"fitted: score = sigmoid({cal.w_span:.4f}*logit + {cal.w_null:.4f}*null_logit + {cal.bias:.4f}), "
          f"threshold {cal.threshold:.4f} (tune F1 {result.tune_f1:.2f})")  # fmt: skip
    if cal.w_span <= 0:
        print("warning: the fitted span weight is not positive, so higher span logits would score lower; "
              "check the reader before shipping this calibration.", file=sys.stderr)
    print("held-out half:")
    print(headline_table([result.report]))
    print(f"saved: {result.saved_to}" if result.saved_to else "not saved (--no-save)")
    if args.json is not None:
        _write_json(args.json, {"calibration": dataclasses.asdict(cal), "n_tune": result.n_tune,
                                "tune_f1": round(result.tune_f1, 2), "split": SPLIT_RULE,
                                "held_out": result.report.to_json()})  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["calibrate"]:
        args, command = _calibrate_parser().parse_args(argv[1:]), calibrate_cmd
    else:
        args, command = _parser().parse_args(argv), evaluate
    if args.limit is not None and args.limit <= 0:
        print("error: --limit must be a positive number of questions.", file=sys.stderr)
        return 2
    for name, value in OFFLINE_ENVIRONMENT.items():  # before any model loads: no hub, no forked tokenizer threads
        os.environ.setdefault(name, value)
    try:
        command(args, config_from(args, os.environ))
    except _user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
