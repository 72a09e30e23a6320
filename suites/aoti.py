"""The aoti mode: export, compile with AOTInductor into a package, load it back, run it.

What deploying through AOTInductor does: ``torch.export.export`` (default
strictness, like aot), ``torch._inductor.aoti_compile_and_package`` into a
``.pt2`` file in the run's scratch folder (``suites.scratch``), then
``torch._inductor.aoti_load_package`` and the loaded model is run on the
sample and compared with eager. Inductor's compile cache is the scratch
folder's ``inductor/``; a warm cache cuts a compile from about 11.5 s to 8 s
on two cores (torch 2.13, one cond).

Compiling costs seconds to tens of seconds, so a cell compiles once per distinct input
signature (tree structure, tensor shapes, dtypes, devices, non-tensor
values): samples that differ only in their values (a case's two branches)
run the same compiled model, which is what a fresh compile of the second
sample would give, as export specialises on exactly that signature.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import torch
import torch.utils._pytree as pytree

from suites.cases import Sample
from suites.modes import Derived, Notes, aot_strict
from suites.schema import Prop
from suites.scratch import INDUCTOR_CACHE_ENV


def input_signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """What export specialises a program on: structure, tensor metadata, other values."""
    leaves, spec = pytree.tree_flatten((args, kwargs))
    parts = [
        (tuple(x.shape), x.dtype, x.device, x.requires_grad) if isinstance(x, torch.Tensor) else x
        for x in leaves
    ]
    return repr((spec, parts))


class Compiler:
    """One aoti cell's compiles: a package per input signature, in ``scratch``."""

    def __init__(self, scratch: Path, name: str) -> None:
        self.scratch = scratch
        self.stem = re.sub(r"[^\w.-]+", "_", name)
        self.compiled: dict[str, Derived] = {}
        self.compile_seconds = 0.0

    def derive(self, module: torch.nn.Module, sample: Sample, notes: Notes) -> Derived:
        """The loaded package for this sample's signature, compiled when it is new."""
        args, kwargs = sample.args, dict(sample.kwargs)
        key = input_signature(args, kwargs)
        if key not in self.compiled:
            self.compiled[key] = self._compile(module, args, kwargs, notes)
        return self.compiled[key]

    def _compile(
        self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], notes: Notes
    ) -> Derived:
        import torch._inductor  # only here: a second or more to import, and only aoti needs it

        start, step = time.perf_counter(), "export"
        notes[Prop.STRICT] = "true" if aot_strict() else "false"
        try:
            ep = torch.export.export(module, args, kwargs)
            step = "aoti compile"
            path = self._package(ep, notes)
            step = "aoti load"
            loaded = torch._inductor.aoti_load_package(path)
        except Exception as exc:  # a program AOTInductor cannot take is a result, not an error
            return Derived(None, step, exc, time.perf_counter() - start)
        return Derived(ep, seconds=time.perf_counter() - start, loaded=loaded)

    def _package(self, ep: Any, notes: Notes) -> str:
        """Compile ``ep`` into a package in the scratch folder; note the time it took."""
        packages = self.scratch / "aoti"
        packages.mkdir(parents=True, exist_ok=True)
        # Inductor reads it from os.environ at each use; the runner set it already, an
        # in-process caller may not have.
        os.environ[INDUCTOR_CACHE_ENV] = str(self.scratch / "inductor")
        target = packages / f"{self.stem}-{len(self.compiled)}.pt2"
        start = time.perf_counter()
        try:
            return str(torch._inductor.aoti_compile_and_package(ep, package_path=str(target)))
        finally:
            self.compile_seconds += time.perf_counter() - start
            notes[Prop.COMPILE_SECONDS] = f"{self.compile_seconds:.1f}"
