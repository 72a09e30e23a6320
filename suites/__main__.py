"""``python -m suites``: run the HOP export suite in this torch, write JUnit."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from suites.runner import RunConfig, SuiteError, describe, run
from suites.schema import DEFAULT_MODES, Device, Mode, Source
from suites.summary import render_summary
from suites.worker import LISTING_KEY, WorkerConfig, default_sources

EXIT_INTERRUPTED = 130
# The default of --jobs: nox's matrix sets it to share the CPUs between targets run at once.
JOBS_ENV = "HOP_SUITE_JOBS"


def default_jobs(env: Mapping[str, str]) -> int:
    """``HOP_SUITE_JOBS`` when set, else the CPUs this process may use."""
    text = env.get(JOBS_ENV, "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def positive_seconds(text: str) -> float:
    """A time limit given on the command line: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


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
        "--case",
        action="append",
        default=[],
        metavar="PATTERN",
        help="only cases whose id (source:hop.variant), hop.variant or hop matches this "
        "fnmatch pattern (repeatable), e.g. 'catalog:cond.*' or 'exportdb:*'",
    )
    p.add_argument(
        "--mode",
        action="append",
        choices=[m.value for m in Mode],
        default=[],
        help="only this mode (repeatable; default: every mode but aoti, which compiles per case)",
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
        help="only cases from this source (repeatable; default: upstream, catalog and "
        "exportdb, and user when a --case-module is given)",
    )
    p.add_argument(
        "--case-module",
        action="append",
        default=[],
        metavar="NAME",
        help="a module whose module-level CASES (suites.cases.Case) become user: rows "
        "(repeatable; importable here, or found on a --case-path)",
    )
    p.add_argument(
        "--case-path",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a folder put first on sys.path, where case modules are found (repeatable)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="time limit per child (one case's aot/strict/non_strict cells, or its "
        "pre_dispatch/retrace/serialize cells); past it their unfinished cells are 'timeout' "
        "(default: 300)",
    )
    p.add_argument(
        "--aoti-timeout",
        type=positive_seconds,
        default=900.0,
        metavar="SECONDS",
        help="time limit per child of the aoti mode, which compiles C++ (default: 900)",
    )
    p.add_argument(
        "--scratch",
        type=Path,
        metavar="DIR",
        help="where aoti packages and inductor's compile cache (DIR/inductor) go; kept, so a "
        "second run compiles warm (default: a temporary folder removed after the run)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help=f"children at once, each one case's unit (default: ${JOBS_ENV}, else the CPUs usable)",
    )
    p.add_argument(
        "--shuffle",
        type=int,
        metavar="SEED",
        help="run the units in a random order drawn from SEED (the results must not change)",
    )
    p.add_argument(
        "--previous",
        type=Path,
        metavar="JUNIT",
        help="an earlier run of this torch: cells whose outcome changed run again, and where "
        "the two runs disagree are marked flaky (default: the --junit file, if it exists)",
    )
    p.add_argument("--no-recheck", action="store_true", help="run no cell again")
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
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be at least 1, not {args.jobs}")
    sources = _sources(parser, args)
    worker = WorkerConfig(
        sources=sources,
        hops=tuple(args.hop),
        modes=tuple(Mode(m) for m in args.mode) or DEFAULT_MODES,
        devices=tuple(Device(d) for d in args.device) or None,
        target=args.target,
        cases=tuple(args.case),
        case_modules=tuple(args.case_module),
        case_path=tuple(str(p.resolve()) for p in args.case_path),
        listing=args.list,
    )
    config = RunConfig(
        worker=worker,
        junit=args.junit,
        timeout=args.timeout,
        mode_timeouts={Mode.AOTI: args.aoti_timeout},
        scratch=args.scratch,
        env=dict(os.environ),
        jobs=args.jobs or default_jobs(os.environ),
        shuffle=args.shuffle,
        previous=None if args.no_recheck else args.previous or args.junit,
    )
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


def _sources(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Source, ...]:
    """The sources asked for, or the default; a usage error where they contradict."""
    for folder in args.case_path:
        if not folder.is_dir():
            parser.error(
                f"--case-path {folder} is not a folder; give the folder that holds the case module"
            )
    sources = tuple(Source(s) for s in dict.fromkeys(args.source))
    if not sources:
        return default_sources(args.case_module)
    if Source.USER in sources and not args.case_module:
        parser.error("--source user needs a --case-module NAME to load the user cases from")
    if args.case_module and Source.USER not in sources:
        parser.error(
            "--case-module loads user cases, but --source leaves them out; add --source user"
        )
    return sources


def _print_plan(config: RunConfig) -> int:
    properties, plan = describe(config)
    lines = json.loads(properties.get(LISTING_KEY, "{}"))
    for case, cells in plan:
        print(lines.get(case, case))
        for cell in cells:
            print(f"  {cell}")
    print(f"{sum(len(c) for _, c in plan)} cells in {len(plan)} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
