"""suites.recipe: the case facts of every case are enough to rebuild it with torch alone.

Standalone means it: each case's source runs in a subprocess in which
``suites`` and ``compat`` cannot be imported, forked once per case so that no
case sees what another registered, and its outputs must be the real case's.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import torch.utils._pytree as pytree  # noqa: E402

from suites import cases, recipe  # noqa: E402
from suites.body import run_cell  # noqa: E402
from suites.cases import Case, Sample, module_of  # noqa: E402
from suites.catalog import CATALOG, entries  # noqa: E402
from suites.exportdb import EXPORTDB_MODULE, load_exportdb  # noqa: E402
from suites.schema import Device, Mode, Prop, Status  # noqa: E402
from suites.upstream import IMPORTABLE  # noqa: E402
from suites.user import load_user  # noqa: E402

# Runs each job's case source with the project unimportable; writes its outputs or its error.
REPO = Path(__file__).resolve().parent.parent
STANDALONE = """
import json, os, sys, traceback, types
sys.modules["suites"] = sys.modules["compat"] = None
import importlib
import torch
import torch.utils._pytree as pytree

# A child's first cond imports much of torch lazily (seconds): import that here, once.
read, write = os.pipe()
if (pid := os.fork()) == 0:
    before = set(sys.modules)
    torch.cond(torch.tensor(True), lambda x: x.cos(), lambda x: x.sin(), (torch.ones(2),))
    os.write(write, json.dumps(sorted(set(sys.modules) - before)).encode())
    os._exit(0)
os.close(write)
with os.fdopen(read, "rb") as fh:
    lazily = json.loads(fh.read() or b"[]")
os.waitpid(pid, 0)
for name in lazily:
    try:
        importlib.import_module(name)
    except Exception:
        pass

for job in json.load(open(sys.argv[1])):
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        continue
    try:
        main = sys.modules["__main__"] = types.ModuleType("__main__")  # as a script's is
        scope = vars(main)
        exec(compile(job["source"], "<case_source>", "exec"), scope)
        build = eval(job["build"], scope)
        torch.manual_seed(0)
        module, samples = build("cpu")
        outputs = [module(*s.args, **dict(s.kwargs)) for s in samples]
        detached = pytree.tree_map_only(torch.Tensor, lambda t: t.detach(), outputs)
        torch.save(detached, job["out"])
        os._exit(0)
    except BaseException as exc:
        with open(job["out"] + ".err", "w") as fh:
            fh.write(f"{type(exc).__module__}.{type(exc).__qualname__}\\n{traceback.format_exc()}")
        os._exit(1)
"""


def _outputs(case: Case) -> Any:
    """The real case's outputs on its samples, built after ``torch.manual_seed(0)``; or, where
    it raises (a HOP that fails in eager), the exception's qualified type."""
    torch._dynamo.reset()  # eager cond compiles: nothing carries over from the last case
    torch.manual_seed(0)
    try:
        module, samples = case.build("cpu")
        outputs = [module(*s.args, **dict(s.kwargs)) for s in samples]
    except Exception as exc:
        return Raised(f"{type(exc).__module__}.{type(exc).__qualname__}")
    return pytree.tree_map_only(torch.Tensor, lambda t: t.detach(), outputs)  # type: ignore[no-any-return]


def _standalone(tmp: Path, cases: dict[str, Case]) -> dict[str, Any]:
    """Each case's outputs from its facts alone, or the error text it raised."""
    jobs = []
    for i, (name, case) in enumerate(cases.items()):
        facts = recipe.case_facts(case)
        assert Prop.CASE_SOURCE in facts, f"{name} has no case_source"
        jobs.append(
            {
                "source": facts[Prop.CASE_SOURCE],
                "build": facts[Prop.CASE_BUILD],
                "out": str(tmp / f"{i}.pt"),
            }
        )
    tmp.mkdir(exist_ok=True)
    (tmp / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", STANDALONE, str(tmp / "jobs.json")], check=True, timeout=600
    )
    found: dict[str, Any] = {}
    for name, job in zip(cases, jobs, strict=True):
        out, err = Path(job["out"]), Path(job["out"] + ".err")
        if err.exists():
            kind, _, story = err.read_text().partition("\n")
            found[name] = Raised(kind, story)
        else:
            found[name] = torch.load(out, weights_only=False)
    return found


@dataclass(frozen=True)
class Raised:
    """A case that raised instead of giving outputs: its exception's type (and traceback)."""

    kind: str
    story: str = field(default="", compare=False)


def _assert_same(standalone: Any, real: Any) -> None:
    if isinstance(real, Raised):  # it fails in eager: the standalone one fails the same way
        assert standalone == real, getattr(standalone, "story", standalone)
        return
    assert not isinstance(standalone, Raised), standalone.story
    leaves, spec = pytree.tree_flatten(standalone)
    real_leaves, real_spec = pytree.tree_flatten(real)
    assert spec == real_spec
    for got, want in zip(leaves, real_leaves, strict=True):
        if isinstance(want, torch.Tensor):
            torch.testing.assert_close(got, want, rtol=0, atol=0)
        else:
            assert got == want


@pytest.fixture(scope="module")
def catalogue_standalone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _standalone(tmp_path_factory.mktemp("standalone"), {c.id: c for c in CATALOG})


@pytest.mark.filterwarnings("ignore")  # torch's own: flex_attention run uncompiled, ...
@pytest.mark.parametrize("case", CATALOG, ids=lambda case: case.id)
def test_every_catalogue_case_runs_standalone_from_its_facts(
    case: Case, catalogue_standalone: dict[str, Any]
) -> None:
    _assert_same(catalogue_standalone[case.id], _outputs(case))


def test_the_source_imports_inlines_and_keeps_only_what_a_script_needs() -> None:
    (case,) = [c for c in CATALOG if c.id == "catalog:cond.simple"]
    facts = recipe.case_facts(case)
    source, build = facts[Prop.CASE_SOURCE], facts[Prop.CASE_BUILD]
    assert build == "build_cond_simple"
    assert source.startswith("from __future__ import annotations\n\n")
    for line in ("import torch", 'COND = "torch:cond"', "class Sample:", "def module_of("):
        assert line in source.splitlines() or f"\n{line}" in source
    # The builder keeps its docstring (the pattern); the helpers lose theirs.
    assert '"""torch.cond(x.sum() > 0, f, g, (x,)): branch on a tensor predicate."""' in source
    assert "A module whose forward calls" not in source and "type: ignore" not in source
    assert "suites" not in source
    assert len(source.splitlines()) <= 45  # + the mode's steps: a script of about 60 lines


def _entry_specs() -> list[str]:
    """Every entry point spec constant of entries.py (``module:attr``, ``|`` between)."""
    values = [v for k, v in vars(entries).items() if k.isupper() and isinstance(v, str)]
    return sorted(v for v in values if ":" in v)


@pytest.mark.parametrize("spec", [*_entry_specs(), "torch:_hop_compat_no_such_entry"])
def test_the_entry_shim_resolves_every_spec_as_entry_does(spec: str) -> None:
    scope: dict[str, Any] = {}
    exec(recipe.ENTRY_SHIM, {**recipe._shim_globals(), "__builtins__": __builtins__}, scope)
    try:
        expected: Any = entries.entry(spec)
    except LookupError as err:
        with pytest.raises(LookupError, match=f"^{re.escape(str(err))}$"):
            scope["entry"](spec)
        return
    assert scope["entry"](spec) is expected


USER_HELPERS = """
import torch

SCALE = 3.0


def make_input(device, rows):
    \"\"\"helper docstrings are not the case's pattern\"\"\"
    return torch.arange(rows * 2.0, device=device).reshape(rows, 2)
"""

USER_CASES = """
import torch
from suites.cases import Case, Sample, module_of
from userpkg.helpers import SCALE, make_input

OFFSETS = (1.0, 2.0)


def _scaled(x):
    return x * SCALE + OFFSETS[0]


def build_scaled(device):
    \"\"\"a user's model that scales its input\"\"\"
    return module_of(_scaled), (Sample((make_input(device, 3),)), Sample((make_input(device, 1),)))


WEIGHTS = torch.ones(2)


def build_weighted(device):
    \"\"\"a model that reads a tensor made when its module was imported\"\"\"
    return module_of(lambda x: x * WEIGHTS), (Sample((torch.ones(2),)),)


CASES = (Case("map", "scaled", build_scaled), Case("map", "weighted", build_weighted))
"""


@pytest.fixture
def user_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Case]]:
    """The cases of a user's package on a case path (not installed), its helpers apart."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "helpers.py").write_text(textwrap.dedent(USER_HELPERS), encoding="utf-8")
    (package / "hop_cases.py").write_text(textwrap.dedent(USER_CASES), encoding="utf-8")
    yield {c.variant: c for c in load_user(["userpkg.hop_cases"], [str(tmp_path)])}
    for name in [m for m in sys.modules if m.split(".")[0] == "userpkg"]:
        del sys.modules[name]  # the next test's userpkg is another folder's


def test_a_user_case_inlines_its_own_helpers_and_runs_standalone(
    user_cases: dict[str, Case], tmp_path: Path
) -> None:
    case = user_cases["scaled"]
    source = recipe.case_facts(case)[Prop.CASE_SOURCE]
    assert "def make_input(" in source and "SCALE = 3.0" in source
    assert "OFFSETS = (1.0, 2.0)" in source and "userpkg" not in source
    assert "helper docstrings" not in source and "a user's model" in source
    _assert_same(_standalone(tmp_path / "run", {"scaled": case})["scaled"], _outputs(case))


def test_an_unrenderable_global_gives_no_source_and_no_exception(
    user_cases: dict[str, Case],
) -> None:
    # A tensor made at import time: no literal, no definition; re-running it would not
    # give the same values in general (a random one), so there is no source at all.
    assert recipe.case_facts(user_cases["weighted"]) == {}


@pytest.mark.parametrize(
    "build",
    [
        lambda device: (module_of(lambda x: x), ()),  # a lambda has no definition to inline
        Sample,  # a class, not a function
    ],
)
def test_builders_that_are_no_module_level_function_give_no_source(
    build: Callable[[str], Any],
) -> None:
    assert recipe.case_facts(Case("toy", "odd", build)) == {}


def test_a_partial_with_literal_arguments_is_the_builder_expression() -> None:
    planted = {c.hop: c for c in cases.planted({})}
    facts = recipe.case_facts(planted["_planted_hang"])
    assert facts[Prop.CASE_BUILD] == "functools.partial(build_planted_hang, fifo=None)"
    assert "\nimport functools\n" in facts[Prop.CASE_SOURCE]


# In a fresh process, as a repro runs: hop_db cannot always be imported into pytest's own
# (setuptools' distutils hack refuses it once another test has imported distutils).
OP_INFOS = """
import json
from suites.recipe import case_facts
from suites.upstream import load_upstream
upstream = load_upstream()
from torch.testing._internal.hop_db import hop_db
found = []
for case in upstream.cases:
    facts = case_facts(case)
    name, variant = facts["op_name"], facts["op_variant"]
    chosen = [o for o in hop_db if o.name == name and (o.variant_test_name or "") == variant]
    found.append([case.id, chosen[int(facts["op_index"])] is case.build.op])
print(json.dumps({"status": upstream.status, "found": found}))
"""


def test_op_facts_select_the_same_op_info() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", OP_INFOS], capture_output=True, text=True, check=True, cwd=REPO
    )
    result = json.loads(proc.stdout.splitlines()[-1])
    if result["status"] != IMPORTABLE:
        pytest.skip(f"hop_db is {result['status']}")
    assert result["found"] and all(same for _, same in result["found"]), result["found"]


def test_exportdb_facts_name_the_example() -> None:
    found = load_exportdb().cases
    if not found:
        pytest.skip("ExportDB is not importable here")
    examples = importlib.import_module(EXPORTDB_MODULE).all_examples()
    for case in found:
        name = recipe.case_facts(case)[Prop.EXAMPLE]
        assert type(examples[name].model) is type(case.build.model)  # type: ignore[attr-defined]
        assert case.variant == name.replace(".", "_")


def _raises_past_two(x: Any) -> Any:
    if x.shape[0] > 2:
        raise ValueError("too many rows")
    return x * 2


def test_a_cell_that_fails_on_its_second_sample_records_that_index() -> None:
    samples = (Sample((torch.ones(2),)), Sample((torch.ones(3),)))
    case = Case("toy", "rows", lambda device: (module_of(_raises_past_two), samples))
    failed = run_cell(case, Mode.AOT, Device.CPU)
    assert (failed.status, failed.prop(Prop.SAMPLE)) == (Status.ERROR, "1")
    ok = Case("toy", "ok", lambda device: (module_of(_raises_past_two), samples[:1]))
    passed = run_cell(ok, Mode.AOT, Device.CPU)
    assert passed.status is Status.PASS and passed.prop(Prop.SAMPLE) is None


def test_a_build_error_records_no_sample() -> None:
    def broken(device: str) -> Any:
        raise RuntimeError("cannot build")

    result = run_cell(Case("toy", "broken", broken), Mode.AOT, Device.CPU)
    assert result.status is Status.ERROR and result.prop(Prop.SAMPLE) is None
