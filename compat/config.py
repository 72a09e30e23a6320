"""``[tool.compat]`` -> a frozen, validated ``MatrixConfig``.

Read once, checked completely: an unknown key is rejected with a "did you
mean", a bad value names its key and the fix. Environment variables narrow or
replace parts of the table for one run (see ``ENV_*``); they are passed in as
a mapping, never read from ``os.environ`` here.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat.behaviours import parse_behaviours
from compat.errors import ConfigError, did_you_mean
from compat.versions import VersionRequest, VersionRequestError, parse_request
from suites.behaviours import Behaviour
from suites.schema import DEFAULT_MODES, Device, Mode, Source

ENV_CONFIG = "COMPAT_CONFIG"  # a TOML file whose [tool.compat] replaces pyproject.toml's
ENV_VERSIONS = "COMPAT_VERSIONS"  # "2.6,2.9.1" or ">=2.4": replaces versions, for every build
ENV_BUILDS = "COMPAT_BUILDS"  # "default,cpu": the builds to run (others are dropped)
ENV_TARGETS = "COMPAT_TARGETS"  # "2.6.0-cu124,local": exactly these targets, no index query
# The audit's, for one run: they replace [tool.compat.audit]'s keys of the same meaning.
ENV_CANDIDATE = "COMPAT_CANDIDATE"  # "local", a wheel file or folder, or a version
ENV_CANDIDATE_INDEX = "COMPAT_CANDIDATE_INDEX"  # the index a version candidate comes from
ENV_BASELINE = "COMPAT_BASELINE"  # "2.12.1-cu130", or a version alone

DEFAULT_TIMEOUT = 300.0
DEFAULT_AOTI_TIMEOUT = 900.0  # one aoti child: it compiles C++ (tens of seconds per case)


class ConfigFileError(ConfigError):
    """The file is missing, is not TOML, or has no [tool.compat] table."""


class UnknownKeyError(ConfigError):
    """A key that [tool.compat] does not define (usually a typo)."""


class ConfigValueError(ConfigError):
    """A known key with a value of the wrong type or form."""


class SourceKind(enum.StrEnum):
    """Where a build's torch wheels come from."""

    INDEX = "index"  # the default index (uv's, or UV_DEFAULT_INDEX)
    INDEX_URL = "index-url"  # an index given by URL, searched before the default one
    TORCH_BACKEND = "torch-backend"  # uv's --torch-backend (cpu, cu126, rocm6.3, ...)
    FIND_LINKS = "find-links"  # a wheelhouse: a folder or a page of links
    LOCAL = "local"  # no install: the torch of the invoking interpreter


@dataclass(frozen=True)
class InstallSource:
    """A build's source; ``env_var`` names a wheelhouse that, when set, takes precedence."""

    kind: SourceKind
    location: str = ""  # the URL, backend name or folder; "" when only env_var is given
    env_var: str | None = None


@dataclass(frozen=True)
class Build:
    """One entry of [tool.compat.builds]: a name, its source, and its own versions if any."""

    name: str
    source: InstallSource
    versions: VersionRequest | None = None  # None: the top-level versions

    @property
    def key(self) -> str:
        return f"[tool.compat.builds.{self.name}]"


@dataclass(frozen=True)
class AuditConfig:
    """[tool.compat.audit] after the environment's overrides: what to audit against what.

    Values as written; ``compat.audit_run`` reads them when the audit runs,
    since a candidate names files and interpreters that only exist then.
    """

    candidate: str | None = None  # "local", a wheel file or folder, or a torch version
    index_url: str | None = None  # where a version candidate comes from; None: the default index
    baseline: str | None = None  # a target id or a version; None: the newest older release
    hops: tuple[str, ...] = ()  # fnmatch patterns of the cases to run; (): every case
    where: str = "pyproject.toml [tool.compat.audit]"
    overridden: tuple[str, ...] = ()  # the keys an environment variable gave

    def named_by(self, key: str) -> str:
        """Where a key's value was read, for messages: ``$COMPAT_CANDIDATE`` or the table."""
        var = dict(_AUDIT_ENV).get(key)
        return f"${var}" if var is not None and key in self.overridden else f"{self.where} {key}"


@dataclass(frozen=True)
class MatrixConfig:
    """The matrix as configured, after the environment's overrides."""

    builds: tuple[Build, ...]
    python: str
    versions: VersionRequest | None = None
    devices: tuple[Device, ...] = (Device.CPU,)
    timeout: float = DEFAULT_TIMEOUT
    prereleases: bool = False
    behaviours: tuple[Behaviour, ...] = ()  # user-declared, validated by compat.behaviours
    targets: tuple[str, ...] = ()  # explicit target ids (COMPAT_TARGETS): no resolution
    where: str = "pyproject.toml [tool.compat]"
    audit: AuditConfig = AuditConfig()
    modes: tuple[Mode, ...] = DEFAULT_MODES
    cases: tuple[str, ...] = ()  # fnmatch patterns over case ids, as the suite's --case
    case_modules: tuple[str, ...] = ()  # modules whose CASES are user rows
    case_path: tuple[Path, ...] = ()  # absolute folders where case modules are found
    aoti_timeout: float = DEFAULT_AOTI_TIMEOUT

    def versions_of(self, build: Build) -> VersionRequest | None:
        return build.versions if build.versions is not None else self.versions

    @property
    def needs_index(self) -> bool:
        """Whether planning asks an index which versions exist (a minor or a specifier)."""
        if self.targets:
            return False
        requests = (self.versions_of(b) for b in self.builds)
        return any(r is not None and r.needs_index for r in requests)


_TOP_KEYS = (
    "versions",
    "builds",
    "python",
    "devices",
    "timeout",
    "prereleases",
    "behaviours",
    "audit",
    "modes",
    "cases",
    "case-modules",
    "case-path",
    "aoti-timeout",
)
_AUDIT_KEYS = ("candidate", "index-url", "baseline", "hops")
_AUDIT_ENV = (
    ("candidate", ENV_CANDIDATE),
    ("index-url", ENV_CANDIDATE_INDEX),
    ("baseline", ENV_BASELINE),
)
_BUILD_KEYS = ("versions", "index-url", "torch-backend", "find-links", "find-links-env")
_SOURCE_KEYS = ("index-url", "torch-backend", "find-links")
_BUILD_NAME = re.compile(r"^[a-z][a-z0-9.]*$")
_BACKEND = re.compile(r"^(auto|cpu|xpu|cu\d{2,4}|rocm\d+(\.\d+){0,2})$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PYTHON = re.compile(r"^3\.\d+$")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_LOCAL = "local"


def builtin_source(name: str) -> InstallSource | None:
    """The source a build name implies when its table gives none."""
    if name == "default":
        return InstallSource(SourceKind.INDEX)
    if name == _LOCAL:
        return InstallSource(SourceKind.LOCAL)
    if _BACKEND.match(name) and name != "auto":
        return InstallSource(SourceKind.TORCH_BACKEND, name)
    return None


def config_path(pyproject: Path, env: Mapping[str, str]) -> Path:
    """The file [tool.compat] is read from: ``$COMPAT_CONFIG``, else ``pyproject``."""
    override = env.get(ENV_CONFIG, "").strip()
    return Path(override) if override else pyproject


def load_config(
    pyproject: Path, env: Mapping[str, str], *, default_python: str = "3.11"
) -> MatrixConfig:
    """Read [tool.compat] from ``pyproject`` (or ``$COMPAT_CONFIG``) and apply the overrides."""
    table, where = _read_table(pyproject, env)
    root = config_path(pyproject, env).resolve().parent
    return parse_config(table, env, where=where, default_python=default_python, root=root)


def load_behaviours(
    pyproject: Path, env: Mapping[str, str]
) -> tuple[tuple[Behaviour, ...], str | None]:
    """The user behaviours of [tool.compat], and a warning when the matrix keys are invalid.

    The report needs only the behaviours: a wrong ``versions`` stops ``nox -s matrix``,
    not a report of results that already exist.
    """
    table, where = _read_table(pyproject, env)
    behaviours = _behaviours(table.get("behaviours", []), where)
    try:
        parse_config(table, env, where=where, root=config_path(pyproject, env).resolve().parent)
    except ConfigError as err:
        return behaviours, (
            f"{err}; the report reads only the behaviours and goes on, but the matrix "
            "will not run until this is fixed."
        )
    return behaviours, None


def _read_table(pyproject: Path, env: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """The [tool.compat] table and how to name it; ``ConfigFileError`` when there is none."""
    path = config_path(pyproject, env)
    override = path != pyproject
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        hint = f" (named by {ENV_CONFIG})" if override else ""
        raise ConfigFileError(f"{path}{hint} does not exist") from err
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigFileError(f"{path} is not readable TOML: {err}") from err
    table = data.get("tool", {}).get("compat")
    if not isinstance(table, dict):
        raise ConfigFileError(
            f"{path} has no [tool.compat] table; add one (see README.md, 'Configuration')"
        )
    return table, f"{path.name} [tool.compat]"


def parse_config(
    table: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    where: str = "pyproject.toml [tool.compat]",
    default_python: str = "3.11",
    root: Path = Path(),
) -> MatrixConfig:
    """Validate a [tool.compat] table and apply ``COMPAT_VERSIONS`` / ``_BUILDS`` / ``_TARGETS``.

    ``root`` is the folder of the file the table was read from: ``case-path`` is relative
    to it (by default the current folder).
    """
    _reject_unknown(table, _TOP_KEYS, where)
    versions = _versions(table["versions"], where, "versions") if "versions" in table else None
    builds_table = table.get("builds", {"default": {}})
    if not isinstance(builds_table, dict) or not builds_table:
        raise ConfigValueError(
            f"{where}: builds must be a table of builds, e.g. [tool.compat.builds.default]"
        )
    builds = {name: _build(name, spec, where) for name, spec in builds_table.items()}

    if text := env.get(ENV_VERSIONS, "").strip():
        versions = _versions(text, f"${ENV_VERSIONS}", "")
        builds = {name: Build(b.name, b.source) for name, b in builds.items()}
    selected = list(builds)
    if text := env.get(ENV_BUILDS, "").strip():
        selected = list(dict.fromkeys(_names(text)))
        for name in selected:
            if name in builds:
                continue
            if builtin_source(name) is None:
                raise ConfigValueError(
                    f"${ENV_BUILDS}: unknown build {name!r}{did_you_mean(name, list(builds))} "
                    f"(configured: {', '.join(builds)}; uv's backends such as cpu, cu126 and "
                    f"rocm6.3 need no table; any other build needs [tool.compat.builds.{name}])"
                )
            builds[name] = _build(name, {}, f"${ENV_BUILDS}")

    chosen = tuple(builds[name] for name in selected)
    for build in chosen:
        if build.name != _LOCAL and build.versions is None and versions is None:
            raise ConfigValueError(
                f"{where}: build {build.name!r} has no versions; set versions = ['2.6', '2.9'] "
                f"at the top or in {build.key}"
            )
    targets = tuple(_names(env.get(ENV_TARGETS, "")))
    return MatrixConfig(
        builds=chosen,
        python=_python(table.get("python", default_python), where),
        versions=versions,
        devices=_devices(table.get("devices", ["cpu"]), where),
        timeout=_timeout(table.get("timeout", DEFAULT_TIMEOUT), where),
        prereleases=_bool(table.get("prereleases", False), where, "prereleases"),
        behaviours=_behaviours(table.get("behaviours", []), where),
        targets=targets,
        where=where,
        audit=_audit(table.get("audit", {}), env, where),
        modes=_modes(table.get("modes"), where),
        cases=_patterns(table.get("cases", []), where),
        case_modules=_case_modules(table.get("case-modules", []), where),
        case_path=_case_path(table.get("case-path", []), where, root),
        aoti_timeout=_timeout(
            table.get("aoti-timeout", DEFAULT_AOTI_TIMEOUT), where, "aoti-timeout"
        ),
    )


def _reject_unknown(table: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise UnknownKeyError(
                f"{where}: unknown key {key!r}{did_you_mean(key, known)} "
                f"(known keys: {', '.join(known)})"
            )


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _versions(value: object, where: str, key: str) -> VersionRequest:
    label = f"{where} {key}".strip()
    if not isinstance(value, str) and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise ConfigValueError(
            f"{label} must be a list of version strings such as ['2.6', '2.9.1'] or a "
            f"specifier string such as '>=2.4', not {value!r}"
        )
    try:
        return parse_request(value)
    except VersionRequestError as err:
        raise ConfigValueError(f"{label}: {err}") from err


def _build(name: object, spec: object, where: str) -> Build:
    if not isinstance(name, str) or not _BUILD_NAME.match(name):
        raise ConfigValueError(
            f"{where}: build name {name!r} must be lower-case letters, digits and dots, "
            "e.g. 'default', 'cpu', 'cu126', 'rocm6.3'"
        )
    key = f"[tool.compat.builds.{name}]"
    if not isinstance(spec, dict):
        raise ConfigValueError(f"{where}: {key} must be a table, not {spec!r}")
    _reject_unknown(spec, _BUILD_KEYS, key)
    for k, v in spec.items():
        if k != "versions" and (not isinstance(v, str) or not v.strip()):
            raise ConfigValueError(f"{key} {k} must be a non-empty string, not {v!r}")
    source = _build_source(name, spec, key)
    versions = _versions(spec["versions"], key, "versions") if "versions" in spec else None
    return Build(name=name, source=source, versions=versions)


def _build_source(name: str, spec: dict[str, Any], key: str) -> InstallSource:
    """Where a build's wheels come from: its one source key, else what uv knows of its name."""
    given = [k for k in _SOURCE_KEYS if k in spec]
    if name == _LOCAL and (given or "find-links-env" in spec or "versions" in spec):
        raise ConfigValueError(
            f"{key}: the local build runs the invoking interpreter's torch; it takes no "
            "source and no versions (set COMPAT_LOCAL_PYTHON to choose the interpreter)"
        )
    if len(given) > 1:
        raise ConfigValueError(
            f"{key}: give one of {', '.join(_SOURCE_KEYS)}, not {' and '.join(given)}"
        )
    env_var = spec.get("find-links-env")
    if env_var is not None and not _ENV_NAME.match(env_var):
        raise ConfigValueError(
            f"{key} find-links-env must name an environment variable, e.g. 'PIP_FIND_LINKS', "
            f"not {env_var!r}"
        )
    if given:
        kind = SourceKind(given[0])
        location = str(spec[given[0]]).strip()
        if kind is SourceKind.TORCH_BACKEND and not _BACKEND.match(location):
            raise ConfigValueError(
                f"{key} torch-backend {location!r} is not one of uv's backends "
                "(auto, cpu, cu126, cu128, rocm6.3, xpu, ...)"
            )
        return InstallSource(kind, location, env_var)
    base = builtin_source(name)
    if base is None and env_var is None:
        raise ConfigValueError(
            f"{key}: {name!r} is not a build uv knows; give it a source: index-url, "
            "torch-backend, find-links or find-links-env"
        )
    if base is None:
        return InstallSource(SourceKind.FIND_LINKS, "", env_var)
    return InstallSource(base.kind, base.location, env_var)


def _python(value: object, where: str) -> str:
    if not isinstance(value, str) or not _PYTHON.match(value):
        raise ConfigValueError(f"{where} python must be a version such as '3.11', not {value!r}")
    return value


def _devices(value: object, where: str) -> tuple[Device, ...]:
    known = [d.value for d in Device]
    if not isinstance(value, list) or not value:
        raise ConfigValueError(f"{where} devices must be a list such as ['cpu'], not {value!r}")
    out: list[Device] = []
    for item in value:
        if item not in known:
            raise ConfigValueError(
                f"{where} devices: unknown device {item!r}{did_you_mean(str(item), known)} "
                f"(known: {', '.join(known)})"
            )
        out.append(Device(item))
    return tuple(dict.fromkeys(out))


# Each time limit: what it limits, and its default as the example.
_TIMEOUTS = {
    "timeout": ("forked child", DEFAULT_TIMEOUT),
    "aoti-timeout": ("aoti child (one case's aoti cell)", DEFAULT_AOTI_TIMEOUT),
}


def _timeout(value: object, where: str, key: str = "timeout") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        what, example = _TIMEOUTS[key]
        raise ConfigValueError(
            f"{where} {key} is seconds per {what} of the suite, a positive number "
            f"such as {example:g}, not {value!r}"
        )
    return float(value)


def _strings(value: object, where: str, key: str, example: str) -> list[str]:
    """A list of non-empty strings, stripped; else the key, the value and an example."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigValueError(f"{where} {key} must be a list such as {example}, not {value!r}")
    return [v.strip() for v in value]


def _modes(value: object, where: str) -> tuple[Mode, ...]:
    """``modes``, checked against the suite's; absent: the suite's default modes."""
    if value is None:
        return DEFAULT_MODES
    known = [m.value for m in Mode]
    items = _strings(value, where, "modes", "['aot', 'dynamic', 'aoti']")
    if not items:
        raise ConfigValueError(
            f"{where} modes is empty; name at least one of {', '.join(known)}, or leave "
            "the key out for the default modes"
        )
    for item in items:
        if item not in known:
            raise ConfigValueError(
                f"{where} modes: unknown mode {item!r}{did_you_mean(item, known)} "
                f"(known: {', '.join(known)})"
            )
    return tuple(dict.fromkeys(Mode(m) for m in items))


def _patterns(value: object, where: str) -> tuple[str, ...]:
    """``cases``: fnmatch patterns; a source before ':' must be one (a typo matches nothing)."""
    items = _strings(value, where, "cases", "['catalog:cond.*', 'while_loop', 'user:*']")
    sources = [s.value for s in Source]
    for item in items:
        source, colon, _ = item.partition(":")
        if colon and not any(c in source for c in "*?[") and source not in sources:
            raise ConfigValueError(
                f"{where} cases: {item!r} names no source {source!r}"
                f"{did_you_mean(source, sources)} (sources: {', '.join(sources)}); a case "
                "id is source:hop.variant"
            )
    return tuple(dict.fromkeys(items))


def _case_modules(value: object, where: str) -> tuple[str, ...]:
    items = _strings(value, where, "case-modules", "['mypkg.hop_cases']")
    for item in items:
        if not _MODULE.match(item):
            raise ConfigValueError(
                f"{where} case-modules: {item!r} is not a module name; give its dotted "
                "import name, e.g. 'mypkg.hop_cases', and its folder in case-path"
            )
    return tuple(dict.fromkeys(items))


def _case_path(value: object, where: str, root: Path) -> tuple[Path, ...]:
    """``case-path``: folders relative to the config file's, made absolute; each must exist."""
    items = _strings(value, where, "case-path", "['cases'] (folders relative to this file)")
    folders = []
    for item in items:
        folder = (root / item).resolve()
        if not folder.is_dir():
            raise ConfigValueError(
                f"{where} case-path: {item!r} ({folder}) is not a folder; give the folder that "
                "holds your case package, relative to the file [tool.compat] is in"
            )
        folders.append(folder)
    return tuple(dict.fromkeys(folders))


def _bool(value: object, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigValueError(f"{where} {key} must be true or false, not {value!r}")
    return value


def _behaviours(value: object, where: str) -> tuple[Behaviour, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigValueError(
            f"{where} behaviours must be a list of tables ([[tool.compat.behaviours]]), "
            f"not {value!r}"
        )
    return parse_behaviours(value, where)


def _audit(value: object, env: Mapping[str, str], where: str) -> AuditConfig:
    """[tool.compat.audit], checked for keys and types; COMPAT_CANDIDATE & co. replace its keys."""
    key = where.replace("[tool.compat]", "[tool.compat.audit]")
    if not isinstance(value, dict):
        raise ConfigValueError(
            f"{where} audit must be a table ([tool.compat.audit]), not {value!r}"
        )
    _reject_unknown(value, _AUDIT_KEYS, key)
    given: dict[str, str | None] = {}
    for name in ("candidate", "index-url", "baseline"):
        item = value.get(name)
        if item is not None and (not isinstance(item, str) or not item.strip()):
            raise ConfigValueError(f"{key} {name} must be a non-empty string, not {item!r}")
        given[name] = item.strip() if isinstance(item, str) else None
    hops = value.get("hops", [])
    if not isinstance(hops, list) or not all(isinstance(h, str) and h.strip() for h in hops):
        raise ConfigValueError(
            f"{key} hops must be a list of patterns such as ['while_loop', 'cond*'], not {hops!r}"
        )
    overridden = []
    for name, var in _AUDIT_ENV:
        if text := env.get(var, "").strip():
            given[name] = text
            overridden.append(name)
    return AuditConfig(
        candidate=given["candidate"],
        index_url=given["index-url"],
        baseline=given["baseline"],
        hops=tuple(h.strip() for h in hops),
        where=key,
        overridden=tuple(overridden),
    )
