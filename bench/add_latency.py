"""Adding one small document to a large index in a running process: where the wall time goes.

Issue 13's bar is an add of one small document to a 100k-chunk index in at most 2 s, writing bytes
in proportion to the document. This bench times such adds and splits each one into CPU time, time
with an fsync in flight (and how many fsyncs) and bytes passed to ``write``; with ``--baseline``
it runs the same adds with another checkout's ``index/`` code, interleaved add by add, so both see
the same load on a shared machine:

    git worktree add --detach /tmp/base-tree 7923a43      # the write path before this change
    nice -n 19 python bench/add_latency.py --chunks 100k --adds 10 --baseline /tmp/base-tree

The index is synthetic and built once (cached under ``--work``): documents of 10 chunks of 30
words, random unit vectors, one exact segment. What an add costs does not depend on the big
segment's contents, which it never reads (only the ids, once per process). Each tree works on
its own copy, in its own process with the real embedder loaded and warm. Compaction is kept out
(``max_segments`` raised): it merges the small segments that adds leave, an amortised cost that
``bench/index_scale.py`` covers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.index_scale import CACHE, folder_bytes, parse_size  # noqa: E402

WORKER = r"""
import json, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
from corpus.document import Document
from index import IndexSettings, IndexStore, add_documents
from index.embedder import Embedder

calls, lock, real_fsync = [], threading.Lock(), os.fsync


def fsync(fd):  # every fsync of the write path goes through os.fsync: count and time them
    start = time.perf_counter()
    try:
        return real_fsync(fd)
    finally:
        with lock:
            calls.append((start, time.perf_counter()))


os.fsync = fsync


def in_flight(intervals):
    # Wall time with at least one fsync running (fsyncs issued together overlap).
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total, end = total + b - max(a, end), b
    return total


def wchar():
    return int(dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())["wchar"])


embedder = Embedder()
embedder.embed_documents(["warm up the embedder"])
store = IndexStore.open(sys.argv[2], embedder, settings=IndexSettings(max_segments=1000))
store.view().content_hash("warm up")  # the big segment's ids, read once per process
print("ready", flush=True)
for line in sys.stdin:
    i = int(line)
    doc = Document(f"new/{i}.txt", "New", f"Memo {i} says the tanks left the border on Friday. Kirby confirmed it.",
                   f"/bench/new/{i}.txt")
    calls.clear()
    w0, t0, c0 = wchar(), time.perf_counter(), time.process_time()
    add_documents(store, embedder, [doc])
    wall, cpu, written = time.perf_counter() - t0, time.process_time() - c0, wchar() - w0
    print(json.dumps({"wall": wall, "cpu": cpu, "fsyncs": len(calls), "fsync_wall": in_flight(calls),
                      "written": written}), flush=True)
"""


def build(path: Path, n: int, seed: int = 0) -> None:
    """An index of ``n`` synthetic chunks (one flat segment), written with this tree's code."""
    from corpus.document import Chunk, Document
    from index.dense import unit_rows
    from index.segment import SegmentData
    from index.settings import DenseSettings, IndexSettings
    from index.store import IndexStore

    rng = np.random.default_rng(seed)
    vocab = [f"w{j}" for j in range(20_000)]
    words = rng.integers(0, len(vocab), size=(n, 30))
    docs, sentences, chunks = [], [], []
    for d, first in enumerate(range(0, n, 10)):
        parts = [" ".join(vocab[w] for w in words[k]) + "." for k in range(first, min(n, first + 10))]
        starts = np.r_[0, np.cumsum([len(p) + 1 for p in parts])][:-1]
        doc = Document(f"bench/{d}.txt", f"Document {d}", " ".join(parts), f"/bench/{d}.txt")
        spans = [(int(s), int(s) + len(p)) for s, p in zip(starts, parts)]
        docs.append(doc)
        sentences.append(spans)
        chunks += [Chunk(f"{doc.doc_id}#{j}", doc.doc_id, s, e, doc.text[s:e]) for j, (s, e) in enumerate(spans)]
    vectors = unit_rows(rng.standard_normal((n, 384), dtype=np.float32))
    settings = IndexSettings(dense=DenseSettings(flat_max_rows=n))
    model = SimpleNamespace(model_name=settings.embed_model, dimension=384)
    tmp = path.with_name(path.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    IndexStore.create(tmp, model, settings=settings, commit=False).commit(
        SegmentData.from_documents(docs, sentences, chunks, vectors))
    os.replace(tmp, path)


def start_worker(tree: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(tree), str(index)], cwd=tree, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip


def wait_ready(proc: subprocess.Popen, tree: Path) -> None:
    line = proc.stdout.readline().strip()
    if line != "ready":
        raise SystemExit(f"the worker for {tree} did not start (said {line!r})")


def add(proc: subprocess.Popen, i: int) -> dict:
    proc.stdin.write(f"{i}\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def summary(runs: list[dict]) -> dict:
    walls = [r["wall"] for r in runs]
    return {"adds": len(runs), "wall_p50_s": statistics.median(walls), "wall_max_s": max(walls),
            "cpu_p50_s": statistics.median(r["cpu"] for r in runs),
            "fsync_wall_p50_s": statistics.median(r["fsync_wall"] for r in runs),
            "fsyncs": statistics.median(r["fsyncs"] for r in runs),
            "written_p50_bytes": int(statistics.median(r["written"] for r in runs))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", default="100k", help="size of the index added to (10k, 100k, ...)")
    ap.add_argument("--adds", type=int, default=10, help="adds per tree")
    ap.add_argument("--baseline", help="another checkout of this repository: its index/ code is timed too")
    ap.add_argument("--work", default=str(CACHE / "add-latency"), help="where the indexes are built")
    ap.add_argument("--json", help="also write every add's figures here")
    args = ap.parse_args()
    n, work = parse_size(args.chunks), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    base = work / f"base-{n}"
    if not (base / "manifest.json").is_file():
        t0 = time.perf_counter()
        build(base, n)
        print(f"built {base} ({n:,} chunks) in {time.perf_counter() - t0:.0f} s", flush=True)
    trees = {"this tree": ROOT} | ({"baseline": Path(args.baseline).resolve()} if args.baseline else {})
    workers = {}
    for label, tree in trees.items():
        copy = work / f"{label.replace(' ', '-')}-{n}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(base, copy)
        workers[label] = start_worker(tree, copy)
    for label, proc in workers.items():  # started together: each loads torch and opens its copy
        wait_ready(proc, trees[label])
    load = [os.getloadavg()[0]]
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    for i in range(args.adds):
        order = list(workers) if i % 2 == 0 else list(reversed(workers))  # alternate who goes first
        for label in order:
            runs[label].append(add(workers[label], i))
    load.append(os.getloadavg()[0])
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()
    print(f"index: {n:,} chunks, {folder_bytes(base) / 1e6:.0f} MB; load average {load[0]:.1f} before, "
          f"{load[1]:.1f} after; nice {os.nice(0)}")  # fmt: skip
    cols = ["adds", "wall_p50_s", "wall_max_s", "cpu_p50_s", "fsync_wall_p50_s", "fsyncs", "written_p50_bytes"]
    print("| tree | " + " | ".join(cols) + " |\n|" + "---|" * (len(cols) + 1))
    for label, got in runs.items():
        s = summary(got)
        print(f"| {label} | " + " | ".join(f"{s[c]:.3f}" if isinstance(s[c], float) else f"{s[c]:,}" for c in cols) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"chunks": n, "load": load, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
