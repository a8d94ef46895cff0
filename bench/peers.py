"""Peer benchmark: our pipeline against Haystack on the same embedder, reader and chunks, question by question.

Both pipelines run as worker processes of this script, each in its own environment (ours in
.venv, Haystack in .venv-peers: `make bench-peers` installs it from requirements-peers.txt),
and answer one question at a time over a line-based JSON protocol. Questions alternate between
them, and which side goes first alternates too, so machine noise hits both alike. Haystack is
a text embedder -> FAISS retriever -> TransformersExtractiveReader over *our* chunks (exported
from our index, so both retrieve over identical text), with our embedder folder, our reader
folder in one precision on both sides (--precision; default: bf16 where the CPU computes it natively, else
fp32) and the 5 best passages. Both sides are scored by eval/metrics.py.

    make bench-peers PEERS_ARGS="--only gold"
    .venv/bin/python bench/peers.py --limit 200        # gold set + first 200 SQuAD dev questions
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "peers"  # exported chunks, Haystack's FAISS stores, worker logs
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
SQUAD_DEV = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
TOP_K = 5  # passages handed to each reader (our Config().top_k)
WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
              "HAYSTACK_TELEMETRY_ENABLED": "False"}  # fmt: skip

EPILOG = """\
examples:
  python bench/peers.py --only gold                 the article's 83 gold questions (a minute on 2 idle cores)
  python bench/peers.py --only squad --limit 200    open-domain SQuAD dev, first 200 questions
  python bench/peers.py --json reports/peers.json   everything (gold + 1,000 SQuAD questions), saved
  python bench/peers.py --threads 1                 one thread per worker, on a machine busy with other work

Figures: EM/F1 over answerable questions and NoAns (unanswerable questions abstained on), as
`python -m eval` prints them; "own" uses each system's abstention (ours: the calibrated
threshold; Haystack: its no-answer candidate ranked first), "off" always takes the best span.
Latency is warm, per question, measured inside each worker (embedding + retrieval + reading),
after one untimed question. Cold setup is start of the process to ready (imports, models, index
from cache); a first run also builds the indexes (ours in .cache/eval-index, Haystack's in
.cache/peers: on 2 cores a few minutes each for SQuAD dev's 2,067 paragraphs) and reports that
time apart. Ratios are ours/haystack. Worker logs: .cache/peers/{ours,haystack}.log.
"""


# -- our side: the one place that knows how our pipeline is put together --------------------------------


def build_our_pipeline(dataset_path: str):
    """Our pipeline over every paragraph of a SQuAD-format file, as `python -m eval` builds it; (pipeline, built)."""
    from eval.datasets import load_squad
    from eval.run import index_cache_dir, open_eval_index
    from qa.config import config_from
    from qa.pipeline import Pipeline
    from qa.reader import Reader, hide_loading_bars

    hide_loading_bars()
    config, dataset = config_from(None, os.environ), load_squad(dataset_path)  # QA_READER_PRECISION from the driver
    built = not index_cache_dir(dataset, config).is_dir()
    retriever = open_eval_index(dataset, config, progress=False)
    return Pipeline(retriever, Reader.from_config(config).load(), config), built


def serve_ours(args: argparse.Namespace, send, requests) -> None:
    pipe, built = build_our_pipeline(args.dataset)
    import torch

    cfg = pipe.config
    send({"ready": True, "built": built, "info": f"{torch.get_num_threads()} threads, {pipe.reader.precision} reader, "
          f"{len(pipe.retriever.chunks())} chunks, {cfg.retrieval} retrieval, windows +-{cfg.window_sentences} sentences"})
    for req in requests:
        if "chunks" in req:  # hand our chunks to the other side
            rows = [{"id": c.chunk_id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": c.text}
                    for c in pipe.retriever.chunks()]  # fmt: skip
            Path(req["chunks"]).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            send({"n": len(rows)})
            continue
        pipe.reader.forget()  # computed, not recalled from the reader's window memo (warm-up questions repeat)
        t0 = time.perf_counter()
        answer = pipe.ask(req["q"])
        ms = (time.perf_counter() - t0) * 1000
        top = answer.candidates[0].text if answer.candidates else answer.text
        send({"answer": answer.text, "top": top, "ms": ms})


# -- Haystack's side (runs in .venv-peers; imports nothing of ours) -------------------------------------


def haystack_store(chunks_path: Path, embedder: str):
    """A FAISS document store of the chunks, embedded by Haystack's own document embedder; cached on disk."""
    from haystack import Document
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )
    from haystack_integrations.document_stores.faiss import FAISSDocumentStore

    key = hashlib.sha256(chunks_path.read_bytes() + embedder.encode()).hexdigest()[:16]
    path = CACHE / f"haystack-{key}"
    if path.with_suffix(".faiss").is_file():
        return FAISSDocumentStore(index_path=str(path)), False
    rows = [json.loads(line) for line in chunks_path.read_text(encoding="utf-8").splitlines()]
    docs = [Document(id=r["id"], content=r["text"], meta={"doc_id": r["doc_id"], "start": r["start"]}) for r in rows]
    doc_embedder = SentenceTransformersDocumentEmbedder(model=embedder, normalize_embeddings=True,
                                                        local_files_only=True, progress_bar=False)  # fmt: skip
    doc_embedder.warm_up()
    docs = doc_embedder.run(documents=docs)["documents"]
    store = FAISSDocumentStore(embedding_dim=len(docs[0].embedding))  # "Flat" L2 on unit vectors ranks as cosine
    store.write_documents(docs)
    store.save(str(path))
    return store, True


def serve_haystack(args: argparse.Namespace, send, requests) -> None:
    import haystack
    import torch
    from haystack import Pipeline
    from haystack.utils import ComponentDevice
    from haystack_integrations.components.embedders.sentence_transformers import SentenceTransformersTextEmbedder
    from haystack_integrations.components.readers.transformers import TransformersExtractiveReader
    from haystack_integrations.components.retrievers.faiss import FAISSEmbeddingRetriever

    cpu = ComponentDevice.from_str("cpu")
    store, built = haystack_store(Path(args.chunks), args.embedder)
    pipe = Pipeline()
    pipe.add_component("embedder", SentenceTransformersTextEmbedder(
        model=args.embedder, device=cpu, normalize_embeddings=True, local_files_only=True, progress_bar=False))
    pipe.add_component("retriever", FAISSEmbeddingRetriever(document_store=store, top_k=TOP_K))
    # The reader folder stores fp16 weights, which transformers would keep (slow on CPU): ask for ours' precision,
    # resolved as qa.reader.resolve_precision resolves "auto" (that module is not importable in this environment).
    precision = os.environ.get("QA_READER_PRECISION", "auto")
    bf16 = precision == "bf16" or (precision == "auto" and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    pipe.add_component("reader", TransformersExtractiveReader(
        model=args.reader, device=cpu, top_k=TOP_K, model_kwargs={"dtype": torch.bfloat16 if bf16 else torch.float32}))
    pipe.connect("embedder.embedding", "retriever.query_embedding")
    pipe.connect("retriever.documents", "reader.documents")
    pipe.warm_up()
    dtype = pipe.get_component("reader").model.dtype
    send({"ready": True, "built": built, "info": f"{torch.get_num_threads()} threads, haystack-ai "
          f"{haystack.__version__}, FAISS Flat, TransformersExtractiveReader {str(dtype).removeprefix('torch.')}, "
          f"{store.count_documents()} chunks"})
    for req in requests:
        t0 = time.perf_counter()
        answers = pipe.run({"embedder": {"text": req["q"]}, "reader": {"query": req["q"]}})["reader"]["answers"]
        ms = (time.perf_counter() - t0) * 1000
        spans = [a.data for a in answers if a.data is not None]
        own = answers[0].data if answers else None  # None: the no-answer candidate ranked first
        send({"answer": own, "top": spans[0] if spans else None, "ms": ms})


def serve(args: argparse.Namespace) -> None:
    """Worker loop: JSON requests on stdin, JSON replies on the real stdout; library chatter goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything a library prints (C level included) lands in the log, not in the protocol

    def send(obj: dict) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    requests = (json.loads(line) for line in sys.stdin if line.strip())
    (serve_ours if args.serve == "ours" else serve_haystack)(args, send, requests)


# -- the driver (runs in our .venv; never imports torch) ------------------------------------------------


class Worker:
    """One side's worker process; ``cold_s`` is the wall time from start to its "ready" line."""

    def __init__(self, name: str, argv: list[str]) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self.name, self.log = name, CACHE / f"{name}.log"
        t0 = time.perf_counter()
        self._stderr = self.log.open("w")
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     stderr=self._stderr, env={**os.environ, **WORKER_ENV},
                                     start_new_session=True)  # Ctrl-C reaches the driver only; it ends them
        ready = self._read()
        self.cold_s, self.built, self.info = time.perf_counter() - t0, ready["built"], ready["info"]

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            tail = "".join(self.log.read_text(errors="replace").splitlines(keepends=True)[-15:])
            raise SystemExit(f"error: the {self.name} worker stopped (log: {self.log}):\n{tail}")
        return json.loads(line)

    def call(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        """End the worker (end of input); one that is slow to tear down torch is killed, as nothing is left to say."""
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


def start(name: str, argv: list[str]) -> tuple[Worker, float | None]:
    """Start a worker; if it had to build its index first, time that and start it again for a clean cold start."""
    worker = Worker(name, argv)
    if not worker.built:
        return worker, None
    build_s = worker.cold_s
    worker.close()
    worker = Worker(name, argv)
    return worker, build_s - worker.cold_s


def compare(dataset_path: Path, limit: int | None, progress: bool) -> dict:
    """Run both sides interleaved on one file and score them; returns the figures for printing and JSON."""
    from tqdm import tqdm

    from eval.datasets import load_squad
    from index.embedder import resolve_model
    from qa.config import Config, config_from

    dataset = load_squad(dataset_path, limit=limit)
    reader = config_from(None, os.environ).reader_model  # QA_READER, set from --reader: ours reads with it too
    me = [sys.executable, str(Path(__file__).resolve())]
    ours, ours_build = start("ours", me + ["--serve", "ours", "--dataset", str(dataset_path)])
    chunks = CACHE / f"chunks-{dataset.sha256[:16]}.jsonl"
    ours.call({"chunks": str(chunks)})
    embedder = resolve_model(Config().embed_model)  # the same folder our embedder loads
    theirs, theirs_build = start("haystack", [str(PEERS_PYTHON)] + me[1:] + [
        "--serve", "haystack", "--chunks", str(chunks), "--embedder", embedder, "--reader", reader])
    sides = {"ours": ours, "haystack": theirs}
    replies: dict[str, list[dict]] = {name: [] for name in sides}
    for worker in sides.values():
        worker.call({"q": dataset.items[0].question})  # untimed: first forward passes set up kernels
    items = dataset.items
    try:
        for i, item in enumerate(tqdm(items, desc=dataset_path.name, unit="q", disable=not progress)):
            for name in (("ours", "haystack") if i % 2 == 0 else ("haystack", "ours")):
                replies[name].append(sides[name].call({"q": item.question}))
    except KeyboardInterrupt:  # Ctrl-C: score the questions both sides have answered
        items = items[: min(len(r) for r in replies.values())]
        print(f"\ninterrupted: scoring the first {len(items)} questions", file=sys.stderr)
    for worker in sides.values():
        worker.close()
    builds = {"ours": ours_build, "haystack": theirs_build}
    return {"dataset": str(dataset_path), "n": len(items), "n_no_answer": sum(it.is_impossible for it in items),
            "sides": {name: score(items, replies[name][: len(items)], w, builds[name]) for name, w in sides.items()},
            "questions": [{"qid": it.qid, "question": it.question, "references": list(it.answers),
                           **{name: replies[name][i] for name in sides}} for i, it in enumerate(items)]}


def score(items, replies: list[dict], worker: Worker, build_s: float | None) -> dict:
    """EM/F1/NoAns with the side's own abstention and with none, by eval.metrics; warm latency; cold setup."""
    from eval.metrics import QuestionResult, exact_match, f1_score, percentile, summarize

    out = {"info": worker.info, "cold_s": worker.cold_s, "index_build_s": build_s}
    ms = [r["ms"] for r in replies]
    out["p50_ms"], out["p95_ms"] = percentile(ms, 50), percentile(ms, 95)
    for mode, key in (("own", "answer"), ("off", "top")):
        results = [QuestionResult(qid=it.qid, question=it.question, references=it.answers, prediction=r[key],
                                  top_span=r["top"], score=0.0, em=exact_match(r[key], it.answers),
                                  f1=f1_score(r[key], it.answers), raw_f1=f1_score(r["top"], it.answers))
                   for it, r in zip(items, replies)]  # fmt: skip
        s = summarize(results)
        out[mode] = {"em": s.has_ans_em, "f1": s.has_ans_f1, "no_ans": s.no_ans_acc, "abstained": s.abstain_rate}
    return out


def table(run: dict) -> str:
    """Markdown: both sides and their ratio, with their own abstention and with abstention off."""
    o, h = run["sides"]["ours"], run["sides"]["haystack"]

    def f(x, d=1):
        return "-" if x is None else f"{x:.{d}f}"

    def ratio(a, b):
        return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"

    lines = [f"{run['dataset']}: {run['n']} questions, {run['n_no_answer']} unanswerable, top {TOP_K} passages",
             f"  ours:     {o['info']}", f"  haystack: {h['info']}",
             "| system | abstention | EM | F1 | NoAns | abstained % | p50 ms | p95 ms | cold s |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for mode in ("own", "off"):
        for name, s in (("ours", o), ("haystack", h)):
            m = s[mode]
            lines.append(f"| {name} | {mode} | {f(m['em'])} | {f(m['f1'])} | {f(m['no_ans'])} | {f(m['abstained'])} "
                         f"| {f(s['p50_ms'], 0)} | {f(s['p95_ms'], 0)} | {f(s['cold_s'])} |")
        cells = [ratio(o[mode][k], h[mode][k]) for k in ("em", "f1", "no_ans", "abstained")]
        cells += [ratio(o[k], h[k]) for k in ("p50_ms", "p95_ms", "cold_s")]
        lines.append(f"| ours/haystack | {mode} | " + " | ".join(cells) + " |")
    for name, s in (("ours", o), ("haystack", h)):
        if s["index_build_s"] is not None:
            lines.append(f"  {name} built its index first: {s['index_build_s']:.1f} s (cached for reruns)")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/peers.py", description=__doc__.split("\n\n")[0], epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--only", choices=("gold", "squad"), help="run one of the two sets (default: both)")
    p.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold" / "article.json", metavar="FILE",
                   help="the article's gold set (default: %(default)s)")
    p.add_argument("--squad", type=Path, default=SQUAD_DEV, metavar="FILE",
                   help="SQuAD-format file for the open-domain run, every paragraph indexed (default: %(default)s)")
    p.add_argument("--limit", type=int, default=1000, metavar="N", help="SQuAD questions asked (default: %(default)s)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads per worker (OMP_NUM_THREADS; default: torch's own choice, all cores)")
    p.add_argument("--reader", default="accurate", help="fast, accurate (default) or a QA model folder: both sides")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="both readers' weights (default: auto = bf16 where the CPU has native bf16, else fp32)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--serve", choices=("ours", "haystack"), help=argparse.SUPPRESS)  # worker mode
    for hidden in ("--dataset", "--chunks", "--embedder"):  # worker mode; --reader then carries a folder
        p.add_argument(hidden, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.serve:
        serve(args)
        return 0
    if args.limit <= 0:
        print("error: --limit must be a positive number of questions.", file=sys.stderr)
        return 2
    if not PEERS_PYTHON.is_file():
        print(f"error: there is no {PEERS_PYTHON}: run `make bench-peers` (it installs requirements-peers.txt "
              "into .venv-peers), or create that environment by hand.", file=sys.stderr)  # fmt: skip
        return 2
    if args.threads is not None:  # both workers alike; the driver itself stays idle while they answer
        WORKER_ENV.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    WORKER_ENV.update(QA_READER_PRECISION=args.precision, QA_READER=args.reader)
    os.environ.update(WORKER_ENV)
    runs = [("gold", args.gold, None), ("squad", args.squad, args.limit)]
    results = []
    for name, path, limit in runs:
        if args.only in (None, name):
            if not path.is_file():
                print(f"error: there is no dataset file at {path}: check --{name}.", file=sys.stderr)
                return 2
            results.append(compare(path, limit, not args.no_progress))
            print(table(results[-1]), flush=True)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
