"""The scratch folder of a run: where aoti packages and inductor's compile cache go.

Standard library only: the parent (``suites.runner``) names the folder in
the worker's environment, and the aoti mode (``suites.aoti``) reads it there.
Inductor reads ``TORCHINDUCTOR_CACHE_DIR`` from ``os.environ`` whenever it
needs its cache folder (``torch._inductor.runtime.cache_dir_utils.cache_dir``;
only its local cache path is remembered after the first use), so setting it
in the worker's environment, before torch is even imported, covers every
child and every compile.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

SCRATCH_ENV = "HOP_SUITE_SCRATCH"
INDUCTOR_CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"
# Where an in-process caller that named no scratch folder compiles: one folder, reused,
# like inductor's own default cache under the temporary directory.
DEFAULT_NAME = "hop-suite-scratch"


def scratch_env(folder: Path) -> dict[str, str]:
    """The environment variables that send a worker's packages and compile cache to ``folder``."""
    return {SCRATCH_ENV: str(folder), INDUCTOR_CACHE_ENV: str(folder / "inductor")}


def resolve_scratch(env: Mapping[str, str]) -> Path:
    """The scratch folder named in ``env``, or a fixed one under the temporary directory."""
    named = env.get(SCRATCH_ENV, "").strip()
    return Path(named) if named else Path(tempfile.gettempdir()) / DEFAULT_NAME
