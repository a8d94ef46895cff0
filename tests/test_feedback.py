"""The chat's feedback set: one whole line per event, under concurrent clients, other processes and kill -9.

The bar (issue 17): 20 feedback events from 8 concurrent chat clients are all in the file, none
duplicated or torn, and a process killed during an append loses at most that line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from eval.questions import load_questions
from ui.feedback import FeedbackEvent, append_event, count_events, feedback_path

REPO_ROOT = Path(__file__).resolve().parent.parent
CLIENTS, EVENTS = 8, 20


def event(i: int, vote: str = "up") -> FeedbackEvent:
    answers = None if vote == "down" else ((f"answer {i}",) if vote != "no-answer" else ())
    return FeedbackEvent(f"Question {i}?", vote, f"answer {i}", answers, "a.txt" if vote == "up" else None, 0.5, "fast")


def lines_of(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode("utf-8").split("\n")[:-1]]  # a torn line fails here


def test_an_event_is_a_question_set_row_beside_the_index(tmp_path):
    assert feedback_path(tmp_path / "index" / "mine") == tmp_path / "index" / "mine.feedback.jsonl"
    path = feedback_path(tmp_path / "mine")
    for e in [event(1), event(2, "down"), event(2, "correction"), event(3, "down"), event(4, "no-answer")]:
        append_event(path, e)
    assert count_events(path) == 5 and not (tmp_path / "mine").exists()  # nothing created inside the index
    first = lines_of(path)[0]
    assert first["question"] == "Question 1?" and first["answers"] == ["answer 1"] and first["doc_id"] == "a.txt"
    assert first["feedback"] == "up" and first["reader"] == "fast" and "time" in first
    ds = load_questions(path)
    assert [(i.question, i.answers, i.context_id) for i in ds.items] == [
        ("Question 1?", ("answer 1",), "a.txt"), ("Question 2?", ("answer 2",), None), ("Question 4?", (), None)]
    with pytest.raises(ValueError, match="vote must be one of"):
        FeedbackEvent("Q?", "meh", None, None, None, 0.0, "fast").to_line()


def _client(path: str, ids: list[int], start: threading.Event | None = None) -> None:
    if start is not None:
        start.wait()
    for i in ids:
        append_event(Path(path), event(i))


def _spread(n_events: int, n_clients: int) -> list[list[int]]:
    return [list(range(c, n_events, n_clients)) for c in range(n_clients)]


def test_twenty_events_from_eight_threads_all_there_none_torn(tmp_path):
    path = tmp_path / "feedback.jsonl"
    go = threading.Event()
    threads = [threading.Thread(target=_client, args=(str(path), ids, go)) for ids in _spread(EVENTS, CLIENTS)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    assert sorted(row["question"] for row in lines_of(path)) == sorted(f"Question {i}?" for i in range(EVENTS))


def test_twenty_events_from_eight_processes_all_there_none_torn(tmp_path):
    path = tmp_path / "feedback.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_client, args=(str(path), ids)) for ids in _spread(EVENTS, CLIENTS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert sorted(row["question"] for row in lines_of(path)) == sorted(f"Question {i}?" for i in range(EVENTS))


WRITER = """
import sys
from pathlib import Path
from ui.feedback import FeedbackEvent, append_event
path, i = Path(sys.argv[1]), 0
while True:
    append_event(path, FeedbackEvent(f"Question {i}? " + "x" * 3000, "up", "a", ("a",), None, 0.5, "fast"))
    i += 1
"""


def test_kill_9_during_appends_loses_at_most_the_line_being_written(tmp_path):
    path = tmp_path / "feedback.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env, cwd=REPO_ROOT)
    try:
        while count_events(path) < 5:  # let it get well into its loop (no time bound: only an event count)
            assert proc.poll() is None, "the writer died on its own"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = count_events(path)
    append_event(path, event(999))
    rows = lines_of(path)  # every line whole: a fragment, if the kill left one, was cut off
    assert len(rows) == before + 1 and rows[-1]["question"] == "Question 999?"
    assert [r["question"].split("?")[0] for r in rows[:-1]] == [f"Question {i}" for i in range(len(rows) - 1)]


def test_a_line_cut_short_is_skipped_when_read_and_cut_off_by_the_next_append(tmp_path):
    path = tmp_path / "feedback.jsonl"
    append_event(path, event(1))
    with open(path, "ab") as f:
        f.write(event(2).to_line().encode()[:25])  # a power loss in the middle of a write
    assert [i.question for i in load_questions(path).items] == ["Question 1?"]
    append_event(path, event(3))
    assert [row["question"] for row in lines_of(path)] == ["Question 1?", "Question 3?"]
    with open(path, "ab") as f:
        f.write(b'{"question": "Hand-written?", "answers": []}')  # whole, only its newline missing: kept
    append_event(path, event(4))
    assert [row["question"] for row in lines_of(path)] == ["Question 1?", "Question 3?", "Hand-written?", "Question 4?"]
