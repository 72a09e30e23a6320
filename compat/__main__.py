"""python -m compat: report | diff | repro | env-error; the one place errors become exit codes."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from compat.artifacts import (
    DEFAULT_ROOT,
    HTML_NAME,
    JSON_NAME,
    JUNIT_NAME,
    MD_NAME,
    SUMMARY_NAME,
    report_folders,
    write_env_error,
    write_report,
)
from compat.build import build_report
from compat.config import load_behaviours
from compat.diff import load_report_data, render_diff, resolve_diff
from compat.errors import CompatError, ExitCode, InputError, ReportFileError
from compat.facts import resolve_facts
from compat.junit import printable
from compat.layout import change_counts
from compat.load import load_inputs, parse_target_args
from compat.model import ChangeKind, Facts, Report
from compat.render_html import render_html
from compat.render_json import render_json
from compat.render_junit import render_junit
from compat.render_md import render_markdown
from compat.render_summary import render_summary
from compat.render_terminal import render_terminal
from compat.repro import build_repros, find_repro, repro_files
from suites.behaviours import BUILTIN, Behaviour
from suites.scrub import scrub_credentials

PYPROJECT = Path("pyproject.toml")


def _version() -> str:
    try:
        return metadata.version("torch-hop-compat")
    except metadata.PackageNotFoundError:
        return "source"


def load_user_behaviours(
    path: Path | None, env: Mapping[str, str]
) -> tuple[tuple[Behaviour, ...], str | None]:
    """User behaviours from ``path``, or from ./pyproject.toml when it has [tool.compat].

    The second item warns of [tool.compat] keys only the matrix needs and that are wrong.
    """
    if path is None:
        try:
            data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return (), None  # not asked for: another project's file, or none
        if "compat" not in data.get("tool", {}):
            return (), None
        path = PYPROJECT
    return load_behaviours(path, env)


def render_files(report: Report, facts: Facts) -> dict[str, str]:
    """What goes into the report folder, by file name (``repro/`` files by relative path)."""
    repros = build_repros(report)
    return {
        JSON_NAME: render_json(report, facts, {"generator": f"torch-hop-compat {_version()}"}),
        JUNIT_NAME: render_junit(report, facts),
        MD_NAME: render_markdown(report, facts),
        SUMMARY_NAME: render_summary(report, facts),
        HTML_NAME: render_html(report, facts, repros),
        **repro_files(repros),
    }


def _summary(report: Report, facts: Facts) -> str:
    kinds = change_counts(facts)
    env_errors = sum(t.env_error is not None for t in report.targets)
    parts = [
        f"{len(report.targets)} targets",
        f"{sum(len(row.cells) for row in report.rows)} cells",
        f"{kinds[ChangeKind.REGRESSION]} regressions",
        f"{kinds[ChangeKind.FIX]} fixes",
        f"{kinds[ChangeKind.NEW]} new",
        f"{kinds[ChangeKind.GONE]} gone",
        f"{kinds[ChangeKind.DEFAULT_CHANGED]} default changed",
    ]
    if env_errors:
        parts.append(f"{env_errors} targets not installed")
    if report.skipped_inputs:
        parts.append(f"{len(report.skipped_inputs)} inputs skipped")
    return ", ".join(parts)


def cmd_report(args: argparse.Namespace, out: Console, err: Console) -> int:
    user, warning = load_user_behaviours(args.config, os.environ)
    if warning is not None:
        err.print(Text("warning: ", style="yellow") + Text(scrub_credentials(warning)))
    behaviours = (*BUILTIN, *user)
    overrides = parse_target_args(args.target)
    if not args.junit and not overrides.by_path:
        raise InputError(
            "no JUnit input given: pass files or folders (e.g. reports/junit), or --target ID=FILE."
        )
    report = build_report(load_inputs(args.junit, overrides), behaviours)
    for skipped in report.skipped_inputs:
        err.print(Text("skipped: ", style="yellow") + Text(printable(skipped.reason)))
    facts = resolve_facts(report)
    written = write_report(args.out, render_files(report, facts), today=datetime.now(UTC).date())
    summary = _summary(report, facts)
    if written.created:
        line = Text("wrote ", style="green") + Text(f"{written.folder}/ ", style="bold")
        line += Text(f"({', '.join(written.files)}): {summary}")
    else:
        line = Text("unchanged: ", style="cyan") + Text(f"{written.folder}/ ", style="bold")
        line += Text(f"already holds this report ({summary}); left as it is")
    out.print(line)
    for text in render_terminal(report, facts, written.folder, written.files):
        out.print(text)
    return ExitCode.OK


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ReportFileError(f"{path} cannot be read ({err}): pass a report.json.") from err


def cmd_diff(args: argparse.Namespace, out: Console, err: Console) -> int:
    old = load_report_data(_read(args.old), str(args.old))
    new = load_report_data(_read(args.new), str(args.new))
    diff = resolve_diff(old, new)
    for line in render_diff(diff).splitlines():
        style = (
            "red" if line.startswith("regression") else "green" if line.startswith("fix") else ""
        )
        out.print(Text(line, style=style))
    return ExitCode.REGRESSION if diff.regressions else ExitCode.OK


def cmd_repro(args: argparse.Namespace, out: Console, err: Console) -> int:
    folders = [args.report] if args.report is not None else report_folders(DEFAULT_ROOT)
    if not folders:
        raise InputError(
            f"no report folder under {DEFAULT_ROOT}/: run `nox -s matrix` (or `python -m "
            "compat report`) first, or pass --report DIR."
        )
    out.file.write(find_repro(folders[0], args.cell, args.target, args.issue))
    return ExitCode.OK


def cmd_env_error(args: argparse.Namespace, out: Console, err: Console) -> int:
    path = write_env_error(args.junit, args.target, args.message, args.build)
    out.print(Text(f"wrote {path}: target {args.target} marked env-error"))
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compat",
        description="Merge HOP export JUnit results into a versioned compatibility report.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    report = sub.add_parser("report", help="JUnit files or folders -> reports/<date>-<hash>/")
    report.add_argument("junit", nargs="*", help="JUnit files, or folders of *.xml")
    report.add_argument(
        "--out", type=Path, default=DEFAULT_ROOT, help="root of the report folders (reports)"
    )
    report.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="ID[=FILE]",
        help="ID=FILE: the target FILE ran on; ID alone: for foreign files that name none",
    )
    report.add_argument(
        "--config", type=Path, default=None, help="TOML with [[tool.compat.behaviours]]"
    )
    report.set_defaults(func=cmd_report)

    diff = sub.add_parser("diff", help="cells that changed between two report.json files")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.set_defaults(func=cmd_diff)

    repro = sub.add_parser("repro", help="print a failed cell's standalone repro script")
    repro.add_argument("cell", help="cell id, e.g. 'catalog:while_loop.simple/serialize[cpu]'")
    repro.add_argument(
        "--report", type=Path, default=None, help="report folder (default: the newest one)"
    )
    repro.add_argument("--target", default=None, help="the script of this target (default: newest)")
    repro.add_argument("--issue", action="store_true", help="print the GitHub issue text instead")
    repro.set_defaults(func=cmd_repro)

    env = sub.add_parser("env-error", help="write the JUnit of a target that could not run")
    env.add_argument("--target", required=True, help="target id, e.g. 2.6.0-cu124")
    env.add_argument("--message", required=True, help="what went wrong")
    env.add_argument("--junit", required=True, type=Path, help="the JUnit file to write")
    env.add_argument("--build", default=None, help="the build the target belongs to")
    env.set_defaults(func=cmd_env_error)
    return parser


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = Console(file=stdout or sys.stdout, soft_wrap=True, highlight=False)
    err = Console(file=stderr or sys.stderr, soft_wrap=True, highlight=False)
    args = build_parser().parse_args(argv)
    # A report is hundreds of thousands of long-lived objects and makes no cycles worth
    # collecting: the cyclic collector would only walk them again and again as they are
    # made (x0.7 the time without it at 40 targets, measured with bench/bench_report.py).
    gc.disable()
    try:
        code: int = args.func(args, out, err)
    except CompatError as error:
        err.print(Text("error: ", style="bold red") + Text(scrub_credentials(str(error))))
        return int(error.exit_code)
    except Exception as error:  # a bug: one sentence, and an exit code no gate misreads
        bug = scrub_credentials(f"{type(error).__name__}: {error}")
        err.print(
            Text("internal error: ", style="bold red")
            + Text(f"{bug}. This is a bug in torch-hop-compat: please report it with the command.")
        )
        return int(ExitCode.INTERNAL)
    finally:
        gc.enable()
    return code


if __name__ == "__main__":
    sys.exit(main())
