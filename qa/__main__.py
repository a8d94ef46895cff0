"""Command line: ask questions, ingest documents, chat in the terminal.

    python -m qa ask "Who is the spokesperson for the US National Security Council?"
    python -m qa ask --json --file questions.txt        # one JSON object per line
    python -m qa ingest --index my-index docs/ report.pdf
    python -m qa chat

Without --index the default index of the bundled article is used (built on first use).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from qa.config import Config
from qa.errors import QuestionError


def _config(args) -> Config:
    config = Config()
    if getattr(args, "index", None):
        config = dataclasses.replace(config, index_dir=Path(args.index))
    if getattr(args, "reader", None):
        config = dataclasses.replace(config, reader_model=args.reader)
    return config


def _pipeline(args):
    from qa.pipeline import Pipeline
    from qa.reader import hide_loading_bars

    hide_loading_bars()
    print("Loading the index and models…", file=sys.stderr, flush=True)
    return Pipeline.from_config(_config(args))


def _questions(args) -> list[str]:
    questions = list(args.questions)
    if args.file:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(args.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SystemExit(f"error: cannot read questions from {args.file}: {exc}")
        questions += [line for line in text.splitlines() if line.strip()]
    if not questions:
        raise SystemExit("error: no question given: pass QUESTION arguments or --file FILE (- for stdin).")
    return questions


def format_answer(answer) -> str:
    """The plain, human-readable form of an Answer."""
    lines = [f"Q: {answer.question}"]
    if answer.read_as:
        lines.append(f"   (read as: {answer.read_as})")
    if answer.abstained:
        lines.append(f"A: The documents don't say. (best candidate score {answer.score:.2f})")
        if answer.passages:
            p = answer.passages[0]
            text = " ".join(p.text.split())
            lines.append(f"   Closest passage ({p.title}): {text[:300]}{'…' if len(text) > 300 else ''}")
        return "\n".join(lines)
    lines.append(f"A: {answer.text}   (confidence {answer.score:.2f})")
    for c in answer.citations:
        s, e = c.start - c.sentence_start, c.end - c.sentence_start
        marked = f"{c.sentence[:s]}[[{c.sentence[s:e]}]]{c.sentence[e:]}"
        lines.append(f'   "{" ".join(marked.split())}"')
        lines.append(f"   — {c.title} [{c.doc_id}, characters {c.start}–{c.end}]")
    return "\n".join(lines)


def cmd_ask(args) -> int:
    questions = _questions(args)
    pipe = _pipeline(args)
    failed = 0
    for question in questions:
        try:
            answer = pipe.ask(question)
        except QuestionError as exc:
            failed += 1
            if args.json:
                print(json.dumps({"question": question[:200], "error": str(exc)}, ensure_ascii=False), flush=True)
            else:
                print(f"error: {exc}", file=sys.stderr, flush=True)
            continue
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer) + "\n", flush=True)
    return 1 if failed else 0


def cmd_ingest(args) -> int:
    from corpus.loading import LoadError, load_path
    from index.embedder import Embedder
    from index.store import IndexMissingError, IndexStore, StoreError

    config = _config(args)
    docs = []
    for path in args.paths:
        try:
            docs.extend(load_path(path))
        except LoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    embedder = Embedder(config.embed_model)
    try:
        store = None if args.rebuild else IndexStore.open(config.index_dir, embedder=embedder)
    except IndexMissingError:
        store = None
    except StoreError as exc:
        print(f"error: {exc} (or pass --rebuild to start a new index there)", file=sys.stderr)
        return 2
    if store is None:
        store = IndexStore.create(config.index_dir, embedder, config.chunk_words, config.chunk_overlap_sentences)
    report = store.add_documents(docs, progress=True)
    print(f"{config.index_dir}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.chunks_embedded} chunks embedded")
    return 0


def cmd_chat(args) -> int:
    from qa.followup import resolve_followup

    pipe = _pipeline(args)
    history: list[tuple[str, str | None]] = []
    print("Ask about the documents (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        follow = resolve_followup(question, history)
        try:
            answer = pipe.ask(follow.understood, retrieval_query=follow.retrieval_query)
        except QuestionError as exc:
            print(f"error: {exc}")
            continue
        if follow.understood != question:
            print(f"(understood as: {follow.understood})")
        print(format_answer(answer) + "\n")
        history.append((follow.understood, answer.text))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description=__doc__.split("\n\n")[0],
                                     epilog="Run 'python -m qa COMMAND --help' for a command's options.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", metavar="DIR", help="index folder (default: the bundled article's index)")
    common.add_argument("--reader", metavar="MODEL", help="reader model name or path (default: the shipped reader)")

    ask = sub.add_parser("ask", parents=[common], help="answer questions (models loaded once)")
    ask.add_argument("questions", nargs="*", metavar="QUESTION", help="a question; quote each one")
    ask.add_argument("--file", metavar="FILE", help="read one question per line from FILE ('-' for stdin)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question per line")
    ask.set_defaults(func=cmd_ask)

    ingest = sub.add_parser("ingest", parents=[common], help="add .txt/.md/.html/.pdf files or folders to an index")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--rebuild", action="store_true", help="start a new index instead of adding to the existing one")
    ingest.set_defaults(func=cmd_ingest)

    chat = sub.add_parser("chat", parents=[common], help="chat in the terminal, with follow-up questions")
    chat.set_defaults(func=cmd_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # one clear line for errors users can meet; tracebacks only for bugs
        from index.store import StoreError
        from qa.errors import SettingError

        if isinstance(exc, (StoreError, FileNotFoundError, SettingError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
