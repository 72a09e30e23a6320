"""``nox -s repro-check``: run every repro script of a report in its target's interpreter.

A script reproduces its cell when it fails the same way: for fail, error and
xfail cells, an exception of the same type whose error signature
(``suites.signature``) is the cell's; for a crash, death by a signal; for a
timeout, still running at the limit. Each script runs in a fresh interpreter
under a small harness that records the exception it ends with, in a
temporary working folder, several at once.

The interpreters are the matrix sessions' own: each records its target's
python in ``reports/_scratch/pythons/<target>`` (``remember_python``). A target
without one is reported, not guessed.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from compat.errors import ReportFileError
from compat.repro import INDEX_NAME, REPRO_DIR
from suites.schema import Mode, Status
from suites.signature import signature

PYTHONS_DIR = "pythons"  # under reports/_scratch
RESULT_NAME = "repro-check.md"  # under reports/_scratch
# Records how the script ended, as JSON in the file named by argv[2].
HARNESS = """
import json, runpy, sys, traceback
record = {"type": None, "message": ""}
try:
    runpy.run_path(sys.argv[1], run_name="__main__")
except BaseException as exc:
    t = type(exc)
    name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
    record = {"type": name, "message": str(exc)}
    traceback.print_exc()
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(record, out)
"""


@dataclass(frozen=True)
class Expected:
    """One failed cell of one target, and the script that should reproduce it."""

    target: str
    cell: str
    status: Status
    error_type: str | None
    signature: str | None
    script: Path


@dataclass(frozen=True)
class Ran:
    """How one script ended: the exception it raised, or how it was stopped."""

    error_type: str | None = None  # None: it raised nothing
    message: str = ""
    signal: int | None = None  # killed by this signal (a crash)
    timed_out: bool = False
    missing: str | None = None  # why it could not run at all
    seconds: float = 0.0

    @property
    def signature(self) -> str | None:
        return None if self.error_type is None else signature(self.error_type, self.message)

    def describe(self) -> str:
        if self.missing is not None:
            return f"not run: {self.missing}"
        if self.timed_out:
            return "still running at the limit"
        if self.signal is not None:
            return f"killed by signal {self.signal}"
        return self.signature or "no failure"


def reproduces(expected: Expected, ran: Ran) -> bool:
    """Whether ``ran`` fails as ``expected``'s cell did (module docstring)."""
    if ran.missing is not None:
        return False
    if expected.status is Status.TIMEOUT:
        return ran.timed_out
    if expected.status is Status.CRASH:
        return ran.signal is not None
    return ran.signature is not None and ran.signature == expected.signature


def expected_cells(folder: Path) -> list[Expected]:
    """Every (target, cell) of report ``folder`` that has a script, from report.json."""
    try:
        index = json.loads((folder / REPRO_DIR / INDEX_NAME).read_text(encoding="utf-8"))
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ReportFileError(
            f"{folder} has no readable repro/{INDEX_NAME} and report.json ({err}): pass a "
            "report folder written by `python -m compat report`."
        ) from err
    results = {
        (r["target"], row["id"]): r for row in report["cells"] for r in row.get("results", [])
    }
    out = []
    for cell, entry in sorted(index["cells"].items()):
        for target, name in sorted(entry["targets"].items()):
            r = results.get((target, cell), {})
            out.append(
                Expected(
                    target,
                    cell,
                    Status(r.get("status", Status.ERROR)),
                    r.get("error_type"),
                    r.get("signature"),
                    folder / REPRO_DIR / name,
                )
            )
    return out


def remember_python(scratch: Path, target: str, python: str) -> None:
    """Note ``target``'s interpreter for repro-check (one file per target: -j safe)."""
    folder = scratch / PYTHONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / target).write_text(python + "\n", encoding="utf-8")


def remembered_pythons(scratch: Path) -> dict[str, str]:
    """The interpreters the matrix sessions noted, by target."""
    folder = scratch / PYTHONS_DIR
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8").strip() for p in folder.iterdir()}


def run_script(python: str, script: Path, limit: float) -> Ran:
    """Run ``script`` under the harness in a fresh interpreter and a scratch folder."""
    if not Path(python).exists():
        return Ran(missing=f"its interpreter {python} is gone: run `nox -s matrix` again")
    with tempfile.TemporaryDirectory(prefix="repro-check-") as work:
        record = Path(work) / "ended.json"
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [python, "-c", HARNESS, str(script.resolve()), str(record)],
                cwd=work,
                capture_output=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Ran(timed_out=True, seconds=time.monotonic() - start)
        seconds = time.monotonic() - start
        if proc.returncode < 0:
            return Ran(signal=-proc.returncode, seconds=seconds)
        try:
            ended = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            return Ran(missing=f"the harness recorded nothing ({' '.join(tail)})", seconds=seconds)
        return Ran(ended["type"], ended["message"], seconds=seconds)


# A script that does not fail as its cell did runs again, up to this many runs in all:
# some failures are not deterministic in torch itself (2.6's vmap errors under
# associative_scan and flex_attention alternate between two messages from run to run).
ATTEMPTS = 3


def check(
    expected: Iterable[Expected],
    pythons: Mapping[str, str],
    limits: Mapping[Mode, float],
    jobs: int,
    say: Callable[[str], None],
) -> list[tuple[Expected, list[Ran]]]:
    """Run each expected cell's script in its target's interpreter, ``jobs`` at once; a run
    that does not reproduce its cell is tried again, up to ``ATTEMPTS`` runs."""
    todo = list(expected)

    def one(item: Expected) -> tuple[Expected, list[Ran]]:
        python = pythons.get(item.target)
        if python is None:
            return item, [Ran(missing=f"no interpreter noted for target {item.target}")]
        mode = Mode(item.cell.rsplit("/", 1)[1].split("[")[0])
        runs = [run_script(python, item.script, limits.get(mode, limits[Mode.AOT]))]
        while len(runs) < ATTEMPTS and runs[-1].missing is None and not reproduces(item, runs[-1]):
            runs.append(run_script(python, item.script, limits.get(mode, limits[Mode.AOT])))
        return item, runs

    done: list[tuple[Expected, list[Ran]]] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for item, runs in pool.map(one, todo):
            done.append((item, runs))
            mark = "ok  " if reproduces(item, runs[-1]) else "DIFF"
            mark = "ok*" if mark == "ok  " and len(runs) > 1 else mark
            seconds = sum(r.seconds for r in runs)
            say(f"[{len(done)}/{len(todo)}] {mark} {item.target} {item.cell} ({seconds:.0f} s)")
    return done


def render_check(done: list[tuple[Expected, list[Ran]]]) -> str:
    """The result as Markdown: the counts, then every script that did not reproduce its cell
    at its first run, with what its runs raised."""
    misses = [(e, runs) for e, runs in done if not reproduces(e, runs[-1])]
    flaky = [(e, runs) for e, runs in done if len(runs) > 1 and reproduces(e, runs[-1])]
    first = len(done) - len(misses) - len(flaky)
    lines = [
        "# repro-check",
        "",
        f"{len(done) - len(misses)} of {len(done)} scripts fail as their cells did "
        f"({first} at the first run, {len(flaky)} at a later one); {len(misses)} do not.",
        "",
    ]
    if misses or flaky:
        lines += ["| target | cell | the cell | the script's runs |", "| --- | --- | --- | --- |"]
        for e, runs in misses + flaky:
            cell = e.signature or e.status.value
            seen = " / ".join(r.describe() for r in runs)
            lines.append(f"| {e.target} | `{e.cell}` | {_md(cell)} | {_md(seen)} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
