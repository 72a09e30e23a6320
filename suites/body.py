"""The one test body: run one case in one mode on one device, return its CellResult."""

from __future__ import annotations

import copy
import functools
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from suites import aoti, dynamic, modes
from suites.behaviours import resolve_status
from suites.cases import Case, Sample
from suites.exportdb import graph_hops
from suites.gaps import resolve_gap
from suites.groups import PUBLIC_EXPORT, SHARED_EXPORT
from suites.results import CellResult, make_result
from suites.schema import REPRO_STATUSES, Device, Mode, Prop, Source, Status
from suites.scratch import resolve_scratch
from suites.scrub import scrub_credentials
from suites.signature import signature

MAX_MESSAGE_LINES = 5
MAX_MESSAGE_CHARS = 600
MAX_DETAIL_CHARS = 4000


def qualified_name(exc_type: type[BaseException]) -> str:
    """``module.Class``, or just ``Class`` for builtins."""
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


def first_lines(message: str) -> str:
    """The first few non-empty lines of ``message``, capped in length."""
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    text = "\n".join(lines[:MAX_MESSAGE_LINES])
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _traceback_end(text: str) -> str:
    """The end of ``text`` from a line start, at most MAX_DETAIL_CHARS: where a traceback ends."""
    if len(text) <= MAX_DETAIL_CHARS:
        return text
    cut = text[-MAX_DETAIL_CHARS:]
    return "…\n" + cut[cut.find("\n") + 1 :]


def _reset_torch() -> None:
    # Like the seed's dynamo TestCase: no compiled state leaks from one cell into the next.
    torch._dynamo.reset()
    torch.manual_seed(0)


def leaked_state() -> str | None:
    """What a cell left behind in the interpreter's global state, or None when clean."""
    # A HOP that fails half-way can leave e.g. a vmap level pushed; every later
    # cell in this interpreter would then fail for a reason not its own.
    C = torch._C
    checks = (
        (
            "a functorch transform is still active",
            lambda: C._functorch.peek_interpreter_stack() is not None,
        ),
        ("a torch dispatch mode is still active", lambda: C._len_torch_dispatch_stack() > 0),
        ("a torch function mode is still active", lambda: C._len_torch_function_stack() > 0),
        ("grad mode was left disabled", lambda: not torch.is_grad_enabled()),
        ("autocast was left enabled", lambda: torch.is_autocast_enabled()),
        ("inference mode was left enabled", lambda: torch.is_inference_mode_enabled()),
    )
    for what, check in checks:
        try:
            if check():
                return what
        except AttributeError:  # an older torch without this probe
            continue
    return None


@dataclass
class _Tally:
    """One cell's outcome while its samples run (private and mutable: filled step by step)."""

    notes: modes.Notes
    samples: int = 0
    seconds: float = 0.0
    mismatch: str | None = None
    error: Exception | None = None
    step: str = ""
    skip: str | None = None

    @property
    def open(self) -> bool:
        return self.error is None and self.mismatch is None and self.skip is None

    def fail(self, step: str, error: Exception) -> None:
        self.step, self.error = step, error


# A mode that makes an export of its own: (module, sample, notes) -> its program.
Deriver = Callable[[torch.nn.Module, Sample, modes.Notes], modes.Derived]


def run_cell(
    case: Case, mode: Mode, device: Device, env: Mapping[str, str] | None = None
) -> CellResult:
    """Export ``case`` in ``mode`` on ``device``, run eager and exported, compare."""
    return run_unit(case, (mode,), device, env)[0]


def own_derivers(case: Case, device: Device, env: Mapping[str, str]) -> dict[Mode, Deriver]:
    """The modes that share no export, each with what derives its program for this case."""
    scratch = resolve_scratch(env)
    return {
        Mode.DYNAMIC: functools.partial(dynamic.derive, shapes=case.dynamic_shapes),
        Mode.AOTI: aoti.Compiler(scratch, f"{case.id}-{device.value}").derive,
    }


def run_unit(
    case: Case, unit: Sequence[Mode], device: Device, env: Mapping[str, str] | None = None
) -> list[CellResult]:
    """The cells of ``case`` in the modes of one unit (suites.groups), one result per mode.

    ``env`` names the scratch folder (``suites.scratch``); None: this process's environment.
    """
    missing: dict[Mode, CellResult] = {}
    tallies: dict[Mode, _Tally] = {}
    for mode in unit:
        notes = {Prop.EXPECTATION.value: case.expectation(mode, device)}
        if case.since:
            notes[Prop.SINCE] = case.since
        gap = resolve_gap(case, mode)
        if gap is None:
            tallies[mode] = _Tally(notes)
        else:
            props = {**notes, Prop.REASON: gap.reason, Prop.GAP: gap.gap.value}
            cell = case.cell(mode, device)
            missing[mode] = make_result(cell, Status.MISSING, 0.0, props, gap.reason)
    if tallies:
        own = own_derivers(case, device, os.environ if env is None else env)
        _run_samples(case, device, tallies, own)
        if Mode.SERIALIZE in tallies and Mode.RETRACE in tallies:
            # Evidence for serialize's behaviours: did the program run before save/load?
            tallies[Mode.SERIALIZE].notes[Prop.BEFORE_SAVE] = _outcome(tallies[Mode.RETRACE])
    return [missing[m] if m in missing else _result(case, m, device, tallies[m]) for m in unit]


def _outcome(tally: _Tally) -> str:
    """``pass``, ``fail`` or ``error``: how a cell's samples went so far."""
    if tally.error is not None:
        return "error"
    return "fail" if tally.mismatch is not None else "pass"


def _run_samples(
    case: Case, device: Device, tallies: dict[Mode, _Tally], own: Mapping[Mode, Deriver]
) -> None:
    """Build ``case`` once, then derive, run and compare every open mode, sample by sample."""
    start = time.perf_counter()
    try:
        _reset_torch()
        module, samples = case.build(device.value)
    except Exception as exc:  # a case that cannot be built fails in every mode it was asked for
        for tally in tallies.values():
            tally.fail("build", exc)
        return
    finally:
        for tally in tallies.values():
            tally.seconds += time.perf_counter() - start
    for index, sample in enumerate(samples):
        live = [m for m, t in tallies.items() if t.open]
        if not live:
            break
        kwargs = dict(sample.kwargs)
        notes = {m: tallies[m].notes for m in live}
        for mode, derived in _derive(live, module, sample, notes, own).items():
            if case.source is Source.EXPORTDB and derived.program is not None:
                # The HOPs the program really holds, beside the one ExportDB's tags name.
                notes[mode][Prop.GRAPH_HOPS] = ",".join(graph_hops(derived.program))
            _compare(tallies[mode], derived, module, sample.args, kwargs)
            if tallies[mode].error is not None or tallies[mode].mismatch is not None:
                notes[mode][Prop.SAMPLE] = str(index)  # a repro picks this sample


def _derive(
    live: Sequence[Mode],
    module: torch.nn.Module,
    sample: Sample,
    notes: dict[Mode, modes.Notes],
    own: Mapping[Mode, Deriver],
) -> dict[Mode, modes.Derived]:
    """Each live mode's program for one sample, no export made twice (suites.modes).

    Every export gets its own copy of the sample: tracing may leave things on its
    inputs (strict export in 2.6 and 2.9 leaves a fake tensor set as an attribute
    of an input tensor), and the next mode must start from the sample as built.
    """
    public = [m for m in live if m in PUBLIC_EXPORT]
    shared = [m for m in live if m in SHARED_EXPORT]
    out = modes.derive_public(public, module, *_fresh(sample), notes)
    out.update(modes.derive_shared(shared, module, *_fresh(sample), notes))
    out.update((m, own[m](module, Sample(*_fresh(sample)), notes[m])) for m in live if m in own)
    return {m: out[m] for m in live}


def _fresh(sample: Sample) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A deep copy of a sample's args and kwargs (one copy: aliasing between them is kept)."""
    args, kwargs = copy.deepcopy((sample.args, dict(sample.kwargs)))
    return args, kwargs


def _compare(
    tally: _Tally,
    derived: modes.Derived,
    module: torch.nn.Module,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """Run eager and the derived program of one sample; note the outcome in ``tally``."""
    tally.seconds += derived.seconds
    if derived.error is not None:
        tally.fail(derived.step, derived.error)
        return
    if derived.skip is not None or derived.verdict is not None:
        tally.skip, tally.mismatch = derived.skip, derived.verdict
        return
    start = time.perf_counter()
    try:
        tally.mismatch = modes.run_and_compare(module, derived.runnable(), args, kwargs)
        tally.samples += 1
    except Exception as exc:
        tally.fail("run", exc)
    for rerun in derived.more:  # further inputs of the same sample (dynamic: a second size)
        if not tally.open:
            break
        try:
            found = modes.run_and_compare(module, derived.runnable(), rerun.args, rerun.kwargs)
        except Exception as exc:
            tally.fail(rerun.step, exc)
            break
        tally.mismatch = None if found is None else f"at {rerun.label}: {found}"
    tally.seconds += time.perf_counter() - start


def _result(case: Case, mode: Mode, device: Device, tally: _Tally) -> CellResult:
    """The CellResult of one measured cell: status, behaviours, error signature."""
    notes = tally.notes
    notes[Prop.SAMPLES] = str(tally.samples)
    if tally.skip is not None:
        notes[Prop.REASON] = tally.skip
        return make_result(case.cell(mode, device), Status.SKIP, tally.seconds, notes, tally.skip)
    error, mismatch = tally.error, tally.mismatch
    if error is not None:
        # Scrubbed whole: every cut below (first lines, signature, traceback end) may split a URL.
        raw, error_type = Status.ERROR, qualified_name(type(error))
        full = scrub_credentials(str(error))
        detail = _traceback_end(scrub_credentials("".join(traceback.format_exception(error))))
        notes[Prop.STEP] = tally.step
    elif mismatch is not None:
        raw, error_type, full = Status.FAIL, "AssertionError", scrub_credentials(mismatch)
        detail = _traceback_end(full)
    else:
        raw, error_type, full, detail = Status.PASS, None, "", ""

    status, behaviours = resolve_status(raw, case.hop, mode.value, error_type, full, notes)
    if status not in REPRO_STATUSES:  # what a repro needs, only where there is one to write
        for fact in dynamic.FACTS:
            notes.pop(fact, None)
    message = ""
    if error_type is not None:
        message = signature(error_type, full)
        notes[Prop.ERROR_TYPE] = error_type
        notes[Prop.ERROR_MESSAGE] = first_lines(full)
        notes[Prop.SIGNATURE] = message
    notes[Prop.BEHAVIOURS] = ",".join(behaviours)
    return make_result(case.cell(mode, device), status, tally.seconds, notes, message, detail)
