"""compat.load: JUnit paths -> Report, with bad inputs skipped and named."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

import pytest

from compat.__main__ import _renderers
from compat.errors import InputError, TargetError
from compat.facts import report_index, resolve_index
from compat.junit import ReadCache, parse_junit
from compat.load import TargetOverrides, parse_target_args, resolve_report
from compat.model import Cell, ChangeKind
from suites.behaviours import BUILTIN, Behaviour
from suites.schema import Status

DATA = Path(__file__).parent / "data" / "junit"
SUITE = DATA / "suite"
BROKEN = DATA / "broken"
SEED_26 = str(DATA / "seed-2.6.0.xml")
SEED_213 = str(DATA / "seed-2.13.0.xml")


def test_suite_folder_merges_in_version_order_grouped_by_build() -> None:
    report = resolve_report([str(SUITE)])
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
    changes = {(c.kind, str(c.cell), c.before, c.after) for c in report.facts.changes}
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
    report = resolve_report([str(SUITE)])
    column = {t.id: i for i, t in enumerate(report.targets)}
    keys = [(c.id, column[c.target]) for c in report.cells]
    assert keys == sorted(keys)


def test_bad_inputs_are_skipped_with_a_sentence_and_the_good_ones_merged() -> None:
    report = resolve_report([str(BROKEN), str(SUITE / "hand-2.9.1-cpu.xml"), "nope/missing.xml"])
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
        resolve_report(paths)


def test_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"holds no \*\.xml files"):
        resolve_report([str(tmp_path)])


def test_foreign_files_need_a_target() -> None:
    report = resolve_report([SEED_26, str(SUITE / "hand-2.9.1-cpu.xml")])
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
    report = resolve_report([SEED_26, SEED_213], targets_override=overrides)
    assert [t.id for t in report.targets] == targets
    (fix,) = report.facts.changes
    assert (fix.kind, str(fix.cell)) == (
        ChangeKind.FIX,
        "upstream:while_loop.simple/serialize[cpu]",
    )
    (carried,) = [r for r in report.facts.behaviours if r.behaviour.id == BUILTIN[0].id]
    assert carried.absent_since == "2.13.0-cpu"


def test_a_target_file_is_an_input_too() -> None:
    report = resolve_report([], targets_override=TargetOverrides(((SEED_26, "2.6.0-cpu"),)))
    assert [t.id for t in report.targets] == ["2.6.0-cpu"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["=x.xml"], "expected ID=FILE"),
        (["2.6.0-cpu="], "expected ID=FILE"),
        (["2.6-cpu=x.xml"], "is not a target id"),
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


def test_credentials_never_reach_the_model(tmp_path: Path) -> None:
    text = (SUITE / "hand-2.9.1-cpu.xml").read_text()
    text = text.replace(
        'name="platform" value="linux-x86_64"',
        'name="platform" value="index https://me:hunter2@pypi.example/simple"',
    )
    (tmp_path / "a.xml").write_text(text)
    report = resolve_report([str(tmp_path)])
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
    with_user = resolve_report(paths, (*BUILTIN, USER))
    tagged = [(c.target, str(c.id)) for c in with_user.cells if USER.id in c.behaviours]
    assert tagged == [("2.9.1-cpu", "catalog:map.simple/retrace[cpu]")]
    (row,) = [r for r in with_user.facts.behaviours if r.behaviour.id == USER.id]
    assert dict(row.verdicts) == {"2.9.1-cpu": "reproduced", "2.10.0-cpu": "absent"}
    without = resolve_report(paths, BUILTIN)
    assert all(USER.id not in c.behaviours for c in without.cells)
    # A tag the file carries but no behaviour in the table matches is dropped too.
    assert all("stale.user-tag" not in repr(c) for c in without.cells)
    (wl,) = [c for c in without.cells if c.target == "2.10.0-cpu" and c.id.hop == "while_loop"]
    assert wl.behaviours == (BUILTIN[0].id, BUILTIN[1].id)
    assert wl.status is Status.XFAIL


def _all_inputs() -> list[str]:
    return [str(SUITE), SEED_26, SEED_213]


def test_loaded_cells_equal_constructed_ones() -> None:
    # Rows make their cells from field dicts (see compat.facts.RowCells).
    report = resolve_report(_all_inputs(), targets_override=TargetOverrides(default="2.6.0-cpu"))
    for cell in report.cells:
        fields = {f.name: getattr(cell, f.name) for f in dataclasses.fields(Cell)}
        built = Cell(**fields)
        assert cell == built and hash(cell) == hash(built) and repr(cell) == repr(built)
        assert dataclasses.replace(cell, time=1.5).time == 1.5
        with pytest.raises(dataclasses.FrozenInstanceError):
            cell.time = 2.0  # type: ignore[misc]


def test_loader_index_agrees_with_the_cells() -> None:
    report = resolve_report(_all_inputs(), targets_override=TargetOverrides(default="2.6.0-cpu"))
    index = report_index(report)
    fresh = resolve_index(report.targets, report.cells)
    assert list(index.groups) == list(fresh.groups)
    assert index.complete == fresh.complete

    def result(c: Cell) -> tuple[object, ...]:
        return (c.status, c.behaviours, c.error_type, c.message, c.signature, c.properties)

    for cell_id, cells in index.groups.items():
        assert cells == fresh.groups[cell_id]
        for cell, i in zip(cells, index.result_of[id(cell_id)], strict=True):
            assert result(index.results[i]) == result(cell)
        assert index.times[id(cell_id)] == [c.time for c in cells]
        assert index.targets[id(cell_id)] == [c.target for c in cells]
        assert index.targets[id(cell_id)] == fresh.targets[id(cell_id)]


def _cells_alive() -> int:
    return sum(type(o) is Cell for o in gc.get_objects())


def test_a_loaded_report_renders_without_making_its_cells(tmp_path: Path) -> None:
    # Three targets with the same results in every cell but their times: a big
    # matrix in small. Its cells are made only where something looks at them.
    text = (SUITE / "hand-2.9.1-cpu.xml").read_text()
    for n, version in enumerate(("2.9.1", "2.9.2", "2.9.3")):
        copy = text.replace("2.9.1", version).replace('time="', f'time="{n}')
        (tmp_path / f"{version}.xml").write_text(copy)
    before = _cells_alive()
    report = resolve_report([str(tmp_path)])
    for render in _renderers(report, print).values():
        "".join(render())
    index = report_index(report)
    assert len(report.cells) == 3 * len(index.groups) > len(index.results)
    # One per distinct result: none per cell.
    assert _cells_alive() - before == len(index.results)
    assert [c.target for c in report.cells[:3]] == ["2.9.1-cpu", "2.9.2-cpu", "2.9.3-cpu"]
    assert _cells_alive() - before == len(index.results) + len(report.cells)


def test_many_files_read_through_one_cache_as_one_by_one(tmp_path: Path) -> None:
    # A matrix of near-identical files (what the reader's cache is for), with a few
    # files that must fall back to the full reader.
    base = (SUITE / "suite-2.13.0-cpu.xml").read_text(encoding="utf-8")
    variants = {
        "a.xml": base,
        "b.xml": base.replace('target" value="2.13.0-cpu"', 'target" value="2.12.0-cpu"'),
        "c.xml": base.replace('time="0.', 'time="1.'),  # only times differ
        "d.xml": base.replace('value="pass"', 'value="fail"', 3),
        "e.xml": base.replace("<properties>", "<!-- x --><properties>", 1),  # a comment
        "f.xml": base.replace('value="2.13.0-cpu"', 'value="2.11.0-cpu"'),
    }
    paths = []
    for name, text in variants.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    cache = ReadCache()
    for path in paths * 2:
        data = Path(path).read_bytes()
        assert parse_junit(data, path, cache) == parse_junit(data, path)
