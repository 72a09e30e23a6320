"""suites.schema: the build tag of a torch, from what it reports (no torch needed)."""

from __future__ import annotations

import pytest

from suites.schema import torch_build_tag


@pytest.mark.parametrize(
    ("version", "cuda", "hip", "tag"),
    [
        # The wheel's own label wins, whatever the runtimes say.
        ("2.13.0+cpu", None, None, "cpu"),
        ("2.6.0+cu124", "12.4", None, "cu124"),
        ("2.6.0+cu124", "12.6", None, "cu124"),
        ("2.8.0+xpu", None, None, "xpu"),
        ("2.6.0+rocm6.2.4", None, "6.2.41133", "rocm6.2.4"),
        ("2.4.0+rocm6.1", None, "6.1.40091", "rocm6.1"),
        ("2.0.0+cu11", "11.0", None, "cu11"),
        # No label (the default index's Linux wheels): from the runtimes.
        ("2.6.0", "12.4", None, "cu124"),
        ("2.11.0", "13.0", None, "cu130"),
        ("2.6.0", "12.4.1", None, "cu124"),
        ("2.5.0", None, "6.2.41133-0", "rocm6.2"),
        ("2.5.0", "12.4", "6.2", "rocm6.2"),  # a ROCm build may report a CUDA version too
        ("2.6.0", None, None, "cpu"),
        ("2.6.0", "", "", "cpu"),
        # A label that names no build (a source build) says nothing: the runtimes do.
        ("2.16.0a0+git123abc", "12.8", None, "cu128"),
        ("2.16.0a0+git123abc", None, None, "cpu"),
        ("2.6.0+cu", "12.4", None, "cu124"),
        ("2.6.0+cu12345", None, None, "cpu"),
        ("2.6.0+cpu.cxx11.abi", None, None, "cpu"),
    ],
)
def test_torch_build_tag(version: str, cuda: str | None, hip: str | None, tag: str) -> None:
    assert torch_build_tag(version, cuda, hip) == tag
