"""Where a target's torch comes from: install arguments, a quick look, env-error messages.

A build's ``InstallSource`` (``compat.config``) is read here against the
environment (``find-links-env``, ``UV_DEFAULT_INDEX``): what uv is asked to
install, how to list the versions a source offers, what to say when it
cannot be used, and which interpreter the ``local`` target means.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from compat.config import Build, InstallSource, SourceKind
from compat.errors import CompatError, ExitCode
from compat.versions import list_index, list_wheelhouse
from suites.scrub import scrub_credentials

if TYPE_CHECKING:  # compat.targets imports this module to plan; a Target is only read here
    from compat.targets import Target

ENV_LOCAL_PYTHON = "COMPAT_LOCAL_PYTHON"  # the interpreter of the local target
# What torch needs next to it so that torch.testing._internal.hop_db imports.
HOP_DB_EXTRAS = ("numpy", "expecttest", "setuptools", "hypothesis")

_LOCAL_LABEL = re.compile(r"^(cpu|xpu|cu\d{2,4}|rocm\d+(\.\d+){0,2})$")


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
    """Arguments for ``uv pip install``: the target's torch, hop_db's needs, uv's backend.

    The source's locations are not among them (``install_env``): nox echoes every
    command line and names it again when it fails, and an index URL may hold a token.
    """
    assert target.version is not None
    src = effective_source(target.build, env)
    args = [requirement(target, src), *hop_db_requirements(target.version)]
    if src.kind is SourceKind.TORCH_BACKEND:
        args += ["--torch-backend", src.location]
    return args


def install_env(target: Target, env: Mapping[str, str]) -> dict[str, str]:
    """uv's variables that name the target's source: ``--index`` / ``--find-links`` unseen."""
    src = effective_source(target.build, env)
    if src.kind is SourceKind.INDEX_URL:
        return {"UV_INDEX": src.location}
    if links := find_links(src):
        return {"UV_FIND_LINKS": ",".join(links)}  # uv splits this one at commas
    return {}


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
