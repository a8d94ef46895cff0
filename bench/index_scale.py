"""How the index scales: build, open, query latency, recall@10 vs exact, RSS, disk, incremental add, kill -9.

Embedding a million real chunks takes hours on two cores, so the large corpora use vectors
shaped like real ones: SQuAD dev paragraphs and their sentences (plus train paragraphs, as many
as ``--embed-budget-s`` allows) are embedded once with the bundled model and cached outside the
repository; the first copy of the corpus uses those vectors, every further copy the same vectors
plus Gaussian noise (``--noise`` per dimension, then re-normalised), with the same texts under
new document ids. Recall is measured with real dev questions' embeddings as queries.

    nice -n 19 python bench/index_scale.py --sizes 10k,100k --kill-trials 20
    nice -n 19 python bench/index_scale.py --sizes 1m --json reports/index_scale_1m.json
    python bench/index_scale.py --sizes 1m --large hnsw       # the other kind of large segment

Per size it prints: build time (segment write, IVF or HNSW included), bytes on disk, open time and
the first dense answer in a fresh process (warm disk cache), dense / BM25 / hybrid latency
p50 and p95, recall@10 of the dense search against exact search, RSS, exact flat search time
over the same vectors (where the flat threshold comes from), and adding one small
document to the open index (time and bytes written).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from corpus.document import Chunk, Document  # noqa: E402
from index import DenseSettings, IndexSettings, IndexStore, Retriever, add_documents, check  # noqa: E402
from index.dense import unit_rows  # noqa: E402
from index.segment import SegmentData  # noqa: E402
from index.settings import LARGE_KINDS  # noqa: E402

CACHE = Path.home() / ".cache" / "ask-docs" / "bench"
SQUAD = ROOT.parent / "shared" / "data" / "squad"
QUESTIONS = ["Who is the spokesperson for the US National Security Council?", "What happened at the border?",
             "When did the talks resume?", "What does the memo say about tanks?"]  # fmt: skip


def rss_mb() -> tuple[float, float]:
    """Resident and peak resident memory of this process, MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def parse_size(text: str) -> int:
    """``10k`` -> 10000, ``1m`` -> 1000000, ``2500`` -> 2500."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if xs else float("nan")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- real vectors, embedded once ----------------------------------------------------------------


def base_vectors(budget_s: float, n_questions: int = 1000) -> dict:
    """Dev paragraphs and sentences, train paragraphs up to the budget, dev questions: texts and vectors."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / f"squad-minilm-{int(budget_s)}s-{n_questions}q.npz"
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return {k: data[k] for k in data.files} | json.loads(str(data["meta"]))
    from corpus.chunking import sentence_spans
    from index.embedder import Embedder

    embedder, start = Embedder(), time.process_time()  # CPU seconds: this machine is shared
    dev = json.loads((SQUAD / "dev-v1.1.json").read_text())["data"]
    train = json.loads((SQUAD / "train-v1.1.json").read_text())["data"]
    paragraphs = [(a["title"], p["context"]) for a in dev for p in a["paragraphs"]]
    questions = [q["question"] for a in dev for p in a["paragraphs"] for q in p["qas"]][:n_questions]
    spans = [sentence_spans(text) for _, text in paragraphs]
    texts = [text for _, text in paragraphs] + [text[s:e] for (_, text), sp in zip(paragraphs, spans) for s, e in sp]
    vectors = [embedder.embed_documents(texts[i : i + 256]) for i in range(0, len(texts), 256)]
    q_vectors = embedder.embed_documents(questions)
    extra = [(a["title"], p["context"]) for a in train for p in a["paragraphs"]]
    random.Random(0).shuffle(extra)
    n_train = 0
    while time.process_time() - start < budget_s and n_train < len(extra):
        batch = [text for _, text in extra[n_train : n_train + 256]]
        vectors.append(embedder.embed_documents(batch))
        n_train += len(batch)
    paragraphs += extra[:n_train]
    spans += [[] for _ in range(n_train)]  # train paragraphs: one chunk each, no sentence vectors
    meta = {"titles": [t for t, _ in paragraphs], "texts": [t for _, t in paragraphs], "spans": spans,
            "questions": questions, "embed_cpu_s": time.process_time() - start, "n_dev": len(dev), "n_train": n_train}  # fmt: skip
    arrays = {"vectors": unit_rows(np.concatenate(vectors)), "question_vectors": unit_rows(q_vectors)}
    np.savez(cache, meta=json.dumps(meta), **arrays)
    return arrays | meta


def corpus(base: dict, n_chunks: int, noise: float, seed: int = 0):
    """Documents of about ``n_chunks`` chunks: paragraph chunk + sentence chunks, vectors real or noisy copies."""
    texts, titles, spans = base["texts"], base["titles"], base["spans"]
    n_para = len(texts)
    sent_row = np.cumsum([n_para] + [len(s) for s in spans])  # where each paragraph's sentence vectors start
    docs, sentences, chunks, rows = [], [], [], []
    copy = 0
    while len(chunks) < n_chunks:
        for p in range(n_para):
            if len(chunks) >= n_chunks:
                break
            doc = Document(f"bench/{copy}/{p}", titles[p], texts[p], f"squad:{p}")
            sents = [(int(s), int(e)) for s, e in spans[p]] or [(0, len(texts[p]))]
            own = [(0, len(texts[p]), p)] + [(s, e, int(sent_row[p]) + j) for j, (s, e) in enumerate(spans[p])]
            own = own[: n_chunks - len(chunks)]
            docs.append(doc)
            sentences.append(sents)
            chunks += [Chunk(f"{doc.doc_id}#{j}", doc.doc_id, s, e, doc.text[s:e]) for j, (s, e, _) in enumerate(own)]
            rows += [(r, copy) for _, _, r in own]
        copy += 1
    base_rows = np.array([r for r, _ in rows])
    copies = np.array([c for _, c in rows])
    vectors = base["vectors"][base_rows].copy()
    noisy = copies > 0
    rng = np.random.default_rng(seed)
    for start in range(0, len(vectors), 100_000):  # in blocks: the noise for 1M rows is 1.5 GB at once
        block = slice(start, start + 100_000)
        mask = noisy[block]
        vectors[block][mask] += rng.standard_normal((int(mask.sum()), vectors.shape[1]), dtype=np.float32) * noise
    return docs, sentences, chunks, unit_rows(vectors)


# -- measurements -------------------------------------------------------------------------------


def measure_open(path: Path, queries: Path, exact: Path, repeat: int) -> dict:
    """In a fresh process: open, first dense answer, latencies and recall (run by --measure)."""
    from index.embedder import Embedder

    q_vectors, exact_rows = np.load(queries), np.load(exact)
    t0 = time.perf_counter()
    store = IndexStore.open(path)
    t1 = time.perf_counter()
    view = store.view()
    first = view.dense_search(q_vectors[0], 10)
    t2 = time.perf_counter()
    dense_ms, dense_cpu_ms, found = [], [], []
    for _ in range(repeat):
        for q in q_vectors:
            t, c = time.perf_counter(), time.thread_time()
            found.append([row for (_, row), _ in view.dense_search(q, 10)])
            dense_ms.append((time.perf_counter() - t) * 1000)
            dense_cpu_ms.append((time.thread_time() - c) * 1000)  # CPU of this thread: less noisy on a busy machine
    recall = float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, np.tile(exact_rows, (repeat, 1)))]))
    rss_index = rss_mb()[0]
    embedder = Embedder()
    retriever = Retriever(store, embedder)
    texts = json.loads(Path(str(queries) + ".json").read_text())
    retriever.search(texts[0])
    bm25_ms, hybrid_ms = [], []
    for text in texts:
        t = time.perf_counter()
        view.lexical_search(text, 20)
        bm25_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        retriever.search(text, k=5)
        hybrid_ms.append((time.perf_counter() - t) * 1000)
    assert first
    return {"open_s": t1 - t0, "first_dense_s": t2 - t0, "dense_p50_ms": pct(dense_ms, 50), "dense_p95_ms": pct(dense_ms, 95),
            "dense_cpu_p50_ms": pct(dense_cpu_ms, 50),
            "recall_at_10": recall, "bm25_p50_ms": pct(bm25_ms, 50), "bm25_p95_ms": pct(bm25_ms, 95),
            "hybrid_p50_ms": pct(hybrid_ms, 50), "hybrid_p95_ms": pct(hybrid_ms, 95), "rss_index_mb": rss_index,
            "rss_with_embedder_mb": rss_mb()[0], "dense_kind": view.manifest.segments[0].dense["kind"]}  # fmt: skip


def add_one(store, embedder, path: Path, times: int = 5) -> dict:
    """Add small documents to the open index one at a time: median wall and CPU seconds of an add, bytes
    written per add, and whether the last one is found (``bench/add_latency.py`` splits the wall time
    into CPU, waiting on fsyncs and the rest, against another checkout's code)."""
    embedder.embed_documents(["warm up the embedder"])
    walls, cpus, written = [], [], []
    for i in range(times):
        before = {p: p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()}
        small = Document(f"bench/new-{i}", "New", f"Memo {i} says the tanks left the border on Friday. Kirby confirmed it.",
                         "mem")  # fmt: skip
        t0, c0 = time.perf_counter(), time.process_time()
        add_documents(store, embedder, [small])
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        written.append(sum(p.stat().st_size for p in path.rglob("*")
                           if p.is_file() and before.get(p) != p.stat().st_mtime_ns))  # fmt: skip
    t0 = time.perf_counter()
    hit = Retriever(store, embedder).search(f"Who confirmed what memo {times - 1} says?", k=1)[0]
    return {"add_one_s": statistics.median(walls), "add_one_max_s": max(walls), "add_one_cpu_s": statistics.median(cpus),
            "add_one_bytes": int(statistics.median(written)), "search_after_add_ms": (time.perf_counter() - t0) * 1000,
            "found_new_doc": hit.chunk.doc_id.startswith("bench/new-")}  # fmt: skip


def run_size(n: int, base: dict, args, work: Path) -> dict:
    import faiss

    from index.embedder import Embedder

    path = work / f"index-{n}"
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.perf_counter()
    docs, sentences, chunks, vectors = corpus(base, n, args.noise)
    data = SegmentData.from_documents(docs, sentences, chunks, vectors)
    prep_s = time.perf_counter() - t0
    embedder = Embedder()
    # --add-only: one exact segment; adding a document never reads the big segment's vectors.
    settings = IndexSettings(dense=DenseSettings(flat_max_rows=n) if args.add_only else DenseSettings(large=args.large))
    store = IndexStore.create(path, embedder, settings=settings, commit=False)
    t0, c0 = time.perf_counter(), time.process_time()
    store.commit(data)
    build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    del data, docs, sentences, chunks
    if args.add_only:
        return {"chunks": n, "dense_kind": "flat", "build_s": build_s, "build_cpu_s": build_cpu_s,
                "disk_bytes": folder_bytes(path), **add_one(store, embedder, path)}  # fmt: skip
    q_vectors = base["question_vectors"][: args.queries]
    _, exact = faiss.knn(q_vectors, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    flat_ms = []
    for q in q_vectors[:100]:
        t = time.perf_counter()
        flat.search(q[None, :], 10)
        flat_ms.append((time.perf_counter() - t) * 1000)
    del flat, vectors
    np.save(work / "queries.npy", q_vectors)
    np.save(work / "exact.npy", exact)
    (work / "queries.npy.json").write_text(json.dumps(base["questions"][: min(200, args.queries)]))
    cmd = [sys.executable, __file__, "--measure", str(path), "--work", str(work), "--repeat", str(args.repeat)]
    subprocess.run(cmd, check=True, capture_output=True)  # a first run warms the disk cache
    opened = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    disk = folder_bytes(path)
    return {"chunks": n, "documents": store.view().manifest.documents, "prepare_s": prep_s, "build_s": build_s,
            "build_cpu_s": build_cpu_s, "disk_bytes": disk, "peak_rss_build_mb": rss_mb()[1],
            "flat_p50_ms": pct(flat_ms, 50), **opened, **add_one(store, embedder, path)}  # fmt: skip


# -- kill -9 during ingest ------------------------------------------------------------------------

CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from corpus.document import Document
from index import IndexSettings, IndexStore, add_documents


class Replay:
    # The vectors the real embedder gave these chunks (embedded once by the parent): a trial then
    # spends its time in the write path being tested, not in importing torch on two busy cores.
    def __init__(self, path):
        data = np.load(path)
        self.model_name, self.dimension = str(data["model"]), int(data["vectors"].shape[1])
        self.vectors = dict(zip(json.loads(str(data["texts"])), data["vectors"]))

    def embed_documents(self, texts, show_progress=False):
        return np.stack([self.vectors[t] for t in texts])


embedder = Replay(sys.argv[2])
store = IndexStore.open(sys.argv[1], embedder, settings=IndexSettings(compact_dead_fraction=1e-9))
docs = [Document(**d) for d in json.loads(sys.argv[3])]
print("ready", flush=True)
t = time.perf_counter()
add_documents(store, embedder, docs)  # an add and a replace, then a compaction of the big segment
print("done", time.perf_counter() - t, flush=True)
"""


def trial_documents(source: Path, embedder, work: Path) -> tuple[list[Document], Path]:
    """The kill trials' ingest (a new memo, and a changed version of the index's first document),
    and the real embedder's vectors of its chunks, saved for the child processes."""
    from corpus.chunking import chunk_document

    store = IndexStore.open(source)
    victim = store.document(next(store.view().doc_sources())[0])
    docs = [Document("bench/memo", "Memo", "A memo says the tanks left the border.", "mem"),
            Document(victim.doc_id, victim.title, victim.text + " The talks resumed.", victim.source)]  # fmt: skip
    s = store.settings
    texts = [c.text for d in docs for c in chunk_document(d, s.chunk_words, s.overlap_sentences)]
    path = work / "kill-vectors.npz"
    np.savez(path, model=embedder.model_name, texts=json.dumps(texts), vectors=embedder.embed_documents(texts))
    return docs, path


def kill_trials(source: Path, trials: int, work: Path) -> dict:
    """Copy the index, run an ingest (add + replace, then a compaction of the big segment), kill -9 at random."""
    from index.embedder import Embedder

    embedder = Embedder()

    def answers(path):
        retriever = Retriever(IndexStore.open(path), embedder)
        return [[(h.chunk.chunk_id, round(h.score, 5)) for h in retriever.search(q, k=5)] for q in QUESTIONS]

    docs, vectors = trial_documents(source, embedder, work)
    docs_json = json.dumps([{"doc_id": d.doc_id, "title": d.title, "text": d.text, "source": d.source} for d in docs])

    def child(path, kill_after):
        proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT)), str(path), str(vectors), docs_json],
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        assert proc.stdout.readline().strip() == "ready"
        if kill_after is None:
            duration = float(proc.stdout.readline().split()[1])
            proc.wait()
            return duration
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None

    reference = work / "kill-after"
    shutil.rmtree(reference, ignore_errors=True)
    shutil.copytree(source, reference)
    before, duration = answers(source), child(reference, None)
    after = answers(reference)
    rng, outcome = random.Random(7), {"before": 0, "after": 0, "broken": 0}
    for trial in range(trials):
        path = work / "kill-trial"
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(source, path)
        child(path, rng.uniform(0, duration * 1.1))
        try:
            check(path)
            got = answers(path)
            outcome["before" if got == before else "after" if got == after else "broken"] += 1
        except Exception as exc:  # noqa: BLE001 - a broken index is what this counts
            print(f"trial {trial}: {exc}", file=sys.stderr)
            outcome["broken"] += 1
    return {"trials": trials, "ingest_s": duration, **outcome}


class MemoEmbedder:
    """One vector per text, whatever batch it comes in, so both indexes hold identical vectors."""

    def __init__(self, inner) -> None:
        self.inner, self.model_name, self.dimension, self.cache = inner, inner.model_name, inner.dimension, {}

    def embed_query(self, text):
        if ("q", text) not in self.cache:
            self.cache[("q", text)] = self.inner.embed_query(text)
        return self.cache[("q", text)]

    def embed_documents(self, texts, show_progress=False):
        for text in [t for t in dict.fromkeys(texts) if ("d", t) not in self.cache]:
            self.cache[("d", text)] = self.inner.embed_documents([text])[0]
        return np.array([self.cache[("d", t)] for t in texts], dtype=np.float32).reshape(len(texts), -1)


def equivalence(trials: int, work: Path) -> dict:
    """Random adds, replaces and removes of article paragraphs vs a rebuild: same hits for every gold question?"""
    from corpus.loading import load_path
    from index import remove_documents
    from index.embedder import Embedder

    gold = json.loads((ROOT / "eval" / "gold" / "article.json").read_text())["data"]
    questions = [q["question"] for a in gold for p in a["paragraphs"] for q in p["qas"]]
    (article,) = load_path(ROOT / "corpus" / "data")
    texts = [p.strip() for p in article.text.split("\n") if len(p.split()) > 12]
    docs = [Document(f"p{i}", f"Part {i}", t, f"mem:p{i}") for i, t in enumerate(texts)]
    edits = [Document(d.doc_id, d.title, d.text + " Officials repeated the warning.", d.source) for d in docs]
    embedder, settings = MemoEmbedder(Embedder()), IndexSettings(chunk_words=40, max_segments=3, compact_dead_fraction=0.5)
    same = total = 0
    for seed in range(trials):
        rng, current = random.Random(seed), {}
        store = IndexStore.create(work / "eq-inc", embedder, settings=settings)
        for _ in range(10):
            if current and rng.random() < 0.25:
                gone = rng.sample(sorted(current), 1)
                remove_documents(store, gone)
                current.pop(gone[0])
                continue
            batch = rng.sample(docs + edits, 2)
            batch = list({d.doc_id: d for d in batch}.values())
            add_documents(store, embedder, batch)
            current.update({d.doc_id: d for d in batch})
        scratch = IndexStore.create(work / "eq-scratch", embedder, settings=settings, commit=False)
        add_documents(scratch, embedder, list(current.values()))
        for mode in ("dense", "bm25", "hybrid"):
            for q in questions:
                a, b = (Retriever(s, embedder).search(q, k=5, mode=mode) for s in (store, scratch))
                same += a == b
                total += 1
    return {"trials": trials, "questions": len(questions), "same": same, "total": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10k,100k", help="chunk counts, comma-separated: 10k,100k,1m (1m takes long)")
    ap.add_argument("--queries", type=int, default=500, help="dev questions used as queries (at most 1000)")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the queries when timing")
    ap.add_argument("--noise", type=float, default=0.02, help="Gaussian noise per dimension for copies")
    ap.add_argument("--embed-budget-s", type=float, default=300, help="CPU seconds for embedding real texts (once)")
    ap.add_argument("--kill-trials", type=int, default=0, help="kill -9 trials on the smallest index")
    ap.add_argument("--equivalence", type=int, default=0, help="incremental vs rebuild trials on the gold questions")
    ap.add_argument("--work", default=str(CACHE / "indexes"), help="where the indexes are built")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--add-only", action="store_true", help="build each size as one exact segment and time only "
                    "adding one document to it (what the add costs does not depend on the big segment's kind)")
    ap.add_argument("--kill-on", metavar="DIR", help="run only the kill -9 trials, on the index in DIR (built from "
                    "the bundled article if missing): the write path's crash safety without building large corpora")
    ap.add_argument("--large", choices=LARGE_KINDS, default=DenseSettings.large,
                    help="how segments past the flat size are searched (default: %(default)s)")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.work)
    if args.measure:
        print(json.dumps(measure_open(Path(args.measure), work / "queries.npy", work / "exact.npy", args.repeat)))
        return
    work.mkdir(parents=True, exist_ok=True)
    if args.kill_on:
        source = Path(args.kill_on)
        if not (source / "manifest.json").is_file():
            from index import open_or_build

            open_or_build(source, IndexSettings(), sources=[ROOT / "corpus" / "data"], progress=False)
        print(json.dumps({"kill": (kills := kill_trials(source, args.kill_trials or 20, work))}), flush=True)
        print_table([], kills)
        return
    base = base_vectors(args.embed_budget_s)
    print(f"base: {len(base['vectors'])} real vectors ({len(base['texts'])} paragraphs, {base['n_train']} of them "
          f"from train), {len(base['questions'])} questions; embedding took {base.get('embed_cpu_s', base.get('embed_s', 0)):.0f} s", flush=True)  # fmt: skip
    if args.equivalence:
        eq = equivalence(args.equivalence, work)
        print(f"incremental = rebuild: {eq['same']} of {eq['total']} searches the same ({eq['trials']} random "
              f"sequences x {eq['questions']} gold questions x dense, bm25, hybrid)", flush=True)  # fmt: skip
    results, kills = [], None
    for n in sorted(parse_size(s) for s in args.sizes.split(",") if s.strip()):
        results.append(run_size(n, base, args, work))
        print(json.dumps(results[-1]), flush=True)
        if args.kill_trials and kills is None:  # on the smallest index, before the large ones take hours
            kills = kill_trials(work / f"index-{n}", args.kill_trials, work)
            print(json.dumps({"kill": kills}), flush=True)
    print_table(results, kills)
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": results, "kill": kills}, indent=1))


def print_table(results: list[dict], kills: dict | None) -> None:
    cols = [("chunks", "{:,}"), ("dense_kind", "{}"), ("build_s", "{:.1f}"), ("build_cpu_s", "{:.1f}"), ("disk_bytes", "{:,.0f}"),
            ("open_s", "{:.3f}"), ("first_dense_s", "{:.3f}"), ("dense_p50_ms", "{:.2f}"), ("dense_p95_ms", "{:.2f}"), ("dense_cpu_p50_ms", "{:.2f}"),
            ("recall_at_10", "{:.3f}"), ("flat_p50_ms", "{:.2f}"), ("bm25_p50_ms", "{:.1f}"), ("bm25_p95_ms", "{:.1f}"),
            ("hybrid_p50_ms", "{:.1f}"), ("hybrid_p95_ms", "{:.1f}"), ("rss_index_mb", "{:.0f}"),
            ("peak_rss_build_mb", "{:.0f}"), ("add_one_s", "{:.3f}"), ("add_one_max_s", "{:.3f}"), ("add_one_cpu_s", "{:.3f}"),
            ("add_one_bytes", "{:,}")]  # fmt: skip
    print("| " + " | ".join(name for name, _ in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(fmt.format(r[name]) if name in r else "-" for name, fmt in cols) + " |")
    if kills:
        print(f"kill -9 during ingest: {kills['trials']} trials, {kills['before']} as before, {kills['after']} as after, "
              f"{kills['broken']} broken (ingest took {kills['ingest_s']:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
