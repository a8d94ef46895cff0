"""Feedback from the chat, kept as a question set: 👍 / 👎 and corrections, one JSON line per event.

Each event is a line ``python -m eval --questions`` reads (``eval.questions``): the question,
the reference answers it implies (``[answer shown]`` for 👍, the user's text for "the right
answer is …", ``[]`` for "the documents don't say", ``null`` for a bare 👎 that has no reference
yet) and what the chat showed. A later line on the same question replaces an earlier one when
the set is read, so a 👎 followed by a correction counts once, as the correction.

The file lives beside the index folder, never inside it (index writes swap that folder whole):
``<index>.feedback.jsonl``. Appends are crash- and concurrency-safe: one ``write`` of the whole
line on a descriptor opened with ``O_APPEND`` (the kernel moves to the end and writes in one
step, so lines of concurrent writers never interleave), under an ``flock`` so writers in other
processes agree too, then ``fsync`` before the user is told it was saved. A kill -9 can lose at
most the line being written; a line cut short (a power loss mid-write) is skipped when the set is
read, and cut off by the next append, which starts on a fresh line.

    >>> append_event(feedback_path(Path(".cache/index/default")), FeedbackEvent(
    ...     "Who is John Kirby?", "up", "spokesperson", ("spokesperson",), "a.txt", 0.91, "fast"))
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

VOTES = ("up", "down", "correction", "no-answer")
TAIL_BYTES = 1 << 16  # how far back a cut-short last line is looked for (one event is far smaller)


@dataclass(frozen=True)
class FeedbackEvent:
    """One piece of feedback on one chat answer."""

    question: str  # as the pipeline understood it (a follow-up resolved), so it can be asked again alone
    vote: str  # one of VOTES
    shown: str | None  # the answer the chat gave (None: it said the documents don't say)
    answers: tuple[str, ...] | None  # the references this implies; () "the documents don't say"; None unknown
    doc_id: str | None  # the document the shown answer cited, when it was right (👍)
    score: float
    reader: str

    def to_line(self) -> str:
        """The JSONL line (with its newline): a question-set row plus what was shown and when."""
        if self.vote not in VOTES:
            raise ValueError(f"vote must be one of {', '.join(VOTES)}, not {self.vote!r}.")
        row = {"question": self.question, "answers": list(self.answers) if self.answers is not None else None}
        if self.doc_id:
            row["doc_id"] = self.doc_id
        row.update(feedback=self.vote, shown=self.shown, score=round(self.score, 4), reader=self.reader,
                   time=datetime.now(timezone.utc).isoformat(timespec="seconds"))  # fmt: skip
        return json.dumps(row, ensure_ascii=False) + "\n"


def feedback_path(index_path: Path) -> Path:
    """``<index>.feedback.jsonl`` beside the index folder: index writes replace the folder, never this file."""
    index_path = Path(index_path)
    return index_path.with_name(index_path.name + ".feedback.jsonl")


def append_event(path: Path, event: FeedbackEvent) -> None:
    """Append one event as one line, durably: O_APPEND, one write, flock against other processes, fsync."""
    data = event.to_line().encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)  # read: to check the last line
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if _repair_tail(fd):
                data = b"\n" + data
            written = os.write(fd, data)
            while written < len(data):  # a regular file writes all at once unless the disk is full
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _repair_tail(fd: int) -> bool:
    """Make the file end on a whole line before appending; True when a newline must go first.

    Our writes end in a newline, so a last line without one was cut short (power loss): it is
    cut off, since it is lost anyway and would otherwise break the line written after it. A
    complete JSON line that merely lacks its newline (a hand edit) is kept: True.
    """
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return False
    start = max(0, size - TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    cut = tail.rfind(b"\n")
    line_start = start + cut + 1 if cut >= 0 else start
    try:
        json.loads(os.pread(fd, size - line_start, line_start).decode("utf-8"))
        return True
    except (UnicodeDecodeError, json.JSONDecodeError):
        if cut < 0 and start > 0:
            return True  # a last line longer than we look at: not ours to cut
        os.ftruncate(fd, line_start)
        return False


def count_events(path: Path) -> int:
    """How many whole lines the set holds (0 when there is no file yet)."""
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.endswith(b"\n") and line.strip())
    except FileNotFoundError:
        return 0
