"""[tool.compat] validation and the environment's overrides, table-driven."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from compat.config import (
    AuditConfig,
    ConfigFileError,
    ConfigValueError,
    InstallSource,
    SourceKind,
    UnknownKeyError,
    load_config,
    parse_config,
)
from compat.errors import ConfigError, ExitCode
from suites.schema import DEFAULT_MODES, Device, Mode

ROOT = Path(__file__).resolve().parents[1]


def table(text: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(text)["tool"]["compat"]
    return data


BASIC = """
[tool.compat]
versions = ["2.6", "2.9.1"]
[tool.compat.builds.default]
[tool.compat.builds.cpu]
versions = ["2.13.0"]
find-links-env = "PIP_FIND_LINKS"
"""


def test_the_projects_own_table_is_valid() -> None:
    config = load_config(ROOT / "pyproject.toml", {})
    assert [b.name for b in config.builds] == ["default", "cpu"]
    assert config.python == "3.11"
    assert config.devices == (Device.CPU,)
    assert not config.needs_index  # `nox -l` needs no network with the default matrix


def test_basic_table() -> None:
    config = parse_config(table(BASIC), {})
    default, cpu = config.builds
    assert default.source == InstallSource(SourceKind.INDEX)
    assert cpu.source == InstallSource(SourceKind.TORCH_BACKEND, "cpu", "PIP_FIND_LINKS")
    assert str(config.versions_of(default)) == "2.6, 2.9.1"
    assert str(config.versions_of(cpu)) == "2.13.0"
    assert config.needs_index  # "2.6" is a minor
    assert config.timeout == 300.0 and config.prereleases is False


@pytest.mark.parametrize(
    ("text", "error", "fragments"),
    [
        # unknown keys, with a did-you-mean where one is close
        (
            '[tool.compat]\nversion = ["2.6"]',
            UnknownKeyError,
            ["unknown key 'version'; did you mean 'versions'?", "known keys: versions, builds"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ntimout = 5',
            UnknownKeyError,
            ["'timout'; did you mean 'timeout'?"],
        ),
        ('[tool.compat]\nversions = ["2.6"]\ncolour = 1', UnknownKeyError, ["'colour' (known"]),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.cpu]\nfind-link = "/w"',
            UnknownKeyError,
            ["[tool.compat.builds.cpu]: unknown key 'find-link'; did you mean 'find-links'?"],
        ),
        # bad version strings name the key and the fix
        (
            '[tool.compat]\nversions = ["2.6", "latest"]',
            ConfigValueError,
            ["[tool.compat] versions: 'latest' is not a version", "a minor such as '2.6'"],
        ),
        (
            '[tool.compat]\nversions = "=>2.4"',
            ConfigValueError,
            ["[tool.compat] versions: '=>2.4' is not a version"],
        ),
        (
            '[tool.compat]\nversions = [">=2.4"]',
            ConfigValueError,
            ["give it as the whole value, versions = '>=2.4'"],
        ),
        (
            "[tool.compat]\nversions = 2.6",
            ConfigValueError,
            ["versions must be a list of version strings such as ['2.6', '2.9.1']"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.cpu]\nversions = ["2.13+cpu"]',
            ConfigValueError,
            ["[tool.compat.builds.cpu] versions: '2.13+cpu' carries a local label"],
        ),
        # builds and their sources
        (
            "[tool.compat]\n[tool.compat.builds.default]",
            ConfigValueError,
            ["build 'default' has no versions; set versions = ['2.6', '2.9']"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.nightly]',
            ConfigValueError,
            ["'nightly' is not a build uv knows; give it a source"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.Cpu]',
            ConfigValueError,
            ["build name 'Cpu' must be lower-case"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.cu126]\n'
            'index-url = "https://x/simple"\nfind-links = "/w"',
            ConfigValueError,
            ["give one of index-url, torch-backend, find-links, not index-url and find-links"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.x]\ntorch-backend = "cuda"',
            ConfigValueError,
            ["torch-backend 'cuda' is not one of uv's backends"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.cpu]\n'
            'find-links-env = "$PIP_FIND_LINKS"',
            ConfigValueError,
            ["find-links-env must name an environment variable, e.g. 'PIP_FIND_LINKS'"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[tool.compat.builds.local]\nversions = ["2.6"]',
            ConfigValueError,
            ["the local build runs the invoking interpreter's torch"],
        ),
        # the other keys
        (
            '[tool.compat]\nversions = ["2.6"]\npython = "3"',
            ConfigValueError,
            ["python must be a version such as '3.11'"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ndevices = ["gpu"]',
            ConfigValueError,
            ["unknown device 'gpu'", "(known: cpu, cuda)"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ndevices = ["cdua"]',
            ConfigValueError,
            ["unknown device 'cdua'; did you mean 'cuda'?"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ntimeout = 0',
            ConfigValueError,
            ["timeout is seconds per forked child of the suite, a positive number"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ntimeout = true',
            ConfigValueError,
            ["timeout is seconds per forked child"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\nprereleases = "yes"',
            ConfigValueError,
            ["prereleases must be true or false"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\nbehaviours = "x"',
            ConfigValueError,
            ["behaviours must be a list of tables"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\n[[tool.compat.behaviours]]\nid = "x"\nhopp = "y"',
            ConfigError,
            ["behaviours[0]"],
        ),
        # what a matrix runs: modes, cases, case modules, their folders, aoti's time limit
        (
            '[tool.compat]\nversions = ["2.6"]\nmodes = ["aot", "dynamc"]',
            ConfigValueError,
            ["modes: unknown mode 'dynamc'; did you mean 'dynamic'?", "(known: aot, strict"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\nmodes = []',
            ConfigValueError,
            ["modes is empty; name at least one of aot", "leave the key out"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\nmodes = "aoti"',
            ConfigValueError,
            ["modes must be a list such as ['aot', 'dynamic', 'aoti'], not 'aoti'"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ncases = ["catlog:cond.*"]',
            ConfigValueError,
            ["cases: 'catlog:cond.*' names no source 'catlog'; did you mean 'catalog'?"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ncases = [""]',
            ConfigValueError,
            ["cases must be a list such as ['catalog:cond.*'"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ncase-modules = ["mypkg/hop_cases.py"]',
            ConfigValueError,
            ["case-modules: 'mypkg/hop_cases.py' is not a module name", "'mypkg.hop_cases'"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ncase-module = ["mypkg.hop_cases"]',
            UnknownKeyError,
            ["unknown key 'case-module'; did you mean 'case-modules'?"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\ncase-path = "cases"',
            ConfigValueError,
            ["case-path must be a list such as ['cases'] (folders relative to this file)"],
        ),
        (
            '[tool.compat]\nversions = ["2.6"]\naoti-timeout = -1',
            ConfigValueError,
            ["aoti-timeout is seconds per aoti child (one case's aoti cell) of the suite"],
        ),
    ],
)
def test_invalid_tables(text: str, error: type[ConfigError], fragments: list[str]) -> None:
    with pytest.raises(error) as info:
        parse_config(table(text), {})
    for fragment in fragments:
        assert fragment in str(info.value)
    assert info.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    ("env", "builds", "versions"),
    [
        ({}, ["default", "cpu"], ["2.6, 2.9.1", "2.13.0"]),
        # COMPAT_VERSIONS replaces every build's versions, its own ones too
        ({"COMPAT_VERSIONS": "2.13"}, ["default", "cpu"], ["2.13", "2.13"]),
        ({"COMPAT_VERSIONS": ">=2.8"}, ["default", "cpu"], [">=2.8", ">=2.8"]),
        # COMPAT_BUILDS chooses builds, in its order; uv's backends need no table
        ({"COMPAT_BUILDS": "cpu"}, ["cpu"], ["2.13.0"]),
        ({"COMPAT_BUILDS": "cu126, default"}, ["cu126", "default"], ["2.6, 2.9.1", "2.6, 2.9.1"]),
        ({"COMPAT_BUILDS": "local"}, ["local"], ["2.6, 2.9.1"]),
    ],
)
def test_environment_overrides(env: dict[str, str], builds: list[str], versions: list[str]) -> None:
    config = parse_config(table(BASIC), env)
    assert [b.name for b in config.builds] == builds
    assert [str(config.versions_of(b)) for b in config.builds] == versions


def test_environment_override_errors_name_the_variable() -> None:
    with pytest.raises(ConfigValueError, match=r"\$COMPAT_VERSIONS: '2\.x' is not a version"):
        parse_config(table(BASIC), {"COMPAT_VERSIONS": "2.x"})
    with pytest.raises(ConfigValueError) as info:
        parse_config(table(BASIC), {"COMPAT_BUILDS": "cpuu"})
    assert "$COMPAT_BUILDS: unknown build 'cpuu'; did you mean 'cpu'?" in str(info.value)


def test_builtin_sources() -> None:
    config = parse_config(table(BASIC), {"COMPAT_BUILDS": "cu128,rocm6.3,local,default"})
    assert [b.source for b in config.builds] == [
        InstallSource(SourceKind.TORCH_BACKEND, "cu128"),
        InstallSource(SourceKind.TORCH_BACKEND, "rocm6.3"),
        InstallSource(SourceKind.LOCAL),
        InstallSource(SourceKind.INDEX),
    ]


def test_targets_from_the_environment() -> None:
    config = parse_config(table(BASIC), {"COMPAT_TARGETS": "2.6.0-cu124, local"})
    assert config.targets == ("2.6.0-cu124", "local")
    assert not config.needs_index


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("[tool.compat\n", "is not readable TOML"),
        ('[project]\nname = "x"\n', "has no [tool.compat] table"),
    ],
)
def test_config_file_errors(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "matrix.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigFileError) as info:
        load_config(ROOT / "pyproject.toml", {"COMPAT_CONFIG": str(path)})
    assert fragment in str(info.value)


def test_compat_config_replaces_the_table(tmp_path: Path) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text('[tool.compat]\nversions = ["2.4.1"]\npython = "3.12"\n', encoding="utf-8")
    config = load_config(ROOT / "pyproject.toml", {"COMPAT_CONFIG": str(path)})
    assert [b.name for b in config.builds] == ["default"]
    assert config.python == "3.12"
    assert config.where == "matrix.toml [tool.compat]"


def test_selection_defaults() -> None:
    config = parse_config(table(BASIC), {})
    assert config.modes == DEFAULT_MODES
    assert (config.cases, config.case_modules, config.case_path) == ((), (), ())
    assert config.aoti_timeout == 900.0


def test_case_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    path = tmp_path / "matrix.toml"
    path.write_text(
        '[tool.compat]\nversions = ["2.6"]\nmodes = ["aoti", "aot", "aoti"]\n'
        'case-modules = ["mypkg.hop_cases"]\ncase-path = ["cases", "./cases", "."]\n',
        encoding="utf-8",
    )
    config = load_config(ROOT / "pyproject.toml", {"COMPAT_CONFIG": str(path)})
    assert config.case_path == (tmp_path / "cases", tmp_path)  # absolute, once each
    assert config.modes == (Mode.AOTI, Mode.AOT)
    assert config.case_modules == ("mypkg.hop_cases",)


def test_a_missing_case_path_names_where_it_was_looked_for(tmp_path: Path) -> None:
    path = tmp_path / "matrix.toml"
    path.write_text('[tool.compat]\nversions = ["2.6"]\ncase-path = ["cases"]\n', "utf-8")
    with pytest.raises(ConfigValueError) as info:
        load_config(ROOT / "pyproject.toml", {"COMPAT_CONFIG": str(path)})
    assert f"case-path: 'cases' ({tmp_path / 'cases'}) is not a folder" in str(info.value)


AUDIT = (
    BASIC
    + """
[tool.compat.audit]
candidate = "dist/torch-2.16.0a0+git123-cp311-cp311-linux_x86_64.whl"
baseline = "2.15.0-cu132"
hops = ["while_loop", "cond*"]
"""
)


def test_audit_table_and_its_overrides() -> None:
    assert parse_config(table(BASIC), {}).audit == AuditConfig(
        where="pyproject.toml [tool.compat.audit]"
    )
    audit = parse_config(table(AUDIT), {}).audit
    assert audit.candidate == "dist/torch-2.16.0a0+git123-cp311-cp311-linux_x86_64.whl"
    assert (audit.index_url, audit.baseline, audit.hops) == (
        None,
        "2.15.0-cu132",
        ("while_loop", "cond*"),
    )
    assert audit.named_by("candidate") == "pyproject.toml [tool.compat.audit] candidate"
    env = {
        "COMPAT_CANDIDATE": "2.16.0rc1",
        "COMPAT_CANDIDATE_INDEX": "https://mirror.example/whl/test",
        "COMPAT_BASELINE": " ",  # blank: the table's stays
    }
    audit = parse_config(table(AUDIT), env).audit
    assert (audit.candidate, audit.index_url, audit.baseline) == (
        "2.16.0rc1",
        "https://mirror.example/whl/test",
        "2.15.0-cu132",
    )
    assert audit.named_by("candidate") == "$COMPAT_CANDIDATE"
    assert audit.named_by("index-url") == "$COMPAT_CANDIDATE_INDEX"
    assert audit.named_by("baseline") == "pyproject.toml [tool.compat.audit] baseline"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'candidat = "local"',
            "[tool.compat.audit]: unknown key 'candidat'; did you mean 'candidate'?",
        ),
        ("candidate = 2.16", "[tool.compat.audit] candidate must be a non-empty string, not 2.16"),
        ('hops = "while_loop"', "hops must be a list of patterns"),
    ],
)
def test_audit_table_mistakes(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(table(BASIC + "[tool.compat.audit]\n" + body + "\n"), {})
    assert message in str(err.value)
