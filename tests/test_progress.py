"""Run state: state files of one run, the progress lines, outcome counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat.progress import (
    State,
    TargetState,
    count_outcomes,
    read_states,
    render_progress,
    write_state,
)

JUNIT = Path(__file__).parent / "data" / "junit"


def test_states_of_this_run_only(tmp_path: Path) -> None:
    write_state(tmp_path, TargetState("2.6.0-cu124", "run1", State.DONE, (("pass", 3),), 12.0))
    write_state(tmp_path, TargetState("2.9.1-cu128", "run1", State.RUNNING))
    write_state(tmp_path, TargetState("2.13.0-cpu", "old", State.DONE))
    (tmp_path / "junk.json").write_text("{", encoding="utf-8")
    states = read_states(tmp_path, "run1")
    assert sorted(states) == ["2.6.0-cu124", "2.9.1-cu128"]
    assert states["2.6.0-cu124"].counts == (("pass", 3),)
    lines = render_progress(["2.6.0-cu124", "2.9.1-cu128", "2.13.0-cpu"], states)
    assert lines[0] == "matrix: 1 done · 1 running · 1 waiting (of 3 targets)"
    assert lines[1].split() == ["done", "2.6.0-cu124", "12s", "3", "pass"]
    assert lines[2].split() == ["running", "2.9.1-cu128"]
    assert lines[3].split() == ["waiting", "2.13.0-cpu"]


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("env-error-2.5.1-cpu.xml", (("env-error", 1),)),
        ("suite-2.6.0-cu124.xml", (("pass", 9), ("error", 3), ("xfail", 3))),
        ("hand-2.10.0-cpu.xml", (("pass", 3), ("error", 1), ("xfail", 1))),  # + a non-cell
    ],
)
def test_count_outcomes(name: str, counts: tuple[tuple[str, int], ...]) -> None:
    assert count_outcomes(JUNIT / "suite" / name) == counts


def test_count_outcomes_of_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "x.xml"
    broken.write_text("<testsuites", encoding="utf-8")
    assert count_outcomes(broken) == ()
    assert count_outcomes(tmp_path / "missing.xml") == ()
