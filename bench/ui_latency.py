"""Benchmark the running chat through its API, as a script would use it.

Starts ``python -m ui`` on a free loopback port, then with ``gradio_client``:
  1. one cold question (loads the index and the models), then warm questions one at a time
     -> median and p95 reply time (the bar: median <= 0.5 s on 2 cores);
  2. N concurrent clients x M questions each -> errors, and whether every answer equals the
     one-at-a-time answer to the same question.

    python bench/ui_latency.py [--questions 20] [--clients 8] [--per-client 10] [--index DIR]

Exits 1 when a concurrent request failed or answered differently.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
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
LATENCY_BAR_S = 0.5
STARTUP_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, index: str | None, log) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ui", "--port", str(port)] + (["--index", index] if index else [])
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    return subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def connect(url: str, server: subprocess.Popen):
    """A gradio_client.Client, once the server answers (it starts in a few seconds)."""
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


def timed_ask(client, question: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = client.predict(question, api_name="/ask")
    return time.perf_counter() - t0, result


def sequential(client, n: int) -> tuple[list[float], dict[str, dict]]:
    """Warm questions one at a time; the answers become the reference for the concurrent run."""
    times, reference = [], {}
    for i in range(n):
        question = QUESTIONS[i % len(QUESTIONS)]
        seconds, result = timed_ask(client, question)
        times.append(seconds)
        reference.setdefault(question, result)
    return times, reference


def concurrent(url: str, clients: int, per_client: int, reference: dict[str, dict]) -> dict:
    """Each client asks its own rotation of the questions; returns errors, mismatches and latencies."""
    from gradio_client import Client

    pool = [Client(url, verbose=False) for _ in range(clients)]  # connect before the clock starts

    def run(c: int) -> list[tuple[str, float | None, dict | str]]:
        out = []
        for j in range(per_client):
            question = QUESTIONS[(c * 3 + j) % len(QUESTIONS)]
            try:
                seconds, result = timed_ask(pool[c], question)
                out.append((question, seconds, result))
            except Exception as error:  # noqa: BLE001 - counted and shown, not fatal
                out.append((question, None, f"{type(error).__name__}: {error}"))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        results = [r for rs in executor.map(run, range(clients)) for r in rs]
    wall = time.perf_counter() - t0
    errors = [(q, r) for q, s, r in results if s is None]
    mismatches = [(q, r) for q, s, r in results if s is not None and r != reference.get(q)]
    times = [s for _, s, _ in results if s is not None]
    return {"requests": len(results), "errors": errors, "mismatches": mismatches, "times": times, "wall": wall}


def report(cold: float, seq: list[float], conc: dict) -> bool:
    median, p95 = statistics.median(seq), percentile(seq, 95)
    verdict = "meets" if median <= LATENCY_BAR_S else "MISSES"
    print(f"cold first question (loads the models): {cold:.2f} s")
    print(f"warm, one at a time, {len(seq)} questions: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"min {min(seq) * 1000:.0f} ms, max {max(seq) * 1000:.0f} ms ({verdict} the {LATENCY_BAR_S} s bar)")
    n = conc["requests"]
    ok = not conc["errors"] and not conc["mismatches"]
    print(f"concurrent: {n} requests in {conc['wall']:.1f} s ({n / conc['wall']:.1f}/s); "
          f"errors {len(conc['errors'])}, answers differing from one-at-a-time {len(conc['mismatches'])}")
    if conc["times"]:
        t = conc["times"]
        print(f"  latency under load: median {statistics.median(t) * 1000:.0f} ms, p95 {percentile(t, 95) * 1000:.0f} ms")
    for question, what in (conc["errors"] + conc["mismatches"])[:5]:
        print(f"  {question!r}: {what}")
    print("PASS" if ok else "FAIL")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=20, help="warm questions asked one at a time")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--index", help="index folder (default: the default index)")
    args = parser.parse_args(argv)

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile("w+") as log:
        server = start_server(port, args.index, log)
        try:
            client = connect(url, server)
            cold, _ = timed_ask(client, QUESTIONS[0])
            sequential(client, len(QUESTIONS))  # warm every question once (first-call paths, caches)
            seq, reference = sequential(client, args.questions)
            conc = concurrent(url, args.clients, args.per_client, reference)
        except Exception:
            log.seek(0)
            print(log.read()[-4000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0 if report(cold, seq, conc) else 1


if __name__ == "__main__":
    sys.exit(main())
