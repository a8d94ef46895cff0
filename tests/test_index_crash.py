"""Crash safety and readers during writes: an index is always the last commit, whole.

A subprocess ingests (one commit that adds a document and replaces another, then an automatic
compaction) and is killed with SIGKILL at a random moment; the index must open, pass ``check``
and answer exactly as before the ingest or as after it. Readers holding a view keep answering
from it while a writer commits and compacts.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corpus.document import Document
from index import IndexSettings, add_documents, check
from index.retriever import Retriever
from index.store import IndexStore

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = ["Who is the spokesperson for the US National Security Council?", "What happened at the border?"]
# Small thresholds: the replace below tips the first segment over them, so the ingest also compacts.
SETTINGS = IndexSettings(max_segments=2, compact_dead_fraction=0.2)
NEW = Document("memo", "Memo", "A memo says the tanks left the border on Friday. Kirby confirmed it.", "mem:memo")

CHILD = """
import sys, time
from corpus.document import Document
from index import IndexSettings, add_documents
from index.embedder import Embedder
from index.store import IndexStore
path, text = sys.argv[1], sys.argv[2]
embedder = Embedder()
embedder.embed_documents(["warm up"])
store = IndexStore.open(path, embedder, settings=IndexSettings(max_segments=2, compact_dead_fraction=0.2))
old = store.document("b")
print("ready", flush=True)
start = time.perf_counter()
add_documents(store, embedder, [
    Document("memo", "Memo", text, "mem:memo"),
    Document("b", old.title, old.text + " The talks resumed.", old.source),
])
print(f"done {time.perf_counter() - start:.3f}", flush=True)
"""


def answers(path, embedder):
    retriever = Retriever(IndexStore.open(path, settings=SETTINGS), embedder)
    return [[(h.chunk.chunk_id, h.chunk.text, round(h.score, 5)) for h in retriever.search(q, k=4)] for q in QUESTIONS]


def run_child(path, kill_after: float | None):
    """Run the ingest in a subprocess; kill -9 it ``kill_after`` seconds after it is ready."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), NEW.text], cwd=REPO, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    assert child.stdout.readline().strip() == "ready"
    if kill_after is None:
        line = child.stdout.readline()
        child.wait()  # no time limit: on a busy machine a child can take minutes to exit
        return float(line.split()[1])
    time.sleep(kill_after)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return None


@pytest.fixture(scope="module")
def base_index(tmp_path_factory, embedder, article):
    path = tmp_path_factory.mktemp("crash") / "index"
    store = IndexStore.create(path, embedder, settings=SETTINGS)
    paragraphs = [p for p in article.text.split("\n") if len(p.split()) > 12]
    add_documents(store, embedder, [Document("a", "A", paragraphs[0], "mem:a"), Document("b", "B", paragraphs[1], "mem:b")])
    add_documents(store, embedder, [Document("c", "C", paragraphs[2], "mem:c")])
    return path


def test_kill_9_during_ingest_leaves_the_old_or_the_new_index(base_index, embedder, tmp_path):
    before = answers(base_index, embedder)
    reference = tmp_path / "after"
    shutil.copytree(base_index, reference)
    duration = run_child(reference, None)
    after = answers(reference, embedder)
    assert after != before
    rng = random.Random(13)
    seen = []
    for trial in range(3):
        path = tmp_path / f"trial{trial}"
        shutil.copytree(base_index, path)
        run_child(path, rng.uniform(0, duration * 1.2))
        check(path)  # every file of the committed index is there and intact
        got = answers(path, embedder)
        assert got in (before, after)
        seen.append("after" if got == after else "before")
        store = IndexStore.open(path, settings=SETTINGS)
        store.commit()  # the next write clears what the killed one left
        assert not list(path.glob(".tmp-*"))
        assert {p.name for p in path.glob("seg-*")} == {s.name for s in store.view().manifest.segments}
    print("kill -9 trials:", seen)


def test_a_reader_in_a_thread_sees_the_old_or_the_new_index(base_index, embedder, tmp_path):
    path = tmp_path / "index"
    shutil.copytree(base_index, path)
    store = IndexStore.open(path, settings=SETTINGS)
    retriever = Retriever(store, embedder)

    def ask():
        return [(h.chunk.chunk_id, h.score) for h in retriever.search(QUESTIONS[0], k=4)]

    before, results, stop = ask(), [], threading.Event()

    def reader():
        while not stop.is_set():
            results.append(ask())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        add_documents(store, embedder, [NEW, Document("a", "A", "Replaced text about the border.", "mem:a")])
    finally:
        stop.set()
        thread.join()
    after = ask()
    assert after != before and results
    assert all(r in (before, after) for r in results)


def test_a_reader_keeps_its_view_while_another_store_compacts(base_index, embedder, tmp_path):
    path = tmp_path / "index"
    shutil.copytree(base_index, path)
    reader = IndexStore.open(path, settings=SETTINGS)
    retriever = Retriever(reader, embedder)
    before = retriever.search(QUESTIONS[0], k=4)
    writer = IndexStore.open(path, settings=SETTINGS)
    add_documents(writer, embedder, [NEW])
    writer.compact()  # the reader's segments are no longer in the manifest, but it still holds them
    assert retriever.search(QUESTIONS[0], k=4) == before
    old_segments = {s.name for s in reader.view().manifest.segments}
    assert all((path / name).is_dir() for name in old_segments)
    assert reader.reload() is True
    assert retriever.search(QUESTIONS[0], k=4) != before
    writer.commit()  # nobody holds the old segments now: this write removes them
    assert not any((path / name).exists() for name in old_segments)


def test_a_second_writer_is_told_to_wait(base_index, tmp_path, embedder):
    path = tmp_path / "index"
    shutil.copytree(base_index, path)
    first, second = IndexStore.open(path), IndexStore.open(path)
    with first.writing():
        with pytest.raises(Exception, match="Another process is writing"):
            add_documents(second, embedder, [NEW])
    assert os.listdir(path)  # and nothing was broken
    check(path)
