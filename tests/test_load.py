"""compat.load and compat.build: JUnit paths -> Report, with bad inputs skipped and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version
from reference import reference_junit
from report_fixtures import read_report

from compat.errors import InputError, TargetError
from compat.facts import resolve_facts
from compat.load import TargetOverrides, parse_target_args
from compat.model import ChangeKind
from suites.behaviours import BUILTIN, Behaviour
from suites.schema import Status

DATA = Path(__file__).parent / "data" / "junit"
SUITE = DATA / "suite"
BROKEN = DATA / "broken"
SEED_26 = str(DATA / "seed-2.6.0.xml")
SEED_213 = str(DATA / "seed-2.13.0.xml")


def test_suite_folder_merges_in_version_order_grouped_by_build() -> None:
    report = read_report([str(SUITE)])
    assert [t.id for t in report.targets] == [
        "2.5.1-cpu",
        "2.9.1-cpu",
        "2.10.0-cpu",  # by Version, not by string
        "2.13.0-cpu",
        "2.6.0-cu124",
    ]
    by_id = {t.id: t for t in report.targets}
    assert by_id["2.10.0-cpu"].torch_version == "2.10.0+cpu"  # id derived: target was ""
    assert by_id["2.5.1-cpu"].env_error is not None
    assert "foreach_map" in by_id["2.10.0-cpu"].registered_hops
    changes = {(c.kind, str(c.cell), c.before, c.after) for c in resolve_facts(report).changes}
    assert (
        ChangeKind.REGRESSION,
        "catalog:scan.simple/serialize[cpu]",
        "2.9.1-cpu",
        "2.10.0-cpu",
    ) in changes
    assert (ChangeKind.FIX, "catalog:map.simple/retrace[cpu]", "2.9.1-cpu", "2.10.0-cpu") in changes
    skipped = {Path(s.path).name: s.reason for s in report.skipped_inputs}
    assert list(skipped) == ["hand-2.10.0-cpu.xml"]  # its testcase that is not a cell
    assert "suite.setup::warmup" in skipped["hand-2.10.0-cpu.xml"]


def test_cells_are_sorted_by_id_then_column() -> None:
    report = read_report([str(SUITE)])
    column = {t.id: i for i, t in enumerate(report.targets)}
    keys = [(c.id, column[c.target]) for c in report.cells]
    assert keys == sorted(keys)


def test_bad_inputs_are_skipped_with_a_sentence_and_the_good_ones_merged() -> None:
    report = read_report([str(BROKEN), str(SUITE / "hand-2.9.1-cpu.xml"), "nope/missing.xml"])
    reasons = {Path(s.path).name: s.reason for s in report.skipped_inputs}
    assert set(reasons) == {
        "empty.xml",
        "truncated.xml",
        "not-junit.xml",
        "hand-2.9.1-cpu.xml",
        "missing.xml",
    }
    assert "is empty" in reasons["empty.xml"]
    assert "not well-formed XML" in reasons["truncated.xml"]
    assert "not JUnit" in reasons["not-junit.xml"]
    assert "does not exist" in reasons["missing.xml"]
    # broken/ sorts before the file given second: the duplicate is read first and wins.
    assert "claims target 2.9.1-cpu, already read from" in reasons["hand-2.9.1-cpu.xml"]
    assert "--target ID=" in reasons["hand-2.9.1-cpu.xml"]
    assert [t.id for t in report.targets] == ["2.9.1-cpu"]
    assert {Path(t.source_file).name for t in report.targets} == {"duplicate-2.9.1-cpu.xml"}


@pytest.mark.parametrize(
    "paths",
    [
        [str(BROKEN / "empty.xml"), str(BROKEN / "truncated.xml")],
        [str(DATA / "no-such-folder")],
        [],
    ],
)
def test_nothing_usable_raises_input_error(paths: list[str], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Nothing to report"):
        read_report(paths)


def test_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"holds no \*\.xml files"):
        read_report([str(tmp_path)])


def test_foreign_files_need_a_target() -> None:
    report = read_report([SEED_26, str(SUITE / "hand-2.9.1-cpu.xml")])
    (skipped,) = [s for s in report.skipped_inputs if "does not say which torch" in s.reason]
    assert skipped.path == SEED_26 and f"--target ID={SEED_26}" in skipped.reason


@pytest.mark.parametrize(
    ("overrides", "targets"),
    [
        (
            TargetOverrides(((SEED_26, "2.6.0-cpu"), (SEED_213, "2.13.0-cpu"))),
            ["2.6.0-cpu", "2.13.0-cpu"],
        ),
        (
            TargetOverrides(((SEED_213, "2.13.0-cpu"),), default="2.6.0-cpu"),
            ["2.6.0-cpu", "2.13.0-cpu"],
        ),
    ],
)
def test_foreign_targets_from_overrides(overrides: TargetOverrides, targets: list[str]) -> None:
    report = read_report([SEED_26, SEED_213], overrides=overrides)
    assert [t.id for t in report.targets] == targets
    (fix,) = resolve_facts(report).changes
    assert (fix.kind, str(fix.cell)) == (
        ChangeKind.FIX,
        "upstream:while_loop.simple/serialize[cpu]",
    )
    (carried,) = [r for r in resolve_facts(report).behaviours if r.behaviour.id == BUILTIN[0].id]
    assert carried.absent_since == "2.13.0-cpu"


def test_a_target_file_is_an_input_too() -> None:
    report = read_report([], overrides=TargetOverrides(((SEED_26, "2.6.0-cpu"),)))
    assert [t.id for t in report.targets] == ["2.6.0-cpu"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["=x.xml"], "expected ID=FILE"),
        (["2.6.0-cpu="], "expected ID=FILE"),
        (["2.6-cpu=x.xml"], "is not a target id"),
        (["2.6=x.xml"], r"'2\.6\.0' \(build unknown\)"),
        (["2.6.0-cpu", "2.9.1-cpu"], "already given"),
    ],
)
def test_bad_target_args(args: list[str], error: str) -> None:
    with pytest.raises(TargetError, match=error):
        parse_target_args(args)


def test_target_args() -> None:
    assert parse_target_args(["2.6.0-cpu=a.xml", "local", "2.9.1-cu128=b.xml"]) == TargetOverrides(
        (("a.xml", "2.6.0-cpu"), ("b.xml", "2.9.1-cu128")), default="local"
    )
    assert parse_target_args(["2.6.0=a.xml", "2.13.0"]) == TargetOverrides(
        (("a.xml", "2.6.0"),), default="2.13.0"
    )


def test_a_version_alone_is_a_target_of_unknown_build_compared_only_with_its_like() -> None:
    seed_26 = str(reference_junit("seed-2.6.0.xml"))  # pytest's JUnit: names no torch
    report = read_report(
        [seed_26, SEED_213, str(SUITE / "hand-2.9.1-cpu.xml"), str(SUITE / "hand-2.10.0-cpu.xml")],
        overrides=TargetOverrides(((SEED_213, "2.13.0"),), default="2.6.0"),
    )
    by_id = {t.id: t for t in report.targets}
    assert [t.id for t in report.targets] == ["2.6.0", "2.13.0", "2.9.1-cpu", "2.10.0-cpu"]
    assert (by_id["2.6.0"].build, by_id["2.6.0"].family) == ("unknown", "unknown")
    assert by_id["2.6.0"].version == Version("2.6.0")
    changes = resolve_facts(report).changes
    unknown = {(c.before, c.after) for c in changes if c.build == "unknown"}
    assert unknown == {("2.6.0", "2.13.0")}  # never 2.13.0 against a cpu target
    cpu = {"2.9.1-cpu", "2.10.0-cpu"}
    assert all({c.before, c.after} <= cpu for c in changes if c.build == "cpu")


def test_credentials_never_reach_the_model(tmp_path: Path) -> None:
    text = (SUITE / "hand-2.9.1-cpu.xml").read_text()
    text = text.replace(
        'name="platform" value="linux-x86_64"',
        'name="platform" value="index https://me:hunter2@pypi.example/simple"',
    )
    (tmp_path / "a.xml").write_text(text)
    report = read_report([str(tmp_path)])
    assert "ghp_S3CR3T" in text and "hunter2" in text
    assert "ghp_S3CR3T" not in repr(report)
    assert "hunter2" not in repr(report)
    assert "https://pypi.internal.example/simple" in repr(report)


USER = Behaviour(
    id="map.unsupported",
    hop="map",
    mode="*",
    exception="Unsupported",
    sentence="map is not supported by dynamo.",
    origin="test",
)


def test_user_behaviours_tag_cells_and_removing_them_removes_the_tags() -> None:
    paths = [str(SUITE / "hand-2.9.1-cpu.xml"), str(SUITE / "hand-2.10.0-cpu.xml")]
    with_user = read_report(paths, (*BUILTIN, USER))
    tagged = [(c.target, str(c.id)) for c in with_user.cells if USER.id in c.behaviours]
    assert tagged == [("2.9.1-cpu", "catalog:map.simple/retrace[cpu]")]
    (row,) = [r for r in resolve_facts(with_user).behaviours if r.behaviour.id == USER.id]
    assert dict(row.verdicts) == {"2.9.1-cpu": "reproduced", "2.10.0-cpu": "absent"}
    without = read_report(paths, BUILTIN)
    assert all(USER.id not in c.behaviours for c in without.cells)
    # A tag the file carries but no behaviour in the table matches is dropped too.
    assert all("stale.user-tag" not in repr(c) for c in without.cells)
    (wl,) = [c for c in without.cells if c.target == "2.10.0-cpu" and c.id.hop == "while_loop"]
    assert wl.behaviours == (BUILTIN[0].id, BUILTIN[1].id)
    assert wl.status is Status.XFAIL
