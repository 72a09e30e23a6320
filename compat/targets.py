"""A target: one torch environment of the matrix, with a stable id.

``TargetId`` is the id (``2.6.0-cu124``, ``2.13.0-cpu``, ``local``):
``str()`` formats it and ``TargetId.parse`` reads it back. ``Target`` adds
the configured build and its install source; ``plan_targets`` turns a
``MatrixConfig`` into the ordered targets. The second half keeps one small
state file per target during a run, for the progress lines and for
knowing which session finishes last.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import json
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from compat.config import (
    ENV_TARGETS,
    Build,
    ConfigValueError,
    InstallSource,
    MatrixConfig,
    SourceKind,
    builtin_source,
)
from compat.errors import CompatError, ExitCode, TargetError
from compat.scrub import scrub_credentials
from compat.versions import (
    NoMatchingVersionError,
    list_index,
    list_wheelhouse,
    resolve_versions,
)
from suites.schema import Status

LOCAL = "local"
ENV_LOCAL_PYTHON = "COMPAT_LOCAL_PYTHON"  # the interpreter of the local target

# CUDA of the Linux x86_64 wheels the default index serves, by torch minor.
DEFAULT_CUDA: tuple[tuple[tuple[int, int], tuple[int, int], str], ...] = (
    ((2, 2), (2, 4), "cu121"),
    ((2, 5), (2, 6), "cu124"),
    ((2, 7), (2, 7), "cu126"),
    ((2, 8), (2, 10), "cu128"),
    ((2, 11), (2, 14), "cu130"),
    ((2, 15), (2, 15), "cu132"),
)
# What torch needs next to it so that torch.testing._internal.hop_db imports.
HOP_DB_EXTRAS = ("numpy", "expecttest", "setuptools", "hypothesis")

_TAG = re.compile(r"^[a-z][a-z0-9.]*$")
_LOCAL_LABEL = re.compile(r"^(cpu|xpu|cu\d{2,4}|rocm\d+(\.\d+){0,2})$")


def default_tag(version: Version, platform: str) -> str:
    """The id tag of what the default index serves: its CUDA on Linux x86_64, else cpu.

    Versions outside the table get ``default``; the suite reports the real
    CUDA version (``cuda_version``) either way.
    """
    if platform not in ("linux-x86_64", "manylinux-x86_64"):
        return "cpu"
    minor = (version.major, version.minor)
    for first, last, tag in DEFAULT_CUDA:
        if first <= minor <= last:
            return tag
    return "default"


def build_tag(build: str, version: Version, platform: str) -> str:
    """The tag a build gives a version in target ids."""
    return default_tag(version, platform) if build == "default" else build


@dataclass(frozen=True)
class TargetId:
    """``<version>-<tag>`` (``2.6.0-cu124``), or ``local``."""

    version: Version | None
    tag: str

    def __str__(self) -> str:
        return LOCAL if self.version is None else f"{self.version}-{self.tag}"

    @classmethod
    def parse(cls, text: str) -> TargetId:
        """Inverse of ``str()``."""
        text = text.strip()
        if text == LOCAL:
            return cls(None, LOCAL)
        head, sep, tag = text.partition("-")
        try:
            version = Version(head)
        except InvalidVersion:
            version = None
        if (
            not sep
            or version is None
            or str(version) != head
            or version.local is not None
            or len(version.release) < 3
            or not _TAG.match(tag)
        ):
            raise TargetError(
                f"{text!r} is not a target id; write <full torch version>-<build>, e.g. "
                "'2.6.0-cu124' or '2.13.0-cpu', or 'local'"
            )
        return cls(version, tag)


@dataclass(frozen=True)
class Target:
    """One column of the matrix: an id, the build it comes from, and that build's source."""

    id: TargetId
    build: Build

    @property
    def name(self) -> str:
        return str(self.id)

    @property
    def version(self) -> Version | None:
        return self.id.version

    @property
    def is_local(self) -> bool:
        return self.id.version is None


# --- planning ----------------------------------------------------------------------------------

VersionLister = Callable[[Build], Sequence[Version]]


def plan_targets(
    config: MatrixConfig,
    env: Mapping[str, str],
    *,
    platform: str,
    list_versions: VersionLister | None = None,
) -> tuple[Target, ...]:
    """The targets of a config, builds in config order, versions ascending.

    ``list_versions`` is asked only for builds whose versions need an index
    (a minor such as ``2.6`` or a specifier); exact pins need nothing.
    """
    if config.targets:
        return _explicit_targets(config, platform)
    lister = list_versions or (lambda build: list_build_versions(build, env))
    out: dict[str, Target] = {}
    for build in config.builds:
        if build.source.kind is SourceKind.LOCAL:
            _add(out, Target(TargetId(None, LOCAL), build))
            continue
        request = config.versions_of(build)
        assert request is not None  # parse_config guarantees it
        available = lister(build) if request.needs_index else ()
        try:
            versions = resolve_versions(
                request,
                available,
                prereleases=config.prereleases,
                source=describe_source(effective_source(build, env), env),
            )
        except NoMatchingVersionError as err:
            raise NoMatchingVersionError(
                f"{build.key}: {err}; ask for versions this source has, or leave the build "
                "out for this run (COMPAT_BUILDS)"
            ) from err
        for version in versions:
            _add(out, Target(TargetId(version, build_tag(build.name, version, platform)), build))
    return tuple(out.values())


def _add(out: dict[str, Target], target: Target) -> None:
    other = out.get(target.name)
    if other is not None:
        raise ConfigValueError(
            f"builds {other.build.name!r} and {target.build.name!r} both make target "
            f"{target.name}; drop one of them or give them different versions"
        )
    out[target.name] = target


def _explicit_targets(config: MatrixConfig, platform: str) -> tuple[Target, ...]:
    out: dict[str, Target] = {}
    for text in config.targets:
        tid = TargetId.parse(text)
        if tid.version is None:
            _add(out, Target(tid, Build(LOCAL, InstallSource(SourceKind.LOCAL))))
            continue
        matches = [b for b in config.builds if build_tag(b.name, tid.version, platform) == tid.tag]
        if not matches and (source := builtin_source(tid.tag)) is not None:
            matches = [Build(tid.tag, source)]
        if not matches:
            known = ", ".join(b.name for b in config.builds)
            raise TargetError(
                f"${ENV_TARGETS}: no build makes {text!r} (configured builds: {known}); "
                "add the build to [tool.compat.builds]"
            )
        _add(out, Target(tid, matches[0]))
    return tuple(out.values())


# --- sources -----------------------------------------------------------------------------------


class SourceError(CompatError):
    """A build's source cannot be used here; the message says how to point it elsewhere."""

    exit_code = ExitCode.INPUT


def effective_source(build: Build, env: Mapping[str, str]) -> InstallSource:
    """The source in effect: the wheelhouse named by ``find-links-env`` when it is set."""
    src = build.source
    if src.env_var and env.get(src.env_var, "").strip():
        return InstallSource(SourceKind.FIND_LINKS, env[src.env_var].strip(), src.env_var)
    return src


def find_links(src: InstallSource) -> list[str]:
    """The wheelhouse locations of a find-links source (pip allows several, space-separated)."""
    return src.location.split() if src.kind is SourceKind.FIND_LINKS else []


def _uv_index(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable that moves uv's default index, and its value, when one is set."""
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
        if value := env.get(name, "").strip():
            return name, value
    return None


def _is_url(location: str) -> bool:
    return "://" in location


def describe_source(src: InstallSource, env: Mapping[str, str]) -> str:
    """A source in words, credentials removed."""
    if src.kind is SourceKind.INDEX:
        custom = _uv_index(env)
        where = f"{custom[0]}={custom[1]}" if custom else "uv's default"
        return scrub_credentials(f"the default index ({where})")
    if src.kind is SourceKind.INDEX_URL:
        return scrub_credentials(f"the index {src.location}")
    if src.kind is SourceKind.TORCH_BACKEND:
        return f"uv's --torch-backend {src.location}"
    if src.kind is SourceKind.LOCAL:
        return "the invoking interpreter"
    if not src.location:
        return f"the wheelhouse named by ${src.env_var} (not set)"
    named = f" (${src.env_var})" if src.env_var and src.location else ""
    return scrub_credentials(f"the wheelhouse {src.location}{named}")


def redirect_hint(build: Build, src: InstallSource) -> str:
    """How to point a build somewhere else: which key or environment variable."""
    key = build.key
    if src.kind is SourceKind.INDEX:
        return (
            "Point uv at another index with UV_DEFAULT_INDEX, or give "
            f"{key} an index-url, find-links or find-links-env."
        )
    if src.kind is SourceKind.INDEX_URL:
        return f"Change index-url in {key}, or give it find-links / find-links-env instead."
    if src.kind is SourceKind.TORCH_BACKEND:
        return (
            f"Give {key} a find-links folder, or find-links-env naming a variable "
            "such as PIP_FIND_LINKS that holds one, or an index-url that serves this build."
        )
    if src.kind is SourceKind.LOCAL:
        return f"Set {ENV_LOCAL_PYTHON} to an interpreter that has torch."
    if src.env_var:
        return f"Set {src.env_var} to a folder that has the wheel, or set find-links in {key}."
    return f"Change find-links in {key}, or set find-links-env to a variable naming a folder."


def requirement(target: Target, src: InstallSource) -> str:
    """``torch==2.6.0``; a wheelhouse of a cpu/cuXXX/rocm build pins its local label too."""
    assert target.version is not None
    if src.kind is SourceKind.FIND_LINKS and _LOCAL_LABEL.match(target.build.name):
        return f"torch=={target.version}+{target.build.name}"
    return f"torch=={target.version}"


def hop_db_requirements(version: Version) -> tuple[str, ...]:
    """Packages hop_db needs next to this torch (torch < 2.4 was built against NumPy 1)."""
    if version < Version("2.4"):
        return ("numpy<2", *HOP_DB_EXTRAS[1:])
    return HOP_DB_EXTRAS


def install_args(target: Target, env: Mapping[str, str]) -> list[str]:
    """Arguments for ``uv pip install`` that install the target's torch and hop_db's needs."""
    assert target.version is not None
    src = effective_source(target.build, env)
    args = [requirement(target, src), *hop_db_requirements(target.version)]
    if src.kind is SourceKind.INDEX_URL:
        args += ["--index", src.location]
    elif src.kind is SourceKind.TORCH_BACKEND:
        args += ["--torch-backend", src.location]
    for link in find_links(src):
        args += ["--find-links", link]
    return args


def check_source(target: Target, env: Mapping[str, str], *, timeout: float = 10.0) -> str | None:
    """A quick look before installing: what is wrong with the source, or None.

    Catches an unset wheelhouse variable, a wheelhouse without the wheel and
    an index URL that does not answer; the default index and uv's backends
    are left to the install itself.
    """
    if target.is_local:
        return None
    src = effective_source(target.build, env)
    if src.kind is SourceKind.FIND_LINKS:
        if not src.location:
            return f"${src.env_var} is not set"
        wanted = requirement(target, src).removeprefix("torch==")
        seen: list[str] = []
        for link in find_links(src):
            if _is_url(link):
                return _probe_url(link, timeout)
            folder = Path(link)
            if not folder.is_dir():
                return f"{link} is not a folder"
            versions = list_wheelhouse(folder)
            if any(_same(v, wanted) for v in versions):
                return None
            seen += [str(v) for v in versions]
        have = ", ".join(seen) if seen else "no torch wheels"
        return f"it has no torch {wanted} wheel (it has {have})"
    if src.kind is SourceKind.INDEX_URL:
        return _probe_url(src.location.rstrip("/") + "/torch/", timeout)
    return None


def _same(found: Version, wanted: str) -> bool:
    want = Version(wanted)
    return found == want if want.local else Version(found.public) == want


def _probe_url(url: str, timeout: float) -> str | None:
    parts = urllib.parse.urlsplit(url)
    request = urllib.request.Request(
        parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    )
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        return scrub_credentials(f"{url} does not answer ({reason})")


def probe_tag(torch_version: str, cuda: str | None, hip: str | None) -> str:
    """The build tag of an installed torch, from what it reports about itself."""
    label = Version(torch_version).local
    if label and _LOCAL_LABEL.match(label):
        return label
    if hip:
        return "rocm" + ".".join(hip.split(".")[:2])
    if cuda:
        return "cu" + "".join(cuda.split(".")[:2])
    return "cpu"


def env_error_message(target: Target, problem: str, env: Mapping[str, str]) -> str:
    """One paragraph for an env-error: the target, the source, the problem, the fix."""
    src = effective_source(target.build, env)
    problem = problem.rstrip(". ")
    if target.is_local:
        text = f"target local: {problem}. {redirect_hint(target.build, src)}"
    else:
        text = (
            f"target {target.name}: could not install torch {target.version} from "
            f"{describe_source(src, env)}: {problem}. {redirect_hint(target.build, src)}"
        )
    return scrub_credentials(text)


def list_build_versions(build: Build, env: Mapping[str, str]) -> tuple[Version, ...]:
    """The torch versions a build's source offers (uv's backends: the default index's)."""
    src = effective_source(build, env)
    where = describe_source(src, env)
    if src.kind is SourceKind.FIND_LINKS:
        if not src.location:
            raise SourceError(f"{where}: {redirect_hint(build, src)}")
        links = find_links(src)
        if all(not _is_url(link) for link in links):
            return tuple(v for link in links for v in list_wheelhouse(Path(link)))
        return list_index(env=env, no_index=True, find_links=links, where=where)
    if src.kind is SourceKind.INDEX_URL:
        return list_index(env=env, index_url=src.location, where=where)
    custom = _uv_index(env)
    return list_index(env=env, index_url=custom[1] if custom else None, where=where)


def local_python(env: Mapping[str, str], own_envs: Path) -> str | None:
    """The interpreter of the local target: $COMPAT_LOCAL_PYTHON, else the PATH's ``python``.

    Environments under ``own_envs`` (nox's, including the one nox may have
    made for itself) are skipped: "local" means the caller's interpreter.
    """
    if chosen := env.get(ENV_LOCAL_PYTHON, "").strip():
        return chosen
    own = str(own_envs.resolve())
    dirs = [
        d
        for d in env.get("PATH", "").split(os.pathsep)
        if d and not str(Path(d).resolve()).startswith(own)
    ]
    return shutil.which("python", path=os.pathsep.join(dirs)) or shutil.which(
        "python3", path=os.pathsep.join(dirs)
    )


# --- state during a run ------------------------------------------------------------------------


class State(enum.StrEnum):
    """A target's place in a run, in the order the progress lines count them."""

    DONE = "done"  # the suite ran; its failed cells are results
    ENV_ERROR = "env-error"  # torch could not be installed or imported
    FAILED = "failed"  # the suite or the session broke off
    RUNNING = "running"
    WAITING = "waiting"


@dataclass(frozen=True)
class TargetState:
    """Where one target stands in one run."""

    target: str
    run: str
    state: State
    counts: tuple[tuple[str, int], ...] = ()  # status -> cells, in Status order
    seconds: float = 0.0


def write_state(folder: Path, state: TargetState) -> None:
    """Write ``<folder>/<target>.json`` atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "target": state.target,
        "run": state.run,
        "state": state.state.value,
        "counts": [list(pair) for pair in state.counts],
        "seconds": round(state.seconds, 1),
    }
    tmp = folder / f".{state.target}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / f"{state.target}.json")


def read_states(folder: Path, run: str) -> dict[str, TargetState]:
    """The states this run has written, by target id (other runs' files are ignored)."""
    out: dict[str, TargetState] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("run") != run:
                continue
            out[data["target"]] = TargetState(
                target=data["target"],
                run=run,
                state=State(data["state"]),
                counts=tuple((str(k), int(v)) for k, v in data.get("counts", [])),
                seconds=float(data.get("seconds", 0.0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a file being replaced, or a foreign one: the next look will see it
    return out


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Serialise state changes of parallel sessions (POSIX; a no-op elsewhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a", encoding="utf-8") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def count_outcomes(junit: Path) -> tuple[tuple[str, int], ...]:
    """Cells per status in one JUnit file, in ``Status`` order; ``()`` if it cannot be read."""
    from compat.errors import JUnitFileError
    from compat.junit import parse_junit

    try:
        docs = parse_junit(junit.read_bytes(), str(junit))
    except (OSError, JUnitFileError):
        return ()
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update(cell.status.value for cell in doc.cells)
        if doc.env_error is not None and not doc.cells:
            counts[Status.ENV_ERROR.value] += 1
    return tuple((s.value, counts[s.value]) for s in Status if counts[s.value])


def render_progress(targets: Sequence[str], states: Mapping[str, TargetState]) -> list[str]:
    """Plain lines (parallel sessions interleave): a summary, then one line per target."""
    by_state = Counter(states[t].state if t in states else State.WAITING for t in targets)
    head = " · ".join(f"{by_state[s]} {s.value}" for s in State if by_state[s])
    lines = [f"matrix: {head} (of {len(targets)} targets)"]
    width = max((len(t) for t in targets), default=0)
    for t in targets:
        st = states.get(t)
        state = st.state if st else State.WAITING
        line = f"  {state.value:<9} {t:<{width}}"
        if st and st.state not in (State.RUNNING, State.WAITING):
            counts = " · ".join(f"{n} {status}" for status, n in st.counts) or "no cells"
            line += f"  {st.seconds:>6.0f}s  {counts}"
        lines.append(line.rstrip())
    return lines
