"""Benchmark (not a test): merge + render a synthetic matrix, time and peak memory.

Writes suite-format JUnit files (laid out as ``python -m suites`` writes
them: indented, one property per line) for N targets x C cases x M modes
into a temporary folder, then, for each N, runs one fresh subprocess that
loads them (``compat.load.resolve_report``) and renders JSON, JUnit and,
when importable, Markdown and HTML. It prints seconds per stage, peak RSS
after each stage, and how time grows from one N to the next, measured in
one run.

    python bench/bench_report.py                       # 50, 100, 200 targets x 500 x 5
    python bench/bench_report.py --targets 20 --cases 100 --no-md-html
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import xml.sax.saxutils
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = ("aot", "pre_dispatch", "retrace", "serialize", "non_strict")
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
REGISTERED = ",".join(
    sorted(
        {
            *HOPS,
            "map_impl",
            "auto_functionalized",
            "out_dtype",
            "run_with_rng_state",
            "strict_mode",
            "tag_activation_checkpoint",
            "with_effects",
            "wrap_with_set_grad_enabled",
        }
    )
)
ERRORS = (
    (
        "torch._export.serde.serialize.SerializeError",
        "Unable to serialize node {hop}_0: not supported",
    ),
    ("torch._dynamo.exc.Unsupported", "unsupported HigherOrderOperator {hop} at 0x7f3a2c1d9e40"),
    ("RuntimeError", "Expected all tensors to be on the same device, line 17"),
)


CARRIED = "carried_inputs must be a tuple, got <class 'list'>"
TRACE = 'Traceback (most recent call last):\n  File "x.py", line 1\n'


def _attr(value: str) -> str:
    return xml.sax.saxutils.escape(value, {'"': "&quot;"})


def _prop(name: str, value: str, indent: str) -> str:
    return f'{indent}<property name="{name}" value="{_attr(value)}" />\n'


def _case(
    source: str, hop: str, variant: str, mode: str, time: str, props: list[tuple[str, str]]
) -> str:
    return (
        f'    <testcase classname="{source}.{hop}.{variant}" name="{mode}[cpu]" time="{time}">\n'
        "      <properties>\n" + "".join(_prop(k, v, "        ") for k, v in props)
    ) + "      </properties>\n"


def write_target(folder: Path, index: int, cases: int, modes: int, seed: int) -> Path:
    """One target's JUnit file; statuses drift slowly from target to target."""
    build = ("cpu", "cu128")[index % 2]
    version = f"2.{index // 20}.{(index // 2) % 10}"
    target = f"{version}-{build}"
    rnd = random.Random(seed * 1_000_003 + index)
    base = random.Random(seed)
    parts: list[str] = []
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for c in range(cases):
        hop = HOPS[c % len(HOPS)]
        variant = f"v{c // len(HOPS)}"
        source = "upstream" if c % 3 == 0 else "catalog"
        for mode in MODES[:modes]:
            roll = base.random()
            if rnd.random() < 0.02:  # this target differs from the baseline
                roll = rnd.random()
            props = [("hop", hop), ("variant", variant), ("source", source), ("mode", mode)]
            props.append(("device", "cpu"))
            element = ""
            if hop.startswith("while_loop") and mode == "serialize" and roll < 0.5:
                status = "xfail"
                props += [
                    ("behaviours", "while_loop.serde-carried-inputs"),
                    ("error_type", "RuntimeError"),
                    ("error_message", CARRIED),
                    ("signature", "RuntimeError: " + CARRIED),
                    ("carried_inputs_before", "tuple"),
                    ("carried_inputs_after", "list"),
                ]
                element = f'      <skipped type="xfail" message="{_attr(CARRIED)}" />\n'
            elif roll < 0.90:
                status = "pass"
                props += [("samples", "3"), ("strict", "false")]
            elif roll < 0.95:
                status = "error"
                error_type, message = ERRORS[int(roll * 1000) % len(ERRORS)]
                message = message.format(hop=hop)
                short = error_type.rsplit(".", 1)[-1]
                props += [
                    ("error_type", error_type),
                    ("error_message", message),
                    ("signature", f"{short}: {message.replace('0x7f3a2c1d9e40', '<addr>')}"),
                    ("samples", "1"),
                ]
                text = _attr(f"{TRACE}{short}: {message}")
                head = _attr(f"{short}: {message}")
                element = f'      <error type="error" message="{head}">{text}</error>\n'
            elif roll < 0.975:
                status = "skip"
                props += [("reason", "upstream op info is onlyCUDA"), ("expectation", "onlyCUDA")]
                element = '      <skipped type="skip" message="upstream op info is onlyCUDA" />\n'
            else:
                status = "missing"
                props += [("reason", f"no {hop} in torch {version}")]
                element = f'      <skipped type="missing" message="no {hop} in {version}" />\n'
            props.insert(5, ("status", status))
            counts["tests"] += 1
            counts["errors" if status == "error" else "skipped"] += status != "pass"
            time = f"0.0{c % 97:02d}"
            parts.append(_case(source, hop, variant, mode, time, props) + element)
            parts.append("    </testcase>\n")
    suite_props = [
        ("schema_version", "1"),
        ("suite_version", "0.1.0"),
        ("target", target),
        ("torch_version", f"{version}+{build}"),
        ("build", build),
        ("python", "3.11.7"),
        ("platform", "linux-x86_64"),
        ("devices", "cpu"),
        ("aot_strict", "false"),
        ("registered_hops", REGISTERED),
        ("hop_db", "importable"),
    ]
    attrs = " ".join(f'{k}="{v}"' for k, v in counts.items())
    text = (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<testsuites name="hop-suite[{target}]" {attrs}>\n'
        f'  <testsuite name="hop-suite[{target}]" {attrs}>\n'
        "    <properties>\n"
        + "".join(_prop(k, v, "      ") for k, v in suite_props)
        + "    </properties>\n"
        + "".join(parts)
        + "  </testsuite>\n</testsuites>\n"
    )
    path = folder / f"{target}.xml"
    path.write_text(text, encoding="utf-8")
    return path


CHILD = r"""
import cProfile, io, json, pstats, resource, sys, time
sys.path.insert(0, {root!r})
from compat.load import resolve_report
from compat.render_json import iter_json
from compat.render_junit import iter_junit_report

files, md_html, profile = {files!r}, {md_html!r}, {profile!r}


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


times, cpu, peaks, sizes = {{}}, {{}}, {{}}, {{}}
profiler = cProfile.Profile() if profile else None
t0, c0 = time.perf_counter(), time.process_time()
if profiler:
    profiler.enable()
report = resolve_report(files)
if profiler:
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue(), file=sys.stderr)
times["load (parse + model + facts)"] = time.perf_counter() - t0
cpu["load (parse + model + facts)"] = time.process_time() - c0
peaks["load (parse + model + facts)"] = peak_mb()
# JSON and JUnit stream in pieces, as compat.artifacts writes them; md/html are one string.
renderers = [("render_json", iter_json), ("render_junit", iter_junit_report)]
if md_html:
    try:
        from compat.render_md import render_markdown
        renderers.append(("render_md", lambda r: (render_markdown(r),)))
    except ImportError:
        pass
    try:
        from compat.render_html import render_html
        renderers.append(("render_html", lambda r: (render_html(r),)))
    except ImportError:
        pass
for name, render in renderers:
    t0, c0 = time.perf_counter(), time.process_time()
    sizes[name] = sum(len(piece.encode("utf-8")) for piece in render(report))
    times[name] = time.perf_counter() - t0
    cpu[name] = time.process_time() - c0
    peaks[name] = peak_mb()
print(json.dumps({{"times": times, "cpu": cpu, "peaks": peaks, "sizes": sizes,
                  "cells": len(report.cells)}}))
"""


def measure(files: list[str], md_html: bool, profile: bool) -> dict[str, Any]:
    code = CHILD.format(root=str(ROOT), files=files, md_html=md_html, profile=profile)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark child failed:\n{proc.stderr}")
    if profile:
        print(proc.stderr)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="50,100,200", help="comma-separated target counts")
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--modes", type=int, default=5)
    parser.add_argument(
        "--no-md-html", action="store_true", help="skip the Markdown/HTML renderers"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the load stage")
    args = parser.parse_args()
    counts = sorted(int(n) for n in args.targets.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = [
            str(write_target(folder, i, args.cases, args.modes, args.seed))
            for i in range(max(counts))
        ]
        size = sum(os.path.getsize(p) for p in paths)
        print(
            f"wrote {len(paths)} files, {size / 1e6:.0f} MB, "
            f"{args.cases * args.modes} testcases each, in {time.perf_counter() - t0:.1f} s"
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        results: dict[int, dict[str, Any]] = {}
        for n in counts:
            results[n] = r = measure(paths[:n], not args.no_md_html, args.profile)
            print(
                f"\n{n} targets, {r['cells']} cells: {sum(r['times'].values()):.2f} s "
                f"merge+render ({sum(r['cpu'].values()):.2f} s CPU), "
                f"peak RSS {max(r['peaks'].values()):.0f} MB"
            )
            for stage, seconds in r["times"].items():
                out = f"{r['sizes'][stage] / 1e6:6.1f} MB out" if stage in r["sizes"] else ""
                print(
                    f"  {stage:<30} {seconds:6.2f} s  {r['cpu'][stage]:6.2f} s CPU  "
                    f"peak so far {r['peaks'][stage]:5.0f} MB  {out}"
                )
        if len(counts) > 1:
            print("\ngrowth of merge+render (ratios measured in this run):")
            for a, b in itertools.pairwise(counts):
                wall = sum(results[b]["times"].values()) / sum(results[a]["times"].values())
                cpu = sum(results[b]["cpu"].values()) / sum(results[a]["cpu"].values())
                print(
                    f"  {a} -> {b} targets (input x{b / a:.1f}): time x{wall:.2f}, CPU x{cpu:.2f}"
                )


if __name__ == "__main__":
    main()
