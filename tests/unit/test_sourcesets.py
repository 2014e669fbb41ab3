"""Named source sets and the safe reading of config files."""

import os
from pathlib import Path

import pytest

from newsflow import sourcesets
from newsflow.sourcesets import SourceConfigError, read_config_file, set_names, set_path

SET = "sources:\n  - {name: f, kind: feed, url: 'https://a.example/feed.xml'}\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sources folder with two sets and things that are no set."""
    sets = tmp_path / "sets"
    sets.mkdir()
    for name in ("default", "wire-2"):
        (sets / f"{name}.yaml").write_text(SET)
    (sets / "Bad Name.yaml").write_text(SET)
    (sets / "notes.txt").write_text("not a set")
    (sets / "folder.yaml").mkdir()
    os.mkfifo(sets / "fifo.yaml")
    (sets / "zero.yaml").symlink_to("/dev/zero")
    (sets / "linked.yaml").symlink_to(sets / "default.yaml")
    monkeypatch.setenv("NEWSFLOW_SOURCES_DIR", str(sets))
    return sets


def test_sets_are_the_regular_yaml_files_with_a_clean_name(folder: Path) -> None:
    assert set_names() == ["default", "wire-2"]
    assert set_path("wire-2") == folder / "wire-2.yaml"


def test_a_missing_folder_has_no_sets(tmp_path: Path) -> None:
    assert set_names(tmp_path / "nowhere") == []


@pytest.mark.parametrize("name", ["../default", "/etc/passwd", "default.yaml", "Default", "",
                                  "fifo", "zero", "linked", "folder", "a" * 64])
def test_anything_but_a_listed_set_name_is_refused(folder: Path, name: str) -> None:
    with pytest.raises(SourceConfigError) as refused:
        set_path(name)
    message = str(refused.value)
    assert "\n" not in message
    if not sourcesets.SET_NAME.fullmatch(name):
        assert name not in message or not name  # an invalid name is not echoed back


def test_a_fifo_is_refused_at_once(folder: Path) -> None:
    with pytest.raises(SourceConfigError, match="^set: not a regular file$"):
        read_config_file(folder / "fifo.yaml", "set")


def test_dev_zero_and_links_to_it_are_refused(folder: Path) -> None:
    with pytest.raises(SourceConfigError, match="^set: not a regular file$"):
        read_config_file(Path("/dev/zero"), "set")
    with pytest.raises(SourceConfigError, match=r"^set: cannot open \("):
        read_config_file(folder / "zero.yaml", "set")  # a symbolic link: not followed


def test_a_file_over_the_cap_is_refused(folder: Path) -> None:
    (folder / "big.yaml").write_bytes(b"#" * 2000)
    assert read_config_file(folder / "big.yaml", "set", cap=2000) == b"#" * 2000
    with pytest.raises(SourceConfigError, match="^set: larger than 1999 bytes$"):
        read_config_file(folder / "big.yaml", "set", cap=1999)


def test_containment_resolves_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "in").mkdir(parents=True)
    (root / "out").symlink_to(tmp_path)
    assert sourcesets.contained(root / "in", root, "x") == (root / "in").resolve()
    for path in (root / "out", root / ".." / "root2", Path("/etc")):
        with pytest.raises(SourceConfigError, match=f"^x is outside {root.resolve()}$"):
            sourcesets.contained(path, root, "x")
