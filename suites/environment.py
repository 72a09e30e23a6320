"""Suite-level facts about the torch this suite runs in (the JUnit suite properties)."""

from __future__ import annotations

import importlib
import platform
from collections.abc import Sequence

import torch

import suites
from suites.junit_xml import Provenance
from suites.modes import aot_strict
from suites.schema import SCHEMA_VERSION, Device, SuiteProp, torch_build_tag


def available_devices() -> tuple[Device, ...]:
    """cpu, plus cuda when this torch sees a GPU."""
    return (Device.CPU, Device.CUDA) if torch.cuda.is_available() else (Device.CPU,)


def registered_hops() -> tuple[str, ...]:
    """``torch._ops._higher_order_ops``, once torch.export and the HOP package are imported."""
    # HOPs register when their module is imported: import the two that export
    # users always have, and nothing else, so the list is comparable across runs.
    for name in ("torch.export", "torch._higher_order_ops"):
        importlib.import_module(name)
    return tuple(sorted(torch._ops._higher_order_ops))


def suite_properties(
    target: str | None,
    devices: Sequence[Device],
    hop_db: str | None,
    hops: Sequence[str],
    provenance: Provenance,
) -> dict[str, str]:
    """Every SuiteProp this run knows; ``hops`` is registered_hops(), read before cases load."""
    props = {
        SuiteProp.SCHEMA: SCHEMA_VERSION,
        SuiteProp.SUITE_VERSION: suites.__version__,
        SuiteProp.RUN_DATE: provenance.run_date,
        SuiteProp.HOST: provenance.host,
        SuiteProp.TARGET: target or "",
        SuiteProp.TORCH_VERSION: torch.__version__,
        SuiteProp.TORCH_GIT: str(getattr(torch.version, "git_version", "") or ""),
        SuiteProp.CUDA_VERSION: str(torch.version.cuda or ""),
        SuiteProp.HIP_VERSION: str(getattr(torch.version, "hip", "") or ""),
        SuiteProp.BUILD: torch_build_tag(
            torch.__version__, torch.version.cuda, getattr(torch.version, "hip", None)
        ),
        SuiteProp.PYTHON: platform.python_version(),
        SuiteProp.PLATFORM: f"{platform.system().lower()}-{platform.machine()}",
        SuiteProp.DEVICES: ",".join(d.value for d in devices),
        SuiteProp.AOT_STRICT: "true" if aot_strict() else "false",
        SuiteProp.REGISTERED_HOPS: ",".join(hops),
        SuiteProp.HOP_DB: hop_db or "",
    }
    return {k.value: v for k, v in props.items() if v}
