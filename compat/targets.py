"""A target: one torch environment of the matrix, with a stable id.

``TargetId`` is the id (``2.6.0-cu124``, ``2.13.0-cpu``, ``local``):
``str()`` formats it and ``TargetId.parse`` reads it back. A report's input
may name a version alone (``2.6.0``: a pytest file whose build nobody
recorded); its build is ``unknown``, a family of its own. ``Target`` adds
the configured build; ``plan_targets`` turns a ``MatrixConfig`` into the
ordered targets. Where a build's wheels come from is ``compat.sources``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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
from compat.errors import TargetError
from compat.sources import describe_source, effective_source, list_build_versions
from compat.versions import NoMatchingVersionError, resolve_versions

LOCAL = "local"
# The build of a target named by its version alone: compared only with other such targets.
UNKNOWN_BUILD = "unknown"

# CUDA of the Linux x86_64 wheels the default index serves, by torch minor.
DEFAULT_CUDA: tuple[tuple[tuple[int, int], tuple[int, int], str], ...] = (
    ((2, 2), (2, 4), "cu121"),
    ((2, 5), (2, 6), "cu124"),
    ((2, 7), (2, 7), "cu126"),
    ((2, 8), (2, 10), "cu128"),
    ((2, 11), (2, 14), "cu130"),
    ((2, 15), (2, 15), "cu132"),
)

_TAG = re.compile(r"^[a-z][a-z0-9.]*$")


def is_build_tag(text: str) -> bool:
    """Whether ``text`` is a build tag as target ids spell it (``cpu``, ``cu124``, ``rocm6.3``)."""
    return _TAG.fullmatch(text) is not None


def default_index_serves_cuda(platform: str) -> bool:
    """Whether the default index's torch wheels for ``platform`` are CUDA builds (Linux x86_64)."""
    return platform in ("linux-x86_64", "manylinux-x86_64")


def default_tag(version: Version, platform: str) -> str:
    """The id tag of what the default index serves: its CUDA on Linux x86_64, else cpu.

    Versions outside the table get ``default``; the suite reports the real
    CUDA version (``cuda_version``) either way.
    """
    if not default_index_serves_cuda(platform):
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
    """``<version>-<tag>`` (``2.6.0-cu124``), ``<version>`` (build unknown), or ``local``."""

    version: Version | None
    tag: str

    def __str__(self) -> str:
        if self.version is None:
            return LOCAL
        return str(self.version) if self.tag == UNKNOWN_BUILD else f"{self.version}-{self.tag}"

    @classmethod
    def parse(cls, text: str, *, build_optional: bool = False) -> TargetId:
        """Inverse of ``str()``; a version alone only with ``build_optional`` (report inputs)."""
        text = text.strip()
        if text == LOCAL:
            return cls(None, LOCAL)
        head, sep, tag = text.partition("-")
        version = _full_version(head)
        if version is not None and not sep and build_optional:
            return cls(version, UNKNOWN_BUILD)
        if version is None or not sep or not _TAG.match(tag):
            example = "'2.6.0' (build unknown), " if build_optional else ""
            raise TargetError(
                f"{text!r} is not a target id; write <full torch version>-<build>, e.g. "
                f"'2.6.0-cu124' or '2.13.0-cpu', {example}or 'local'"
            )
        return cls(version, tag)


def _full_version(text: str) -> Version | None:
    """``text`` as a full release (``2.6.0``); None for ``2.6``, ``v2.6.0`` or ``2.6.0+cpu``."""
    try:
        version = Version(text)
    except InvalidVersion:
        return None
    if str(version) != text or version.local is not None or len(version.release) < 3:
        return None
    return version


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
        _add(out, target_for_id(text, config.builds, platform, named_by=f"${ENV_TARGETS}"))
    return tuple(out.values())


def target_for_id(text: str, builds: Sequence[Build], platform: str, *, named_by: str) -> Target:
    """The target an id names: the first configured build that makes it, else uv's build of
    that name (``cu126``); ``TargetError`` (naming ``named_by``) when none does."""
    tid = TargetId.parse(text)
    if tid.version is None:
        return Target(tid, Build(LOCAL, InstallSource(SourceKind.LOCAL)))
    matches = [b for b in builds if build_tag(b.name, tid.version, platform) == tid.tag]
    if not matches and (source := builtin_source(tid.tag)) is not None:
        matches = [Build(tid.tag, source)]
    if not matches:
        known = ", ".join(b.name for b in builds)
        raise TargetError(
            f"{named_by}: no build makes {text!r} (configured builds: {known}); "
            "add the build to [tool.compat.builds]"
        )
    return Target(tid, matches[0])
