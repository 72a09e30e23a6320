"""compat.artifacts: versioned folders, atomic writes, nothing overwritten, the index."""

from __future__ import annotations

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


def _files(json_text: str) -> dict[str, str]:
    return {
        "report.json": json_text,
        "report.md": f"# {json_text}\n",
        "junit.xml": f"<testsuites name='{json_text.strip()}'/>",
    }


def _write(root: Path, json_text: str, today: date = DAY1) -> Written:
    return write_report(root, _files(json_text), today)


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
    # Another day, same report.json: the same folder, left as it is.
    again = write_report(root, {**_files("{}\n"), "report.md": "other\n"}, DAY2)
    assert not again.created
    assert again.folder == first.folder
    assert marker.read_text() == "edited by hand\n"
    assert sorted(p.name for p in root.iterdir()) == [first.folder.name, INDEX_NAME]


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


def test_a_write_that_fails_part_way_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    # "notes" is written as a file, so "notes/a.md" (a nested name, as repro/ files are)
    # cannot get its folder: the write fails after some files are in place.
    files = {**_files("{}\n"), "notes": "x", "notes/a.md": "y"}
    with pytest.raises(ArtifactError, match="cannot write the report into"):
        write_report(root, files, DAY1)
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


def test_an_audit_names_its_folder_and_never_overwrites_another(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    name = "audit-local-vs-2.12.1-cu130"
    first = write_report(root, _files('{"run":1}\n'), DAY1, name=name)
    assert first.created and first.folder == root / f"2026-03-01-{name}"
    # The same audit again, same results: the same folder, left as it is.
    again = write_report(root, _files('{"run":1}\n'), DAY1, name=name)
    assert not again.created and again.folder == first.folder
    # Other results on the same day: the name is taken, so the hash is added.
    other = write_report(root, _files('{"run":2}\n'), DAY1, name=name)
    digest = content_hash('{"run":2}\n')
    assert other.created and other.folder == root / f"2026-03-01-{name}-{digest}"
    assert (first.folder / "report.json").read_text() == '{"run":1}\n'
    # index.md lists audit folders beside the others.
    plain = _write(root, '{"matrix":1}\n', DAY2).folder
    assert [p.name for p in report_folders(root)] == [
        plain.name,
        other.folder.name,
        first.folder.name,
    ]
    assert (
        f"[{first.folder.name}]({first.folder.name}/report.md)" in (root / INDEX_NAME).read_text()
    )


def test_nested_names_are_written_in_their_folder_and_listed_as_one(tmp_path: Path) -> None:
    files = {**_files("{}\n"), "repro/a.py": "print(1)\n", "repro/index.json": "{}\n"}
    written = write_report(tmp_path / "reports", files, DAY1)
    assert (written.folder / "repro" / "a.py").read_text() == "print(1)\n"
    assert "repro/" in written.files and "a.py" not in written.files
