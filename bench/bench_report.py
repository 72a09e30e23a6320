"""Benchmark (not a test): what ``python -m compat report`` costs at the matrix sizes users have.

Writes suite-format JUnit files with the suite's own writer (``suites.junit_xml``,
indented, error cells with a traceback as their text, as the suite writes them)
for N targets of 720 cells each into a temporary folder: 40 targets is a big
real matrix (13 releases x 3 builds), 13 all releases since 2.3, 3 the default
matrix, each of 60 cases x 6 modes x 2 devices. Then, for
each N, fresh processes run ``python -m compat report`` (its ``main``: load,
build, facts, the five renderers, the write) and report its wall time after
imports, the wall time of the whole process (interpreter start and imports
included) and the peak RSS; the median of ``--repeat`` runs is printed, with the
growth from 13 to 40 targets. Last, 200 targets x 500 cases x 5 modes (one
device) are timed once as a linearity check: their time over the 40-target
time, against their cell count over the 40-target count. No limits are
asserted here: compare the ratios measured in one run (this VM's speed drifts).

    python bench/bench_report.py                  # 3, 13, 40 targets; median of 3; linearity
    python bench/bench_report.py --no-linearity   # skip the 200-target check
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suites.junit_xml import Testcase, Testsuite, junit_document, suite_name  # noqa: E402
from suites.schema import Device, Mode, Prop, Status  # noqa: E402

HOPS = (
    "while_loop",
    "cond",
    "map",
    "scan",
    "associative_scan",
    "flex_attention",
    "invoke_subgraph",
    "auto_functionalize",
    "while_loop_stack_output",
    "flex_attention_backward",
)
ERRORS = (
    ("torch._export.serde.serialize.SerializeError", "Unable to serialize node {hop}_0"),
    ("torch._dynamo.exc.Unsupported", "unsupported HigherOrderOperator {hop} at 0x7f3a2c1d9e40"),
    ("RuntimeError", "Expected all tensors to be on the same device, line 17"),
)
CARRIED = "carried_inputs must be a tuple, got <class 'list'>"
TRACE = "".join(
    f'  File "/venv/lib/python3.11/site-packages/torch/_dynamo/m{i}.py", line {i * 7}, in f{i}\n'
    f"    return f{i + 1}(*args, **kwargs)\n"
    for i in range(30)
)


def _cell(hop: str, variant: str, source: str, mode: str, device: str, roll: float) -> Testcase:
    props = [("hop", hop), ("variant", variant), ("source", source), ("mode", mode)]
    props.append(("device", device))
    message = detail = ""
    if hop.startswith("while_loop") and mode == "serialize" and roll < 0.5:
        status = Status.XFAIL
        props += [
            (Prop.BEHAVIOURS, "while_loop.serde-carried-inputs"),
            (Prop.ERROR_TYPE, "RuntimeError"),
            (Prop.ERROR_MESSAGE, CARRIED),
            (Prop.SIGNATURE, f"RuntimeError: {CARRIED}"),
            (Prop.CARRIED_BEFORE, "tuple"),
            (Prop.CARRIED_AFTER, "list"),
        ]
        message, detail = f"RuntimeError: {CARRIED}", f"Traceback:\n{TRACE}RuntimeError: {CARRIED}"
    elif roll < 0.88:
        status = Status.PASS
        props += [(Prop.SAMPLES, "3"), (Prop.STRICT, "false")]
    elif roll < 0.95:
        status = Status.ERROR
        error_type, text = ERRORS[int(roll * 1000) % len(ERRORS)]
        text = text.format(hop=hop)
        short = error_type.rsplit(".", 1)[-1]
        props += [
            (Prop.ERROR_TYPE, error_type),
            (Prop.ERROR_MESSAGE, text),
            (Prop.SIGNATURE, f"{short}: {text.replace('0x7f3a2c1d9e40', '<addr>')}"),
            (Prop.SAMPLES, "1"),
        ]
        message, detail = f"{short}: {text}", f"Traceback:\n{TRACE}{short}: {text}"
    elif roll < 0.975:
        status = Status.SKIP
        props += [(Prop.REASON, "upstream op info is onlyCUDA"), (Prop.EXPECTATION, "onlyCUDA")]
        message = "upstream op info is onlyCUDA"
    else:
        status = Status.MISSING
        props += [(Prop.REASON, f"no {hop} in this torch")]
        message = f"no {hop} in this torch"
    props.insert(5, (Prop.STATUS, status.value))
    return Testcase(
        classname=f"{source}.{hop}.{variant}",
        name=f"{mode}[{device}]",
        status=status,
        seconds=round(0.05 + roll, 3),
        properties=tuple((str(k), v) for k, v in props),
        message=message,
        detail=detail,
    )


def write_target(folder: Path, index: int, cases: int, modes: int, devices: int) -> Path:
    """One target's JUnit file; statuses drift slowly from target to target."""
    build = ("cpu", "cu128", "cu130")[index % 3]
    version = f"2.{3 + index // 3}.{index % 3}"
    target = f"{version}-{build}"
    rnd = random.Random(1_000_003 + index)
    base = random.Random(7)
    cells = []
    for c in range(cases):
        hop = HOPS[c % len(HOPS)]
        variant = f"v{c // len(HOPS)}"
        source = "upstream" if c % 3 == 0 else "catalog"
        for mode in list(Mode)[:modes]:
            for device in list(Device)[:devices]:
                roll = base.random()
                if rnd.random() < 0.03:  # this target differs from the baseline
                    roll = rnd.random()
                cells.append(_cell(hop, variant, source, mode.value, device.value, roll))
    props = (
        ("schema_version", "1"),
        ("suite_version", "0.1.0"),
        ("target", target),
        ("torch_version", f"{version}+{build}"),
        ("build", build),
        ("python", "3.11.7"),
        ("platform", "linux-x86_64"),
        ("devices", ",".join(d.value for d in list(Device)[:devices])),
        ("aot_strict", "false"),
        ("registered_hops", ",".join(sorted(HOPS))),
        ("hop_db", "importable"),
    )
    name = suite_name(target, None)
    path = folder / f"{target}.xml"
    path.write_bytes(junit_document([Testsuite(name, props, tuple(cells))], name))
    return path


def child(files: list[str], out: str) -> dict[str, Any]:
    """In a fresh process: ``python -m compat report FILES --out OUT``, timed after imports."""
    import io

    from compat.__main__ import main

    started = time.perf_counter()
    code = main(["report", *files, "--out", out], stdout=io.StringIO(), stderr=io.StringIO())
    done = time.perf_counter()
    written = [p for p in Path(out).glob("*/*") if p.is_file()]
    report = json.loads(next(p for p in written if p.name == "report.json").read_text())
    return {
        "code": code,
        "pipeline": done - started,
        "cells": sum(len(row["results"]) for row in report["cells"]),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": sum(p.stat().st_size for p in written),
    }


def measure(files: list[Path], repeat: int) -> dict[str, Any]:
    """The median of ``repeat`` fresh processes, each timed from outside too."""
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps([str(f) for f in files]), out],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(done.stdout)
            result["process"] = time.perf_counter() - started
            runs.append(result)
    keys = ("pipeline", "process", "peak_mb")
    median = {k: statistics.median(r[k] for r in runs) for k in keys}
    return {**runs[0], **median}


def _line(n: int, r: dict[str, Any]) -> str:
    return (
        f"{n:>4} targets  {r['cells']:>7} cells  report {r['pipeline']:5.2f} s  "
        f"process {r['process']:5.2f} s  peak RSS {r['peak_mb']:4.0f} MB  "
        f"out {r['bytes'] / 1e6:5.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="3,13,40", help="comma-separated target counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median shows")
    parser.add_argument("--no-linearity", action="store_true", help="skip 200 x 500 x 5")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child[0]), args.child[1])))
        return
    sizes = [int(n) for n in args.targets.split(",")]
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = [write_target(folder, i, 60, 6, 2) for i in range(max(sizes))]
        print(f"{sum(f.stat().st_size for f in made) / 1e6:.1f} MB of JUnit for {len(made)}")
        for n in sizes:
            results[n] = measure(made[:n], args.repeat)
            print(_line(n, results[n]), flush=True)
        if 13 in results and 40 in results:
            a, b = results[13], results[40]
            print(
                f"13 -> 40 targets: pipeline x{b['pipeline'] / a['pipeline']:.2f}, "
                f"peak x{b['peak_mb'] / a['peak_mb']:.2f}, cells x{b['cells'] / a['cells']:.2f}"
            )
    if args.no_linearity or 40 not in results:
        return
    with tempfile.TemporaryDirectory() as tmp:
        big = [write_target(Path(tmp), i, 500, 5, 1) for i in range(200)]
        r = measure(big, 1)
        print(_line(200, r))
        base = results[40]
        print(
            f"linearity: 200 x 500 x 5 takes x{r['pipeline'] / base['pipeline']:.1f} the "
            f"40-target pipeline for x{r['cells'] / base['cells']:.1f} the cells (no limit)"
        )


if __name__ == "__main__":
    main()
