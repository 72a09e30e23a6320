"""Every path the report writes, and the only writes: atomic, versioned, never overwritten.

A report lands in ``<root>/<UTC date>-<short content hash>/`` (report.md,
report.html, report.json, junit.xml), is assembled in a temporary folder
beside it and renamed into place in one step, and ``<root>/index.md`` lists
the folders newest first. The hash is taken over report.json, which holds
everything the report says and nothing run-specific, so the same inputs
find their folder already there and leave it as it is.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from compat.errors import ArtifactError
from compat.junit import format_env_error
from compat.load import gc_paused
from compat.parallel import Forked, can_fork

DEFAULT_ROOT = Path("reports")
JSON_NAME = "report.json"
MD_NAME = "report.md"
HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"
INDEX_NAME = "index.md"
HASH_LENGTH = 12
# Written by a second process where the machine has a second CPU, from the start: on a
# big matrix these two take about as long as report.json and report.html together.
HELPER_WRITES = (JUNIT_NAME, MD_NAME)
_FOLDER = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<hash>[0-9a-f]+)$")


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


Chunks = Callable[[], Iterable[str]]  # a renderer: its text, in pieces


def write_report(
    root: Path, renderers: Mapping[str, Chunks], today: date, parallel: bool | None = None
) -> Written:
    """Write each renderer's text into a new folder under ``root``, report.json first.

    Texts are streamed to disk piece by piece, so a big matrix never holds a
    whole rendering in memory, and without cyclic garbage collection (the
    renderers make millions of short-lived acyclic objects; see
    ``compat.load.gc_paused``). report.json's hash names the folder; when a
    folder with that hash exists, it is left as it is and nothing of this run
    stays behind. With ``parallel`` (None: where fork and a second CPU exist),
    a forked process writes the ``HELPER_WRITES`` files from the start, while
    this one writes report.json and then the rest; without it, nothing but
    report.json is rendered before the hash is known.
    """
    if JSON_NAME not in renderers:
        raise ValueError(f"write_report needs a {JSON_NAME} renderer")
    if parallel is None:
        parallel = can_fork()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    except OSError as err:
        raise ArtifactError(
            f"cannot create the report folder under {root} ({err.strerror}): pick another "
            "--out or fix its permissions."
        ) from err
    final: Path | None = None
    rest = [name for name in renderers if name != JSON_NAME]
    helped = [name for name in rest if parallel and name in HELPER_WRITES]
    try:
        with gc_paused():
            # The helper starts at once: its files take as long as report.json and
            # report.html together, and where report.json's hash finds the report
            # already there, it is stopped and what it wrote is removed.
            helper = Forked(
                lambda: _write_all(tmp, [(name, renderers[name]) for name in helped]),
                f"writing {' and '.join(helped)}",
                fork=bool(helped),
            )
            try:
                digest = _write_chunks(tmp / JSON_NAME, renderers[JSON_NAME](), hashed=True)
                digest = digest[:HASH_LENGTH]
                existing = find_report(root, digest)
                if existing is not None:
                    helper.stop()
                    shutil.rmtree(tmp)
                    return Written(existing, created=False, files=_files(existing))
                final = root / f"{today.isoformat()}-{digest}"
                for name in rest:
                    if name not in helped:
                        _write_chunks(tmp / name, renderers[name]())
                helper.result()
            finally:
                helper.stop()
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        os.rename(tmp, final)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise ArtifactError(
                f"cannot write the report into {final or root} ({err.strerror}): pick another "
                "--out or fix its permissions."
            ) from err
        raise
    write_index(root)
    return Written(final, created=True, files=_files(final))


def _files(folder: Path) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file()))


def _write_all(folder: Path, renderers: Sequence[tuple[str, Chunks]]) -> None:
    for name, render in renderers:
        _write_chunks(folder / name, render())


def _write_chunks(path: Path, chunks: Iterable[str], hashed: bool = False) -> str:
    """Write UTF-8 text piece by piece; returns its sha256 hex digest where ``hashed``
    (only report.json's names the folder: the others are not hashed), else ""."""
    digest = hashlib.sha256() if hashed else None
    with open(path, "wb") as f:
        for chunk in chunks:
            data = chunk.encode("utf-8")
            if digest is not None:
                digest.update(data)
            f.write(data)
    return digest.hexdigest() if digest is not None else ""


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step: write a temporary file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
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
        "Newest first. Each folder holds the same report as Markdown, HTML, JSON and JUnit.",
        "",
    ]
    for folder in folders:
        name = folder.name
        present = set(_files(folder))
        links = [
            f"[{label}]({name}/{file})"
            for label, file in (("html", HTML_NAME), ("json", JSON_NAME), ("junit", JUNIT_NAME))
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
    try:
        write_atomic(out, format_env_error(target_id, message, build))
    except OSError as err:
        raise ArtifactError(
            f"cannot write {out} ({err.strerror}): fix the permissions of {out.parent}."
        ) from err
    return out
