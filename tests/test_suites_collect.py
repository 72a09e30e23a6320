"""suites.collect and the worker's config: which cases a run selects, and how --list says them."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from suites.cases import Case, Sample, module_of  # noqa: E402
from suites.collect import case_matches, describe_case, select  # noqa: E402
from suites.schema import Device, Mode, Source  # noqa: E402
from suites.worker import DEFAULT_SOURCES, WorkerConfig, default_sources  # noqa: E402


def build_twice(device: str) -> tuple[object, tuple[Sample, ...]]:
    """a while_loop that carries a dict of tensors"""
    return module_of(lambda x: x), ()


def _case(source: Source, hop: str, variant: str, since: str = "") -> Case:
    return Case(hop, variant, build_twice, source=source, since=since)


CASES = (
    _case(Source.CATALOG, "cond", "simple"),
    _case(Source.CATALOG, "while_loop", "dict_carry", "2.6"),
    _case(Source.EXPORTDB, "cond", "cond_predicate"),
    _case(Source.EXPORTDB, "no_hop", "static_if"),
    _case(Source.USER, "cond", "gate"),
)


@pytest.mark.parametrize(
    ("patterns", "ids"),
    [
        ((), [c.id for c in CASES]),
        (("cond",), ["catalog:cond.simple", "exportdb:cond.cond_predicate", "user:cond.gate"]),
        (("catalog:*",), ["catalog:cond.simple", "catalog:while_loop.dict_carry"]),
        (("exportdb:*", "user:*"), [c.id for c in CASES[2:]]),
        (("*.gate",), ["user:cond.gate"]),
        (("while_loop.dict_carry",), ["catalog:while_loop.dict_carry"]),
        (("catalog:cond",), []),  # the source form names a whole id: cond.* is needed
        (("catalog:cond.*",), ["catalog:cond.simple"]),
        (("Cond",), []),  # case-sensitive, as ids are
    ],
)
def test_case_patterns(patterns: tuple[str, ...], ids: list[str]) -> None:
    assert [c.id for c in CASES if case_matches(c, patterns)] == ids


def test_hop_and_case_filters_both_apply() -> None:
    kept = select(CASES, ["cond*"], ["exportdb:*", "user:*"])
    assert [c.id for c in kept] == ["exportdb:cond.cond_predicate", "user:cond.gate"]
    assert select(CASES, [], []) == CASES


def test_list_line() -> None:
    assert describe_case(CASES[1]) == (
        "catalog:while_loop.dict_carry  since 2.6  a while_loop that carries a dict of tensors"
    )
    # a case that states no oldest release, and a builder without a docstring
    bare = Case("cond", "bare", lambda device: (module_of(lambda x: x), ()))
    assert describe_case(bare) == "catalog:cond.bare  since -"


def test_default_sources() -> None:
    assert DEFAULT_SOURCES == (Source.UPSTREAM, Source.CATALOG, Source.EXPORTDB)
    assert default_sources(()) == DEFAULT_SOURCES
    assert default_sources(["mypkg.hop_cases"]) == (*DEFAULT_SOURCES, Source.USER)


def test_worker_config_round_trips() -> None:
    config = WorkerConfig(
        sources=default_sources(["mypkg.hop_cases"]),
        hops=("cond*",),
        modes=(Mode.AOT, Mode.AOTI),
        devices=(Device.CPU,),
        target="local",
        cases=("user:*",),
        case_modules=("mypkg.hop_cases",),
        case_path=("/tmp/cases",),
        listing=True,
    )
    assert WorkerConfig.from_json(config.to_json()) == config


def test_list_names_each_upstream_case_by_its_op_info() -> None:
    """--list's pattern sentence of an upstream case is its op info, not a builder's docstring."""
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-m", "suites", "--list", "--source", "upstream", "--mode", "aot"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("upstream:")]
    if not lines:
        pytest.skip(f"hop_db gives no cases here: {done.stderr[-300:]}")
    for line in lines:
        case = line.split()[0]
        hop = case.removeprefix("upstream:").split(".")[0]
        assert f"hop_db's op info {hop}" in line, line
