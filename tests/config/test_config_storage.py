"""AtomicJSONStorage: whole-file atomic writes, loud failures on corrupt files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tinydb import TinyDB

from firmware.config import AtomicJSONStorage, ConfigError
from firmware.config import storage as storage_module


def test_missing_file_is_an_empty_database_and_is_not_created(tmp_path: Path) -> None:
    storage = AtomicJSONStorage(tmp_path / "config.json")
    assert storage.read() is None
    storage.close()
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"a": 1}}})
    storage.write({"t": {"1": {"a": 2}}})
    assert json.loads(path.read_text()) == {"t": {"1": {"a": 2}}}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
    assert AtomicJSONStorage(path).read() == {"t": {"1": {"a": 2}}}


@pytest.mark.parametrize(
    "content",
    [b"", b'{"revisions": {"1": ', b"\xff\xfe", b"[1, 2]", b'{"meta": 3}'],
    ids=["empty", "truncated", "not-utf8", "not-an-object", "not-tables"],
)
def test_corrupt_file_raises_and_is_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="corrupt configuration file") as caught:
        AtomicJSONStorage(path).read()
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content


def test_truncated_file_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n "meta": {\n  "1": {"current": }\n }\n}\n')
    with pytest.raises(ConfigError, match=r"line 3 column 20"):
        AtomicJSONStorage(path).read()


def test_stale_temporaries_from_a_crash_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    stale = tmp_path / ".config.json.abc123.tmp"
    stale.write_text("{half")
    other = tmp_path / ".other.json.abc123.tmp"
    other.write_text("not ours")
    AtomicJSONStorage(path)
    assert not stale.exists()
    assert other.exists()


def test_failed_replace_keeps_old_file_and_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"v": "old"}}})
    before = path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        storage.write({"t": {"1": {"v": "new"}}})
    assert path.read_bytes() == before
    assert storage.read() == {"t": {"1": {"v": "old"}}}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_file_mode_is_kept_across_writes(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    storage = AtomicJSONStorage(path)
    storage.write({})
    assert path.stat().st_mode & 0o777 == 0o600  # private by default
    path.chmod(0o640)
    storage.write({"t": {}})
    assert path.stat().st_mode & 0o777 == 0o640


def count_writes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    writes: list[Path] = []
    real = storage_module.atomic_write_bytes

    def counting(target: Path, data: bytes) -> None:
        writes.append(target)
        real(target, data)

    monkeypatch.setattr(storage_module, "atomic_write_bytes", counting)
    return writes


def test_batch_groups_table_operations_into_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = count_writes(monkeypatch)
    db = TinyDB(tmp_path / "db.json", storage=AtomicJSONStorage)
    storage = db.storage
    assert isinstance(storage, AtomicJSONStorage)
    db.table("a").insert({"x": 1})
    assert len(writes) == 1  # plain TinyDB: one write per table operation
    with storage.batch():
        db.table("a").insert({"x": 2})
        db.table("b").insert({"y": 1})
        db.table("a").remove(doc_ids=[1])
        assert len(writes) == 1  # nothing on disk yet
        assert [d["x"] for d in db.table("a").all()] == [2]  # reads see the batch
    assert len(writes) == 2
    on_disk = json.loads((tmp_path / "db.json").read_text())
    assert on_disk == {"a": {"2": {"x": 2}}, "b": {"1": {"y": 1}}}
    db.close()


def test_failed_batch_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = count_writes(monkeypatch)
    db = TinyDB(tmp_path / "db.json", storage=AtomicJSONStorage)
    storage = db.storage
    assert isinstance(storage, AtomicJSONStorage)
    db.table("a").insert({"x": 1})
    with pytest.raises(RuntimeError), storage.batch():
        db.table("a").insert({"x": 2})
        raise RuntimeError("abandon")
    assert len(writes) == 1
    assert [d["x"] for d in db.table("a").all()] == [1]
    db.close()
