"""A question from a cold process: wall and CPU time of ``python -m qa ask "…"``, against another checkout.

Issue 12's bar is a cold ``python -m qa ask`` answer in 3.5 s with the fast reader. Most of that
time is imports, and a shared machine stretches wall time, so each run is also split into CPU
seconds (user + system, of the process and its children), and with ``--baseline`` the same
command is run from another checkout in alternation, so both see the same load:

    git worktree add --detach /tmp/base-tree HEAD~1
    python bench/cold_start.py --runs 5 --baseline /tmp/base-tree
    python bench/cold_start.py --reader accurate

Each checkout answers from its own copy of the bundled article's index (built before timing,
so the page cache is warm); the answer must be the same on both sides.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who is the spokesperson for the US National Security Council?"


def run_once(tree: Path, reader: str, index_dir: Path) -> tuple[float, float, str]:
    """(wall s, CPU s, answer line) of one cold ``python -m qa ask`` in ``tree``."""
    env = {**os.environ, "QA_READER": reader, "QA_INDEX_DIR": str(index_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION], cwd=tree, env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    answer = next((line for line in out.splitlines() if line.startswith("A:")), out.strip()[:80])
    return wall, cpu, answer


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python bench/cold_start.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="cold runs per checkout")
    ap.add_argument("--reader", default="fast", help="fast or accurate (QA_READER)")
    ap.add_argument("--baseline", type=Path, help="another checkout of this repository, run in alternation")
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "ask-docs" / "bench" / "cold-start",
                    help="where each checkout's index of the article is kept")  # fmt: skip
    args = ap.parse_args(argv)
    trees = {"this tree": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    answers: dict[str, set[str]] = {name: set() for name in trees}
    for name, tree in trees.items():  # build each index once, untimed
        run_once(tree, args.reader, args.work / name.replace(" ", "-"))
    for i in range(args.runs):
        for name, tree in trees.items():
            wall, cpu, answer = run_once(tree, args.reader, args.work / name.replace(" ", "-"))
            figures[name].append((wall, cpu))
            answers[name].add(answer)
            print(f"run {i + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    print(f"`python -m qa ask` cold, {args.reader} reader, {args.runs} runs each, load average {load:.1f}")
    print("| checkout | wall p50 (min-max) | CPU p50 | answer |")
    print("|---|---|---|---|")
    for name, runs in figures.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"| {name} | {statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}) "
              f"| {statistics.median(cpus):.2f} s | {' / '.join(sorted(answers[name]))} |")  # fmt: skip
    if args.baseline:
        ratio = [statistics.median(x for x, _ in figures["this tree"]) / statistics.median(x for x, _ in figures["baseline"]),
                 statistics.median(c for _, c in figures["this tree"]) / statistics.median(c for _, c in figures["baseline"])]
        print(f"ratio this tree / baseline: wall {ratio[0]:.2f}, CPU {ratio[1]:.2f}")


if __name__ == "__main__":
    main()
