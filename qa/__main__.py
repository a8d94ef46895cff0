"""Command line: ask questions, ingest documents, chat in the terminal.

    python -m qa ask "Who is the spokesperson for the US National Security Council?"
    python -m qa ask --json --file questions.txt        # one JSON object per line
    python -m qa ingest --index my-index docs/ report.pdf
    python -m qa chat

Without --index the default index of the bundled article is used (built on first use).
Every question is cleaned and checked here, once, before any model loads (``qa.question``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from qa.config import OFFLINE_ENVIRONMENT, Config, add_config_arguments, config_from
from qa.errors import QuestionError
from qa.question import normalize_question


def _pipeline(config: Config):
    from qa.pipeline import Pipeline
    from qa.reader import hide_loading_bars

    hide_loading_bars()
    print("Loading the index and models…", file=sys.stderr, flush=True)
    return Pipeline.from_config(config)


def _clean(raw: str, config: Config) -> str | QuestionError:
    """The question as the pipeline takes it, or the error to show instead of an answer."""
    try:
        return normalize_question(raw, config.max_question_chars)
    except QuestionError as error:
        return error


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
    lines = [f"Q: {answer.question}"]  # as understood: a follow-up in a chat is shown resolved
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


def cmd_ask(args, config: Config) -> int:
    asked = _questions(args)
    cleaned = [_clean(raw, config) for raw in asked]
    failed = sum(isinstance(q, QuestionError) for q in cleaned)
    pipe = _pipeline(config) if failed < len(cleaned) else None  # all of them bad: load nothing
    for raw, question in zip(asked, cleaned):
        if isinstance(question, QuestionError):
            if args.json:
                print(json.dumps({"question": raw[:200], "error": str(question)}, ensure_ascii=False), flush=True)
            else:
                print(f"error: {question}", file=sys.stderr, flush=True)
            continue
        answer = pipe.ask(question)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer) + "\n", flush=True)
    return 1 if failed else 0


def cmd_ingest(args, config: Config) -> int:
    from corpus.loading import LoadError, load_path
    from index.embedder import Embedder
    from index.store import IndexMissingError, IndexStore, StoreError

    docs = []
    for path in args.paths:
        try:
            docs.extend(load_path(path))
        except LoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    embedder = Embedder(config.embed_model)
    try:
        store = None if args.rebuild else IndexStore.open(config.index_path, embedder=embedder)
    except IndexMissingError:
        store = None
    except StoreError as exc:
        print(f"error: {exc} (or pass --rebuild to start a new index there)", file=sys.stderr)
        return 2
    if store is None:
        store = IndexStore.create(config.index_path, embedder, config.chunk_words, config.chunk_overlap_sentences)
    report = store.add_documents(docs, progress=True)
    print(f"{config.index_path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.chunks_embedded} chunks embedded")
    return 0


def cmd_chat(args, config: Config) -> int:
    from qa.followup import Conversation, reply

    pipe = _pipeline(config)
    conversation = Conversation()
    print("Ask about the documents (empty line or Ctrl-D to quit).")
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line.strip():
            return 0
        question = _clean(line, config)
        if isinstance(question, QuestionError):
            print(f"error: {question}")
            continue
        turn = reply(pipe, question, conversation)
        if turn.answer.question != question:
            print(f"(understood as: {turn.answer.question})")
        print(format_answer(turn.answer) + "\n")
        conversation = turn.conversation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description=__doc__.split("\n\n")[0],
                                     epilog="Run 'python -m qa COMMAND --help' for a command's options.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_config_arguments(common)

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
    for name, value in OFFLINE_ENVIRONMENT.items():  # before any model loads: no hub, no forked tokenizer threads
        os.environ.setdefault(name, value)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, config_from(args, os.environ))
    except Exception as exc:  # one clear line for errors users can meet; tracebacks only for bugs
        from index.store import StoreError
        from qa.errors import SettingError

        if isinstance(exc, (StoreError, FileNotFoundError, SettingError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
