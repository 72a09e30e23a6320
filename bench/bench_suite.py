"""Benchmark (not a test): what ``python -m suites`` costs against a bare loop, per target.

For each torch interpreter given, fresh processes run, in turn and ``--repeat``
times: the bare loop (this file with ``--bare-loop``, run by that interpreter:
it imports torch, the cases and hop_db once, then runs every cell once with
``suites.body.run_cell``, in one process, no isolation, no JUnit) and the suite
(``python -m suites``) once per ``--jobs`` value given. Each run's wall time is
taken from outside, interpreter start included. Printed per target: the median
of each, the suite over the bare loop, and the last ``--jobs`` over the first.
Ratios are taken within one round (bare, then each suite run, back to back), so
that other load on the machine hits both sides of a ratio; the spread of the
ratios over the rounds says how noisy the machine was.

    python bench/bench_suite.py /path/to/venv/bin/python --jobs 1 --jobs 2
    python bench/bench_suite.py PY --tree /tmp/old-checkout      # the suite of another tree
    python bench/bench_suite.py PY --no-jobs                     # a suite without --jobs
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pythons", nargs="*", help="torch interpreters, one per target")
    p.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose suite runs")
    p.add_argument("--jobs", type=int, action="append", default=[], help="repeatable")
    p.add_argument("--no-jobs", action="store_true", help="run the suite without --jobs")
    p.add_argument("--hop", action="append", default=[], help="passed on to both sides")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--keep", type=Path, help="keep the suite's JUnit files in this folder")
    p.add_argument("--bare-loop", action="store_true", help=argparse.SUPPRESS)
    return p


def bare_loop(hops: list[str]) -> None:
    """Run every cell once in this process: the least any suite run can cost."""
    from suites import body, collect, environment
    from suites.schema import Mode, Source

    devices = environment.available_devices()
    cases = [
        c
        for source in Source
        for c in collect.select(collect.load_source(source, os.environ)[0], hops)
    ]
    for case, cells in collect.plan(cases, tuple(Mode), devices):
        for cell in cells:
            body.run_cell(case, cell.mode, cell.device)


def _timed(argv: list[str], tree: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def _round(python: str, args: argparse.Namespace, junits: Path) -> dict[str, float]:
    """One bare loop and one suite run per --jobs value, back to back."""
    hops = [x for h in args.hop for x in ("--hop", h)]
    bare = [python, str(Path(__file__).resolve()), "--bare-loop", *hops]
    times = {"bare": _timed(bare, args.tree)}
    for jobs in args.jobs or [0]:
        key = f"jobs {jobs}" if jobs else "suite"
        junit = junits / f"{Path(python).parent.parent.name}-{key.replace(' ', '')}.xml"
        extra = [] if args.no_jobs or not jobs else ["--jobs", str(jobs)]
        suite = [python, "-m", "suites", "--junit", str(junit), *hops, *extra]
        times[key] = _timed(suite, args.tree)
    return times


def _report(python: str, rounds: list[dict[str, float]]) -> None:
    keys = list(rounds[0])
    medians = {k: statistics.median(r[k] for r in rounds) for k in keys}
    print(f"{python}: " + ", ".join(f"{k} {v:.1f} s" for k, v in medians.items()))
    for k in keys[1:]:
        ratios = [r[k] / r["bare"] for r in rounds]
        print(f"  {k} / bare: median {statistics.median(ratios):.2f} ({_spread(ratios)})")
    if len(keys) > 2:
        ratios = [r[keys[-1]] / r[keys[1]] for r in rounds]
        median = statistics.median(ratios)
        print(f"  {keys[-1]} / {keys[1]}: median {median:.2f} ({_spread(ratios)})")


def _spread(values: list[float]) -> str:
    return "rounds: " + ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    args = _parser().parse_args()
    if args.bare_loop:
        sys.path.insert(0, os.getcwd())
        bare_loop(args.hop)
        return
    with tempfile.TemporaryDirectory() as tmp:
        junits = args.keep or Path(tmp)
        junits.mkdir(parents=True, exist_ok=True)
        for python in args.pythons:
            rounds = [_round(python, args, junits) for _ in range(args.repeat)]
            _report(python, rounds)


if __name__ == "__main__":
    main()
