"""Hand-built reports for the renderer tests, and the golden-file check.

``realistic_report()`` is a small but complete matrix: three builds (cu124,
cu128, cpu), one target that could not be installed, a ``while_loop``
serialize cell that reproduces the seed's known behaviour, a regression, a
fix, a crash, a timeout and a skipped input. Its facts are written here by
hand (``since`` and the signature counts by two short loops over the cells),
so the renderer tests do not depend on ``compat.facts``; one test checks that
they agree with it.

``hostile_report()`` puts Markdown and HTML metacharacters into every text
field the data can carry.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.version import Version

from compat.build import build_report
from compat.load import TargetOverrides, load_inputs
from compat.model import (
    BehaviourRow,
    Cell,
    Change,
    ChangeKind,
    Facts,
    InventoryRow,
    Report,
    RowSince,
    SignatureRow,
    SkippedInput,
    TargetInfo,
    Verdict,
)
from suites.behaviours import BUILTIN, Behaviour
from suites.junit_xml import Testsuite, junit_document, write_junit
from suites.results import CellResult, make_result
from suites.schema import (
    EXPECT_EXPORTDB_SUPPORTED,
    EXPECT_EXPORTDB_UNSUPPORTED,
    SCHEMA_VERSION,
    CellId,
    Device,
    Mode,
    Prop,
    Source,
    Status,
    SuiteProp,
)
from suites.signature import signature

GOLDEN_DIR = Path(__file__).parent / "data" / "golden"
UPDATE_ENV = "UPDATE_GOLDEN"

CARRIED = "while_loop.serde-carried-inputs"
TUPLE_TO_LIST = "while_loop.serde-tuple-to-list"

_HOPS_26 = (
    "associative_scan",
    "auto_functionalized",
    "cond",
    "flex_attention",
    "flex_attention_backward",
    "invoke_subgraph",
    "map_impl",
    "out_dtype",
    "scan",
    "while_loop",
    "wrap_with_set_grad_enabled",
)
_HOPS_29 = tuple(sorted((*_HOPS_26, "invoke_quant")))
_HOPS_213 = tuple(sorted((*_HOPS_29, "foreach_map")))


def _target(
    id_: str,
    *,
    python: str = "3.12.8",
    aot_strict: str | None = "false",
    hop_db: str | None = "importable",
    devices: str = "cpu",
    hops: tuple[str, ...] = (),
    cuda: str | None = None,
    env_error: str | None = None,
    run: tuple[str, str] = ("2026-11-29T10:12:03Z", "ci-linux-2"),  # run_date, host
) -> TargetInfo:
    version, build = id_.split("-", 1)
    props: dict[str, str] = {
        SuiteProp.TARGET: id_,
        SuiteProp.BUILD: build,
        SuiteProp.PYTHON: python,
    }
    if env_error is None:
        props |= {
            SuiteProp.SCHEMA: "1",
            SuiteProp.SUITE_VERSION: "0.1.0",
            SuiteProp.TORCH_VERSION: f"{version}+{build}",
            SuiteProp.PLATFORM: "Linux-6.8.0-x86_64-with-glibc2.36",
            SuiteProp.DEVICES: devices,
            SuiteProp.REGISTERED_HOPS: ",".join(hops),
            "run_date": run[0],
            "host": run[1],
        }
        if aot_strict is not None:
            props[SuiteProp.AOT_STRICT] = aot_strict
        if hop_db is not None:
            props[SuiteProp.HOP_DB] = hop_db
        if cuda is not None:
            props[SuiteProp.CUDA_VERSION] = cuda
    return TargetInfo(
        id=id_,
        version=Version(version),
        build=build,
        torch_version="" if env_error else f"{version}+{build}",
        source_file=f"reports/junit/{id_}.xml",
        properties=tuple(sorted((str(k), v) for k, v in props.items())),
        registered_hops=hops,
        env_error=env_error,
    )


TARGETS: tuple[TargetInfo, ...] = (
    _target(
        "2.6.0-cu124",
        python="3.11.11",
        aot_strict="true",
        hops=_HOPS_26,
        cuda="12.4",
        run=("2026-11-27T08:40:51Z", "gpu-box"),  # merged from an earlier run
    ),
    _target("2.9.1-cu128", devices="cpu,cuda", hops=_HOPS_29, cuda="12.8"),
    _target(
        "2.5.1-cpu",
        python="3.13.1",
        env_error=(
            "uv pip install torch==2.5.1 failed: no wheel for cp313 on "
            "https://wheels.example/whl/cpu"
        ),
    ),
    _target("2.9.1-cpu", hops=_HOPS_29),
    _target(
        "2.13.0-cpu",
        hops=_HOPS_213,
        hop_db="unavailable: ModuleNotFoundError: No module named 'expecttest'",
    ),
)
_RAN = tuple(t.id for t in TARGETS if t.env_error is None)

_CASES: tuple[tuple[Source, str, str], ...] = (
    (Source.CATALOG, "cond", "simple"),
    (Source.CATALOG, "invoke_subgraph", "simple"),
    (Source.CATALOG, "map", "simple"),
    (Source.CATALOG, "scan", "simple"),
    (Source.CATALOG, "while_loop", "simple"),
    (Source.UPSTREAM, "flex_attention", "simple"),
    (Source.UPSTREAM, "while_loop", "simple"),
)
_MODES = (Mode.AOT, Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE, Mode.NON_STRICT)

_CARRIED_MESSAGE = "carried_inputs must be a tuple but got <class 'list'>"
_SERDE_INVOKE = (
    "Unable to serialize node invoke_subgraph_0: higher-order op invoke_subgraph "
    "is not supported by torch.export.save"
)

# (target, cell id) -> the cell's outcome where it is not a plain pass.
_OUTCOMES: dict[tuple[str, str], dict[str, object]] = {
    ("2.6.0-cu124", "catalog:cond.simple/non_strict[cpu]"): {
        "status": Status.ERROR,
        "error_type": "torch._dynamo.exc.UserError",
        "message": (
            "Dynamic control flow is not supported at the moment. Please use "
            "torch.cond to explicitly capture the control flow.\n"
            "For more information about this error, see: "
            "https://pytorch.org/docs/main/generated/exportdb/index.html#cond-operands"
        ),
    },
    ("2.6.0-cu124", "catalog:scan.simple/retrace[cpu]"): {
        "status": Status.TIMEOUT,
        "message": "the case ran past its limit of 120 s",
    },
    ("2.6.0-cu124", "catalog:scan.simple/serialize[cpu]"): {
        "status": Status.ERROR,
        "error_type": "torch._export.serde.serialize.SerializeError",
        "message": "Unable to serialize node scan_0: higher-order op scan is not supported",
    },
    ("2.9.1-cu128", "catalog:invoke_subgraph.simple/serialize[cpu]"): {
        "status": Status.ERROR,
        "error_type": "torch._export.serde.serialize.SerializeError",
        "message": _SERDE_INVOKE,
    },
    ("2.9.1-cpu", "catalog:invoke_subgraph.simple/serialize[cpu]"): {
        "status": Status.ERROR,
        "error_type": "torch._export.serde.serialize.SerializeError",
        "message": _SERDE_INVOKE,
    },
    ("2.13.0-cpu", "catalog:map.simple/pre_dispatch[cpu]"): {
        "status": Status.FAIL,
        "error_type": "AssertionError",
        "message": (
            "Tensor-likes are not close!\n\nMismatched elements: 3 / 12 (25.0%)\n"
            "Greatest absolute difference: 0.125 at index (1, 2) (up to 1e-05 allowed)"
        ),
    },
    ("2.13.0-cpu", "catalog:scan.simple/serialize[cpu]"): {
        "status": Status.CRASH,
        "message": "the interpreter died with signal 11 (SIGSEGV) in this case",
    },
    ("2.9.1-cu128", "upstream:flex_attention.simple/serialize[cuda]"): {
        "status": Status.ERROR,
        "error_type": "torch._export.serde.serialize.SerializeError",
        "message": (
            "Unsupported argument type <class 'torch._higher_order_ops.flex_attention."
            "FlexKernelOptions'> for node flex_attention_0"
        ),
    },
}
for _mode in _MODES:
    _OUTCOMES["2.6.0-cu124", f"catalog:invoke_subgraph.simple/{_mode}[cpu]"] = {
        "status": Status.MISSING,
        "reason": "torch 2.6.0 has no public invoke_subgraph entry point",
    }
    for _tid in _RAN:
        _OUTCOMES[_tid, f"upstream:flex_attention.simple/{_mode}[cpu]"] = {
            "status": Status.SKIP,
            "reason": "upstream op info is onlyCUDA",
            "expectation": "onlyCUDA",
        }
for _source in ("catalog", "upstream"):
    _OUTCOMES["2.6.0-cu124", f"{_source}:while_loop.simple/serialize[cpu]"] = {
        "status": Status.XFAIL,
        "error_type": "RuntimeError",
        "message": _CARRIED_MESSAGE,
        "behaviours": (CARRIED, TUPLE_TO_LIST),
        "carried": ("tuple", "list"),
    }
    for _tid in ("2.9.1-cu128", "2.9.1-cpu", "2.13.0-cpu"):
        _OUTCOMES[_tid, f"{_source}:while_loop.simple/serialize[cpu]"] = {
            "status": Status.XPASS,
            "carried": ("tuple", "tuple"),
        }


def _cell(target: str, cid: CellId, outcome: Mapping[str, object]) -> Cell:
    status = outcome.get("status", Status.PASS)
    assert isinstance(status, Status)
    error_type = outcome.get("error_type")
    message = outcome.get("message")
    assert error_type is None or isinstance(error_type, str)
    assert message is None or isinstance(message, str)
    props: dict[str, str] = {
        Prop.HOP: cid.hop,
        Prop.VARIANT: cid.variant,
        Prop.SOURCE: cid.source,
        Prop.MODE: cid.mode,
        Prop.DEVICE: cid.device,
        Prop.STATUS: status,
    }
    if status not in (Status.SKIP, Status.MISSING):
        props[Prop.SAMPLES] = "2"
    if cid.mode is Mode.AOT:
        props[Prop.STRICT] = "true" if target == "2.6.0-cu124" else "false"
    for key, prop in (("reason", Prop.REASON), ("expectation", Prop.EXPECTATION)):
        value = outcome.get(key)
        if isinstance(value, str):
            props[prop] = value
    carried = outcome.get("carried")
    if isinstance(carried, tuple):
        props[Prop.CARRIED_BEFORE], props[Prop.CARRIED_AFTER] = carried
    if error_type is not None and message is not None:
        props[Prop.ERROR_TYPE] = error_type
        props[Prop.ERROR_MESSAGE] = message
    behaviours = outcome.get("behaviours", ())
    assert isinstance(behaviours, tuple)
    return Cell(
        target=target,
        id=cid,
        status=status,
        behaviours=tuple(str(b) for b in behaviours),
        error_type=error_type,
        message=message,
        signature=signature(error_type or str(status), message) if message else None,
        properties=tuple(sorted((str(k), str(v)) for k, v in props.items())),
        time=0.5 if status is Status.PASS else 1.25,
    )


def _cells() -> tuple[Cell, ...]:
    order = {t.id: i for i, t in enumerate(TARGETS)}
    cells: list[Cell] = []
    for source, hop, variant in _CASES:
        for mode in _MODES:
            for device in (Device.CPU, Device.CUDA):
                cid = CellId(source, hop, variant, mode, device)
                for tid in _RAN:
                    if device is Device.CUDA and (
                        tid != "2.9.1-cu128" or hop not in ("cond", "flex_attention")
                    ):
                        continue
                    if tid == "2.13.0-cpu" and source is Source.UPSTREAM:
                        continue  # hop_db could not be imported there
                    cells.append(_cell(tid, cid, _OUTCOMES.get((tid, str(cid)), {})))
    cells.sort(key=lambda c: (c.id, order[c.target]))
    return tuple(cells)


_GOOD = (Status.PASS, Status.XPASS)


def _since(targets: tuple[TargetInfo, ...], cells: tuple[Cell, ...]) -> tuple[RowSince, ...]:
    """Per row and build: the first target from which every later one passes."""
    by_key = {(c.target, c.id): c for c in cells}
    builds = list(dict.fromkeys(t.family for t in targets))
    rows: list[RowSince] = []
    for cid in sorted({c.id for c in cells}):
        for build in builds:
            column = [t.id for t in targets if t.family == build and t.env_error is None]
            if len(column) < 2 or not any((tid, cid) in by_key for tid in column):
                continue  # a family of one target has no "since"
            since: str | None = None
            for tid in reversed(column):
                cell = by_key.get((tid, cid))
                if cell is None or cell.status not in _GOOD:
                    break
                since = tid
            # Columns that say something about the row (a missing cell does: it did not exist).
            known = [
                tid
                for tid in column
                if (c := by_key.get((tid, cid))) is not None and c.status is not Status.SKIP
            ]
            rows.append(
                RowSince(
                    cell=cid,
                    build=build,
                    since=since,
                    at_oldest=since is not None and known[:1] == [since],
                    gone=bool(known) and by_key[known[-1], cid].status is Status.MISSING,
                )
            )
    return tuple(rows)


def _signatures(cells: Iterable[Cell]) -> tuple[SignatureRow, ...]:
    hits: dict[str, list[str]] = {}
    for cell in cells:
        if cell.signature is not None:
            hits.setdefault(cell.signature, []).append(f"{cell.target}/{cell.id}")
    counts = Counter({sig: len(where) for sig, where in hits.items()})
    return tuple(
        SignatureRow(signature=sig, count=n, cells=tuple(hits[sig]))
        for sig, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def _behaviour_row(behaviour: Behaviour) -> BehaviourRow:
    verdict = {
        "2.6.0-cu124": Verdict.REPRODUCED,
        "2.9.1-cu128": Verdict.ABSENT,
        "2.5.1-cpu": Verdict.NOT_APPLICABLE,
        "2.9.1-cpu": Verdict.ABSENT,
        "2.13.0-cpu": Verdict.ABSENT,
    }
    return BehaviourRow(
        behaviour=behaviour,
        verdicts=tuple((t.id, verdict[t.id]) for t in TARGETS),
        first_seen="2.6.0-cu124",
        last_seen="2.6.0-cu124",
        absent_since="2.9.1-cu128",
        still_present=False,
        cells=(
            "2.6.0-cu124/catalog:while_loop.simple/serialize[cpu]",
            "2.6.0-cu124/upstream:while_loop.simple/serialize[cpu]",
        ),
    )


def _inventory() -> tuple[InventoryRow, ...]:
    # Covered means a case has that HOP's name, or runs as it: the map case covers
    # "map_impl"; no case is a mutating custom op, so "auto_functionalized" is not.
    covered = {"cond", "flex_attention", "invoke_subgraph", "map_impl", "scan", "while_loop"}
    hops = sorted({h for t in TARGETS for h in t.registered_hops})
    return tuple(
        InventoryRow(
            hop=hop,
            registered_in=tuple(t.id for t in TARGETS if hop in t.registered_hops),
            covered=hop in covered,
        )
        for hop in hops
    )


def _change(
    kind: ChangeKind, cell: str, before: Status, after: Status, family: str = "cpu", note: str = ""
) -> Change:
    first, then = (
        ("2.6.0-cu124", "2.9.1-cu128") if family == "cuda" else ("2.9.1-cpu", "2.13.0-cpu")
    )
    return Change(
        kind=kind,
        build=family,
        cell=CellId.parse(cell),
        before=first,
        after=then,
        before_status=before,
        after_status=after,
        note=note,
    )


# 2.6.0-cu124 -> 2.9.1-cu128: one family (the default index's CUDA moved on).
_CUDA_FIXES = tuple(
    _change(
        ChangeKind.NEW if before is Status.MISSING else ChangeKind.FIX,
        cell,
        before,
        Status.XPASS if before is Status.XFAIL else Status.PASS,
        "cuda",
    )
    for cell, before in (
        ("catalog:cond.simple/non_strict[cpu]", Status.ERROR),
        # missing -> pass: invoke_subgraph did not exist in 2.6.0, so it is new, not fixed
        *(
            (f"catalog:invoke_subgraph.simple/{m}[cpu]", Status.MISSING)
            for m in ("aot", "non_strict", "pre_dispatch", "retrace")
        ),
        ("catalog:scan.simple/retrace[cpu]", Status.TIMEOUT),
        ("catalog:scan.simple/serialize[cpu]", Status.ERROR),
        ("catalog:while_loop.simple/serialize[cpu]", Status.XFAIL),
        ("upstream:while_loop.simple/serialize[cpu]", Status.XFAIL),
    )
)


def realistic_report() -> Report:
    """Five targets over three builds, seven cases, five modes, two devices."""
    return Report.from_cells(
        targets=TARGETS,
        cells=_cells(),
        behaviours=BUILTIN,
        skipped_inputs=(
            SkippedInput(
                path="reports/junit/2.4.1-cu121.xml",
                reason=(
                    "not well-formed XML (line 1, column 0): the session was killed "
                    "before it wrote the file; rerun nox -s 'matrix(2.4.1-cu121)'"
                ),
            ),
        ),
    )


def realistic_facts() -> Facts:
    """The facts of ``realistic_report()``, written by hand."""
    cells = _cells()
    return Facts(
        since=_since(TARGETS, cells),
        changes=(
            # A fix listed first: the renderers put regressions first anyway.
            _change(
                ChangeKind.FIX,
                "catalog:invoke_subgraph.simple/serialize[cpu]",
                Status.ERROR,
                Status.PASS,
            ),
            _change(
                ChangeKind.REGRESSION,
                "catalog:map.simple/pre_dispatch[cpu]",
                Status.PASS,
                Status.FAIL,
            ),
            _change(
                ChangeKind.REGRESSION,
                "catalog:scan.simple/serialize[cpu]",
                Status.PASS,
                Status.CRASH,
            ),
            *_CUDA_FIXES,
            # missing -> error: the case appeared in 2.9.1, failing; nothing regressed
            _change(
                ChangeKind.NEW,
                "catalog:invoke_subgraph.simple/serialize[cpu]",
                Status.MISSING,
                Status.ERROR,
                "cuda",
            ),
        ),
        behaviours=tuple(_behaviour_row(b) for b in BUILTIN),
        inventory=_inventory(),
        signatures=_signatures(cells),
    )


HOSTILE = "</script><script>alert(1)</script> | `tick` <img src=x onerror=alert(2)> & *b* _i_"


def hostile_report() -> Report:
    """Every text field the data can carry, full of Markdown and HTML metacharacters."""
    bad_target = TargetInfo(
        id="2.6.0-cu124",
        version=Version("2.6.0"),
        build="cu124",
        torch_version="2.6.0+cu124",
        source_file=f"reports/{HOSTILE}.xml",
        properties=(
            (str(SuiteProp.AOT_STRICT), "true"),
            (str(SuiteProp.HOP_DB), f"unavailable: {HOSTILE}"),
            (str(SuiteProp.PYTHON), f"3.12 {HOSTILE}"),
        ),
        registered_hops=("cond", f"evil|hop<{HOSTILE}>"),
    )
    broken = TargetInfo(
        id="2.7.0-cpu",
        version=Version("2.7.0"),
        build="cpu",
        torch_version="",
        source_file="reports/junit/2.7.0-cpu.xml",
        env_error=f"ImportError: {HOSTILE}\nsecond line",
    )
    cid = CellId(Source.CATALOG, "evil|hop`x`", "v<1>|*", Mode.SERIALIZE, Device.CPU)
    behaviour = Behaviour(
        id=f"evil.{HOSTILE}",
        hop="evil*",
        mode="serialize",
        sentence=f"It does {HOSTILE}.",
        exception="RuntimeError",
        message="alert",
        links=(f"javascript:alert(3)//{HOSTILE}", "https://example.org/?a=1&b=<2>"),
        origin="user",
    )
    cell = Cell(
        target="2.6.0-cu124",
        id=cid,
        status=Status.XFAIL,
        behaviours=(behaviour.id,),
        error_type=f"Runtime|Error<{HOSTILE}>",
        message=f"{HOSTILE}\nline two with ``` and \\| and ]]>",
        signature=f"RuntimeError: {HOSTILE}",
        properties=((str(Prop.ERROR_MESSAGE), HOSTILE), (f"key{HOSTILE}", HOSTILE)),
    )
    return Report.from_cells(
        targets=(bad_target, broken),
        cells=(cell,),
        behaviours=(behaviour,),
        skipped_inputs=(SkippedInput(path=f"x{HOSTILE}.xml", reason=HOSTILE),),
    )


def hostile_facts() -> Facts:
    """The facts of ``hostile_report()``: hostile text in every field too."""
    behaviour = hostile_report().behaviours[0]
    cid = hostile_report().rows[0].id
    return Facts(
        since=(RowSince(cell=cid, build="cu124", since=None),),
        changes=(
            Change(
                kind=ChangeKind.REGRESSION,
                build=f"cu|{HOSTILE}",
                cell=cid,
                before=f"a{HOSTILE}",
                after="2.6.0-cu124",
                before_status=Status.PASS,
                after_status=Status.XFAIL,
            ),
        ),
        behaviours=(
            BehaviourRow(
                behaviour=behaviour,
                verdicts=(
                    ("2.6.0-cu124", Verdict.REPRODUCED),
                    ("2.7.0-cpu", Verdict.NOT_APPLICABLE),
                ),
                first_seen="2.6.0-cu124",
                last_seen="2.6.0-cu124",
                absent_since=None,
                still_present=True,
                cells=(f"2.6.0-cu124/{cid}",),
            ),
        ),
        inventory=(
            InventoryRow(hop=f"evil|hop<{HOSTILE}>", registered_in=("2.6.0-cu124",), covered=False),
        ),
        signatures=(
            SignatureRow(
                signature=f"RuntimeError: {HOSTILE}", count=1, cells=(f"2.6.0-cu124/{cid}",)
            ),
        ),
    )


def empty_report() -> Report:
    """No inputs at all: the renderers must still produce a valid page."""
    return Report(targets=(), rows=(), behaviours=())


def check_golden(
    name: str, text: str, env: Mapping[str, str] = os.environ, directory: Path = GOLDEN_DIR
) -> None:
    """Compare ``text`` with ``tests/data/golden/<name>``; ``UPDATE_GOLDEN=1`` rewrites it."""
    path = directory / name
    if env.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    if not path.is_file():
        raise AssertionError(f"{path} does not exist; create it with {UPDATE_ENV}=1 pytest {name}")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="rendered",
                n=2,
            )
        )
        raise AssertionError(
            f"rendered output differs from {path}; if the change is intended, rerun "
            f"with {UPDATE_ENV}=1 and review the diff\n{diff[:6000]}"
        )


def read_report(
    paths: Sequence[str],
    behaviours: tuple[Behaviour, ...] = BUILTIN,
    overrides: TargetOverrides | None = None,
) -> Report:
    """The report ``python -m compat report`` builds from ``paths``: load, then build."""
    return build_report(load_inputs(paths, overrides), behaviours)


BENCH = Path(__file__).parent.parent / "bench"


def bench_module(name: str) -> Any:
    """``bench/<name>.py`` as a module: what a benchmark and its test share is written once."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_report(folder: Path, targets: int) -> Report:
    """The report of ``targets`` synthetic targets of 720 cells each (60 cases x 6 modes x
    2 devices), written as suite JUnit by bench/bench_report.py into ``folder`` and read back."""
    bench = bench_module("bench_report")
    files = [bench.write_target(folder, i, 60, 6, 2) for i in range(targets)]
    return read_report([str(f) for f in files])


# --- #18's modes and sources, as the suite writes them ---------------------------------------

COVERAGE_TARGETS = ("2.6.0-cpu", "2.9.1-cpu")
SPECIALISED = (
    "export specialised the batch dimension: the program takes no other batch size\n"
    "args[0].0 specialised to 3"
)
_SUPPORTED = f"{EXPECT_EXPORTDB_SUPPORTED}: SUPPORTED"
_UNSUPPORTED = f"{EXPECT_EXPORTDB_UNSUPPORTED}: NOT_SUPPORTED_YET"
_COVERAGE_MODES = (Mode.AOT, Mode.SERIALIZE, Mode.DYNAMIC, Mode.AOTI)
_NOT_YET = ("torch._dynamo.exc.UserError", "Dynamic control flow is not supported at the moment")
_SERDE_COND = ("torch._export.serde.serialize.SerializeError", "Unable to serialize node cond_0")
_TOO_OLD = "the case needs torch 2.7 or newer: a scan that carries a dict; this is torch 2.6.0+cpu"

# A case's cells: its properties on every cell, and per (mode, target) how the cell went where
# it did not simply pass: a status, an (error type, message), and properties of its own.
_Outcome = tuple[Status, tuple[str, str] | None, Mapping[str, str]]
_COVERAGE: tuple[tuple[str, Mapping[str, str], Mapping[tuple[Mode, str], _Outcome]], ...] = (
    (
        "catalog:cond.simple",
        {Prop.SINCE: "2.4"},
        {
            (Mode.DYNAMIC, "2.6.0-cpu"): (
                Status.PASS,
                None,
                {Prop.DYNAMIC_DIMS: "args[0].0 dynamic"},
            ),
            (Mode.DYNAMIC, "2.9.1-cpu"): (
                Status.PASS,
                None,
                {Prop.DYNAMIC_DIMS: "args[0].0 dynamic"},
            ),
            (Mode.AOTI, "2.6.0-cpu"): (Status.PASS, None, {Prop.COMPILE_SECONDS: "31.2"}),
            (Mode.AOTI, "2.9.1-cpu"): (Status.PASS, None, {Prop.COMPILE_SECONDS: "12.5"}),
        },
    ),
    (
        # the batch stays dynamic in 2.6.0; 2.9.1's export specialises it: a regression
        "catalog:cond.fixed_batch",
        {},
        {
            (Mode.DYNAMIC, "2.6.0-cpu"): (
                Status.PASS,
                None,
                {Prop.DYNAMIC_DIMS: "args[0].0 dynamic, args[1].0 specialised to 4"},
            ),
            (Mode.DYNAMIC, "2.9.1-cpu"): (
                Status.FAIL,
                ("AssertionError", SPECIALISED),
                {Prop.DYNAMIC_DIMS: "args[0].0 specialised to 3, args[1].0 specialised to 4"},
            ),
            (Mode.AOTI, "2.6.0-cpu"): (Status.PASS, None, {Prop.COMPILE_SECONDS: "45.6"}),
            (Mode.AOTI, "2.9.1-cpu"): (Status.PASS, None, {Prop.COMPILE_SECONDS: "20.1"}),
        },
    ),
    (
        # its public API came in 2.7: 2.6.0 is too old for it, so its 2.9.1 pass is new
        "catalog:scan.dict_carry",
        {Prop.SINCE: "2.7"},
        {
            (mode, "2.6.0-cpu"): (
                Status.MISSING,
                None,
                {Prop.GAP: "release too old", Prop.REASON: _TOO_OLD},
            )
            for mode in _COVERAGE_MODES
        },
    ),
    (
        # declared supported; 2.9.1's serialize errors
        "exportdb:cond.cond_branch_class_method",
        {Prop.EXPECTATION: _SUPPORTED, Prop.GRAPH_HOPS: "cond"},
        {(Mode.SERIALIZE, "2.9.1-cpu"): (Status.ERROR, _SERDE_COND, {})},
    ),
    (
        # declared not supported yet: fails in 2.6.0 as declared, passes in 2.9.1 but in dynamic
        "exportdb:cond.dynamic_shape_if_guard",
        {Prop.EXPECTATION: _UNSUPPORTED},
        {
            **{(mode, "2.6.0-cpu"): (Status.ERROR, _NOT_YET, {}) for mode in _COVERAGE_MODES},
            (Mode.DYNAMIC, "2.9.1-cpu"): (Status.ERROR, _NOT_YET, {}),
        },
    ),
    ("exportdb:map.map_over_dict", {Prop.EXPECTATION: _SUPPORTED, Prop.GRAPH_HOPS: "map_impl"}, {}),
    ("user:cond.my_model", {}, {}),
)
# (case, target) of no cell at all: the example is not in that release's ExportDB.
_ABSENT = frozenset({("exportdb:map.map_over_dict", "2.6.0-cpu")})


def _coverage_result(cell: CellId, common: Mapping[str, str], outcome: _Outcome) -> CellResult:
    """One cell as the suite's body writes it (suites.body._result): error cells carry their
    type, first lines and signature, the testcase message is the signature."""
    status, error, own = outcome
    props = {str(k): v for k, v in {**common, **own}.items()}
    message = ""
    if error is not None:
        error_type, text = error
        message = signature(error_type, text)
        props |= {
            Prop.ERROR_TYPE.value: error_type,
            Prop.ERROR_MESSAGE.value: text,
            Prop.SIGNATURE.value: message,
        }
    elif status is Status.MISSING:
        message = props[Prop.REASON.value]
    if status not in (Status.MISSING, Status.SKIP):
        props[Prop.SAMPLES.value] = "2"
    return make_result(cell, status, 0.5, props, message, message)


def write_coverage_junit(folder: Path, *, aoti: bool = True) -> Path:
    """The suite's JUnit of two cpu targets over #18's modes and sources, written by the
    suite's own writer into ``folder``: dynamic (a specialised batch), aoti (compile times,
    left out with ``aoti=False``), a case too old for 2.6.0, ExportDB's claims (one declared
    supported that errors in 2.9.1, one not supported yet that passes there), and a user case."""
    modes = _COVERAGE_MODES if aoti else tuple(m for m in _COVERAGE_MODES if m is not Mode.AOTI)
    for target in COVERAGE_TARGETS:
        version = target.split("-")[0]
        results = []
        for case, common, outcomes in _COVERAGE:
            source, _, rest = case.partition(":")
            hop, _, variant = rest.partition(".")
            if (case, target) in _ABSENT:
                continue
            for mode in modes:
                outcome = outcomes.get((mode, target), (Status.PASS, None, {}))
                cell = CellId(Source(source), hop, variant, mode, Device.CPU)
                results.append(_coverage_result(cell, common, outcome))
        properties = (
            (SuiteProp.SCHEMA.value, SCHEMA_VERSION),
            (SuiteProp.TARGET.value, target),
            (SuiteProp.TORCH_VERSION.value, f"{version}+cpu"),
            (SuiteProp.BUILD.value, "cpu"),
            (SuiteProp.DEVICES.value, "cpu"),
            (SuiteProp.AOT_STRICT.value, "true" if version == "2.6.0" else "false"),
            (SuiteProp.HOP_DB.value, "importable"),
            (SuiteProp.REGISTERED_HOPS.value, "cond,map_impl,scan,while_loop"),
        )
        suite = Testsuite(f"hop-suite[{target}]", properties, tuple(r.testcase() for r in results))
        write_junit(folder / f"{target}.xml", junit_document([suite], suite.name))
    return folder


def coverage_report(folder: Path, *, aoti: bool = True) -> Report:
    """``write_coverage_junit``'s files, read back as ``python -m compat report`` reads them."""
    return read_report([str(write_coverage_junit(folder, aoti=aoti))])
