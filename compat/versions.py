"""Torch version requests -> concrete versions: the newest patch of each minor.

The pre-release policy is explicit: a pre-release (``rc``, ``dev``) is chosen
only when ``prereleases`` is true, or when the request itself names one
(a pin ``2.10.0rc1``, a bound ``>=2.10.0rc1``). Resolution is a pure function
of the request and the versions an index offers; listing those versions is
the only part that talks to the outside.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from compat.errors import CompatError, ConfigError, ExitCode
from suites.scrub import scrub_credentials

_OPERATOR = re.compile(r"^\s*(===|==|!=|~=|<=|>=|<|>)")


class VersionRequestError(ConfigError):
    """A version string or specifier that cannot be parsed (the caller names the key)."""


class NoMatchingVersionError(ConfigError):
    """The index offers no version that the request accepts."""


class IndexUnavailableError(CompatError):
    """The list of available torch versions could not be fetched."""

    exit_code = ExitCode.INPUT


@dataclass(frozen=True, order=True)
class Pin:
    """One listed version: exact (``2.9.1``) or a minor (``2.6``: its newest patch)."""

    version: Version
    exact: bool

    def __str__(self) -> str:
        return str(self.version)


@dataclass(frozen=True)
class VersionRequest:
    """What ``versions`` asks for: a list of pins, or one specifier such as ``>=2.4``."""

    pins: tuple[Pin, ...] = ()
    specifier: SpecifierSet | None = None

    @property
    def needs_index(self) -> bool:
        """Whether resolving it needs the list of available versions."""
        return self.specifier is not None or any(not p.exact for p in self.pins)

    def __str__(self) -> str:
        if self.specifier is not None:
            return str(self.specifier)
        return ", ".join(str(p) for p in self.pins)


def parse_pin(text: str) -> Pin:
    """``"2.6"`` -> newest patch of 2.6; ``"2.9.1"`` / ``"2.10.0rc1"`` -> exactly that."""
    try:
        version = Version(text.strip())
    except InvalidVersion as err:
        raise VersionRequestError(
            f"{text!r} is not a version; write a minor such as '2.6' (its newest patch), "
            "a full version such as '2.9.1', or a specifier such as '>=2.4'"
        ) from err
    if version.local is not None:
        raise VersionRequestError(
            f"{text!r} carries a local label; drop '+{version.local}' and choose the build "
            "under [tool.compat.builds] instead"
        )
    if len(version.release) < 2:
        raise VersionRequestError(
            f"{text!r} names a major version only; write a minor such as '{version.major}.6'"
        )
    exact = len(version.release) >= 3
    if not exact and (version.is_prerelease or version.is_postrelease):
        raise VersionRequestError(
            f"{text!r}: a pre- or post-release needs the full version, e.g. '2.10.0rc1'"
        )
    return Pin(version=version, exact=exact)


def parse_request(value: str | Sequence[str]) -> VersionRequest:
    """A TOML value or an env var's text -> a request.

    A string that starts with an operator is a specifier (``">=2.4,<2.8"``);
    any other string is a comma-separated list of pins (``"2.6,2.9.1"``).
    """
    if isinstance(value, str):
        if _OPERATOR.match(value):
            try:
                spec = SpecifierSet(value)
            except InvalidSpecifier as err:
                raise VersionRequestError(
                    f"{value!r} is not a version specifier; write e.g. '>=2.4' or '>=2.4,<2.8'"
                ) from err
            return VersionRequest(specifier=spec)
        items: Sequence[str] = [part for part in value.split(",") if part.strip()]
    else:
        items = value
    if not items:
        raise VersionRequestError("no versions given; list some, e.g. ['2.6', '2.9.1']")
    pins: list[Pin] = []
    for item in items:
        if _OPERATOR.match(item):
            raise VersionRequestError(
                f"{item!r} is a specifier inside a list; give it as the whole value, "
                f"versions = {item!r}"
            )
        pin = parse_pin(item)
        if pin not in pins:
            pins.append(pin)
    return VersionRequest(pins=tuple(pins))


def _minor(version: Version) -> tuple[int, int]:
    return (version.major, version.minor)


def newest_per_minor(versions: Iterable[Version]) -> tuple[Version, ...]:
    """The newest version of each (major, minor), ascending."""
    best: dict[tuple[int, int], Version] = {}
    for v in versions:
        key = _minor(v)
        if key not in best or v > best[key]:
            best[key] = v
    return tuple(sorted(best.values()))


def resolve_versions(
    request: VersionRequest,
    available: Iterable[Version],
    *,
    prereleases: bool,
    source: str = "the index",
) -> tuple[Version, ...]:
    """The versions a request selects, ascending, each without a local label.

    Exact pins are taken as written (the install reports a missing one);
    minors and specifiers pick the newest matching patch of each minor.
    """
    public = sorted({Version(v.public) for v in available})
    if request.specifier is not None:
        spec = request.specifier
        allow = prereleases or bool(spec.prereleases)
        chosen = newest_per_minor(spec.filter(public, prereleases=allow))
        if not chosen:
            raise NoMatchingVersionError(
                f"no torch version on {source} matches {str(spec)!r}"
                + _prerelease_hint(spec.filter(public, prereleases=True), allow)
                + _newest_hint(public)
            )
        return chosen
    out: set[Version] = set()
    for pin in request.pins:
        if pin.exact:
            out.add(pin.version)
            continue
        in_minor = [v for v in public if _minor(v) == _minor(pin.version)]
        finals = [v for v in in_minor if not v.is_prerelease]
        candidates = in_minor if prereleases else finals
        if not candidates:
            raise NoMatchingVersionError(
                f"no torch {pin.version.major}.{pin.version.minor}.x on {source}"
                + _prerelease_hint(in_minor, prereleases)
                + _newest_hint(public)
            )
        out.add(max(candidates))
    return tuple(sorted(out))


def _prerelease_hint(candidates: Iterable[Version], allowed: bool) -> str:
    pre = sorted(v for v in candidates if v.is_prerelease)
    if allowed or not pre:
        return ""
    return f"; pre-releases exist ({', '.join(map(str, pre[-3:]))}): set prereleases = true"


def _newest_hint(public: Sequence[Version]) -> str:
    finals = [v for v in public if not v.is_prerelease]
    return f" (newest there: {finals[-1]})" if finals else " (it lists no torch release)"


# --- listing what an index or a wheelhouse offers ---------------------------------------------

Runner = Callable[[Sequence[str], Mapping[str, str]], "subprocess.CompletedProcess[str]"]

# pip settings that say how to reach an index, never which one: a listing keeps them.
_PIP_TRANSPORT = frozenset({"PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TRUSTED_HOST"})


def list_wheelhouse(folder: Path, package: str = "torch") -> tuple[Version, ...]:
    """Versions of ``package`` wheels in a local folder, ascending (local labels kept)."""
    found: set[Version] = set()
    for entry in folder.iterdir():
        if not entry.name.endswith(".whl"):
            continue
        try:
            name, version, _, _ = parse_wheel_filename(entry.name)
        except InvalidWheelFilename:
            continue
        if name == package:
            found.add(version)
    return tuple(sorted(found))


def parse_pip_index_output(text: str) -> tuple[Version, ...]:
    """The versions in ``pip index versions`` output, ascending."""
    for line in text.splitlines():
        if line.startswith("Available versions:"):
            items = line.split(":", 1)[1].split(",")
            out: set[Version] = set()
            for item in items:
                try:
                    out.add(Version(item.strip()))
                except InvalidVersion:
                    continue
            return tuple(sorted(out))
    return ()


def pip_command(env: Mapping[str, str]) -> list[str]:
    """How to run pip: this interpreter's, else uv's ``tool run pip``."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    uv = shutil.which("uv", path=env.get("PATH", os.defpath))
    if uv is None:
        raise IndexUnavailableError(
            "listing torch versions needs pip or uv, and neither is here; "
            "install one (python -m pip install uv) or pin exact versions"
        )
    return [uv, "tool", "run", "pip"]


def pip_env(
    env: Mapping[str, str], *, index_url: str | None = None, find_links: Sequence[str] = ()
) -> dict[str, str]:
    """The environment of a listing: ``env`` without pip's own sources, the source's added.

    A listing must ask only the build's source: the machine's ``PIP_FIND_LINKS``,
    ``PIP_INDEX_URL`` or pip.conf would add versions that source does not have.
    The source travels here, not on the command line, which may show its token.
    """
    kept = {k: v for k, v in env.items() if not k.startswith("PIP_") or k in _PIP_TRANSPORT}
    kept["PIP_CONFIG_FILE"] = os.devnull  # pip then reads no config file at all
    kept["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if index_url:
        kept["PIP_INDEX_URL"] = index_url
    if find_links:
        kept["PIP_FIND_LINKS"] = " ".join(find_links)
    return kept


def list_index(
    *,
    env: Mapping[str, str],
    index_url: str | None = None,
    find_links: Sequence[str] = (),
    no_index: bool = False,
    prereleases: bool = True,
    pip: Sequence[str] | None = None,
    run: Runner | None = None,
    where: str = "the index",
) -> tuple[Version, ...]:
    """Torch versions an index (or find-links page) offers, via ``pip index versions``."""
    cmd = [*(pip or pip_command(env)), "index", "versions", "torch"]
    cmd += ["--timeout", "15", "--retries", "1"]
    if prereleases:
        cmd.append("--pre")
    if no_index:
        cmd.append("--no-index")
    runner = run or _run
    try:
        done = runner(cmd, pip_env(env, index_url=index_url, find_links=find_links))
    except (OSError, subprocess.TimeoutExpired) as err:
        raise IndexUnavailableError(f"could not list torch versions on {where}: {err}") from err
    versions = parse_pip_index_output(done.stdout)
    if done.returncode != 0 or not versions:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
        raise IndexUnavailableError(
            f"could not list torch versions on {where} (pip index versions exited "
            f"{done.returncode}: {scrub_credentials(tail) or 'no output'})"
        )
    return versions


def _run(cmd: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(cmd), env=dict(env), capture_output=True, text=True, timeout=180, check=False
    )
