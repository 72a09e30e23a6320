"""Every path the report writes, and the only writes: atomic, versioned, never overwritten.

A report lands in ``<root>/<UTC date>-<short content hash>/`` (report.md,
summary.md, report.html, report.json, junit.xml), is written into a temporary folder
beside it and renamed into place in one step, and ``<root>/index.md`` lists
the folders newest first. The hash is taken over report.json, which holds
everything the report says and nothing run-specific, so the same inputs
find their folder already there and leave it as it is. An audit names its
folder (``<date>-audit-<candidate>-vs-<baseline>``); when that name holds
another report already, the hash is added to it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from compat.errors import ArtifactError
from suites.junit_xml import env_error_suite, junit_document
from suites.scrub import scrub_credentials

DEFAULT_ROOT = Path("reports")
JSON_NAME = "report.json"
MD_NAME = "report.md"
SUMMARY_NAME = "summary.md"  # report.md cut to what a pull request comment has room for
HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"
INDEX_NAME = "index.md"
HASH_LENGTH = 12
_FOLDER = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?:(?P<hash>[0-9a-f]+)|audit-[^/]+)$")


@dataclass(frozen=True)
class Written:
    """Where a report is, and whether this run created it."""

    folder: Path
    created: bool  # False: a report with the same content was already there
    files: tuple[str, ...]


def content_hash(json_text: str) -> str:
    return hashlib.sha256(json_text.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def report_folders(root: Path) -> list[Path]:
    """Report folders under ``root``, newest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _FOLDER.match(p.name)]
    return sorted(found, key=lambda p: (p.name[:10], _mtime(p / JSON_NAME), p.name), reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def find_report(root: Path, digest: str) -> Path | None:
    """The folder that already holds a report with this content hash, if any."""
    return next((p for p in report_folders(root) if p.name.endswith("-" + digest)), None)


def write_report(
    root: Path, files: Mapping[str, str], today: date, name: str | None = None
) -> Written:
    """Write ``files`` (name -> text) into a new folder under ``root``, named by report.json.

    When a folder with report.json's hash exists (or another run renames one into
    place first), it is left as it is, this run's copy is removed, and the report
    is "unchanged". What killed runs left behind is removed first, and index.md is
    rebuilt from the folders present either way. ``name`` (an audit's) replaces
    the hash in the folder's name, unless a folder of that name holds another report.
    """
    if JSON_NAME not in files:
        raise ValueError(f"write_report needs a {JSON_NAME}")
    digest = content_hash(files[JSON_NAME])
    final = root / f"{today.isoformat()}-{digest}"
    tmp: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        remove_leftovers(root)
        if name is not None:
            final = _named(root, f"{today.isoformat()}-{name}", digest)
        existing = find_report(root, digest) if name is None else _holding(final, digest)
        if existing is not None:
            write_index(root)
            return Written(existing, created=False, files=_files(existing))
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP}{os.getpid()}-", dir=root))
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)  # repro/ scripts
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        created = _rename_into_place(tmp, final)
    except BaseException as err:  # an interrupt too: no half-written folder stays
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise ArtifactError(
                f"cannot write the report into {final} ({err.strerror}): pick another "
                "--out or fix its permissions."
            ) from err
        raise
    write_index(root)
    return Written(final, created=created, files=_files(final))


def _named(root: Path, name: str, digest: str) -> Path:
    """``root/name``, or ``root/name-<hash>`` when ``name`` holds another report."""
    plain = root / name
    if not plain.exists() or _holding(plain, digest) is not None:
        return plain
    return root / f"{name}-{digest}"


def _holding(folder: Path, digest: str) -> Path | None:
    """``folder`` when its report.json has this hash, else None."""
    try:
        text = (folder / JSON_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return folder if content_hash(text) == digest else None


def _rename_into_place(tmp: Path, final: Path) -> bool:
    """Rename ``tmp`` to ``final``; False when a run with the same report got there first."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not (final / JSON_NAME).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the same content, already in place
        return False
    return True


_TMP = ".tmp-"  # a report folder being written: .tmp-<pid>-<random>
_LEFTOVER = re.compile(r"^(?:\.tmp-|\.index\.md\.)(?P<pid>\d+)[-.]")


def remove_leftovers(root: Path) -> None:
    """Remove the temporary folders and files of runs that died (their process is gone)."""
    for path in root.iterdir():
        m = _LEFTOVER.match(path.name)
        if m is None or _alive(int(m["pid"])):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _files(folder: Path) -> tuple[str, ...]:
    """The report's files, and its folders as ``name/``."""
    return tuple(sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()))


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step: write a temporary file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_index(folders: list[Path]) -> str:
    """index.md: one line per report folder, newest first."""
    lines = [
        "# torch-hop-compat reports",
        "",
        "Newest first. Each folder holds the same report as Markdown, HTML, JSON and JUnit, "
        "and its summary.",
        "",
    ]
    for folder in folders:
        name = folder.name
        present = set(_files(folder))
        links = [
            f"[{label}]({name}/{file})"
            for label, file in (
                ("summary", SUMMARY_NAME),
                ("html", HTML_NAME),
                ("json", JSON_NAME),
                ("junit", JUNIT_NAME),
            )
            if file in present
        ]
        title = f"[{name}]({name}/{MD_NAME})" if MD_NAME in present else name
        lines.append(f"- {title} · {' · '.join(links)}")
    if not folders:
        lines.append("No reports yet.")
    return "\n".join(lines) + "\n"


def write_index(root: Path) -> Path:
    """Rewrite ``root/index.md`` from the folders present (only when it changes)."""
    path = root / INDEX_NAME
    text = render_index(report_folders(root))
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return path
        write_atomic(path, text)
    except OSError as err:
        raise ArtifactError(
            f"cannot write {path} ({err.strerror}): fix the permissions of {root}."
        ) from err
    return path


def write_env_error(
    path: str | os.PathLike[str], target_id: str, message: str, build: str | None = None
) -> Path:
    """Write the suite-format JUnit of a target that could not be installed or imported."""
    out = Path(path)
    # Install logs name index URLs with tokens.
    suite = env_error_suite(target_id, scrub_credentials(message), build)
    try:
        write_atomic(out, junit_document([suite], suite.name).decode("utf-8"))
    except OSError as err:
        raise ArtifactError(
            f"cannot write {out} ({err.strerror}): fix the permissions of {out.parent}."
        ) from err
    return out
