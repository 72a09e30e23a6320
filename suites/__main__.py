"""``python -m suites``: run the HOP export suite in this torch, write JUnit."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from suites.runner import RunConfig, SuiteError, describe, run
from suites.schema import Device, Mode, Source
from suites.summary import render_summary
from suites.worker import WorkerConfig

EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m suites",
        description="Export every HOP case in every mode, compare with eager, write JUnit.",
    )
    p.add_argument("--junit", type=Path, help="where to write the JUnit XML (needed unless --list)")
    p.add_argument(
        "--hop",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only cases whose hop or hop.variant matches this fnmatch pattern (repeatable)",
    )
    p.add_argument(
        "--mode",
        action="append",
        choices=[m.value for m in Mode],
        default=[],
        help="only this mode (repeatable; default: all)",
    )
    p.add_argument(
        "--device",
        action="append",
        choices=[d.value for d in Device],
        default=[],
        help="only this device (repeatable; default: cpu, plus cuda when a GPU is present)",
    )
    p.add_argument(
        "--source",
        action="append",
        choices=[s.value for s in Source],
        default=[],
        help="only cases from this source (repeatable; default: upstream and catalog)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="time limit per case; past it the case's cells are 'timeout' (default: 300)",
    )
    p.add_argument("--target", help="the target id, written as the suite property 'target'")
    p.add_argument("--list", action="store_true", help="print the cells it would run, run nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.junit is None and not args.list:
        parser.error("--junit is required (or use --list)")
    if args.timeout <= 0:
        parser.error(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    worker = WorkerConfig(
        sources=tuple(Source(s) for s in args.source) or tuple(Source),
        hops=tuple(args.hop),
        modes=tuple(Mode(m) for m in args.mode) or tuple(Mode),
        devices=tuple(Device(d) for d in args.device) or None,
        target=args.target,
    )
    config = RunConfig(worker=worker, junit=args.junit, timeout=args.timeout, env=dict(os.environ))
    try:
        if args.list:
            return _print_plan(config)
        outcome = run(config)
    except SuiteError as err:
        print(f"python -m suites: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(render_summary(outcome, str(args.junit)))
    return EXIT_INTERRUPTED if outcome.interrupted else 0


def _print_plan(config: RunConfig) -> int:
    _, plan = describe(config)
    for case, cells in plan:
        print(case)
        for cell in cells:
            print(f"  {cell}")
    print(f"{sum(len(c) for _, c in plan)} cells in {len(plan)} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
