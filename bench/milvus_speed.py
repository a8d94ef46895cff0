"""Milvus Lite next to the local index (FAISS + BM25): answers on open-domain SQuAD, and query latency at scale.

Three measurements:

1. ``--squad FILE --limit N``: ``python -m eval``'s open-domain run (every paragraph of the file
   is the corpus, the first N questions asked through ``Pipeline.ask``) once per backend, with
   the issue's bars: F1 within 1 and recall@5 within 0.01 of the local index.
2. ``--chunks 100k``: query latency over an index of that many chunks, built from the SQuAD dev
   index's real chunks and vectors plus copies under new ids whose vectors carry Gaussian noise
   (as ``bench/index_scale.py`` does); the queries are real dev questions, embedded once, so the
   times are the searches only. Both backends search exactly (the local index is kept flat).
   It also reports how often the two backends return the same top 10, per retriever.
3. ``--ray-docs N``: ingest N SQuAD dev paragraphs (as files) serially and on Ray with 1 and 2
   workers into Milvus Lite: chunks per second, and whether Ray's chunks equal the serial ones.

    nice -n 19 python bench/milvus_speed.py --squad ../shared/data/squad/dev-v1.1.json --limit 1000
    nice -n 19 python bench/milvus_speed.py --chunks 100k --queries 200
    nice -n 19 python bench/milvus_speed.py --ray-docs 0 --ray-workers 1,2   # serial vs Ray ingest, all dev paragraphs
    nice -n 19 python bench/milvus_speed.py --articles 2 --limit 20 --chunks 2k --queries 20 --ray-docs 20  # smoke
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.config import Config  # noqa: E402

SQUAD_DEV = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
WORK = ROOT / ".cache" / "bench-milvus"


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p)) if xs else float("nan")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


# -- 1. open-domain SQuAD through both backends -------------------------------------------------


def squad_runs(path: Path, limit: int, uri: str, reader: str | None = None) -> dict:
    from eval.datasets import load_squad
    from eval.run import run_configs
    from qa.config import reader_path

    dataset = load_squad(path, limit=limit)
    local = Config() if reader is None else Config(reader_model=reader_path(reader))
    milvus = dataclasses.replace(local, backend="milvus", milvus_uri=uri)
    runs = run_configs(dataset, [("local (FAISS + BM25)", local), ("Milvus Lite", milvus)])
    rows = {}
    for run in runs:
        s = run.summary
        recall = dict(s.recall or ())
        rows[run.label] = {"n": len(run.results), "em": s.has_ans_em, "f1": s.has_ans_f1, "r_at_5": recall.get(5),
                           "r_at_1": recall.get(1), "mrr": s.mrr, "wall_s": run.wall_s}  # fmt: skip
    a, b = rows["local (FAISS + BM25)"], rows["Milvus Lite"]
    same_answers = sum(x.prediction == y.prediction for x, y in zip(runs[0].results, runs[1].results))
    return {"file": str(path), "limit": limit, "runs": rows, "same_answers": same_answers,
            "f1_diff": b["f1"] - a["f1"], "r5_diff": b["r_at_5"] - a["r_at_5"],
            "bars_met": abs(b["f1"] - a["f1"]) <= 1 and abs(b["r_at_5"] - a["r_at_5"]) <= 0.01}  # fmt: skip


# -- 2. latency at scale ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shape:
    """What creating an index asks of an embedder: its model's name and dimension (the vectors are given)."""

    model_name: str
    dimension: int


class Precomputed:
    """The bundled embedder's model name, with the queries' vectors embedded beforehand (times are searches only)."""

    def __init__(self, model_name: str, vectors: dict[str, np.ndarray]) -> None:
        self.model_name, self.vectors, self.dimension = model_name, vectors, next(iter(vectors.values())).shape[0]

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


def base_corpus(squad: Path):
    """The SQuAD file's eval index (built if missing): documents, sentences, chunks and their vectors."""
    from eval.datasets import load_squad
    from eval.indexes import open_eval_index

    retriever = open_eval_index(load_squad(squad), Config())
    view = retriever.store.view()
    docs, sentences, chunks, vectors = [], [], [], []
    for i, seg in enumerate(view.segments):
        for row in view.live_document_rows(i):
            rows = seg.chunk_rows(int(row))
            docs.append(seg.document(int(row)))
            sentences.append(seg.sentence_spans(int(row)))
            chunks.append([seg.chunk(r) for r in rows])
            vectors.append(seg.dense.vectors(np.arange(rows.start, rows.stop)))
    return retriever.embedder, docs, sentences, chunks, vectors


def scaled(base, n_chunks: int, noise: float, seed: int = 0):
    """Copies of the base documents under new ids until ``n_chunks`` chunks; copies' vectors carry noise."""
    from corpus.document import Chunk, Document
    from index.dense import unit_rows

    _, docs, sentences, chunks, vectors = base
    rng = np.random.default_rng(seed)
    out, total, copy = ([], [], [], []), 0, 0
    while total < n_chunks:
        for doc, sents, cs, vecs in zip(docs, sentences, chunks, vectors):
            if total >= n_chunks:
                break
            new = Document(f"copy{copy}/{doc.doc_id}", doc.title, doc.text, doc.source) if copy else doc
            cs = [Chunk(c.chunk_id.replace(doc.doc_id, new.doc_id, 1), new.doc_id, c.start, c.end, c.text) for c in cs]
            if copy:
                vecs = unit_rows(vecs + rng.standard_normal(vecs.shape, dtype=np.float32) * noise)
            for part, value in zip(out, (new, sents, cs, vecs)):
                part.append(value)
            total += len(cs)
        copy += 1
    return out


def build_local(path: Path, data, embedder_name: str) -> float:
    from index.segment import SegmentData
    from index.settings import DenseSettings, IndexSettings
    from index.store import IndexStore

    docs, sentences, chunks, vectors = data
    # exact search at any size, as Milvus Lite's FLAT index: the comparison is of the stores, not of HNSW
    settings = IndexSettings(embedder_name, dense=DenseSettings(flat_max_rows=10_000_000))
    t = time.perf_counter()
    store = IndexStore.create(path, Shape(embedder_name, vectors[0].shape[1]), settings=settings, commit=False)
    store.commit(SegmentData.from_documents(docs, sentences, [c for cs in chunks for c in cs], np.concatenate(vectors)))
    return time.perf_counter() - t


def build_milvus(uri: str, data, embedder_name: str, dimension: int, batch: int = 200):
    from index.milvus import MilvusStore
    from index.settings import IndexSettings

    docs, sentences, chunks, vectors = data
    t = time.perf_counter()
    store = MilvusStore.open(uri, "bench", Shape(embedder_name, dimension), settings=IndexSettings(embedder_name),
                             rebuild=True)  # fmt: skip
    for i in range(0, len(docs), batch):
        store.write(docs[i : i + batch], sentences[i : i + batch], chunks[i : i + batch], vectors[i : i + batch],
                    new={d.doc_id for d in docs[i : i + batch]})  # a fresh collection: nothing stale to delete
    store.flush()
    return time.perf_counter() - t, store


def time_searches(retriever, questions: list[str], vectors: dict[str, np.ndarray]) -> dict:
    dense, bm25, hybrid, tops = [], [], [], {"dense": [], "bm25": [], "hybrid": []}
    retriever.search(questions[0], k=5)  # warm: the first search loads what it needs
    for q in questions:
        view = retriever.store.view()
        t = time.perf_counter()
        found = view.dense_search(vectors[q], 20)
        dense.append((time.perf_counter() - t) * 1000)
        tops["dense"].append([view.chunk(k).chunk_id for k, _ in found[:10]])
        t = time.perf_counter()
        found = view.lexical_search(q, 20)
        bm25.append((time.perf_counter() - t) * 1000)
        tops["bm25"].append([view.chunk(k).chunk_id for k, _ in found[:10]])
        t = time.perf_counter()
        hits = retriever.search(q, k=5)
        hybrid.append((time.perf_counter() - t) * 1000)
        tops["hybrid"].append([h.chunk.chunk_id for h in hits])
    return {"dense_p50_ms": pct(dense, 50), "dense_p95_ms": pct(dense, 95), "bm25_p50_ms": pct(bm25, 50),
            "bm25_p95_ms": pct(bm25, 95), "hybrid_p50_ms": pct(hybrid, 50), "hybrid_p95_ms": pct(hybrid, 95),
            "tops": tops}  # fmt: skip


def milvus_native_hybrid(store, questions: list[str], vectors: dict[str, np.ndarray]) -> float:
    """p50 of Milvus's own hybrid_search (RRF over dense and BM25), for reference: the retriever fuses itself."""
    from pymilvus import AnnSearchRequest, RRFRanker

    from index.lexical import tokenize

    times = []
    for q in questions:
        t = time.perf_counter()
        dense = AnnSearchRequest([vectors[q].tolist()], "dense", {"metric_type": "IP"}, 20)
        sparse = AnnSearchRequest([" ".join(tokenize(q)) or "x"], "sparse", {"metric_type": "BM25"}, 20)
        store.client.hybrid_search(store.chunks_collection, [dense, sparse], RRFRanker(60), limit=5, output_fields=["chunk_id"])
        times.append((time.perf_counter() - t) * 1000)
    return pct(times, 50)


def scale_run(squad: Path, n_chunks: int, n_queries: int, noise: float, uri: str) -> dict:
    from eval.datasets import load_squad
    from index.retriever import Retriever
    from index.store import IndexStore

    base = base_corpus(squad)
    embedder = base[0]
    questions = [it.question for it in load_squad(squad, limit=n_queries).items]
    vectors = {q: v for q, v in zip(questions, embedder.embed_documents(questions))}
    data = scaled(base, n_chunks, noise)
    n = sum(len(cs) for cs in data[2])
    local_path = WORK / f"local-{n}"
    shutil.rmtree(local_path, ignore_errors=True)
    local_build = build_local(local_path, data, embedder.model_name)
    milvus_build, milvus_store = build_milvus(uri, data, embedder.model_name, embedder.dimension)
    fake = Precomputed(embedder.model_name, vectors)
    local = time_searches(Retriever(IndexStore.open(local_path), fake), questions, vectors)
    milvus = time_searches(Retriever(milvus_store, fake), questions, vectors)
    agree = {m: statistics.mean(a == b for a, b in zip(local["tops"][m], milvus["tops"][m])) for m in local["tops"]}
    for r in (local, milvus):
        del r["tops"]
    return {"chunks": n, "documents": len(data[0]), "queries": len(questions), "noise": noise,
            "local": {"build_s": local_build, **local},
            "milvus_lite": {"build_s": milvus_build, **milvus,
                            "native_hybrid_p50_ms": milvus_native_hybrid(milvus_store, questions, vectors)},
            "same_top10_share": agree}  # fmt: skip


# -- 3. ingest on Ray against serial ingest ------------------------------------------------------


def ray_throughput(squad: Path, n_docs: int | None, workers: list[int], uri: str) -> dict:
    """Chunks per second into Milvus Lite: serial ingest, then Ray with each worker count, on SQuAD paragraphs as files."""
    from corpus.loading import load_paths
    from index import add_documents
    from index.embedder import Embedder
    from index.milvus import MilvusStore
    from index.ray_ingest import ray_ingest

    folder = WORK / "squad-files"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paragraphs = [p["context"] for a in json.loads(squad.read_text())["data"] for p in a["paragraphs"]][:n_docs]
    for i, text in enumerate(paragraphs):
        (folder / f"p{i:05d}.txt").write_text(text, encoding="utf-8")
    embedder = Embedder()
    embedder.embed_documents(["warm up"])
    out = {"documents": len(paragraphs)}
    store = MilvusStore.open(uri, "serial", embedder, rebuild=True)
    t = time.perf_counter()
    report = add_documents(store, embedder, load_paths([folder]), progress=True)
    out["serial"] = {"s": time.perf_counter() - t, "chunks": report.chunks_embedded}
    serial_chunks = store.chunks()
    for n in workers:
        store = MilvusStore.open(uri, f"ray{n}", embedder, rebuild=True)
        t = time.perf_counter()
        report = ray_ingest(store, [folder], workers=n)
        out[f"ray_{n}"] = {"s": time.perf_counter() - t, "chunks": report.chunks_embedded,
                           "same_chunks": store.chunks() == serial_chunks}  # fmt: skip
    for key in [k for k in out if k != "documents"]:
        out[key]["chunks_per_s"] = out[key]["chunks"] / out[key]["s"]
    return out


def first_articles(path: Path, n: int) -> Path:
    """A copy of a SQuAD file with its first ``n`` articles only (a smaller corpus, for smoke runs)."""
    data = json.loads(path.read_text())
    out = WORK / f"{path.stem}-{n}-articles.json"
    out.write_text(json.dumps({**data, "data": data["data"][:n]}))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--squad", type=Path, help="open-domain run on this SQuAD file (e.g. ../shared/data/squad/dev-v1.1.json)")
    p.add_argument("--limit", type=int, default=1000, help="questions asked (default: 1000)")
    p.add_argument("--reader", help="fast, accurate or a model folder, for both backends (default: the default reader)")
    p.add_argument("--articles", type=int, help="only the file's first N articles as the corpus (a smoke test)")
    p.add_argument("--chunks", type=parse_size, help="latency at this many chunks (e.g. 100k)")
    p.add_argument("--queries", type=int, default=200, help="dev questions timed at scale (default: 200)")
    p.add_argument("--noise", type=float, default=0.02, help="per-dimension noise on copied vectors (default: 0.02)")
    p.add_argument("--ray-docs", type=int, help="ingest this many SQuAD dev paragraphs serially and on Ray (0: all)")
    p.add_argument("--ray-workers", default="1,2", help="Ray worker counts to time (default: 1,2)")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()
    if args.squad is None and args.chunks is None and args.ray_docs is None:
        p.error("give --squad FILE, --chunks N and/or --ray-docs N")
    WORK.mkdir(parents=True, exist_ok=True)
    if args.articles is not None:
        args.squad = first_articles(args.squad or SQUAD_DEV, args.articles)
    out = {}
    if args.squad is not None:
        out["squad"] = squad_runs(args.squad, args.limit, str(WORK / "squad.db"), args.reader)
        print(json.dumps(out["squad"], indent=1), flush=True)
    if args.chunks is not None:
        out["scale"] = scale_run(args.squad or SQUAD_DEV, args.chunks, args.queries, args.noise,
                                 str(WORK / f"scale-{args.chunks}.db"))  # fmt: skip
        print(json.dumps(out["scale"], indent=1), flush=True)
    if args.ray_docs is not None:
        out["ray"] = ray_throughput(args.squad or SQUAD_DEV, args.ray_docs or None,
                                    [int(w) for w in args.ray_workers.split(",")], str(WORK / "ray.db"))  # fmt: skip
        print(json.dumps(out["ray"], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
