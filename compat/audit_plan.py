"""What an audit compares: the candidate it names, and its baseline.

The candidate is ``local`` (an interpreter), a wheel file or a folder of
wheels, or a version from an index (pre-releases included, since a release
candidate is one); the baseline is a target id, a version of the candidate's
build family, or by default the newest final release older than the
candidate in that family. Every mistake here is ``AuditNotRun``: one sentence
that names the key or variable and the fix.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from compat.config import (
    ENV_BASELINE,
    ENV_CANDIDATE,
    ENV_CANDIDATE_INDEX,
    AuditConfig,
    Build,
    InstallSource,
    SourceKind,
    builtin_source,
)
from compat.errors import CompatError, ExitCode, TargetError, did_you_mean
from compat.model import build_family
from compat.sources import describe_source, effective_source, hop_db_requirements
from compat.targets import (
    LOCAL,
    UNKNOWN_BUILD,
    Target,
    TargetId,
    build_tag,
    default_index_serves_cuda,
    target_for_id,
)
from compat.versions import list_wheelhouse
from suites.scrub import scrub_credentials


class AuditNotRun(CompatError):
    """The audit cannot compare the two: a side not installable, or the audit misconfigured."""

    exit_code = ExitCode.INPUT  # 2, which is also AuditExit.NOT_RUN


# --- the candidate ---------------------------------------------------------------------------


class CandidateKind(enum.StrEnum):
    """What the candidate is."""

    LOCAL = "local"  # the interpreter of COMPAT_LOCAL_PYTHON (or the PATH's python)
    WHEEL = "wheel"  # a wheel file, or a folder of wheels (its newest torch)
    INDEX = "index"  # a version, from an index (pre-releases included) or the default one


@dataclass(frozen=True)
class Candidate:
    """The torch under audit, and where it comes from."""

    kind: CandidateKind
    location: str = ""  # the wheel file or folder; the index URL ("" for the default index)
    version: Version | None = None  # the torch it installs; None for local (its probe says)

    def describe(self, env: Mapping[str, str]) -> str:
        """Where it comes from, in words, credentials removed."""
        if self.kind is CandidateKind.LOCAL:
            return f"the interpreter {self.location}" if self.location else "the PATH's python"
        if self.kind is CandidateKind.WHEEL:
            what = "folder of wheels" if Path(self.location).is_dir() else "wheel"
            return scrub_credentials(f"the {what} {self.location}")
        if self.location:
            return scrub_credentials(f"torch {self.version} from the index {self.location}")
        return f"torch {self.version} from {describe_source(InstallSource(SourceKind.INDEX), env)}"


def parse_candidate(config: AuditConfig, root: Path) -> Candidate:
    """The candidate ``config`` names: ``local``, a version, or a wheel file or folder."""
    text, named_by = config.candidate, config.named_by("candidate")
    if not text:
        raise AuditNotRun(
            f"no candidate is named: set {ENV_CANDIDATE} (local, a wheel file or folder, or a "
            "version such as 2.16.0rc1) or candidate in [tool.compat.audit]"
        )
    if config.index_url and (text == LOCAL or not _is_version(text)):
        raise AuditNotRun(
            f"{config.named_by('index-url')} applies to a version candidate only, and "
            f"{named_by} is {text!r}: drop the index, or name a version such as 2.16.0rc1"
        )
    if text == LOCAL:
        return Candidate(CandidateKind.LOCAL)
    if _is_version(text):
        version = Version(text)
        if len(version.release) < 3:
            raise AuditNotRun(
                f"{named_by} {text!r} is not a full version: name the release to install, "
                "e.g. 2.16.0rc1 or 2.16.0"
            )
        return Candidate(CandidateKind.INDEX, config.index_url or "", version)
    path = Path(text).expanduser()
    path = path if path.is_absolute() else root / path
    if path.is_dir():
        found = list_wheelhouse(path)
        if not found:
            raise AuditNotRun(
                f"{named_by}: the folder {text} holds no torch wheel; build one into it, or "
                "name the wheel file"
            )
        return Candidate(CandidateKind.WHEEL, str(path), max(found))
    if path.is_file():
        return Candidate(CandidateKind.WHEEL, str(path), _wheel_version(path, named_by))
    raise AuditNotRun(
        f"{named_by} {text!r} is neither 'local', a torch version such as 2.16.0rc1, nor an "
        f"existing wheel file or folder{did_you_mean(text, [LOCAL])}"
    )


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _wheel_version(path: Path, named_by: str) -> Version:
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename as err:
        raise AuditNotRun(
            f"{named_by}: {path.name} is not named like a wheel "
            "(torch-<version>-<python>-<abi>-<platform>.whl); name the wheel file as built"
        ) from err
    if name != "torch":
        raise AuditNotRun(f"{named_by}: {path.name} is a wheel of {name}, not of torch")
    return version


def candidate_install(candidate: Candidate) -> tuple[list[str], dict[str, str]]:
    """``uv pip install`` arguments and uv's variables for a candidate that is installed."""
    assert candidate.version is not None
    extras = list(hop_db_requirements(candidate.version))
    if candidate.kind is CandidateKind.WHEEL and not Path(candidate.location).is_dir():
        return [candidate.location, *extras], {}
    pin = [f"torch=={candidate.version}", *extras]
    if candidate.kind is CandidateKind.WHEEL:
        return pin, {"UV_FIND_LINKS": candidate.location}
    return pin, ({"UV_INDEX": candidate.location} if candidate.location else {})


def candidate_fix(candidate: Candidate, python: str) -> str:
    """What to check when a candidate does not install."""
    if candidate.kind is CandidateKind.WHEEL:
        return (
            f"Check that the wheel is for Python {python} on this platform ([tool.compat] "
            f"python), or name another one ({ENV_CANDIDATE})."
        )
    return (
        f"Check the version and where it comes from ({ENV_CANDIDATE}, "
        f"{ENV_CANDIDATE_INDEX} or index-url in [tool.compat.audit])."
    )


# --- the baseline ----------------------------------------------------------------------------


def family_build(tag: str, builds: Sequence[Build], platform: str) -> Build | None:
    """The build whose releases a candidate of build ``tag`` is compared with.

    CUDA: the default index's, what users install today (on Linux x86_64);
    otherwise the configured build of that name, else uv's backend of it.
    """
    configured = {b.name: b for b in builds}
    if build_family(tag) == "cuda" and default_index_serves_cuda(platform):
        return configured.get("default", Build("default", InstallSource(SourceKind.INDEX)))
    if tag in configured:
        return configured[tag]
    source = builtin_source(tag)
    if source is None or source.kind is not SourceKind.TORCH_BACKEND:
        return None
    return Build(tag, source)


VersionLister = Callable[[Build], Sequence[Version]]


def resolve_baseline(
    config: AuditConfig,
    candidate_version: Version,
    candidate_tag: str,
    builds: Sequence[Build],
    platform: str,
    list_versions: VersionLister,
    env: Mapping[str, str],
) -> Target:
    """The baseline ``config`` names, or the newest final release older than the candidate."""
    named_by = config.named_by("baseline")
    text = config.baseline
    family = build_family(candidate_tag)
    if text:
        try:
            tid = TargetId.parse(text, build_optional=True)
        except TargetError as err:
            raise AuditNotRun(
                f"{named_by} {text!r} is not a baseline: write a target id such as "
                "2.12.1-cu130 or 2.12.1-cpu, or a full version such as 2.12.1 (of the "
                "candidate's build family)"
            ) from err
        if tid.version is None:
            raise AuditNotRun(
                f"{named_by}: the baseline is a release; only the candidate can be local"
            )
        if tid.tag != UNKNOWN_BUILD:
            return target_for_id(text, builds, platform, named_by=named_by)
    build = family_build(candidate_tag, builds, platform)
    if build is None:
        raise AuditNotRun(
            f"no build serves the candidate's build family ({family}): name a baseline, "
            f"e.g. {ENV_BASELINE}=2.12.1-cpu, or baseline in [tool.compat.audit]"
        )
    if text:
        version = TargetId.parse(text, build_optional=True).version
        assert version is not None
        return Target(TargetId(version, build_tag(build.name, version, platform)), build)
    ceiling = Version(candidate_version.base_version)
    older = sorted(
        {
            Version(v.public)
            for v in list_versions(build)
            if not v.is_prerelease and Version(v.public) < ceiling
        }
    )
    if not older:
        where = describe_source(effective_source(build, env), env)
        raise AuditNotRun(
            f"{build.key}'s source, {where}, has no final torch release older than the candidate's "
            f"{candidate_version}; name a baseline, e.g. {ENV_BASELINE}="
            f"{_example_id(build, platform)}, or baseline in [tool.compat.audit]"
        )
    version = older[-1]
    return Target(TargetId(version, build_tag(build.name, version, platform)), build)


def _example_id(build: Build, platform: str) -> str:
    version = Version("2.12.1")
    return f"{version}-{build_tag(build.name, version, platform)}"
