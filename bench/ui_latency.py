"""The running chat under load: 1, 8, 32 concurrent clients, and questions asked during an upload.

Starts ``python -m ui`` on a free loopback port over a *temporary copy* of the index (uploads
never touch the real one), then, as scripts and browsers use it:

  1. the time from start until the server says it is warm (``ui.pipelines.READY_NOTE``: it loads
     the index and the reader and reads one question in the background), then the first
     question after that, then every question once;
  2. for each client count: that many clients ask ``--per-client`` questions each, all at once,
     through the app's ``ask`` endpoint (``ui.handlers.Handlers.ask_api``: the chat's pipeline,
     lock and shared forward passes) -> p50/p95 latency, questions per second and its ratio to
     one client's, errors, and the share of answers whose text equals the one-client answer to
     the same question (differences listed: bf16 batching may move a score by a hair);
  3. one client asks while a file is uploaded through the Documents tab's upload event (raw
     HTTP, as the page does) -> how long those questions took against the same questions warm.

    nice -n 19 python bench/ui_latency.py --clients 1,8,32 --per-client 5
    python bench/ui_latency.py --clients 1,2 --per-client 2          # a smoke run

Issue 16's bars: 0 errors, >= 98 % the same answer text, throughput at 32 clients >= 1.3x one
client's, questions during an upload wait <= 2x their normal time. Exits 1 when a request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from eval.metrics import percentile  # noqa: E402

QUESTIONS = (
    "Who is the spokesperson for the US National Security Council?",
    "Near which village was the battle?",
    "How many Serb gunmen were killed?",
    "Which weapon did the Serbian army allegedly supply?",
    "Who is the Prime Minister of Kosovo?",
    "When did Kosovo declare its independence?",
    "Who led the armed group?",
    "Who is the executive director of CiviKos Platform?",
    "Since when has KFOR been deployed in Kosovo?",
    "What is the population of Kosovo?",  # abstains: the article does not say
)
STARTUP_TIMEOUT_S = 900  # importing torch and gradio on two busy cores can take minutes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_index(index: str | None, work: Path) -> Path:
    """A copy of ``index`` (default: the bundled article's, built here) that the bench may change."""
    target = work / "index"
    if index:
        shutil.copytree(index, target)
        return target
    from qa.config import DEFAULT_CORPUS, Config
    from qa.indexes import open_index

    open_index(Config(), path=target, sources=[DEFAULT_CORPUS], progress=False)
    return target


def start_server(port: int, index: Path, log, read_memo: int = 0) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ui", "--port", str(port), "--index", str(index), "--no-feedback"]
    # The reader's window memo off by default: every client asks the same questions, and the figures
    # are meant to measure computed answers (--read-memo N measures what the memo saves instead).
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", QA_READ_MEMO=str(read_memo))
    return subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def connect(url: str, server: subprocess.Popen):
    """A gradio_client.Client, once the server answers."""
    from gradio_client import Client

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            return Client(url, verbose=False)
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wait_until_ready(log, server: subprocess.Popen) -> None:
    """Block until the server's log has the warm-up's ready line."""
    from ui.pipelines import READY_NOTE

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        log.seek(0)
        if READY_NOTE in log.read():
            return
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        time.sleep(0.2)
    raise TimeoutError("the server did not report that it was warm")


def timed_ask(client, question: str) -> tuple[float, float, dict]:
    """(start, seconds, answer JSON) of one question through the ``ask`` endpoint."""
    t0 = time.perf_counter()
    result = client.predict(question, api_name="/ask")
    return t0, time.perf_counter() - t0, result


def load_run(url: str, clients: int, per_client: int) -> dict:
    """``clients`` clients at once, each asking its own rotation of the questions."""
    from gradio_client import Client

    pool = [Client(url, verbose=False) for _ in range(clients)]  # connected before the clock starts
    barrier = threading.Barrier(clients)

    def run(c: int) -> list[tuple[str, float | None, dict | str]]:
        out = []
        barrier.wait()
        for j in range(per_client):
            question = QUESTIONS[(c * 3 + j) % len(QUESTIONS)]
            try:
                _, seconds, result = timed_ask(pool[c], question)
                out.append((question, seconds, result))
            except Exception as error:  # noqa: BLE001 - counted and shown, not fatal
                out.append((question, None, f"{type(error).__name__}: {error}"))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        results = [r for rs in executor.map(run, range(clients)) for r in rs]
    return {"clients": clients, "results": results, "wall": time.perf_counter() - t0}


def upload_event(client, url: str, path: Path) -> float:
    """Upload ``path`` through the Documents tab as the page does; seconds until the event finished."""
    config = client.get(f"{url}/config").json()
    upload_ids = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "qa-upload"}
    (dep,) = [d for d in config["dependencies"] if upload_ids & set(d["inputs"])]
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        stored = client.post(f"{url}/gradio_api/upload", files={"files": (path.name, f, "text/plain")})
    stored.raise_for_status()
    file_data = {"path": stored.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}
    session = uuid.uuid4().hex[:11]
    joined = client.post(f"{url}/gradio_api/queue/join",
                         json={"data": [[file_data]], "fn_index": dep["id"], "session_hash": session})  # fmt: skip
    joined.raise_for_status()
    with client.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                message = json.loads(line[6:])
                if message.get("msg") == "process_completed":
                    if not message.get("success", True):
                        raise RuntimeError(f"the upload failed: {message}")
                    break
    return time.perf_counter() - t0


def during_upload(url: str, work: Path, copies: int) -> dict:
    """One client asks in a loop while a document of ``copies`` article lengths is uploaded."""
    import httpx
    from gradio_client import Client

    from qa.config import DEFAULT_CORPUS

    article = next(DEFAULT_CORPUS.glob("*.txt")).read_text(encoding="utf-8")
    path = work / "uploaded-report.txt"
    path.write_text("\n\n".join(f"Part {i}. " + article.replace("Kosovo", f"Kosovo ({i})") for i in range(copies)))
    asker, done, asked = Client(url, verbose=False), threading.Event(), []

    def ask_until_done() -> None:
        j = 0
        while not done.is_set():
            asked.append((*timed_ask(asker, QUESTIONS[j % len(QUESTIONS)])[:2], QUESTIONS[j % len(QUESTIONS)]))
            j += 1

    thread = threading.Thread(target=ask_until_done)
    thread.start()
    time.sleep(0.5)  # the asker is under way before the upload starts
    start = time.perf_counter()
    with httpx.Client(timeout=None) as http:
        upload_s = upload_event(http, url, path)
    done.set()
    thread.join()
    end = start + upload_s
    overlapping = [(q, s) for t0, s, q in asked if t0 < end and t0 + s > start]
    return {"upload_s": upload_s, "bytes": path.stat().st_size, "times": [s for _, s in overlapping],
            "questions": [q for q, _ in overlapping]}


def summarise(run: dict, reference: dict[str, dict], base_rate: float | None) -> dict:
    results = run["results"]
    times = [s for _, s, _ in results if s is not None]
    answered = [(q, r) for q, s, r in results if s is not None]
    same_text = [(q, r) for q, r in answered if q in reference and r.get("answer") == reference[q].get("answer")]
    same_json = [(q, r) for q, r in answered if r == reference.get(q)]
    rate = len(times) / run["wall"]
    return {"clients": run["clients"], "questions": len(results), "errors": [(q, r) for q, s, r in results if s is None],
            "p50_s": statistics.median(times) if times else float("nan"),
            "p95_s": percentile(times, 95) if times else float("nan"), "per_s": rate,
            "ratio": rate / base_rate if base_rate else 1.0,
            "same_text": len(same_text) / max(1, len(answered)), "same_json": len(same_json) / max(1, len(answered)),
            "differences": [(q, r.get("answer"), r.get("score"), reference[q].get("answer"), reference[q].get("score"))
                            for q, r in answered if q in reference and r != reference[q]]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,8,32", help="client counts, comma-separated (1 is always run first)")
    parser.add_argument("--per-client", type=int, default=5, help="questions each client asks")
    parser.add_argument("--index", help="index folder to copy and serve (default: the bundled article's)")
    parser.add_argument("--upload-copies", type=int, default=3,
                        help="the uploaded document is this many changed copies of the article (0: no upload run)")
    parser.add_argument("--read-memo", type=int, default=0, metavar="N",
                        help="windows the server's reader remembers (default 0: every answer computed)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    counts = sorted({1, *(int(c) for c in args.clients.split(",") if c.strip())})

    port, summaries, upload = free_port(), [], None
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory(prefix="ui-latency-") as tmp, tempfile.TemporaryFile("w+") as log:
        work = Path(tmp)
        served = served_index(args.index, work)
        started = time.perf_counter()
        server = start_server(port, served, log, args.read_memo)
        try:
            client = connect(url, server)
            client.view_api(print_info=False, return_format="dict")  # the client's own first-call work, untimed
            wait_until_ready(log, server)
            ready = time.perf_counter() - started
            _, cold, _ = timed_ask(client, QUESTIONS[0])
            again = {q: timed_ask(client, q)[1] for q in QUESTIONS}  # every question once more, warm
            warm = dict(again)
            reference: dict[str, dict] = {}
            for n in counts:
                run = load_run(url, n, args.per_client)
                if n == 1:
                    reference = {q: r for q, s, r in run["results"] if s is not None}
                    for q, s, _ in run["results"]:  # each question's warm time: mean of again's and this run's
                        if s is not None:
                            warm[q] = (warm[q] + s) / 2
                    for question in QUESTIONS:  # questions the one client did not get to
                        reference.setdefault(question, timed_ask(client, question)[2])
                base = summaries[0]["per_s"] if summaries else None
                summaries.append(summarise(run, reference, base))
                print(f"{n} client(s) done", file=sys.stderr, flush=True)
            if args.upload_copies:
                upload = during_upload(url.rstrip("/"), work, args.upload_copies)
        except Exception:
            log.seek(0)
            print(log.read()[-4000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=60)
    return report(ready, (cold, again[QUESTIONS[0]]), summaries, upload, args.json, warm)


def report(ready: float, first: tuple[float, float], summaries: list[dict], upload: dict | None,
           json_path: str | None, warm: dict[str, float]) -> int:  # fmt: skip
    print(f"start to warm: {ready:.1f} s; the first question once warm: {first[0]:.2f} s, asked again: {first[1]:.2f} s "
          f"({first[0] / first[1]:.2f}x); load average {os.getloadavg()[0]:.1f}")
    print("| clients | questions | errors | p50 s | p95 s | questions/s | x one client | same answer text | same JSON |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        print(f"| {s['clients']} | {s['questions']} | {len(s['errors'])} | {s['p50_s']:.2f} | {s['p95_s']:.2f} | "
              f"{s['per_s']:.2f} | {s['ratio']:.2f} | {s['same_text']:.1%} | {s['same_json']:.1%} |")
    for s in summaries:
        for question, answer, score, ref_answer, ref_score in s["differences"][:10]:
            print(f"  {s['clients']} clients: {question!r}: {answer!r} ({score:.3f}) vs one client {ref_answer!r} ({ref_score:.3f})")
        for question, error in s["errors"][:5]:
            print(f"  {s['clients']} clients: {question!r}: {error}")
    if upload is not None:
        times = upload["times"]
        if times:  # each question against its own warm time (questions differ: some are read twice)
            ratios = [t / warm[q] for q, t in zip(upload["questions"], times)]
            upload["ratios"] = ratios
            print(f"during an upload of {upload['bytes'] / 1e3:.0f} kB ({upload['upload_s']:.1f} s): {len(times)} questions, "
                  f"p50 {statistics.median(times):.2f} s, max {max(times):.2f} s; against the same question asked warm "
                  f"without an upload: {statistics.median(ratios):.1f}x at the median, {max(ratios):.1f}x at most")  # fmt: skip
        else:
            print(f"during an upload ({upload['upload_s']:.1f} s): no question overlapped it")
    if json_path:
        Path(json_path).write_text(json.dumps({"ready_s": ready, "first_s": first[0], "again_s": first[1], "runs": summaries, "upload": upload}, indent=1, default=str))
    return 1 if any(s["errors"] for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
