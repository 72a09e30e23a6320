"""The one test body: run one case in one mode on one device, return its CellResult."""

from __future__ import annotations

import contextlib
import time
import traceback

import torch

from suites import modes
from suites.behaviours import resolve_status
from suites.cases import Case, module_of
from suites.results import CellResult, make_result
from suites.schema import Device, Mode, Prop, Status
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


def warm_up() -> None:
    """Export a trivial module once, so the first case's time is its own, not dynamo's imports."""
    with contextlib.suppress(Exception):  # a torch that cannot export shows it in every cell
        torch.export.export(module_of(lambda x: x + 1), (torch.ones(2),))
    _reset_torch()


def run_cell(case: Case, mode: Mode, device: Device) -> CellResult:
    """Export ``case`` in ``mode`` on ``device``, run eager and exported, compare."""
    cell = case.cell(mode, device)
    start = time.perf_counter()
    notes: dict[str, str] = {Prop.EXPECTATION: case.expectation(mode, device)}
    reason = case.available() or modes.missing_reason(mode)
    if reason is not None:
        return make_result(cell, Status.MISSING, 0.0, {**notes, Prop.REASON: reason}, reason)

    samples_run = 0
    mismatch: str | None = None
    error: BaseException | None = None
    try:
        _reset_torch()
        module, samples = case.build(device.value)
        for sample in samples:
            kwargs = dict(sample.kwargs)
            ep = modes.EXPORTERS[mode](module, sample.args, kwargs, notes)
            mismatch = modes.run_and_compare(module, ep, sample.args, kwargs)
            samples_run += 1
            if mismatch is not None:
                break
    except Exception as exc:  # a HOP that fails to export is a result, not an error
        error = exc
    seconds = time.perf_counter() - start
    notes[Prop.SAMPLES] = str(samples_run)

    if error is not None:
        # Scrubbed whole: every cut below (first lines, signature, traceback end) may split a URL.
        raw, error_type = Status.ERROR, qualified_name(type(error))
        full = scrub_credentials(str(error))
        detail = _traceback_end(scrub_credentials("".join(traceback.format_exception(error))))
    elif mismatch is not None:
        raw, error_type, full = Status.FAIL, "AssertionError", scrub_credentials(mismatch)
        detail = _traceback_end(full)
    else:
        raw, error_type, full, detail = Status.PASS, None, "", ""

    status, behaviours = resolve_status(raw, case.hop, mode.value, error_type, full, notes)
    message = ""
    if error_type is not None:
        message = signature(error_type, full)
        notes[Prop.ERROR_TYPE] = error_type
        notes[Prop.ERROR_MESSAGE] = first_lines(full)
        notes[Prop.SIGNATURE] = message
    notes[Prop.BEHAVIOURS] = ",".join(behaviours)
    return make_result(cell, status, seconds, notes, message, detail)
