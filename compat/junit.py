"""JUnit files -> cell results: the one module that reads JUnit XML.

Each file is parsed once with ``xml.etree.ElementTree``. Two flavours come in:

- the suite's own files (a ``schema_version`` suite property): every
  testcase is a cell named by ``CellId`` and carries its facts as
  properties;
- foreign files, i.e. pytest's ``--junitxml`` output of the seed file or of
  upstream ``test/export/test_hop.py``, read through ``junitparser.xunit2``,
  the flavour pytest writes. Their names are split back into mode, HOP,
  variant, device and dtype against the HOP and variant names known, since
  both contain underscores (``resolve_foreign``, once every file's names
  are known: ``known_names``).

Counts are never taken from a file's root: only testcases count. Writing
JUnit is ``suites.junit_xml``'s job, for the suite and the report alike.
"""

from __future__ import annotations

import enum
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from xml.parsers.expat import errors as expat_errors

import junitparser
from junitparser import xunit2

from compat.errors import JUnitFileError
from suites.behaviours import BUILTIN, Behaviour
from suites.schema import (
    JUNIT_ELEMENT,
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

# HOP names seen in torch's hop_db and torch._ops._higher_order_ops (2.3-2.15), which
# include every hop of the suite's catalogue (a test checks). Foreign test names are split
# against these and the names every suite file of the same report states (``known_names``).
# fmt: off
KNOWN_HOPS: frozenset[str] = frozenset({
    "_export_tracepoint", "aoti_call_delegate", "associative_scan", "auto_functionalize",
    "auto_functionalized", "auto_functionalized_v2", "autograd_function_apply", "call_torchbind",
    "cond", "custom_function_call", "dynamo_bypassing_wrapper", "executorch_call_delegate",
    "flat_apply", "flex_attention", "flex_attention_backward", "flex_gemm", "foreach_map",
    "graphsafe_run_with_rng_state", "hints_wrapper", "inductor_compiled_code",
    "inline_asm_elementwise", "invoke_leaf_function", "invoke_quant", "invoke_quant_packed",
    "invoke_subgraph", "local_map_hop", "map", "map_impl", "out_dtype", "print", "register_hook",
    "run_and_save_rng_state", "run_const_graph", "run_dtensor_rng_op", "run_with_rng_state",
    "scan", "strict_mode", "switch", "tag_activation_checkpoint", "trace_wrapped", "while_loop",
    "while_loop_stack_output", "with_effects", "wrap", "wrap_activation_checkpoint",
    "wrap_with_autocast", "wrap_with_set_grad_enabled",
})
# fmt: on
# hop_db's variant names: every op info upstream tests (2.4-2.15) is variant "simple" but
# flex_attention_backward's second, "explicit_buffers" (2.12 on), as pytest's names and
# the suite's runs show. A test name whose HOP no list knows, a HOP newer than this code,
# is split before the shortest of these it ends in, rather than read as one long HOP name.
HOP_DB_VARIANTS: frozenset[str] = frozenset({"simple"})

# pytest module names whose tests assert the built-in "expected" behaviours
# (the seed wraps while_loop/serialize in assertRaisesRegex): there a pass
# means the behaviour was reproduced. Later upstream test_hop.py files run
# the same names without the assertion, so a pass there is a pass.
REFERENCE_MODULES: frozenset[str] = frozenset({"test_hop_seed"})

DEFAULT_VARIANT = "default"  # upstream op infos with an empty variant_test_name

_FOREIGN_MODES: dict[str, Mode] = {
    "aot": Mode.AOT,
    "pre_dispatch": Mode.PRE_DISPATCH,
    "retrace": Mode.RETRACE,
    "serialize": Mode.SERIALIZE,
}
_FOREIGN_NAME = re.compile(
    r"^test_(?P<mode>aot|pre_dispatch|retrace|serialize)_export_(?P<body>.+?)"
    r"_(?P<device>[a-z]+)(?P<index>\d*)_(?P<dtype>[a-z]+\d+|bool)$"
)
_EXCEPTION = re.compile(r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?::[ \t]?(?P<message>.*))?$", re.S)
_BARE_TYPE_ENDINGS = ("Error", "Exception", "Interrupt", "Exit")
_NOT_RAISED = re.compile(r"\b(?P<type>\w+) not raised\b")
_PYTEST_ERROR_LINE = re.compile(r"^E\s+(?P<line>.+)$", re.M)
# HOP and variant names as the suite writes them (suites/upstream.py makes them so): a
# name with a URL, credentials, spaces or control characters in it is not a case.
_NAME_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+\-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RUN_ATTRIBUTES = ("timestamp", "hostname")
# pytest nests one <testsuite> in <testsuites>; anything far deeper is not a JUnit writer's.
_MAX_NESTING = 8
_ENTITY_ERRORS = frozenset(
    code for message, code in expat_errors.codes.items() if "entit" in message
)


class Flavour(enum.StrEnum):
    SUITE = "suite"  # written by ``python -m suites``
    FOREIGN = "foreign"  # pytest --junitxml of the seed / upstream test_hop.py


@dataclass(frozen=True)
class FileCell:
    """One cell as a JUnit file states it, before it is tied to a target."""

    id: CellId
    status: Status
    error_type: str | None
    message: str | None
    signature: str | None
    properties: tuple[tuple[str, str], ...]  # every testcase property, in file order
    time: float
    asserted: tuple[str, ...] = ()  # behaviour ids the test itself asserted (reference files)


@dataclass(frozen=True)
class RawCase:
    """A foreign testcase before its name is split (that needs every file's HOP list)."""

    classname: str
    name: str
    time: float
    properties: tuple[tuple[str, str], ...]
    result: str | None  # "failure" | "error" | "skipped" | None
    type: str
    message: str
    text: str


@dataclass(frozen=True)
class SuiteDoc:
    """One ``<testsuite>``: its properties and what its testcases hold."""

    name: str
    flavour: Flavour
    properties: tuple[tuple[str, str], ...]  # suite properties in file order
    cells: tuple[FileCell, ...] = ()  # suite flavour: already interpreted
    raw: tuple[RawCase, ...] = ()  # foreign flavour: see ``resolve_foreign``
    env_error: str | None = None
    left_out: tuple[str, ...] = ()  # "classname::name (why)" of testcases that are not cells
    # The standard <testsuite> attributes that say where and when it ran, when present.
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class KnownNames:
    """The HOP and variant names foreign test names are split against."""

    hops: frozenset[str] = KNOWN_HOPS
    variants: frozenset[str] = HOP_DB_VARIANTS


_KNOWN = KnownNames()


@dataclass(frozen=True)
class ForeignCells:
    cells: tuple[FileCell, ...]
    env_error: str | None
    left_out: tuple[str, ...]


# ---------------------------------------------------------------- reading


def parse_junit(data: bytes, where: str) -> tuple[SuiteDoc, ...]:
    """The testsuites of one JUnit document, in document order; ``where`` names it in errors."""
    if not data or data.isspace():
        raise JUnitFileError(
            f"{where} is empty: the run that should have written it probably died; "
            "re-run that target or leave the file out."
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise JUnitFileError(_not_xml(data, where, err)) from err
    if root.tag not in ("testsuites", "testsuite"):
        tag = root.tag.rpartition("}")[2]  # without its namespace
        raise JUnitFileError(
            f"{where} is XML but not JUnit (its root element is <{tag}>, not "
            "<testsuites> or <testsuite>): pass files written by `python -m suites` "
            "or by `pytest --junitxml`."
        )
    if _nesting(root) > _MAX_NESTING:
        raise JUnitFileError(
            f"{where} nests <testsuite> elements more than {_MAX_NESTING} deep, which no "
            "JUnit writer does: re-create it with `python -m suites` or `pytest --junitxml`, "
            "or leave the file out."
        )
    docs = []
    for suite in root.iter("testsuite"):
        props = tuple(
            (p.get("name", ""), p.get("value", "")) for p in suite.findall("properties/property")
        )
        if any(key == SuiteProp.SCHEMA for key, _ in props):
            _check_schema(props, where)
            doc = _suite_doc(suite, props)
        else:
            doc = _foreign_doc(suite, props)
        attributes = tuple((a, suite.get(a, "")) for a in _RUN_ATTRIBUTES if suite.get(a))
        docs.append(replace(doc, attributes=attributes))
    return tuple(docs)


def _not_xml(data: bytes, where: str, err: ET.ParseError) -> str:
    """Why ``data`` is not XML, as a sentence that says what is really wrong."""
    code = getattr(err, "code", None)
    if code in _ENTITY_ERRORS:
        # expat expands no external entity (it could read other files) and stops entities
        # that grow a few bytes into gigabytes (billion laughs): the file is refused, not cut.
        return (
            f"{where} uses XML entities that are not expanded ({err}), which neither pytest "
            "nor `python -m suites` writes: re-create it with one of them, or leave the file out."
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        if code == expat_errors.codes[expat_errors.XML_ERROR_INVALID_TOKEN]:
            return (
                f"{where} is not valid UTF-8 (byte 0x{data[bad.start]:02x} at offset "
                f"{bad.start}): it was written in another encoding or damaged; re-write it "
                "as UTF-8, or leave the file out."
            )
    return (
        f"{where} is not well-formed XML ({err}): it was probably cut off while "
        "being written; re-run that target or leave the file out."
    )


def _nesting(root: ET.Element) -> int:
    """How many levels of ``<testsuite>`` lie below the root (counted up to one past the limit)."""
    level, suites = 0, [root]
    while suites and level <= _MAX_NESTING:
        suites = [s for parent in suites for s in parent.iterfind("testsuite")]
        level += bool(suites)
    return level


def _check_schema(props: tuple[tuple[str, str], ...], where: str) -> None:
    schema = dict(props)[SuiteProp.SCHEMA]
    if schema != SCHEMA_VERSION:
        raise JUnitFileError(
            f"{where} was written with JUnit schema {schema!r}, this reader knows "
            f"{SCHEMA_VERSION!r}: report it with the torch-hop-compat that ran the suite."
        )


_RESULT_TAGS = ("failure", "error", "skipped")
_STATUS_BY_ELEMENT: dict[tuple[str, str], Status] = {
    (tag, type_): status for status, (tag, type_) in JUNIT_ELEMENT.items() if tag is not None
}


def _suite_doc(suite: ET.Element, props: tuple[tuple[str, str], ...]) -> SuiteDoc:
    """A suite-format testsuite: each testcase a cell, an env-error, or left out."""
    cells: list[FileCell] = []
    left_out: list[str] = []
    env_error: str | None = None
    seen: set[CellId] = set()
    for case in suite.findall("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        cprops = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        result = next((e for e in case if e.tag in _RESULT_TAGS), None)
        status = _status(cprops.get(Prop.STATUS, ""), result)
        message = cprops.get(Prop.ERROR_MESSAGE) or _message_of(result)
        if status is Status.ENV_ERROR:
            env_error = message or "env-error"
            continue
        label = printable(f"{classname}::{name}")
        try:
            cell_id = CellId.from_junit(classname, name)
        except ValueError:
            cell_id = None
        if cell_id is None or not plain_cell_id(cell_id):
            left_out.append(f"{label} (not named like a cell)")
            continue
        if cell_id in seen:
            left_out.append(f"{label} (a second result for this cell)")
            continue
        seen.add(cell_id)
        cells.append(
            FileCell(
                id=cell_id,
                status=status,
                error_type=cprops.get(Prop.ERROR_TYPE) or None,
                message=message,
                signature=cprops.get(Prop.SIGNATURE) or None,  # the suite's own, never recomputed
                properties=tuple(cprops.items()),
                time=_time(case.get("time")),
            )
        )
    return SuiteDoc(
        name=suite.get("name", ""),
        flavour=Flavour.SUITE,
        properties=props,
        cells=tuple(cells),
        env_error=env_error,
        left_out=tuple(left_out),
    )


def _status(value: str, result: ET.Element | None) -> Status:
    """The status property's, else the one the result element spells."""
    try:
        return Status(value)
    except ValueError:
        pass
    if result is None:
        return Status.PASS
    found = _STATUS_BY_ELEMENT.get((result.tag, result.get("type", "")))
    if found is not None:
        return found
    return {"failure": Status.FAIL, "error": Status.ERROR}.get(result.tag, Status.SKIP)


def _message_of(result: ET.Element | None) -> str | None:
    if result is None:
        return None
    return result.get("message") or "".join(result.itertext()).strip() or None


def _time(value: str | None) -> float:
    """Seconds as the file states them; 0.0 when missing, unreadable, negative or not finite."""
    # A bad duration says nothing about the cell's result, so the cell stays; NaN and
    # infinity would make report.json invalid JSON.
    try:
        seconds = float(value) if value else 0.0
    except ValueError:
        return 0.0
    return seconds if math.isfinite(seconds) and seconds >= 0 else 0.0


def printable(text: str) -> str:
    """``text`` with control characters (newlines, ANSI escapes) written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def plain_cell_id(cell_id: CellId) -> bool:
    """Whether a cell id's HOP and variant are plain names, fit to print and link."""
    return bool(_NAME_PART.fullmatch(cell_id.hop) and _NAME_PART.fullmatch(cell_id.variant))


def _foreign_doc(suite: ET.Element, props: tuple[tuple[str, str], ...]) -> SuiteDoc:
    # Each testcase read as junitparser's xunit2 flavour (the one pytest writes): its final
    # results and its properties. Only the suite's own testcases: nested suites are read as
    # suites of their own, and junitparser's iteration into them recurses once per level.
    raw = tuple(_raw_case(case) for case in suite.findall("testcase"))
    return SuiteDoc(name=suite.get("name", ""), flavour=Flavour.FOREIGN, properties=props, raw=raw)


_RESULT_KIND: tuple[tuple[type[junitparser.Element], str], ...] = (
    (junitparser.Failure, "failure"),
    (junitparser.Error, "error"),
    (junitparser.Skipped, "skipped"),
)


def _raw_case(elem: ET.Element) -> RawCase:
    case: xunit2.TestCase = xunit2.TestCase.fromelem(elem)  # type: ignore[no-untyped-call]
    results = case.result
    first = results[0] if results else None
    kind = next((k for cls, k in _RESULT_KIND if isinstance(first, cls)), None)
    props = case.properties()  # type: ignore[no-untyped-call]
    return RawCase(
        classname=case.classname or "",
        name=case.name or "",
        time=_time(elem.get("time")),  # junitparser's float() takes neither "abc" nor "nan"
        properties=tuple((p.name or "", p.value or "") for p in props),
        result=kind,
        type=(first.type or "") if first is not None else "",
        message=(first.message or "") if first is not None else "",
        text=(first.text or "") if first is not None else "",
    )


def known_names(docs: Iterable[SuiteDoc]) -> KnownNames:
    """``KNOWN_HOPS`` and ``HOP_DB_VARIANTS``, and what the suite files among ``docs`` name.

    A suite file names the HOPs its torch registers and the hop and variant of each
    of its cases; an upstream case's variant is hop_db's own name for it.
    """
    hops, variants = set(KNOWN_HOPS), set(HOP_DB_VARIANTS)
    for doc in docs:
        registered = dict(doc.properties).get(SuiteProp.REGISTERED_HOPS, "")
        hops.update(h.strip() for h in registered.split(",") if h.strip())
        hops.update(cell.id.hop for cell in doc.cells)
        variants.update(c.id.variant for c in doc.cells if c.id.source is Source.UPSTREAM)
    return KnownNames(frozenset(hops), frozenset(variants))


def resolve_foreign(
    raw: Sequence[RawCase],
    known: KnownNames | Iterable[str] = _KNOWN,
    behaviours: tuple[Behaviour, ...] = BUILTIN,
) -> ForeignCells:
    """Split pytest test names into cells and map pytest outcomes to statuses.

    ``known`` is the names to split against (``known_names``), or HOP names alone.
    """
    if not isinstance(known, KnownNames):
        known = KnownNames(hops=frozenset(known))
    cells: list[FileCell] = []
    left_out: list[str] = []
    collection_errors: list[str] = []
    seen: set[CellId] = set()
    for case in raw:
        label = printable(f"{case.classname}::{case.name}")
        if case.result == "error" and case.message == "collection failure":
            collection_errors.append(_pytest_error_line(case.text) or case.message)
            continue
        m = _FOREIGN_NAME.match(case.name)
        if m is None:
            left_out.append(f"{label} (not a HOP export test)")
            continue
        try:
            device = Device(m["device"])
        except ValueError:
            left_out.append(f"{label} (device {m['device']!r} is not one this report knows)")
            continue
        hop, variant = split_hop(m["body"], known)
        cell_id = CellId(Source.UPSTREAM, hop, variant, _FOREIGN_MODES[m["mode"]], device)
        if not plain_cell_id(cell_id):  # a URL or credentials in a test name is no case id
            left_out.append(
                f"{printable(case.classname)}::test_{m['mode']}_export_... (its HOP or variant "
                "is not a plain name; not shown, as it may hold a URL or credentials)"
            )
            continue
        if cell_id in seen:  # another dtype of the same cell: the first one counts
            left_out.append(f"{label} (a second result for {cell_id})")
            continue
        seen.add(cell_id)
        module = case.classname.rsplit(".", 1)[0] if "." in case.classname else ""
        reference = module.rsplit(".", 1)[-1] in REFERENCE_MODULES
        cells.append(_foreign_cell(cell_id, m["dtype"], case, reference, behaviours))
    env_error = None
    if collection_errors and not cells:
        env_error = "the test file could not be collected: " + "; ".join(collection_errors)
    elif collection_errors:
        left_out.extend(f"collection error: {e}" for e in collection_errors)
    return ForeignCells(tuple(cells), env_error, tuple(left_out))


def split_hop(body: str, known: KnownNames) -> tuple[str, str]:
    """``while_loop_stack_output_simple`` -> ``("while_loop_stack_output", "simple")``.

    pytest's name joins an op info's name and variant with ``_``, and both may hold
    ``_``. The split taken is, in this order: the whole body when it is a known HOP
    (no variant); a known HOP and a known variant; a known variant after an unknown
    HOP (a HOP newer than every list: hop_db's variants are few, its HOPs many and
    often named after older ones, as ``while_loop_stack_output``); a known HOP and an
    unknown variant. Within each, the longest HOP. Else the whole body, no variant.
    """
    if body in known.hops:
        return body, DEFAULT_VARIANT
    ranked = []
    for i in (i for i in range(1, len(body) - 1) if body[i] == "_"):
        hop, variant = body[:i], body[i + 1 :]
        # 3: both known, 2: the variant, 1: the HOP, 0: neither (never taken)
        rank = 2 * (variant in known.variants) + (hop in known.hops)
        ranked.append((rank, len(hop), hop, variant))
    best = max(ranked, default=None)
    if best is None or best[0] == 0:
        return body, DEFAULT_VARIANT
    return best[2], best[3]


def pytest_outcomes(raw: Sequence[RawCase]) -> str:
    """``44 tests: 35 passed, 9 xfailed``: what pytest made of a file's testcases, counted."""
    counts = Counter(
        "xfailed"
        if case.result == "skipped" and case.type == "pytest.xfail"
        else {None: "passed", "failure": "failed", "error": "errors"}.get(case.result, "skipped")
        for case in raw
    )
    kinds = ("passed", "failed", "errors", "skipped", "xfailed")
    shown = ", ".join(f"{counts[k]} {k}" for k in kinds if counts[k])
    return f"{len(raw)} tests: {shown}" if shown else "0 tests"


def _pytest_error_line(text: str) -> str | None:
    lines = [m["line"].strip() for m in _PYTEST_ERROR_LINE.finditer(text)]
    return lines[-1] if lines else None


def _original_exception(text: str) -> str | None:
    for m in _PYTEST_ERROR_LINE.finditer(text):
        found, _ = split_exception(m["line"])
        if found is not None and found != "Exception":
            return found
    return None


def split_exception(text: str) -> tuple[str | None, str]:
    """``"RuntimeError: boom"`` -> ``("RuntimeError", "boom")``; no type -> ``(None, text)``."""
    m = _EXCEPTION.match(text.strip())
    if m is None or (m["message"] is None and not m["type"].endswith(_BARE_TYPE_ENDINGS)):
        return None, text
    return m["type"], (m["message"] or "").strip()


@dataclass(frozen=True)
class _Outcome:
    """What a pytest testcase's result says of its cell."""

    status: Status
    error_type: str | None = None
    message: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # properties beyond the result's own
    asserted: tuple[str, ...] = ()


def _foreign_cell(
    cell_id: CellId,
    dtype: str,
    case: RawCase,
    reference: bool,
    behaviours: tuple[Behaviour, ...],
) -> FileCell:
    expected = [
        b
        for b in behaviours
        if b.expected and b.is_exception and b.applies_to(cell_id.hop, cell_id.mode)
    ]
    if case.result is None:
        outcome = _passed(expected, reference)
    elif case.result == "skipped":
        outcome = _skipped(case)
    else:
        outcome = _failed(case, expected)
    status, error_type, message = outcome.status, outcome.error_type, outcome.message
    sig = (
        signature(error_type, message or "") if error_type and status is not Status.XFAIL else None
    )
    props: dict[str, str] = {
        Prop.HOP: cell_id.hop,
        Prop.VARIANT: cell_id.variant,
        Prop.SOURCE: cell_id.source,
        Prop.MODE: cell_id.mode,
        Prop.DEVICE: cell_id.device,
        Prop.STATUS: status,
        "dtype": dtype,
        **dict(outcome.extra),
        **dict(case.properties),
    }
    if error_type is not None:
        props[Prop.ERROR_TYPE] = error_type
    if message is not None and status is not Status.SKIP:
        props[Prop.ERROR_MESSAGE] = message
    if sig is not None:
        props[Prop.SIGNATURE] = sig
    return FileCell(
        cell_id, status, error_type, message, sig, tuple(props.items()), case.time, outcome.asserted
    )


def _passed(expected: list[Behaviour], reference: bool) -> _Outcome:
    if not (reference and expected):
        return _Outcome(Status.PASS)
    # The reference asserts the exception: its test passes when it is raised.
    asserted = tuple(b.id for b in expected)
    error_type = expected[0].exception
    return _Outcome(
        Status.XFAIL,
        error_type,
        f"raised as the reference asserts ({error_type}, known behaviour "
        f"{expected[0].id}); the test passed",
        ((Prop.EXPECTATION, "raises: " + ", ".join(asserted)),),
        asserted,
    )


def _skipped(case: RawCase) -> _Outcome:
    if case.type == "pytest.xfail":
        expectation = "xfail: " + (case.message or "expected failure")
        return _Outcome(
            Status.XFAIL, None, case.message or None, ((Prop.EXPECTATION, expectation),)
        )
    reason = case.message or case.text.strip() or "skipped"
    return _Outcome(Status.SKIP, None, case.message or None, ((Prop.REASON, reason),))


def _failed(case: RawCase, expected: list[Behaviour]) -> _Outcome:
    error_type, message = split_exception(case.message or _pytest_error_line(case.text) or "")
    if error_type in (None, "Exception"):
        # torch's OpInfo tests re-raise as a bare Exception with the sample
        # input appended; pytest's "E" lines still name the original type.
        error_type = _original_exception(case.text) or error_type
    if case.message.startswith("[XPASS(strict)]") or "Unexpected success" in case.message:
        return _Outcome(Status.XPASS, None, message or None)
    not_raised = _NOT_RAISED.search(case.message)
    if (
        expected
        and not_raised is not None
        and any((b.exception or "").rsplit(".", 1)[-1] == not_raised["type"] for b in expected)
    ):
        # The assertion that the known exception is raised failed: it is fixed.
        expectation = "raises: " + ", ".join(b.id for b in expected)
        return _Outcome(
            Status.XPASS, None, case.message or None, ((Prop.EXPECTATION, expectation),)
        )
    if case.result == "failure" and (error_type or "").endswith("AssertionError"):
        return _Outcome(Status.FAIL, error_type, message or None)
    return _Outcome(Status.ERROR, error_type, message or None)
