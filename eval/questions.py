"""Plain question sets, CSV or JSONL, asked against an index the way users ask (open-domain).

A person who uploaded their own documents writes questions and the answers they expect in a
spreadsheet, not in SQuAD's nested JSON. Both formats become the same ``Dataset`` as a SQuAD
file, with no paragraphs of its own (``Dataset.contexts == ()``): its questions are asked
against an index, and ``QAItem.context_id`` is the document a row names, or None.

CSV: a header line with ``question`` and one or more ``answer`` columns (``answer``, ``answer2``,
…); alternatives may also be ``|``-separated in one cell; every answer empty means "the
documents don't say". Optional ``doc_id`` (the document's path relative to the ingested folder,
with its extension) and ``id``; other columns are not read. JSONL: one object a line,
``{"question": …, "answers": [...], "doc_id"?: …, "id"?: …}``. The chat's feedback file
(``ui.feedback``) is such a file: its lines without a reference yet (``"answers": null``) are
skipped, and a later feedback line on the same question replaces an earlier one.

    >>> ds = load_questions("eval/gold/article.csv")
    >>> ds.items[0].question, ds.items[0].answers, ds.items[0].context_id
    ('Who speaks on behalf of the US National Security Council?', ('John Kirby', 'Kirby'), 'serbian-….txt')
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from pathlib import Path

from eval.datasets import Dataset, DatasetError, QAItem, load_squad

MAX_QUESTIONS = 10_000  # one run; more is refused with a message rather than left to run for hours
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "squad"}
HEADER_HELP = "question,answer[,answer…][,doc_id][,id] (an empty answer means the documents don't say)"
JSONL_HELP = '{"question": "…", "answers": ["…"], "doc_id": "…"} ([] when the documents don\'t say)'


def load_questions(path: str | Path, limit: int | None = None) -> Dataset:
    """A question set from a .csv or .jsonl file, or a SQuAD-format .json file; errors are ``DatasetError``s."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DatasetError(f"{path}: a question set is a .csv, .jsonl or SQuAD-format .json file.")
    if kind == "squad":
        return load_squad(path, limit=limit)
    if not path.is_file():
        raise DatasetError(f"There is no question set at {path}: check the path.")
    data = path.read_bytes()
    text = _decode(data, path)
    if not text.strip():
        raise DatasetError(f"{path} is empty: write a header line ({HEADER_HELP}) and one question a line."
                           if kind == "csv" else f"{path} is empty: write one question a line, {JSONL_HELP}.")
    items, notes = parse_csv(text, path) if kind == "csv" else parse_jsonl(text, path)
    if not items:
        raise DatasetError(f"{path} holds no question with a reference answer yet.")
    if limit is None and len(items) > MAX_QUESTIONS:
        raise DatasetError(f"{path} has {len(items):,} questions; one run takes at most {MAX_QUESTIONS:,}: "
                           f"split the file or pass --limit.")
    items = items[:limit] if limit is not None else items
    return Dataset(str(path), kind, hashlib.sha256(data).hexdigest(), (), tuple(items), tuple(notes))


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{path}, line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                           f"save the file as UTF-8 (in a spreadsheet: CSV UTF-8).") from None


def split_answers(cells: list[str]) -> tuple[str, ...]:
    """Reference answers from CSV cells: ``|`` separates alternatives; empty cells and parts drop out (pure).

    >>> split_answers(["John Kirby|Kirby", "", " Kirby "])
    ('John Kirby', 'Kirby', 'Kirby')
    """
    return tuple(part.strip() for cell in cells for part in cell.split("|") if part.strip())


def parse_csv(text: str, path: Path) -> tuple[list[QAItem], list[str]]:
    """The rows of a CSV question set; a bad row is a ``DatasetError`` naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
        if "question" not in header:
            raise DatasetError(f"{path}, line 1: no 'question' column; the header must be {HEADER_HELP}.")
        answer_cols = [i for i, name in enumerate(header) if name.startswith("answer")]
        if not answer_cols:
            raise DatasetError(f"{path}, line 1: no 'answer' column; the header must be {HEADER_HELP}.")
        col = {name: header.index(name) for name in ("question", "doc_id", "id") if name in header}
        items: list[QAItem] = []
        line = reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1  # a quoted cell may span lines: name the row's first
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DatasetError(f"{path}, line {start}: {len(row)} fields where the header has {len(header)}; "
                                   f"put a cell that holds a comma in double quotes.")
            question = row[col["question"]].strip()
            if not question:
                raise DatasetError(f"{path}, line {start}: the question is empty.")
            doc_id = row[col["doc_id"]].strip() if "doc_id" in col else ""
            qid = row[col["id"]].strip() if "id" in col else ""
            answers = split_answers([row[i] for i in answer_cols])
            items.append(_question(qid or f"line {start}", question, answers, doc_id or None, start))
    except csv.Error as exc:
        raise DatasetError(f"{path}, line {reader.line_num}: not readable as CSV ({exc}).") from None
    return _unique_ids(items, path), []


def parse_jsonl(text: str, path: Path) -> tuple[list[QAItem], list[str]]:
    """The lines of a JSONL question set (feedback files included); a bad line is a ``DatasetError``."""
    lines = text.split("\n")
    items: dict[str, QAItem | None] = {}  # feedback lines keyed by question (a later word wins), others by line
    notes: list[str] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # no final newline: a write cut short by a crash; that line only is lost
                notes.append(f"{path}, line {number}: incomplete last line skipped (a write cut short?).")
                continue
            raise DatasetError(f"{path}, line {number}: not JSON ({exc.msg}); each line is {JSONL_HELP}.") from None
        item = _json_item(obj, path, number)  # None: a feedback line with no reference yet
        key = f"q:{obj['question'].strip()}" if "feedback" in obj else f"line:{number}"
        items.pop(key, None)  # re-inserted at the end: the set keeps the order of the last word
        items[key] = item
    pending = sum(1 for item in items.values() if item is None)
    if pending:
        notes.append(f"{path}: {pending} question(s) voted down without a right answer yet were skipped.")
    return _unique_ids([item for item in items.values() if item is not None], path), notes


def _json_item(obj, path: Path, number: int) -> QAItem | None:
    where = f"{path}, line {number}"
    if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"].strip():
        raise DatasetError(f"{where}: no 'question' text; each line is {JSONL_HELP}.")
    if "answers" not in obj:
        raise DatasetError(f"{where}: no 'answers' list; each line is {JSONL_HELP}.")
    answers = obj["answers"]
    if answers is None and "feedback" in obj:
        return None  # a 👎 with no correction yet: nothing to score against
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise DatasetError(f"{where}: 'answers' must be a list of texts ([] when the documents don't say).")
    doc_id = obj.get("doc_id")
    if doc_id is not None and not isinstance(doc_id, str):
        raise DatasetError(f"{where}: 'doc_id' must be a text (the document's path with its extension).")
    qid = obj.get("id")
    qid = str(qid) if qid is not None else f"line {number}"
    return _question(qid, obj["question"].strip(), tuple(a.strip() for a in answers if a.strip()),
                     doc_id.strip() or None if doc_id else None, number)  # fmt: skip


def _question(qid: str, question: str, answers: tuple[str, ...], doc_id: str | None, line: int) -> QAItem:
    return QAItem(qid, question, doc_id, answers, (), not answers, line=line)


def _unique_ids(items: list[QAItem], path: Path) -> list[QAItem]:
    seen: dict[str, int] = {}
    for item in items:
        if item.qid in seen:
            raise DatasetError(f"{path}, line {item.line}: id {item.qid!r} was already used on line {seen[item.qid]}.")
        seen[item.qid] = item.line
    return items


def check_documents(dataset: Dataset, doc_ids: set[str], index_path: Path) -> None:
    """Every document a row names must be in the index; else one error naming the line and what there is."""
    for item in dataset.items:
        if item.context_id is not None and item.context_id not in doc_ids:
            known = ", ".join(sorted(doc_ids)[:5]) + (", …" if len(doc_ids) > 5 else "")
            raise DatasetError(f"{dataset.path}, line {item.line}: document {item.context_id!r} is not in the index "
                               f"at {index_path} (it holds: {known or 'nothing'}); a doc_id is the file's path "
                               f"relative to the ingested folder, with its extension.")


def clean_questions(dataset: Dataset, max_chars: int) -> Dataset:
    """Each question cleaned as the CLI and the chat clean theirs (``qa.question``), once, at the edge."""
    from qa.errors import QuestionError
    from qa.question import normalize_question

    items = []
    for item in dataset.items:
        try:
            question = normalize_question(item.question, max_chars)
        except QuestionError as error:
            where = f"line {item.line}" if item.line else f"question {item.qid}"
            raise DatasetError(f"{dataset.path}, {where}: {error}") from None
        items.append(dataclasses.replace(item, question=question))
    return dataclasses.replace(dataset, items=tuple(items))
