"""JUnit files <-> cell results: the one module that reads or writes JUnit XML.

Two flavours come in:

- the suite's own files (a ``schema_version`` suite property): every
  testcase is a cell named by ``CellId`` and carries its facts as
  properties. One file is read in one expat pass with a callback per start
  tag (``_Scanner``). A big matrix holds 500k testcases in 200 files, and
  parsing its 287 MB with expat alone takes longer than the whole report may:
  the files of one report are read through a ``ReadCache`` instead, where a
  testcase whose bytes (less its time) were seen before is not parsed again,
  and one seen at the same place in the previous file is found by comparing
  bytes (see ``_read_fast``; ``read_suites`` gives such suites as
  ``SuiteCells``, without an object per cell);
- foreign files, i.e. pytest's ``--junitxml`` output of the seed file or of
  upstream ``test/export/test_hop.py`` (a few hundred testcases), read
  through ``junitparser.xunit2``, the flavour pytest writes. Their names
  are split back into mode, HOP, variant, device and dtype against a list
  of known HOP names, since HOP names contain underscores.

Out goes one writer for both the merged report and the env-error files:
a plain string builder (junitparser needs ~0.2 ms per testcase to build
one, far too slow for a merged matrix), which writes a big suite from
columns (``CaseColumns``: each testcase's text around its time, made once
per distinct testcase by ``CaseText``); tests read its output back with
``junitparser.xunit2``. Counts are always rebuilt from the testcases.

Everything here is pure: bytes in, values out; values in, text out.
"""

from __future__ import annotations

import collections
import enum
import functools
import itertools
import operator
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast
from xml.parsers import expat

import junitparser
from junitparser import xunit2

from compat.errors import JUnitFileError
from compat.scrub import scrub_credentials
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

# HOP names seen in torch's hop_db and torch._ops._higher_order_ops (2.4-2.13).
# Foreign test names are matched against the longest of these; the registered
# HOPs of every suite file in the same report are added at load time.
KNOWN_HOPS: frozenset[str] = frozenset(
    {
        "_export_tracepoint",
        "aoti_call_delegate",
        "associative_scan",
        "auto_functionalize",
        "auto_functionalized",
        "auto_functionalized_v2",
        "autograd_function_apply",
        "call_torchbind",
        "cond",
        "custom_function_call",
        "dynamo_bypassing_wrapper",
        "executorch_call_delegate",
        "flat_apply",
        "flex_attention",
        "flex_attention_backward",
        "foreach_map",
        "graphsafe_run_with_rng_state",
        "hints_wrapper",
        "inductor_compiled_code",
        "inline_asm_elementwise",
        "invoke_leaf_function",
        "invoke_quant",
        "invoke_quant_packed",
        "invoke_subgraph",
        "local_map_hop",
        "map",
        "map_impl",
        "out_dtype",
        "print",
        "register_hook",
        "run_and_save_rng_state",
        "run_const_graph",
        "run_dtensor_rng_op",
        "run_with_rng_state",
        "scan",
        "strict_mode",
        "tag_activation_checkpoint",
        "trace_wrapped",
        "while_loop",
        "while_loop_stack_output",
        "with_effects",
        "wrap",
        "wrap_activation_checkpoint",
        "wrap_with_autocast",
        "wrap_with_set_grad_enabled",
    }
)

# pytest module names whose tests assert the built-in "expected" behaviours
# (the seed wraps while_loop/serialize in assertRaisesRegex): there a pass
# means the behaviour was reproduced. Later upstream test_hop.py files run
# the same names without the assertion, so a pass there is a pass.
REFERENCE_MODULES: frozenset[str] = frozenset({"test_hop_seed"})

DEFAULT_VARIANT = "default"  # upstream op infos with an empty variant_test_name

_RESULT_TAGS = frozenset({"failure", "error", "skipped"})
_K_SCHEMA = SuiteProp.SCHEMA.value
_K_STATUS = Prop.STATUS.value
_K_ERROR_TYPE = Prop.ERROR_TYPE.value
_K_MESSAGE = Prop.ERROR_MESSAGE.value
_K_SIGNATURE = Prop.SIGNATURE.value
_STATUS_BY_VALUE: dict[str, Status] = {s.value: s for s in Status}
_STATUS_BY_ELEMENT: dict[tuple[str, str], Status] = {
    (tag, type_): status for status, (tag, type_) in JUNIT_ELEMENT.items() if tag is not None
}
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
# Characters XML 1.0 cannot carry (ANSI escapes in torch messages, NULs).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Flavour(enum.StrEnum):
    SUITE = "suite"  # written by ``python -m suites``
    FOREIGN = "foreign"  # pytest --junitxml of the seed / upstream test_hop.py


class CellResult(NamedTuple):
    """One cell as a JUnit file states it, before it is tied to a target."""

    id: CellId
    key: tuple[str, str]  # (classname, name) as the suite writes them: a cheap dict key
    status: Status
    error_type: str | None
    message: str | None
    signature: str | None
    properties: tuple[tuple[str, str], ...]  # every testcase property, in file order
    time: float
    asserted: tuple[str, ...] = ()  # behaviour ids the test itself asserted (reference files)


class RawCase(NamedTuple):
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
    cells: tuple[CellResult, ...] = ()  # suite flavour: already interpreted
    raw: tuple[RawCase, ...] = ()  # foreign flavour: see ``resolve_foreign``
    env_error: str | None = None
    left_out: tuple[str, ...] = ()  # "classname::name (why)" of testcases that are not cells


@dataclass(frozen=True)
class SuiteCells:
    """A suite-format testsuite as ``read_suites`` reads it through a ``ReadCache``.

    Each cell is the result it shares with every cell that reads the same (one
    ``CellResult`` object, of time 0.0) and its own time: the files of a big
    matrix are read without an object per cell. Every cell is there once; the
    suite has no env-error and nothing left out (else it is read as a
    ``SuiteDoc``). ``doc()`` is the same suite as ``parse_junit`` gives it.
    """

    name: str
    properties: tuple[tuple[str, str], ...]
    results: Sequence[CellResult]  # per cell
    times: Sequence[float]  # per cell
    flavour: Flavour = Flavour.SUITE

    def doc(self) -> SuiteDoc:
        before_time = map(_BEFORE_TIME, self.results)
        with_time = map(operator.add, before_time, zip(self.times, itertools.repeat(())))
        cells = tuple(map(_new_tuple, itertools.repeat(CellResult), with_time))
        return SuiteDoc(self.name, Flavour.SUITE, self.properties, cells)


_BEFORE_TIME = operator.itemgetter(slice(0, 7))
_new_tuple = tuple.__new__


@dataclass(frozen=True)
class ForeignCells:
    cells: tuple[CellResult, ...]
    env_error: str | None
    left_out: tuple[str, ...]


# ---------------------------------------------------------------- reading


class _Case:
    """A testcase as scanned: its attributes, properties and first result element."""

    __slots__ = ("attrs", "props", "result", "text")

    def __init__(self, attrs: dict[str, str]) -> None:
        self.attrs = attrs
        self.props: dict[str, str] = {}
        self.result: tuple[str, dict[str, str]] | None = None
        self.text: list[str] = []


class _Suite:
    __slots__ = ("cases", "name", "props", "start", "stop")

    def __init__(self, name: str, start: int) -> None:
        self.name = name
        self.props: list[tuple[str, str]] = []
        self.cases: list[_Case] = []
        self.start = start  # byte offsets of its start and end tags in the scanned text
        self.stop = -1


class _NotJUnit(Exception):
    def __init__(self, root: str) -> None:
        self.root = root


class _Scanner:
    """One expat pass over a JUnit document: its testsuites, properties and testcases.

    Expat with a callback per start tag reads a suite file in about half the
    time that building an ElementTree and walking it takes.
    """

    def __init__(self) -> None:
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._root
        self.parser.EndElementHandler = self._end
        self.suites: list[_Suite] = []  # in document (pre-)order, as ElementTree's iter()
        self.cases = 0
        self._open: list[_Suite] = []
        self._case: _Case | None = None

    def parse(self, data: bytes) -> None:
        try:
            self.parser.Parse(data, True)
        finally:
            # The parser holds this scanner's methods and the scanner holds the parser:
            # break the cycle, or it lives until the next garbage collection (none runs
            # while a big matrix is read, see compat.load.gc_paused).
            del self.parser

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        if name not in ("testsuites", "testsuite"):
            raise _NotJUnit(name)
        self.parser.StartElementHandler = self._start
        self._start(name, attrs)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "property":
            case = self._case
            if case is not None:
                case.props[attrs.get("name", "")] = attrs.get("value", "")
            elif self._open:
                self._open[-1].props.append((attrs.get("name", ""), attrs.get("value", "")))
        elif name == "testcase":
            self.cases += 1
            if self._open:
                self._case = _Case(attrs)
                self._open[-1].cases.append(self._case)
        elif name in _RESULT_TAGS:
            case = self._case
            if case is not None and case.result is None:
                case.result = (name, attrs)
                self.parser.CharacterDataHandler = case.text.append
        elif name == "testsuite":
            suite = _Suite(attrs.get("name", ""), self.parser.CurrentByteIndex)
            self.suites.append(suite)
            self._open.append(suite)

    def _end(self, name: str) -> None:
        if name == "testcase":
            self._case = None
        elif name == "testsuite":
            self._open.pop().stop = self.parser.CurrentByteIndex
        elif name in _RESULT_TAGS:
            self.parser.CharacterDataHandler = None


def _scan(data: bytes, where: str) -> _Scanner:
    scanner = _Scanner()
    try:
        scanner.parse(data)
    except expat.ExpatError as err:
        raise JUnitFileError(
            f"{where} is not well-formed XML ({err}): it was probably cut off while "
            "being written; re-run that target or leave the file out."
        ) from err
    except _NotJUnit as err:
        raise JUnitFileError(
            f"{where} is XML but not JUnit (its root element is <{err.root}>, not "
            "<testsuites> or <testsuite>): pass files written by `python -m suites` "
            "or by `pytest --junitxml`."
        ) from None
    return scanner


class ReadCache:
    """Testcases already read, by their bytes less the value of ``time``; for many files.

    A matrix repeats most testcases byte for byte in every target (same case,
    same status, same properties; only the time differs), so the files of one
    report are read as: each testcase's bytes looked up here, and only the ones
    never seen before parsed (see ``_read_fast``). ``limit`` bounds the memory.
    """

    def __init__(self, limit: int = 1 << 16) -> None:
        self.limit = limit
        self.cases: dict[bytes, _Template] = {}
        # The last file's pieces and their templates: the next file of a matrix holds
        # mostly the same testcases in the same order, found by comparing bytes
        # (a memcmp) rather than by hashing them.
        self.last: tuple[list[bytes], list[_Template], bool] = ([], [], False)


def parse_junit(data: bytes, where: str, cache: ReadCache | None = None) -> tuple[SuiteDoc, ...]:
    """The testsuites of one JUnit document; ``where`` names it in errors.

    With a ``cache`` shared by the files of one report, suite-format files are
    read through it; the result is the same as without one.
    """
    return tuple(
        suite.doc() if isinstance(suite, SuiteCells) else suite
        for suite in read_suites(data, where, cache)
    )


def read_suites(
    data: bytes, where: str, cache: ReadCache | None = None
) -> tuple[SuiteDoc | SuiteCells, ...]:
    """``parse_junit``, where suites read through ``cache`` may come as ``SuiteCells``."""
    if not data or data.isspace():
        raise JUnitFileError(
            f"{where} is empty: the run that should have written it probably died; "
            "re-run that target or leave the file out."
        )
    if cache is not None:
        fast = _read_fast(data, where, cache)
        if fast is not None:
            return fast
    scanner = _scan(data, where)
    docs: list[SuiteDoc | SuiteCells] = []
    foreign: list[ET.Element] | None = None
    for index, suite in enumerate(scanner.suites):
        props = tuple(suite.props)
        if any(key == _K_SCHEMA for key, _ in props):
            _check_schema(props, where)
            templates = [_template(case) for case in suite.cases]
            times = [t.time for t in templates]
            docs.append(_suite_doc(suite.name, props, templates, times))
        else:
            # Foreign files are small: read them again, the xunit2 way (see below).
            if foreign is None:
                foreign = list(ET.fromstring(data).iter("testsuite"))
            docs.append(_read_foreign_flavour(foreign[index], suite.name, props))
    return tuple(docs)


def _check_schema(props: tuple[tuple[str, str], ...], where: str) -> None:
    schema = dict(props)[_K_SCHEMA]
    if schema != SCHEMA_VERSION:
        raise JUnitFileError(
            f"{where} was written with JUnit schema {schema!r}, this reader knows "
            f"{SCHEMA_VERSION!r}: report it with the torch-hop-compat that ran the suite."
        )


_CELL, _ENV_ERROR, _NOT_A_CELL = 0, 1, 2


class _Template:
    """What one testcase says, less its time: a cell result, an env-error, or neither."""

    __slots__ = ("fields", "key", "kind", "label", "rest", "result", "text", "time")

    def __init__(
        self,
        kind: int,
        key: tuple[str, str],
        time: float,
        fields: tuple[object, ...] = (),
        text: str = "",
    ) -> None:
        self.kind = kind
        self.key = key  # (classname, name)
        self.label = f"{key[0]}::{key[1]}"
        self.time = time  # its own
        # A CellResult's fields up to its time: every result read from this template
        # shares its ``properties`` tuple object.
        self.fields = fields
        self.result = _new_tuple(CellResult, (*fields, 0.0, ())) if fields else None
        self.text = text  # the env-error message
        self.rest: bytes | None = None  # what follows it up to the next testcase, when not blank


_NO_TEMPLATE = _Template(_NOT_A_CELL, ("", ""), 0.0)  # a placeholder, always replaced
_KIND = operator.attrgetter("kind")
_KEY = operator.attrgetter("key")
_RESULT = operator.attrgetter("result")
_REST = operator.attrgetter("rest")


def _time(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _template(case: _Case) -> _Template:
    """The meaning of one testcase (the hot path's cold half: once per distinct testcase)."""
    get = case.attrs.get
    key = (get("classname", ""), get("name", ""))
    time = _time(get("time"))
    cprops = case.props
    status = _STATUS_BY_VALUE.get(cprops.get(_K_STATUS, ""))
    if status is None:
        status = _status_of_element(case.result)
    if status is Status.ENV_ERROR:
        text = cprops.get(_K_MESSAGE) or _message_of(case) or "env-error"
        return _Template(_ENV_ERROR, key, time, text=text)
    cell_id = _cell_id(*key)
    if cell_id is None:
        return _Template(_NOT_A_CELL, key, time)
    message = cprops.get(_K_MESSAGE) or None
    if message is None and case.result is not None:
        message = _message_of(case)
    fields = (
        cell_id,
        key,
        status,
        cprops.get(_K_ERROR_TYPE) or None,
        message,
        cprops.get(_K_SIGNATURE) or None,  # the suite's own, never recomputed
        tuple(cprops.items()),
    )
    return _Template(_CELL, key, time, fields)


def _suite_doc(
    name: str,
    props: tuple[tuple[str, str], ...],
    templates: Sequence[_Template],
    times: Sequence[float],
    only_cells: bool | None = None,
) -> SuiteDoc | SuiteCells:
    """One suite-format testsuite from its testcases in file order, and their times
    (``only_cells``: ``_only_cells(templates)``, when known)."""
    if only_cells is None:
        only_cells = _only_cells(templates)
    if only_cells:  # the usual file
        return SuiteCells(name, props, list(map(_RESULT, templates)), times)
    cells: list[CellResult] = []
    left_out: list[str] = []
    env_error: str | None = None
    seen: set[tuple[str, str]] = set()
    for template, time in zip(templates, times, strict=True):
        if template.kind == _CELL:
            if template.key in seen:
                left_out.append(f"{template.label} (a second result for this cell)")
                continue
            seen.add(template.key)
            cells.append(_new_tuple(CellResult, (*template.fields, time, ())))
        elif template.kind == _ENV_ERROR:
            env_error = template.text
        else:
            left_out.append(f"{template.label} (not named like a cell)")
    return SuiteDoc(
        name=name,
        flavour=Flavour.SUITE,
        properties=props,
        cells=tuple(cells),
        env_error=env_error,
        left_out=tuple(left_out),
    )


class _NotFast(Exception):
    """The file needs the full reader (it raises the right error, where there is one)."""


_TESTCASE = b"<testcase "
_TIME = b' time="'
_CASE_END = b"</testcase>"
_DECLARATION = re.compile(rb"<\?xml\s[^<>?]*\?>")
_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([^"']*)["']""")


def _read_fast(
    data: bytes, where: str, cache: ReadCache
) -> tuple[SuiteDoc | SuiteCells, ...] | None:
    """Suite-format files, testcase by testcase through ``cache``; None: use the full reader.

    The document is cut at each ``<testcase `` (in well-formed XML without
    comments, CDATA or processing instructions, that string only ever opens a
    testcase element). Each piece, less its time value, is looked up in the
    cache; the unknown ones are parsed in one expat pass; what lies between
    the testcases (the suites, their properties) forms a document of its own,
    parsed by the full reader. So every byte is still checked by expat, once per
    distinct testcase. Anything unusual (a foreign suite, a testcase outside the
    pieces, a time that is no number, XML that is not well-formed, a comment
    between testcases) returns None, and the full reader gives the answer (or
    the error, located in the file).
    """
    try:
        return _read_pieces(data, where, cache)
    except (_NotFast, ValueError, expat.ExpatError, _NotJUnit, JUnitFileError):
        return None


def _read_pieces(
    data: bytes, where: str, cache: ReadCache
) -> tuple[SuiteDoc | SuiteCells, ...] | None:
    pieces = data.split(_TESTCASE)
    head = pieces[0]
    del pieces[0]
    if not pieces:
        return None
    # The hot loop of a big matrix: each testcase's bytes with its time value cut out.
    keys: list[bytes] = []
    times: list[bytes] = []
    add_key, add_time = keys.append, times.append
    for piece in pieces:
        at = piece.find(_TIME) + 7
        if at < 7:
            return None
        end = piece.find(b'"', at)
        if end < 0:
            return None
        add_key(piece[:at] + piece[end:])
        add_time(piece[at:end])
    seconds = list(map(float, times))  # ValueError (e.g. an empty time): the full reader
    templates, only_cells = _templates(keys, cache)
    # What lies between the testcases (the suites, their properties), and where each
    # run of testcases sits in it; usually one run, followed by the closing tags.
    rests: list[bytes | None] = list(map(_REST, templates))
    runs: list[tuple[int, int, int]] = []  # (offset in the skeleton, first, stop)
    skeleton = [head]
    size = len(head)
    first = 0
    if rests[-1] is not None and rests.count(None) == len(rests) - 1:
        runs.append((size, 0, len(rests)))
        skeleton.append(rests[-1])
    else:
        for index, rest in enumerate(rests):
            if rest is not None:
                runs.append((size, first, index + 1))
                skeleton.append(rest)
                size += len(rest)
                first = index + 1
        if first < len(rests):
            runs.append((size, first, len(rests)))
    text = b"".join(skeleton)
    if not _plain_skeleton(text):
        return None
    scanner = _scan(text, where)
    if scanner.cases:
        return None  # a testcase the cuts missed (e.g. "<testcase\n")
    owner = _innermost_suites(scanner.suites, [offset for offset, _, _ in runs])
    if any(suite is None for suite in owner):
        return None  # testcases outside every suite
    docs: list[SuiteDoc | SuiteCells] = []
    for suite in scanner.suites:
        props = tuple(suite.props)
        if not any(key == _K_SCHEMA for key, _ in props):
            return None  # a foreign suite: the full reader
        _check_schema(props, where)
        mine = [(a, b) for (_, a, b), inside in zip(runs, owner, strict=True) if inside is suite]
        if mine == [(0, len(templates))]:
            docs.append(_suite_doc(suite.name, props, templates, seconds, only_cells))
        else:
            docs.append(
                _suite_doc(
                    suite.name,
                    props,
                    [t for a, b in mine for t in templates[a:b]],
                    [t for a, b in mine for t in seconds[a:b]],
                )
            )
    return tuple(docs)


def _templates(keys: list[bytes], cache: ReadCache) -> tuple[list[_Template], bool]:
    """The template of each piece: the last file's where the bytes are the same, else
    the cache's, else parsed (and cached while there is room); and whether they are
    all cells, each of its own cell (``_only_cells``)."""
    last_keys, last_templates, last_only_cells = cache.last
    if len(last_keys) == len(keys):
        templates = last_templates.copy()
        changed = list(itertools.compress(range(len(keys)), map(operator.ne, keys, last_keys)))
    else:
        templates = [_NO_TEMPLATE] * len(keys)
        changed = list(range(len(keys)))
    known = cache.cases
    unknown = {keys[i] for i in changed}.difference(known)
    parsed = _parse_pieces(sorted(unknown)) if unknown else {}
    known.update(itertools.islice(parsed.items(), max(cache.limit - len(known), 0)))
    for i in changed:
        key = keys[i]
        templates[i] = known.get(key) or parsed[key]
    if last_only_cells and len(last_keys) == len(keys):
        # Still so where each changed piece is a cell with the same key as before.
        only_cells = all(
            templates[i].kind == _CELL and templates[i].key == last_templates[i].key
            for i in changed
        )
    else:
        only_cells = _only_cells(templates)
    cache.last = (keys, templates, only_cells)
    return templates, only_cells


def _only_cells(templates: Sequence[_Template]) -> bool:
    """Whether every template is a cell, each with a key of its own."""
    return set(map(_KIND, templates)) <= {_CELL} and len(set(map(_KEY, templates))) == len(
        templates
    )


def _plain_skeleton(text: bytes) -> bool:
    """Whether what lies between the testcases holds nothing that could hide a cut.

    A comment, CDATA section or processing instruction that spans a
    ``<testcase `` would start here (one that starts inside a testcase and
    ends beyond it makes that testcase not well-formed), as would a DOCTYPE;
    a declaration is fine at the start, in UTF-8, as the pieces are parsed.
    """
    if b"<!" in text:
        return False
    start = text.find(b"<?")
    if start < 0:
        return True
    declaration = _DECLARATION.match(text, start)
    if declaration is None or text[:start] not in (b"", b"\xef\xbb\xbf"):
        return False
    if text.find(b"<?", declaration.end()) >= 0:
        return False
    encoding = _ENCODING.search(declaration[0])
    return encoding is None or encoding[1].lower() in (b"utf-8", b"utf8")


def _innermost_suites(suites: Sequence[_Suite], offsets: Sequence[int]) -> list[_Suite | None]:
    """For each offset (ascending), the innermost suite whose tags enclose it, if any."""
    events = sorted(
        itertools.chain(((s.start, 1, s) for s in suites), ((s.stop, 0, s) for s in suites)),
        key=lambda e: e[0],
    )
    out: list[_Suite | None] = []
    open_: list[_Suite] = []
    index = 0
    for offset in offsets:
        while index < len(events) and events[index][0] < offset:
            _, opens, suite = events[index]
            if opens:
                open_.append(suite)
            else:
                open_.pop()
            index += 1
        out.append(open_[-1] if open_ else None)
    return out


def _parse_pieces(keys: Sequence[bytes]) -> dict[bytes, _Template]:
    """Templates for unknown pieces (time values cut out), all parsed in one expat pass."""
    elements: list[bytes] = []
    rests: list[bytes | None] = []
    for key in keys:
        # The cut-out time must be the testcase's own attribute: before it, nothing
        # but complete double-quoted attributes of the start tag.
        head = key[: key.find(_TIME)]
        if b">" in head or b"'" in head or head.count(b'"') % 2:
            raise _NotFast
        end = key.rfind(_CASE_END)
        if end < 0:
            raise _NotFast  # <testcase ... /> or </testcase >: the full reader
        end += len(_CASE_END)
        elements.append(_TESTCASE + key[:end])
        tail = key[end:]
        rests.append(tail if tail.strip() else None)
    scanner = _Scanner()
    scanner.parse(b"<testsuite>" + b"".join(elements) + b"</testsuite>")
    (suite,) = scanner.suites
    # One testcase per element (a nested or uncut one would make more), each of them
    # closed by its element's last </testcase>.
    if scanner.cases != len(elements):
        raise _NotFast
    out: dict[bytes, _Template] = {}
    for key, case, rest in zip(keys, suite.cases, rests, strict=True):
        if case.attrs.get("time") != "":  # the cut value was the time attribute's
            raise _NotFast
        template = _template(case)
        template.rest = rest
        out[key] = template
    return out


@functools.lru_cache(maxsize=1 << 16)
def _cell_id(classname: str, name: str) -> CellId | None:
    """The cell a testcase names; cached, so every target shares one ``CellId`` per cell."""
    try:
        return CellId.from_junit(classname, name)
    except ValueError:
        return None


def _status_of_element(result: tuple[str, dict[str, str]] | None) -> Status:
    if result is None:
        return Status.PASS
    tag, attrs = result
    found = _STATUS_BY_ELEMENT.get((tag, attrs.get("type", "")))
    if found is not None:
        return found
    return {"failure": Status.FAIL, "error": Status.ERROR}.get(tag, Status.SKIP)


def _message_of(case: _Case) -> str | None:
    if case.result is None:
        return None
    return case.result[1].get("message") or "".join(case.text).strip() or None


def _read_foreign_flavour(
    suite: ET.Element, name: str, props: tuple[tuple[str, str], ...]
) -> SuiteDoc:
    # Read the suite as junitparser's xunit2 flavour (the one pytest writes):
    # its testcases, their final results and their testcase-level properties.
    xsuite: xunit2.TestSuite = xunit2.TestSuite.fromelem(suite)  # type: ignore[no-untyped-call]
    raw = tuple(_raw_case(cast(xunit2.TestCase, case)) for case in xsuite)
    return SuiteDoc(name=name, flavour=Flavour.FOREIGN, properties=props, raw=raw)


_RESULT_KIND: tuple[tuple[type[junitparser.Element], str], ...] = (
    (junitparser.Failure, "failure"),
    (junitparser.Error, "error"),
    (junitparser.Skipped, "skipped"),
)


def _raw_case(case: xunit2.TestCase) -> RawCase:
    results = case.result
    first = results[0] if results else None
    kind = next((k for cls, k in _RESULT_KIND if isinstance(first, cls)), None)
    props = case.properties()  # type: ignore[no-untyped-call]
    return RawCase(
        classname=case.classname or "",
        name=case.name or "",
        time=float(case.time or 0.0),
        properties=tuple((p.name or "", p.value or "") for p in props),
        result=kind,
        type=(first.type or "") if first is not None else "",
        message=(first.message or "") if first is not None else "",
        text=(first.text or "") if first is not None else "",
    )


def resolve_foreign(
    raw: Sequence[RawCase],
    known_hops: Iterable[str],
    behaviours: tuple[Behaviour, ...] = BUILTIN,
) -> ForeignCells:
    """Split pytest test names into cells and map pytest outcomes to statuses."""
    hops = sorted(set(known_hops), key=lambda h: (-len(h), h))
    cells: list[CellResult] = []
    left_out: list[str] = []
    collection_errors: list[str] = []
    seen: set[CellId] = set()
    for case in raw:
        label = f"{case.classname}::{case.name}"
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
        hop, variant = _split_hop(m["body"], hops)
        cell_id = CellId(Source.UPSTREAM, hop, variant, _FOREIGN_MODES[m["mode"]], device)
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


def _split_hop(body: str, hops_longest_first: Sequence[str]) -> tuple[str, str]:
    for hop in hops_longest_first:
        if body == hop:
            return hop, DEFAULT_VARIANT
        if body.startswith(hop) and body[len(hop)] == "_":
            return hop, body[len(hop) + 1 :]
    # An unknown HOP: keep the whole name rather than guess where it ends.
    return body, DEFAULT_VARIANT


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


def _foreign_cell(
    cell_id: CellId,
    dtype: str,
    case: RawCase,
    reference: bool,
    behaviours: tuple[Behaviour, ...],
) -> CellResult:
    status: Status
    error_type: str | None = None
    message: str | None = None
    extra: dict[str, str] = {"dtype": dtype}
    asserted: tuple[str, ...] = ()
    expected = [
        b
        for b in behaviours
        if b.expected and b.is_exception and b.applies_to(cell_id.hop, cell_id.mode)
    ]
    if case.result is None:
        status = Status.PASS
        if reference and expected:
            # The reference asserts the exception: its test passes when it is raised.
            status = Status.XFAIL
            asserted = tuple(b.id for b in expected)
            error_type = expected[0].exception
            message = (
                f"raised as the reference asserts ({error_type}, known behaviour "
                f"{expected[0].id}); the test passed"
            )
            extra[Prop.EXPECTATION] = "raises: " + ", ".join(asserted)
    elif case.result == "skipped":
        if case.type == "pytest.xfail":
            status = Status.XFAIL
            extra[Prop.EXPECTATION] = "xfail: " + (case.message or "expected failure")
        else:
            status = Status.SKIP
            extra[Prop.REASON] = case.message or case.text.strip() or "skipped"
        message = case.message or None
    else:
        error_type, message = split_exception(case.message or _pytest_error_line(case.text) or "")
        if error_type in (None, "Exception"):
            # torch's OpInfo tests re-raise as a bare Exception with the sample
            # input appended; pytest's "E" lines still name the original type.
            error_type = _original_exception(case.text) or error_type
        not_raised = _NOT_RAISED.search(case.message)
        if case.message.startswith("[XPASS(strict)]") or "Unexpected success" in case.message:
            status, error_type = Status.XPASS, None
        elif (
            expected
            and not_raised is not None
            and any((b.exception or "").rsplit(".", 1)[-1] == not_raised["type"] for b in expected)
        ):
            # The assertion that the known exception is raised failed: it is fixed.
            status, error_type = Status.XPASS, None
            message = case.message
            extra[Prop.EXPECTATION] = "raises: " + ", ".join(b.id for b in expected)
        elif case.result == "failure" and (error_type or "").endswith("AssertionError"):
            status = Status.FAIL
        else:
            status = Status.ERROR
        message = message or None
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
        **extra,
        **dict(case.properties),
    }
    if error_type is not None:
        props[Prop.ERROR_TYPE] = error_type
    if message is not None and status is not Status.SKIP:
        props[Prop.ERROR_MESSAGE] = message
    if sig is not None:
        props[Prop.SIGNATURE] = sig
    return CellResult(
        cell_id,
        (cell_id.classname, cell_id.name),
        status,
        error_type,
        message,
        sig,
        tuple(props.items()),
        case.time,
        asserted,
    )


# ---------------------------------------------------------------- writing


class CaseOut(NamedTuple):
    """One testcase to write; its result element follows from ``status``."""

    classname: str
    name: str
    status: Status
    message: str | None
    properties: tuple[tuple[str, str], ...]
    time: float


class CaseColumns(NamedTuple):
    """A big suite's testcases as columns: each one's text around its time (``CaseText``),
    its time and its status. Written in C-level passes."""

    heads: Sequence[str]
    times: Sequence[float]
    tails: Sequence[str]
    statuses: Sequence[Status]


@dataclass(frozen=True)
class SuiteOut:
    name: str
    properties: tuple[tuple[str, str], ...]
    cases: Sequence[CaseOut] | CaseColumns


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;"}
_ESCAPE = re.compile(r'[&<>"\n\r]')


def _attr(value: str) -> str:
    value = _XML_ILLEGAL.sub("\ufffd", value)
    return _ESCAPE.sub(lambda m: _ESCAPES[m[0]], value)


class _Writer:
    """Caches the escaped text of values and property blocks that repeat a lot."""

    def __init__(self) -> None:
        self._attrs: dict[str, str] = {}
        self._blocks: dict[tuple[tuple[str, str], ...], str] = {}
        self._heads: dict[tuple[str, str], str] = {}
        # By (address of the properties tuple, status, message): what follows the time.
        self._tails: dict[tuple[int, Status, str | None], tuple[object, str]] = {}
        self._times: dict[float, str] = {}

    def times(self, seconds: Sequence[float]) -> list[str]:
        """Each time as a testcase's time attribute (``{:.3f}``), each distinct one
        formatted once: a big matrix has 500k times and a few thousand values."""
        known = self._times
        for value in set(seconds).difference(known):
            known[value] = f"{value:.3f}"
        return list(map(known.__getitem__, seconds))

    def attr(self, value: str) -> str:
        got = self._attrs.get(value)
        if got is None:
            got = self._attrs[value] = _attr(value)
        return got

    def properties(self, props: tuple[tuple[str, str], ...]) -> str:
        got = self._blocks.get(props)
        if got is None:
            inner = "".join(
                f'<property name="{self.attr(k)}" value="{self.attr(v)}" />' for k, v in props
            )
            got = self._blocks[props] = f"<properties>{inner}</properties>" if props else ""
        return got

    def head(self, classname: str, name: str) -> str:
        """A testcase's text up to its time."""
        head = self._heads.get((classname, name))
        if head is None:
            head = self._heads[classname, name] = (
                f'<testcase classname="{self.attr(classname)}" name="{self.attr(name)}" time="'
            )
        return head

    def tail(self, status: Status, message: str | None, props: tuple[tuple[str, str], ...]) -> str:
        """A testcase's text after its time."""
        # The tuple is kept in the cache, so its address stays its own.
        tail = self._tails.get((id(props), status, message))
        if tail is None or tail[0] is not props:
            text = f'">{self.properties(props)}{self._result(status, message)}</testcase>\n'
            tail = self._tails[id(props), status, message] = (props, text)
        return tail[1]

    def case(self, case: CaseOut) -> str:
        classname, name, status, message, props, time = case
        return f"{self.head(classname, name)}{time:.3f}{self.tail(status, message, props)}"

    def _result(self, status: Status, message: str | None) -> str:
        tag, type_ = JUNIT_ELEMENT[status]
        if tag is None:
            return ""
        first = message.splitlines()[0] if message else str(status)
        if message and message != first:
            return f'<{tag} type="{type_}" message="{self.attr(first)}">{_attr(message)}</{tag}>'
        return f'<{tag} type="{type_}" message="{self.attr(first)}" />'

    def suite(self, suite: SuiteOut) -> str:
        cases = suite.cases
        if isinstance(cases, CaseColumns):
            count = len(cases.times)
            counts = count_elements(cases.statuses)
            total_time = sum(cases.times)
            body = _interleaved(cases.heads, self.times(cases.times), cases.tails)
        else:
            count = len(cases)
            counts = count_elements(map(_CASE_STATUS, cases))
            total_time = sum(map(_CASE_TIME, cases))
            body = "".join(map(self.case, cases))
        parts = [
            f'<testsuite name="{self.attr(suite.name)}" tests="{count}"'
            f' failures="{counts.failures}" errors="{counts.errors}"'
            f' skipped="{counts.skipped}" time="{total_time:.3f}">\n'
        ]
        if suite.properties:
            parts.append(self.properties(suite.properties) + "\n")
        parts.append(body)
        parts.append("</testsuite>\n")
        return "".join(parts)


class CaseText:
    """Testcases' text around their time, for ``CaseColumns`` (escaped, cached)."""

    def __init__(self) -> None:
        self._writer = _Writer()

    def head(self, classname: str, name: str) -> str:
        return self._writer.head(classname, name)

    def tail(self, status: Status, message: str | None, props: tuple[tuple[str, str], ...]) -> str:
        return self._writer.tail(status, message, props)


def _interleaved(*columns: Sequence[str]) -> str:
    """``"".join`` of the columns' items, row by row, in C-level passes (a format call
    per row costs four times as much)."""
    parts = [""] * (len(columns) * len(columns[0]))
    for offset, column in enumerate(columns):
        parts[offset :: len(columns)] = column
    return "".join(parts)


_CASE_STATUS = operator.itemgetter(2)
_CASE_TIME = operator.itemgetter(5)


class Counts(NamedTuple):
    """A JUnit element's tests/failures/errors/skipped, rebuilt from its testcases."""

    tests: int
    failures: int
    errors: int
    skipped: int


def count_elements(statuses: Iterable[Status]) -> Counts:
    # One C-level tally (a status hashes as its string: a plain "fail" counts too).
    tally = collections.Counter(statuses)
    counts = {"failure": 0, "error": 0, "skipped": 0}
    for status, (tag, _) in JUNIT_ELEMENT.items():
        if tag is not None:
            counts[tag] += tally[status]
    return Counts(tally.total(), counts["failure"], counts["error"], counts["skipped"])


def iter_junit(
    suites: Iterable[SuiteOut], totals: Counts, name: str = "torch-hop-compat"
) -> Iterator[str]:
    """JUnit XML in pieces, one testsuite each, for writing without holding it all.

    ``suites`` may be a generator; ``totals`` (for the root) must count the same cases.
    """
    writer = _Writer()
    yield (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuites name="{writer.attr(name)}" tests="{totals.tests}"'
        f' failures="{totals.failures}" errors="{totals.errors}" skipped="{totals.skipped}">\n'
    )
    for suite in suites:
        yield writer.suite(suite)
    yield "</testsuites>\n"


def format_junit(suites: Iterable[SuiteOut], name: str = "torch-hop-compat") -> str:
    """JUnit XML for ``suites``; the root's counts are summed from the testcases."""
    suites = list(suites)
    totals = count_elements(itertools.chain.from_iterable(map(_statuses, suites)))
    return "".join(iter_junit(suites, totals, name))


def _statuses(suite: SuiteOut) -> Iterable[Status]:
    cases = suite.cases
    return cases.statuses if isinstance(cases, CaseColumns) else map(_CASE_STATUS, cases)


ENV_CLASSNAME = "environment"


def env_error_case(target_id: str, message: str) -> CaseOut:
    """The one testcase of a target that could not be installed or imported."""
    props = ((Prop.STATUS.value, Status.ENV_ERROR.value), (Prop.ERROR_MESSAGE.value, message))
    return CaseOut(ENV_CLASSNAME, f"install[{target_id}]", Status.ENV_ERROR, message, props, 0.0)


def format_env_error(target_id: str, message: str, build: str | None = None) -> str:
    """A suite-format JUnit file that says ``target_id`` could not be set up."""
    message = scrub_credentials(message)  # install logs name index URLs with tokens
    props: list[tuple[str, str]] = [
        (SuiteProp.SCHEMA.value, SCHEMA_VERSION),
        (SuiteProp.TARGET.value, target_id),
    ]
    if build is not None:
        props.append((SuiteProp.BUILD.value, build))
    suite = SuiteOut(
        name=f"torch-hop-compat[{target_id}]",
        properties=tuple(props),
        cases=(env_error_case(target_id, message),),
    )
    return format_junit([suite])
