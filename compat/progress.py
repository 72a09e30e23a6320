"""State during a run: one small file per target, the progress lines, who finishes last.

Parallel sessions (``nox -j``) each write their own target's state under a
lock and read everyone's, so each can print where the matrix stands and the
last one out knows to build the report.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from suites.schema import Status


class State(enum.StrEnum):
    """A target's place in a run, in the order the progress lines count them."""

    DONE = "done"  # the suite ran; its failed cells are results
    ENV_ERROR = "env-error"  # torch could not be installed or imported
    FAILED = "failed"  # the suite or the session broke off
    RUNNING = "running"
    WAITING = "waiting"


@dataclass(frozen=True)
class TargetState:
    """Where one target stands in one run."""

    target: str
    run: str
    state: State
    counts: tuple[tuple[str, int], ...] = ()  # status -> cells, in Status order
    seconds: float = 0.0


def write_state(folder: Path, state: TargetState) -> None:
    """Write ``<folder>/<target>.json`` atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "target": state.target,
        "run": state.run,
        "state": state.state.value,
        "counts": [list(pair) for pair in state.counts],
        "seconds": round(state.seconds, 1),
    }
    tmp = folder / f".{state.target}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / f"{state.target}.json")


def read_states(folder: Path, run: str) -> dict[str, TargetState]:
    """The states this run has written, by target id (other runs' files are ignored)."""
    out: dict[str, TargetState] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("run") != run:
                continue
            out[data["target"]] = TargetState(
                target=data["target"],
                run=run,
                state=State(data["state"]),
                counts=tuple((str(k), int(v)) for k, v in data.get("counts", [])),
                seconds=float(data.get("seconds", 0.0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a file being replaced, or a foreign one: the next look will see it
    return out


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Serialise state changes of parallel sessions (POSIX; a no-op elsewhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a", encoding="utf-8") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def count_outcomes(junit: Path) -> tuple[tuple[str, int], ...]:
    """Cells per status in one JUnit file, in ``Status`` order; ``()`` if it cannot be read."""
    from compat.errors import JUnitFileError
    from compat.junit import parse_junit

    try:
        docs = parse_junit(junit.read_bytes(), str(junit))
    except (OSError, JUnitFileError):
        return ()
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update(cell.status.value for cell in doc.cells)
        if doc.env_error is not None and not doc.cells:
            counts[Status.ENV_ERROR.value] += 1
    return tuple((s.value, counts[s.value]) for s in Status if counts[s.value])


def render_progress(targets: Sequence[str], states: Mapping[str, TargetState]) -> list[str]:
    """Plain lines (parallel sessions interleave): a summary, then one line per target."""
    by_state = Counter(states[t].state if t in states else State.WAITING for t in targets)
    head = " · ".join(f"{by_state[s]} {s.value}" for s in State if by_state[s])
    lines = [f"matrix: {head} (of {len(targets)} targets)"]
    width = max((len(t) for t in targets), default=0)
    for t in targets:
        st = states.get(t)
        state = st.state if st else State.WAITING
        line = f"  {state.value:<9} {t:<{width}}"
        if st and st.state not in (State.RUNNING, State.WAITING):
            counts = " · ".join(f"{n} {status}" for status, n in st.counts) or "no cells"
            line += f"  {st.seconds:>6.0f}s  {counts}"
        lines.append(line.rstrip())
    return lines
