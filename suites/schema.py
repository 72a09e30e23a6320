"""The JUnit contract between the suite (writer) and compat (reader).

Only the standard library: this module runs inside every torch env, and
``compat`` imports it to read what the suite wrote.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

SCHEMA_VERSION = "1"

# The local labels of torch's own wheels (``2.6.0+cu124``); anything else after
# the ``+`` (``git123`` of a source build) says nothing about the build.
_BUILD_LABEL = re.compile(r"^(cpu|xpu|cu\d{2,4}|rocm\d+(\.\d+){0,2})$")


class Status(enum.StrEnum):
    """What happened to one cell."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    XFAIL = "xfail"
    XPASS = "xpass"
    SKIP = "skip"
    MISSING = "missing"
    TIMEOUT = "timeout"
    CRASH = "crash"
    ENV_ERROR = "env-error"


class Mode(enum.StrEnum):
    """How a case is exported (aot, pre_dispatch, retrace and serialize are the seed's)."""

    AOT = "aot"
    STRICT = "strict"
    PRE_DISPATCH = "pre_dispatch"
    RETRACE = "retrace"
    SERIALIZE = "serialize"
    NON_STRICT = "non_strict"
    DYNAMIC = "dynamic"  # leading dims dynamic at export, then run on a second size
    AOTI = "aoti"  # AOTInductor: compile and package, load back, run (opt-in: DEFAULT_MODES)


# The cells that carry their case's facts and get a repro script (compat.repro): every
# failure, and xfail (a known bug is still a bug).
REPRO_STATUSES = frozenset({Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.XFAIL})

SEED_MODES = (Mode.AOT, Mode.PRE_DISPATCH, Mode.RETRACE, Mode.SERIALIZE)
# What a run measures unless told otherwise: aoti compiles C++ per case (tens of seconds).
DEFAULT_MODES = tuple(m for m in Mode if m is not Mode.AOTI)


class Gap(enum.StrEnum):
    """Why a cell is ``missing`` (its ``gap`` property); ``reason`` says it in words."""

    HOP_NOT_REGISTERED = "hop not registered"  # its operator is not in _ops._higher_order_ops
    PUBLIC_API_ABSENT = "public API absent"  # the HOP is registered, the case's entry point not
    MODE_ABSENT = "mode absent"  # this torch cannot run the mode at all
    TOO_OLD = "release too old"  # older than the oldest release the case's public API needs


class Device(enum.StrEnum):
    CPU = "cpu"
    CUDA = "cuda"


class Source(enum.StrEnum):
    """Where a case comes from: torch's hop_db, this project's catalogue, torch's ExportDB
    examples, or the user's own case modules."""

    UPSTREAM = "upstream"
    CATALOG = "catalog"
    EXPORTDB = "exportdb"
    USER = "user"


class Prop(enum.StrEnum):
    """Testcase-level property names."""

    HOP = "hop"
    VARIANT = "variant"
    SOURCE = "source"
    MODE = "mode"
    DEVICE = "device"
    STATUS = "status"
    BEHAVIOURS = "behaviours"  # comma-separated behaviour ids
    ERROR_TYPE = "error_type"  # qualified exception class name
    ERROR_MESSAGE = "error_message"  # first lines of the message, raw
    SIGNATURE = "signature"  # normalised message, stable across runs
    SAMPLES = "samples"  # samples run
    STRICT = "strict"  # strictness export used: "true" / "false"
    EXPECTATION = "expectation"  # upstream's expectation, beside the raw outcome
    REASON = "reason"  # why skipped / missing
    GAP = "gap"  # the kind of gap of a missing cell: a Gap value
    CARRIED_BEFORE = "carried_inputs_before"  # while_loop node, before save/load
    CARRIED_AFTER = "carried_inputs_after"  # while_loop node, after save/load
    # serialize: how the same program (retrace's) ran before save/load: pass / fail / error
    BEFORE_SAVE = "before_save"
    STEP = "step"  # the step that raised: build, export, pre_dispatch export, ..., run
    FLAKY = "flaky"  # two runs of the cell disagreed: "first outcome | second outcome"
    SINCE = "since"  # the oldest release whose public API the case needs, e.g. "2.5"
    # dynamic: each marked dimension's fate, e.g. "x[0] dynamic, w[0] specialised to 4"
    DYNAMIC_DIMS = "dynamic_dims"
    COMPILE_SECONDS = "compile_seconds"  # aoti: aoti_compile_and_package's wall time
    GRAPH_HOPS = "graph_hops"  # the HOP operators found in the exported graph, comma-separated
    # What a repro script is made of (compat.repro renders it), on cells that did not pass:
    SAMPLE = "sample"  # the index of the sample the cell failed on, in its build's order, from 0
    CASE_SOURCE = "case_source"  # Python defining the case's builder, standalone with torch
    CASE_BUILD = "case_build"  # an expression, run after case_source, that is the builder
    OP_NAME = "op_name"  # hop_db: the op info's name
    OP_VARIANT = "op_variant"  # hop_db: its variant_test_name ("" for none)
    OP_INDEX = "op_index"  # hop_db: which op info of that name and variant, from 0
    EXAMPLE = "exportdb_example"  # exportdb: the example's name in all_examples()
    # dynamic: export's dynamic_shapes as a Python expression (``Dim`` is torch.export.Dim,
    # ``example`` the ExportDB example); the batch "L.D" (dimension D of the L-th tensor leaf
    # of pytree.tree_flatten((args, kwargs))); the second size's dims "L.D=N,L.D=N"
    DYNAMIC_SHAPES = "dynamic_shapes"
    DYNAMIC_BATCH = "dynamic_batch"
    SECOND_SIZE = "second_size"


# The properties a repro script is made of (report.html shows the script, not them).
CASE_FACTS = frozenset(
    {
        Prop.SAMPLE,
        Prop.CASE_SOURCE,
        Prop.CASE_BUILD,
        Prop.OP_NAME,
        Prop.OP_VARIANT,
        Prop.OP_INDEX,
        Prop.EXAMPLE,
        Prop.DYNAMIC_SHAPES,
        Prop.DYNAMIC_BATCH,
        Prop.SECOND_SIZE,
    }
)

# Tokens of the ``expectation`` property (suites.upstream writes them, compat reads them):
# upstream would not run the cell at all (``onlyCUDA``, ``skip: why``, ``no-float32-on-cpu``),
# or runs it as an expected failure.
EXPECT_SKIP_TOKENS = ("only", "skip", "no-float32")
EXPECT_XFAIL_TOKEN = "expectedFailure"
# An exportdb case's declared support level (suites.exportdb writes it, compat compares it
# with the measurement): "exportdb-supported: SUPPORTED" claims the case exports and runs,
# "exportdb-unsupported: NOT_SUPPORTED_YET" declares its failure (an expected one).
EXPECT_EXPORTDB_SUPPORTED = "exportdb-supported"
EXPECT_EXPORTDB_UNSUPPORTED = "exportdb-unsupported"


class SuiteProp(enum.StrEnum):
    """Testsuite-level property names."""

    SCHEMA = "schema_version"
    SUITE_VERSION = "suite_version"
    RUN_DATE = "run_date"  # when the run started: UTC, ISO-8601 to the second
    HOST = "host"  # socket.gethostname() of the machine it ran on
    TARGET = "target"
    TORCH_VERSION = "torch_version"
    TORCH_GIT = "torch_git_version"
    CUDA_VERSION = "cuda_version"
    HIP_VERSION = "hip_version"
    BUILD = "build"
    PYTHON = "python"
    PLATFORM = "platform"
    DEVICES = "devices"  # comma-separated
    AOT_STRICT = "aot_strict"  # "true" / "false": export()'s default strictness
    REGISTERED_HOPS = "registered_hops"  # comma-separated, sorted
    HOP_DB = "hop_db"  # "importable" or "unavailable: <why>"
    EXPORTDB = "exportdb"  # ExportDB's examples: "importable" or "unavailable: <why>"
    INTERRUPTED = "interrupted"  # present when the run was cut short


_CELL_ID = re.compile(
    r"^(?P<source>[a-z_]+):(?P<hop>[^./:]+)\.(?P<variant>[^/]+)"
    r"/(?P<mode>[a-z_]+)\[(?P<device>[a-z]+)\]$"
)
_CLASSNAME = re.compile(r"^(?P<source>[a-z_]+)\.(?P<hop>[^.]+)\.(?P<variant>.+)$")
_NAME = re.compile(r"^(?P<mode>[a-z_]+)\[(?P<device>[a-z]+)\]$")


@dataclass(frozen=True, order=True)
class CellId:
    """One cell of a target: case (source, hop, variant) x mode x device."""

    source: Source
    hop: str
    variant: str
    mode: Mode
    device: Device

    @property
    def case(self) -> str:
        return f"{self.source}:{self.hop}.{self.variant}"

    @property
    def classname(self) -> str:
        return f"{self.source}.{self.hop}.{self.variant}"

    @property
    def name(self) -> str:
        return f"{self.mode}[{self.device}]"

    def __str__(self) -> str:
        return f"{self.case}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> CellId:
        """Inverse of ``str()``: ``catalog:while_loop.simple/serialize[cpu]``."""
        m = _CELL_ID.match(text)
        if m is None:
            raise ValueError(
                f"{text!r} is not a cell id; expected e.g. "
                "'catalog:while_loop.simple/serialize[cpu]'"
            )
        return cls._from_parts(m.groupdict())

    @classmethod
    def from_junit(cls, classname: str, name: str) -> CellId:
        """Inverse of (``classname``, ``name``) as the suite writes them."""
        c, n = _CLASSNAME.match(classname), _NAME.match(name)
        if c is None or n is None:
            raise ValueError(
                f"testcase {classname!r} / {name!r} is not named like the suite's "
                "'catalog.while_loop.simple' / 'serialize[cpu]'"
            )
        return cls._from_parts({**c.groupdict(), **n.groupdict()})

    @classmethod
    def _from_parts(cls, parts: dict[str, str]) -> CellId:
        return cls(
            source=Source(parts["source"]),
            hop=parts["hop"],
            variant=parts["variant"],
            mode=Mode(parts["mode"]),
            device=Device(parts["device"]),
        )


# How each status is spelled in plain JUnit, for tools that read only the
# elements: (child element or None for a bare pass, its `type` attribute).
JUNIT_ELEMENT: dict[Status, tuple[str | None, str]] = {
    Status.PASS: (None, ""),
    Status.XPASS: (None, ""),
    Status.FAIL: ("failure", "fail"),
    Status.ERROR: ("error", "error"),
    Status.TIMEOUT: ("error", "timeout"),
    Status.CRASH: ("error", "crash"),
    Status.ENV_ERROR: ("error", "env-error"),
    Status.XFAIL: ("skipped", "xfail"),
    Status.SKIP: ("skipped", "skip"),
    Status.MISSING: ("skipped", "missing"),
}


def torch_build_tag(torch_version: str, cuda: str | None, hip: str | None) -> str:
    """The build tag (``cpu``, ``cu124``, ``rocm6.3``) of a torch, from what it reports."""
    label = torch_version.partition("+")[2]
    if _BUILD_LABEL.match(label):
        return label
    if hip:
        return "rocm" + ".".join(hip.split(".")[:2])
    if cuda:
        return "cu" + "".join(cuda.split(".")[:2])
    return "cpu"
