"""compat.artifacts: versioned folders, atomic writes, nothing overwritten, the index."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import pytest

from compat.artifacts import (
    INDEX_NAME,
    Written,
    content_hash,
    report_folders,
    write_atomic,
    write_env_error,
    write_report,
)
from compat.errors import ArtifactError
from compat.junit import parse_junit

DAY1, DAY2 = date(2026, 3, 1), date(2026, 3, 2)


def _renderers(json_text: str) -> dict[str, Callable[[], Iterable[str]]]:
    return {
        "report.json": lambda: iter((json_text[:3], json_text[3:])),  # in pieces
        "report.md": lambda: [f"# {json_text}\n"],
        "junit.xml": lambda: [f"<testsuites name='{json_text.strip()}'/>"],
    }


def _write(root: Path, json_text: str, today: date = DAY1) -> Written:
    return write_report(root, _renderers(json_text), today)


def test_a_report_lands_in_a_dated_hashed_folder(tmp_path: Path) -> None:
    written = _write(tmp_path / "reports", '{"a":1}\n')
    digest = content_hash('{"a":1}\n')
    assert written.created
    assert written.folder == tmp_path / "reports" / f"2026-03-01-{digest}"
    assert written.files == ("junit.xml", "report.json", "report.md")
    assert (written.folder / "report.json").read_text() == '{"a":1}\n'
    assert (written.folder / "report.md").read_text() == '# {"a":1}\n\n'
    assert [p.name for p in (tmp_path / "reports").iterdir() if p.name.startswith(".")] == []


def test_same_content_is_never_rewritten(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    first = _write(root, "{}\n", DAY1)
    marker = first.folder / "report.md"
    marker.write_text("edited by hand\n")
    renderers = {**_renderers("{}\n"), "report.md": _never}
    # Another day, same content: the same folder. In one process nothing but
    # report.json is rendered; a helper process may have started on the rest, and
    # is stopped.
    for parallel in (False, True):
        again = write_report(root, renderers, DAY2, parallel)
        assert not again.created
        assert again.folder == first.folder
        assert marker.read_text() == "edited by hand\n"
        assert sorted(p.name for p in root.iterdir()) == [first.folder.name, INDEX_NAME]


def test_a_helper_started_on_an_existing_report_is_stopped(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    first = _write(root, "{}\n", DAY1)
    pid_file = tmp_path / "helper.pid"

    def slow() -> list[str]:  # would hold the helper for a minute
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)
        return ["<testsuites />\n"]

    renderers = {**_renderers("{}\n"), "junit.xml": slow}
    again = write_report(root, renderers, DAY2, parallel=True)
    assert again.folder == first.folder and not again.created
    assert sorted(p.name for p in root.iterdir()) == [first.folder.name, INDEX_NAME]
    if pid_file.exists():  # it had started: it is gone now, not left sleeping
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


def _never() -> list[str]:
    raise AssertionError("rendered although the report was already there")


def test_index_lists_newest_first(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    old = _write(root, '{"v":1}\n', DAY1).folder.name
    new = _write(root, '{"v":2}\n', DAY2).folder.name
    index = (root / INDEX_NAME).read_text()
    assert index.index(new) < index.index(old)
    assert f"- [{new}]({new}/report.md) · [json]({new}/report.json) · [junit]({new}/junit.xml)" in (
        index
    )
    assert [p.name for p in report_folders(root)] == [new, old]


def test_a_failing_renderer_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "reports"

    def boom() -> str:
        raise RuntimeError("renderer bug")

    renderers = {**_renderers("{}\n"), "report.md": boom}
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_report(root, renderers, DAY1)  # type: ignore[dict-item]
    assert list(root.iterdir()) == []


def test_unwritable_root_is_an_artifact_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ArtifactError, match="pick another --out"):
        _write(not_a_folder / "reports", "{}\n")


def test_write_atomic_replaces_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b.txt"
    write_atomic(path, "one")
    write_atomic(path, "two")
    assert path.read_text() == "two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.txt"]


def test_write_env_error(tmp_path: Path) -> None:
    path = write_env_error(tmp_path / "junit" / "2.6.0-cu124.xml", "2.6.0-cu124", "no wheel")
    (suite,) = parse_junit(path.read_bytes(), str(path))
    assert suite.env_error == "no wheel"
    with pytest.raises(ArtifactError, match="fix the permissions"):
        write_env_error(path / "below-a-file.xml", "2.6.0-cu124", "no wheel")
