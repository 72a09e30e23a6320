"""compat.facts: since, changes, behaviour verdicts, inventory and signatures, table-driven."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pytest
from packaging.version import Version

from compat.facts import compare_targets, resolve_facts
from compat.model import Cell, ChangeKind, Facts, Report, TargetInfo, Verdict
from suites.behaviours import BUILTIN, Behaviour
from suites.schema import CellId, Status

P, F, E, X, XP, S, M = (
    Status.PASS,
    Status.FAIL,
    Status.ERROR,
    Status.XFAIL,
    Status.XPASS,
    Status.SKIP,
    Status.MISSING,
)
CARRIED = "while_loop.serde-carried-inputs"
TUPLE = "while_loop.serde-tuple-to-list"
ROW = "catalog:cond.simple/serialize[cpu]"
WL = "catalog:while_loop.simple/serialize[cpu]"


def _resolve(
    targets: Sequence[TargetInfo], cells: Iterable[Cell], behaviours: tuple[Behaviour, ...]
) -> Facts:
    """``resolve_facts`` of the report these targets and cells make."""
    return resolve_facts(Report.from_cells(tuple(targets), cells, behaviours))


def _target(tid: str, hops: tuple[str, ...] = (), env_error: str | None = None) -> TargetInfo:
    version, build = tid.split("-", 1)
    return TargetInfo(
        id=tid,
        version=Version(version),
        build=build,
        torch_version=f"{version}+{build}",
        source_file=f"{tid}.xml",
        registered_hops=hops,
        env_error=env_error,
    )


def _cell(target: str, cell: str, status: Status, **kw: object) -> Cell:
    return Cell(target=target, id=CellId.parse(cell), status=status, **kw)  # type: ignore[arg-type]


def _facts(
    target_ids: list[str],
    rows: Mapping[str, list[Status | None]],
    behaviours: tuple[Behaviour, ...] = (),
    env_errors: tuple[str, ...] = (),
) -> Facts:
    targets = [_target(t, env_error="no wheel" if t in env_errors else None) for t in target_ids]
    cells = [
        _cell(t, row, status)
        for row, statuses in sorted(rows.items(), key=lambda kv: CellId.parse(kv[0]))
        for t, status in zip(target_ids, statuses, strict=True)
        if status is not None
    ]
    return _resolve(targets, cells, behaviours)


CPU = ["2.6.0-cpu", "2.9.1-cpu", "2.13.0-cpu"]


@pytest.mark.parametrize(
    ("statuses", "since"),
    [
        ([P, P, P], "2.6.0-cpu"),
        ([E, P, P], "2.9.1-cpu"),
        ([P, E, P], "2.13.0-cpu"),  # for good: the regression in between resets it
        ([P, P, E], None),  # does not pass in the newest target
        ([E, XP, P], "2.9.1-cpu"),  # xpass passes
        ([None, P, P], "2.9.1-cpu"),  # a row that only exists from 2.9.1
        ([P, None, P], "2.13.0-cpu"),  # no result is not a pass: "for good" is not proven
        ([P, S, P], "2.13.0-cpu"),
        ([P, P, None], None),
        ([S, S, S], None),
    ],
)
def test_since(statuses: list[Status | None], since: str | None) -> None:
    facts = _facts(CPU, {ROW: statuses})
    assert [(str(s.cell), s.build, s.since) for s in facts.since] == [(ROW, "cpu", since)]


@pytest.mark.parametrize(
    ("statuses", "changes"),
    [
        ([P, E, E], [("regression", "2.6.0-cpu", "2.9.1-cpu")]),
        ([E, P, P], [("fix", "2.6.0-cpu", "2.9.1-cpu")]),
        (
            [P, X, XP],
            [("regression", "2.6.0-cpu", "2.9.1-cpu"), ("fix", "2.9.1-cpu", "2.13.0-cpu")],
        ),
        ([XP, M, M], [("gone", "2.6.0-cpu", "2.9.1-cpu")]),  # the HOP went away: not a regression
        ([M, P, E], [("new", "2.6.0-cpu", "2.9.1-cpu"), ("regression", "2.9.1-cpu", "2.13.0-cpu")]),
        ([M, E, P], [("new", "2.6.0-cpu", "2.9.1-cpu"), ("fix", "2.9.1-cpu", "2.13.0-cpu")]),
        ([P, S, E], [("regression", "2.6.0-cpu", "2.13.0-cpu")]),  # past what did not run
        ([P, None, E], [("regression", "2.6.0-cpu", "2.13.0-cpu")]),
        ([P, S, P], []),
        ([P, XP, P], []),
        ([F, E, X], []),
    ],
)
def test_changes(statuses: list[Status | None], changes: list[tuple[str, str, str]]) -> None:
    facts = _facts(CPU, {ROW: statuses})
    got = [(c.kind.value, c.before, c.after) for c in facts.changes]
    assert sorted(got) == sorted(changes)


def test_changes_stay_within_a_build_skip_env_errors_and_list_regressions_first() -> None:
    ids = ["2.6.0-cpu", "2.9.1-cpu", "2.10.0-cpu", "2.6.0-cu124", "2.9.1-cu124"]
    facts = _facts(
        ids,
        {ROW: [E, None, P, P, E], WL: [P, None, E, E, P]},
        env_errors=("2.9.1-cpu",),
    )
    got = [(c.kind, str(c.cell), c.before, c.after) for c in facts.changes]
    assert got == [
        (ChangeKind.REGRESSION, WL, "2.6.0-cpu", "2.10.0-cpu"),
        (ChangeKind.REGRESSION, ROW, "2.6.0-cu124", "2.9.1-cu124"),
        (ChangeKind.FIX, ROW, "2.6.0-cpu", "2.10.0-cpu"),
        (ChangeKind.FIX, WL, "2.6.0-cu124", "2.9.1-cu124"),
    ]
    assert {(s.build, s.since) for s in facts.since if str(s.cell) == ROW} == {
        ("cpu", "2.10.0-cpu"),
        ("cuda", None),
    }


def test_default_index_builds_of_successive_cuda_versions_are_compared() -> None:
    # PyPI's wheels move from CUDA 12.4 to 12.8 between 2.6 and 2.9: one family.
    facts = _facts(["2.6.0-cu124", "2.9.1-cu128"], {ROW: [P, E]})
    assert [(c.kind, c.build, c.before, c.after) for c in facts.changes] == [
        (ChangeKind.REGRESSION, "cuda", "2.6.0-cu124", "2.9.1-cu128")
    ]


def _wl(
    target: str, status: Status, tags: tuple[str, ...] = (), carried: str | None = None
) -> Cell:
    props = (
        (("carried_inputs_after", carried), ("carried_inputs_before", "tuple")) if carried else ()
    )
    error = "RuntimeError" if status in (Status.ERROR, Status.XFAIL) else None
    return _cell(target, WL, status, behaviours=tags, properties=props, error_type=error)


@pytest.mark.parametrize(
    ("cells", "verdicts", "first", "last", "absent_since", "still"),
    [
        (
            [(X, (CARRIED,)), (X, (CARRIED,)), (XP, ())],
            ["reproduced", "reproduced", "absent"],
            "2.6.0-cpu",
            "2.9.1-cpu",
            "2.13.0-cpu",
            False,
        ),
        (
            [(X, (CARRIED,)), (E, ()), (XP, ())],
            ["reproduced", "other error", "absent"],
            "2.6.0-cpu",
            "2.6.0-cpu",
            "2.13.0-cpu",
            False,
        ),
        (
            [(XP, ()), (X, (CARRIED,)), (X, (CARRIED,))],
            ["absent", "reproduced", "reproduced"],
            "2.9.1-cpu",
            "2.13.0-cpu",
            None,
            True,
        ),
        (
            [(X, (CARRIED,)), (S, ()), (M, ())],
            ["reproduced", "n/a", "n/a"],
            "2.6.0-cpu",
            "2.6.0-cpu",
            None,
            True,
        ),
        ([(P, ()), (P, ()), (P, ())], ["absent", "absent", "absent"], None, None, None, False),
    ],
)
def test_behaviour_verdicts(
    cells: list[tuple[Status, tuple[str, ...]]],
    verdicts: list[str],
    first: str | None,
    last: str | None,
    absent_since: str | None,
    still: bool,
) -> None:
    targets = [_target(t) for t in CPU]
    facts = _resolve(
        targets,
        [_wl(t, status, tags) for t, (status, tags) in zip(CPU, cells, strict=True)],
        BUILTIN[:1],
    )
    (row,) = facts.behaviours
    assert [v.value for _, v in row.verdicts] == verdicts
    assert (row.first_seen, row.last_seen, row.absent_since, row.still_present) == (
        first,
        last,
        absent_since,
        still,
    )
    assert row.cells == tuple(
        f"{t}/{WL}" for t, (_, tags) in zip(CPU, cells, strict=True) if CARRIED in tags
    )


def test_property_behaviour_is_not_measured_where_the_properties_were_not_recorded() -> None:
    targets = [_target(t) for t in [*CPU, "2.5.1-cpu"]]
    targets[-1] = _target("2.5.1-cpu", env_error="no wheel")
    cells = [
        _wl("2.6.0-cpu", X, (CARRIED, TUPLE), carried="list"),
        _wl("2.9.1-cpu", XP),  # a foreign file: no carried_inputs_* properties
        _wl("2.13.0-cpu", XP, carried="tuple"),
    ]
    facts = _resolve(targets, cells, BUILTIN)
    rows = {r.behaviour.id: dict(r.verdicts) for r in facts.behaviours}
    assert rows[TUPLE] == {
        "2.6.0-cpu": Verdict.REPRODUCED,
        "2.9.1-cpu": Verdict.NOT_MEASURED,  # ran, but cannot say: not "never reproduced"
        "2.13.0-cpu": Verdict.ABSENT,
        "2.5.1-cpu": Verdict.NOT_APPLICABLE,  # did not run at all
    }
    assert rows[CARRIED]["2.9.1-cpu"] is Verdict.ABSENT


def test_absent_since_orders_by_version_across_builds() -> None:
    ids = ["2.6.0-cpu", "2.9.1-cpu", "2.6.0-cu124", "2.13.0-cu124"]
    targets = [_target(t) for t in ids]
    cells = [
        _wl("2.6.0-cpu", X, (CARRIED,)),
        _wl("2.9.1-cpu", XP),
        _wl("2.6.0-cu124", X, (CARRIED,)),
        _wl("2.13.0-cu124", XP),
    ]
    (row,) = _resolve(targets, cells, BUILTIN[:1]).behaviours
    assert (row.first_seen, row.last_seen, row.absent_since, row.still_present) == (
        "2.6.0-cpu",
        "2.6.0-cu124",
        "2.9.1-cpu",
        False,
    )


def test_inventory_and_signatures() -> None:
    targets = [
        _target("2.6.0-cpu", hops=("cond", "map_impl", "while_loop")),
        _target("2.9.1-cpu", hops=("cond", "foreach_map", "map_impl", "while_loop")),
    ]
    sig_a, sig_b = "SerializeError: scan", "RuntimeError: boom <n>"
    cells = [
        _cell("2.6.0-cpu", "catalog:cond.simple/aot[cpu]", E, signature=sig_b),
        _cell("2.6.0-cpu", "catalog:scan.simple/serialize[cpu]", E, signature=sig_a),
        _cell("2.9.1-cpu", "catalog:scan.simple/serialize[cpu]", E, signature=sig_a),
        _cell("2.6.0-cpu", "catalog:while_loop.simple/aot[cpu]", S, signature="ignored: skip"),
        _cell("2.9.1-cpu", "catalog:while_loop.simple/serialize[cpu]", P),
    ]
    facts = _resolve(targets, cells, ())
    assert [(i.hop, i.registered_in, i.covered) for i in facts.inventory] == [
        ("cond", ("2.6.0-cpu", "2.9.1-cpu"), True),
        ("foreach_map", ("2.9.1-cpu",), False),
        ("map_impl", ("2.6.0-cpu", "2.9.1-cpu"), False),
        ("while_loop", ("2.6.0-cpu", "2.9.1-cpu"), True),
    ]
    # A map case covers map_impl, the operator torch.map runs as.
    with_map = [*cells, _cell("2.9.1-cpu", "catalog:map.simple/aot[cpu]", P)]
    inventory = _resolve(targets, with_map, ()).inventory
    assert [(i.hop, i.covered) for i in inventory] == [
        ("cond", True),
        ("foreach_map", False),
        ("map_impl", True),
        ("while_loop", True),
    ]
    assert [(s.signature, s.count, s.cells) for s in facts.signatures] == [
        (
            sig_a,
            2,
            (
                "2.6.0-cpu/catalog:scan.simple/serialize[cpu]",
                "2.9.1-cpu/catalog:scan.simple/serialize[cpu]",
            ),
        ),
        (sig_b, 1, ("2.6.0-cpu/catalog:cond.simple/aot[cpu]",)),
    ]


@pytest.mark.parametrize("flaky_at", ["2.6.0-cpu", "2.9.1-cpu"])
def test_a_flaky_cell_is_neither_a_regression_nor_a_fix(flaky_at: str) -> None:
    flaky = (("flaky", "error: RuntimeError: x | pass"),)
    cells = [
        _cell(t, ROW, s, properties=flaky if t == flaky_at else ())
        for t, s in zip(CPU, [P, E, P], strict=True)
    ]
    facts = _resolve([_target(t) for t in CPU], cells, ())
    got = [(c.before, c.after) for c in facts.changes]
    # Only the transition that involves no flaky cell is left.
    assert got == ([("2.9.1-cpu", "2.13.0-cpu")] if flaky_at == "2.6.0-cpu" else [])


# An audit: a candidate of one build family against a baseline of another.
AUDIT = ["2.12.1-cu130", "2.13.0-cpu"]
STRICT = (("strict", "true"),)
NON_STRICT = (("strict", "false"),)


def _compare(cells: list[Cell], ids: list[str] = AUDIT) -> list[tuple[str, str, str, str]]:
    report = Report.from_cells(tuple(_target(t) for t in ids), cells, ())
    changes = compare_targets(report, resolve_facts(report), ids[0], ids[1])
    return [(c.kind.value, str(c.cell), c.build, f"{c.before} → {c.after}") for c in changes]


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (P, E, "regression"),
        (XP, F, "regression"),
        (P, X, "regression"),  # a known behaviour came back
        (E, P, "fix"),
        (X, XP, "fix"),
        (M, P, "new"),
        (P, M, "gone"),
        (P, S, None),  # the candidate did not run it: nothing to say
        (None, E, None),  # the baseline has no result: nothing to compare with
        (E, F, None),
        (M, M, None),
    ],
)
def test_compare_targets_across_build_families(
    before: Status | None, after: Status | None, kind: str | None
) -> None:
    cells = [_cell(t, ROW, s) for t, s in zip(AUDIT, (before, after), strict=True) if s is not None]
    expected = [(kind, ROW, "cuda → cpu", "2.12.1-cu130 → 2.13.0-cpu")] if kind else []
    assert _compare(cells) == expected


def test_compare_targets_keeps_the_rules_flaky_and_default_changed() -> None:
    flaky = (("flaky", "error: RuntimeError: x | pass"),)
    aot = "catalog:cond.simple/aot[cpu]"
    cells = [
        _cell(AUDIT[0], ROW, P),
        _cell(AUDIT[1], ROW, E, properties=flaky),
        _cell(AUDIT[0], WL, P),
        _cell(AUDIT[1], WL, E),
        _cell(AUDIT[0], aot, P, properties=STRICT),
        _cell(AUDIT[1], aot, E, properties=NON_STRICT),
    ]
    assert _compare(cells) == [
        ("regression", WL, "cuda → cpu", "2.12.1-cu130 → 2.13.0-cpu"),
        ("default changed", aot, "cuda → cpu", "2.12.1-cu130 → 2.13.0-cpu"),
    ]


def test_compare_targets_in_one_family_agrees_with_resolve_changes() -> None:
    rows = {ROW: [P, E], WL: [E, P], "catalog:map.simple/aot[cpu]": [M, P]}
    ids = ["2.9.1-cpu", "2.13.0-cpu"]
    facts = _facts(ids, rows)
    report = Report.from_cells(
        tuple(_target(t) for t in ids),
        [_cell(t, r, s) for r, ss in rows.items() for t, s in zip(ids, ss, strict=True)],
        (),
    )
    assert compare_targets(report, resolve_facts(report), *ids) == facts.changes


def test_compare_targets_names_a_target_that_is_not_there() -> None:
    report = Report.from_cells(tuple(_target(t) for t in AUDIT), [_cell(AUDIT[0], ROW, P)], ())
    with pytest.raises(ValueError, match=r"no target '2\.13\.1-cpu' in the report"):
        compare_targets(report, resolve_facts(report), AUDIT[0], "2.13.1-cpu")


def test_every_expectation_token_of_the_suite_reads_as_a_sentence() -> None:
    from compat.facts import EXPECTATION_SAYS
    from suites.schema import (
        EXPECT_EXPORTDB_UNSUPPORTED,
        EXPECT_SKIP_TOKENS,
        EXPECT_XFAIL_TOKEN,
    )

    # ExportDB's "supported" declares no failure: compat.claims checks it instead.
    declared = {*EXPECT_SKIP_TOKENS, EXPECT_XFAIL_TOKEN, EXPECT_EXPORTDB_UNSUPPORTED}
    assert set(EXPECTATION_SAYS) == declared
