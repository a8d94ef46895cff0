"""Command line: ask questions, ingest documents, chat in the terminal.

    python -m qa ask "Who is the spokesperson for the US National Security Council?"
    python -m qa ask --json --file questions.txt        # one JSON object per line
    python -m qa ingest --index my-index docs/ report.pdf   # adds new and changed documents only
    python -m qa ingest --index my-index --prune docs/      # ... and removes those whose files are gone
    python -m qa remove --index my-index report.pdf          # ids as `python -m qa documents` lists them
    python -m qa compact --index my-index ; python -m qa check --index my-index
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
from qa.errors import QuestionError, SettingError
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


# Embedding speed on the two shared cores (issue 16: ~3,000 chunks in 1.5-2 min); bench/ingest_speed.py measures it.
EMBED_CHUNKS_PER_S = 25
_ESTIMATE_MIN_CHUNKS = 500  # below this an ingest takes seconds: no estimate needed


def _estimate(store, docs) -> str | None:
    """A line saying how long embedding the new and changed documents will take, when it is long."""
    from corpus.chunking import estimate_chunk_count

    view, settings = store.view(), store.settings  # the index's own chunking, which ingest uses
    changed = [d for d in docs if view.content_hash(d.doc_id) != d.content_hash]
    chunks = sum(estimate_chunk_count(d.text, settings.chunk_words, settings.overlap_sentences) for d in changed)
    if chunks < _ESTIMATE_MIN_CHUNKS:
        return None
    minutes = chunks / EMBED_CHUNKS_PER_S / 60
    eta = f"{minutes:.0f} minutes" if minutes < 90 else f"{minutes / 60:.1f} hours"
    return (f"About {chunks:,} chunks to embed from {len(changed)} new or changed documents: roughly {eta} "
            f"at {EMBED_CHUNKS_PER_S} chunks/s (Ctrl-C stops it; the index stays as it was).")


def cmd_ingest(args, config: Config) -> int:
    if args.ray:
        return _ingest_on_ray(args, config)
    from corpus.loading import load_paths
    from index.ingest import add_documents, gone_from
    from qa.indexes import open_index

    max_mb = args.max_mb if args.max_mb is not None else config.max_document_mb
    # Every file checked (ids, sizes) before the models load; with --prune a folder emptied of its files is no error.
    docs = load_paths(args.paths, max_mb, progress=True, allow_empty=args.prune)
    retriever = open_index(config, create=True, rebuild=args.rebuild)
    if estimate := _estimate(retriever.store, docs):
        print(estimate, file=sys.stderr, flush=True)
    prune = gone_from(args.paths) if args.prune else None  # in the same commit as the additions
    report = add_documents(retriever.store, retriever.embedder, docs, progress=True, remove_missing=prune)
    pruned = f", {report.removed} removed (their files are gone)" if args.prune else ""
    print(f"{retriever.store.path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.chunks_embedded} chunks embedded{pruned}; {retriever.store.view().manifest.documents} documents")
    return 0


def _ingest_on_ray(args, config: Config) -> int:
    """``ingest --ray``: read, chunk and embed on Ray (index.ray_ingest), write to the Milvus index."""
    from index.ray_ingest import ray_ingest
    from qa.indexes import open_index

    if config.backend != "milvus":
        raise SettingError("ingest --ray writes to a Milvus index: add --backend milvus (and --milvus-uri URI).")
    retriever = open_index(config, sources=(), create=True, rebuild=args.rebuild)
    max_mb = args.max_mb if args.max_mb is not None else config.max_document_mb
    report = ray_ingest(retriever.store, args.paths, address=args.ray_address, workers=args.workers, max_mb=max_mb)
    print(f"{retriever.store.path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
          f"{report.chunks_embedded} chunks embedded")
    return 0


def _store(config: Config):
    """The index ``--index`` names (default: the bundled article's), opened for writing; no model loads."""
    if config.backend == "milvus":
        from index.milvus import MilvusStore
        from qa.indexes import milvus_collection

        return MilvusStore.open(config.milvus_address, milvus_collection(config.index_dir), token=config.milvus_token)
    from index.store import IndexStore

    return IndexStore.open(config.index_path)


def _local_only(config: Config, command: str) -> None:
    if config.backend == "milvus":
        raise SettingError(f"'{command}' works on a local index; Milvus compacts and checks its own collections.")


def cmd_remove(args, config: Config) -> int:
    from index.ingest import remove_documents

    store = _store(config)
    removed = remove_documents(store, args.doc_ids)  # all or nothing: an unknown id changes nothing
    left = len(store.stats()) if config.backend == "milvus" else store.view().manifest.documents
    print(f"{store.path}: {removed} removed, {left} documents left")
    return 0


def cmd_compact(args, config: Config) -> int:
    _local_only(config, "compact")
    store = _store(config)
    done = store.compact()
    m = store.view().manifest
    print(f"{store.path}: {'compacted into' if done else 'already compact:'} {len(m.segments)} segment(s), "
          f"{m.documents} documents, {m.chunks} chunks, {m.bytes / 1e6:.1f} MB")
    return 0


def cmd_check(args, config: Config) -> int:
    from index.store import check

    _local_only(config, "check")
    r = check(config.index_path)  # IndexDamagedError (one line, exit 2) names what is wrong
    print(f"{r.path}: sound ({r.documents} documents, {r.chunks} chunks, {r.segments} segment(s), "
          f"{r.files} files, {r.bytes / 1e6:.1f} MB checksummed; generation {r.generation})")
    return 0


def cmd_documents(args, config: Config) -> int:
    for s in _store(config).stats():
        title = "".join(ch if ch.isprintable() else " " for ch in s.title)  # no escape sequences to the terminal
        print(f"{s.doc_id}\t{s.chunks} chunks\t{title}")
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
    ingest.add_argument("--max-mb", type=float, metavar="MB", help="refuse files larger than this, before reading "
                        "them (default: 20; 20 MB of prose is about an hour of embedding here)")  # fmt: skip
    ingest.add_argument("--prune", action="store_true", help="also remove the index's documents whose files under "
                        "these paths no longer exist (documents from other paths are kept)")  # fmt: skip
    ingest.add_argument("--ray", action="store_true", help="read, chunk and embed on Ray, writing to a Milvus index "
                        "(--backend milvus; pip install -r requirements-ray.txt)")  # fmt: skip
    ingest.add_argument("--ray-address", metavar="ADDRESS", help="a running Ray cluster (default: start a local one)")
    ingest.add_argument("--workers", type=int, default=2, metavar="N", help="embedding workers, one model each (default: 2)")
    ingest.set_defaults(func=cmd_ingest)

    remove = sub.add_parser("remove", parents=[common], help="remove documents from an index by id (see 'documents')")
    remove.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    remove.set_defaults(func=cmd_remove)

    documents = sub.add_parser("documents", parents=[common], help="list an index's documents: id, chunks, title")
    documents.set_defaults(func=cmd_documents)

    compact = sub.add_parser("compact", parents=[common], help="rewrite an index into one segment, dropping removed chunks")
    compact.set_defaults(func=cmd_compact)

    check = sub.add_parser("check", parents=[common], help="checksum every file of an index and cross-check them")
    check.set_defaults(func=cmd_check)

    chat = sub.add_parser("chat", parents=[common], help="chat in the terminal, with follow-up questions")
    chat.set_defaults(func=cmd_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    for name, value in OFFLINE_ENVIRONMENT.items():  # before any model loads: no hub, no forked tokenizer threads
        os.environ.setdefault(name, value)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, config_from(args, os.environ))
    except KeyboardInterrupt:  # an index is changed only by its final commit: nothing half-done is left
        print("\ninterrupted: nothing more was done; the index holds what was committed.", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for errors users can meet; tracebacks only for bugs
        from corpus.formats import LoadError
        from index.errors import StoreError
        from qa.errors import SettingError

        if isinstance(exc, (StoreError, LoadError, FileNotFoundError, SettingError)):
            print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line, whatever the message holds
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
