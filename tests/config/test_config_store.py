"""ConfigStore: commits, revisions, rollback, appliers, import/export, failure paths."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from firmware.config import (
    ConfigApplyError,
    ConfigError,
    ConfigStore,
    ConfigValidationError,
    default_document,
)
from firmware.config import storage as storage_module

BOARD = frozenset({"fxs1", "fxs2", "fxs3", "fxs4", "fxo1", "gsm1"})


def doc_named(name: str) -> dict[str, Any]:
    doc = default_document(BOARD)
    doc["system"]["name"] = name
    return doc


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config.json"


def test_empty_store_creates_nothing(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        assert store.is_empty
        assert store.revision == 0
        assert store.revisions() == []
        assert store.check() == []
        with pytest.raises(ConfigError, match="no configuration has been committed"):
            _ = store.current
    assert not path.exists()


def test_commit_persists_and_reopens(path: Path) -> None:
    clock = iter([datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)])
    with ConfigStore.open(path, BOARD, clock=lambda: next(clock)) as store:
        assert store.commit(doc_named("first"), "installer", "wizard") == 1
        assert not store.is_empty
    with ConfigStore.open(path, BOARD) as store:
        assert store.revision == 1
        assert store.current == doc_named("first")
        assert store.revisions() == [
            {
                "rev": 1,
                "at": "2025-03-01T12:00:00.250+00:00",
                "author": "installer",
                "comment": "wizard",
            }
        ]


def test_current_is_a_copy(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        doc = doc_named("a")
        store.commit(doc, "t")
        doc["system"]["name"] = "mutated after commit"
        store.current["system"]["name"] = "mutated copy"
        assert store.current["system"]["name"] == "a"


def test_each_commit_is_one_atomic_write(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[Path] = []
    real = storage_module.atomic_write_bytes

    def counting(target: Path, data: bytes) -> None:
        writes.append(target)
        real(target, data)

    monkeypatch.setattr(storage_module, "atomic_write_bytes", counting)
    with ConfigStore.open(path, BOARD, keep=2) as store:
        for n in range(5):  # from the third commit on, each one also prunes
            store.commit(doc_named(f"n{n}"), "t")
            assert len(writes) == n + 1
    raw = json.loads(path.read_text())
    assert raw["meta"] == {"1": {"current": 5}}
    assert sorted(raw["revisions"]) == ["4", "5"]


def test_failed_validation_changes_nothing(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        store.commit(doc_named("good"), "t")
        before = path.read_bytes()
        bad = doc_named("bad")
        bad["routes"][0]["destination"]["target"] = "999"
        with pytest.raises(ConfigValidationError, match='unknown extension "999"'):
            store.commit(bad, "t")
        assert path.read_bytes() == before
        assert store.revision == 1
        assert store.current == doc_named("good")
        assert len(store.revisions()) == 1
        # the failed attempt did not consume a revision number
        assert store.commit(doc_named("next"), "t") == 2


def test_first_commit_must_validate_too(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        with pytest.raises(ConfigValidationError):
            store.commit({"schema": 1}, "t")
        assert store.is_empty
    assert not path.exists()


def test_pruning_keeps_the_last_k(path: Path) -> None:
    with ConfigStore.open(path, BOARD, keep=3) as store:
        for n in range(1, 8):
            store.commit(doc_named(f"n{n}"), "t", f"c{n}")
        assert [r["rev"] for r in store.revisions()] == [7, 6, 5]
        assert store.get_revision(5) == doc_named("n5")
        with pytest.raises(ConfigError, match=r"revision 4 is not kept \(kept: 5\.\.7\)"):
            store.get_revision(4)
    # a smaller keep on the next open prunes at the next commit
    with ConfigStore.open(path, BOARD, keep=1) as store:
        assert [r["rev"] for r in store.revisions()] == [7, 6, 5]
        store.commit(doc_named("n8"), "t")
        assert [r["rev"] for r in store.revisions()] == [8]


def test_rollback_commits_the_old_document_as_a_new_revision(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        store.commit(doc_named("one"), "alice")
        store.commit(doc_named("two"), "bob")
        assert store.rollback(1, "carol") == 3
        assert store.current == doc_named("one")
        assert store.revisions()[0] == {
            "rev": 3,
            "at": store.revisions()[0]["at"],
            "author": "carol",
            "comment": "rollback to revision 1",
        }
        with pytest.raises(ConfigError, match="revision 42 is not kept"):
            store.rollback(42, "carol")


def test_rollback_is_revalidated_against_the_board(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        store.commit(doc_named("with gsm1"), "t")
    smaller = BOARD - {"gsm1"}
    with ConfigStore.open(path, smaller) as store:
        assert 'trunks[1].port: unknown port "gsm1"' in [str(i) for i in store.check()]
        store.commit(default_document(smaller), "t")
        with pytest.raises(ConfigValidationError, match='unknown port "gsm1"'):
            store.rollback(1, "t")
        assert store.revision == 2


def test_update_mutates_a_copy(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        store.commit(doc_named("a"), "t")

        def rename(doc: dict[str, Any]) -> None:
            doc["system"]["name"] = "b"

        assert store.update(rename, "t", "rename") == 2
        assert store.current["system"]["name"] == "b"
        assert store.update(lambda doc: doc_named("c"), "t") == 3
        assert store.current["system"]["name"] == "c"


def test_appliers_get_old_and_new(path: Path) -> None:
    calls: list[tuple[str, str | None]] = []

    def applier(old: dict[str, Any], new: dict[str, Any]) -> None:
        calls.append((new["system"]["name"], old.get("system", {}).get("name")))
        new["system"]["name"] = "appliers get copies"

    with ConfigStore.open(path, BOARD) as store:
        unsubscribe = store.subscribe(applier)
        store.commit(doc_named("a"), "t")
        store.commit(doc_named("b"), "t")
        unsubscribe()
        store.commit(doc_named("c"), "t")
        assert calls == [("a", None), ("b", "a")]
        assert store.current["system"]["name"] == "c"


def test_failing_applier_keeps_the_commit_and_is_named(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken_router(old: dict[str, Any], new: dict[str, Any]) -> None:
        raise RuntimeError("route table busy")

    def queue_engine(old: dict[str, Any], new: dict[str, Any]) -> None:
        seen.append(new["system"]["name"])

    with ConfigStore.open(path, BOARD) as store:
        store.subscribe(broken_router)
        store.subscribe(queue_engine)
        with caplog.at_level(logging.ERROR), pytest.raises(ConfigApplyError) as caught:
            store.commit(doc_named("a"), "t")
        assert caught.value.revision == 1
        assert "broken_router" in str(caught.value)
        assert "route table busy" in str(caught.value)
        assert isinstance(caught.value.__cause__, RuntimeError)
        assert seen == ["a"]  # the other applier still ran
        assert "broken_router" in caplog.text
        assert store.revision == 1
    with ConfigStore.open(path, BOARD) as store:
        assert store.current == doc_named("a")  # durable


def test_commit_from_an_applier_is_refused(path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:

        def recursive(old: dict[str, Any], new: dict[str, Any]) -> None:
            store.commit(new, "applier")

        store.subscribe(recursive)
        with pytest.raises(ConfigApplyError, match="inside an applier"):
            store.commit(doc_named("a"), "t")
        assert store.revision == 1


def test_export_import_round_trip(path: Path, tmp_path: Path) -> None:
    with ConfigStore.open(path, BOARD) as store:
        store.commit(doc_named("exported"), "t")
        text = store.export()
    assert json.loads(text) == doc_named("exported")
    with ConfigStore.open(tmp_path / "other.json", BOARD) as other:
        assert other.import_text(text, "restore") == 1
        assert other.current == doc_named("exported")
        assert other.revisions()[0]["comment"] == "import"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{\n  "schema": 1,\n  "system": {,\n}', "invalid JSON at line 3 column 14"),
        ("", "invalid JSON at line 1 column 1"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"schema": 7}', "schema 7 is newer than this firmware supports"),
    ],
)
def test_import_rejects_bad_text_and_changes_nothing(path: Path, text: str, message: str) -> None:
    with ConfigStore.open(path, BOARD) as store:
        store.commit(doc_named("kept"), "t")
        before = path.read_bytes()
        with pytest.raises(ConfigError, match=message):
            store.import_text(text, "t")
        assert path.read_bytes() == before
        assert store.revision == 1


def test_import_of_an_invalid_document_lists_the_issues(path: Path) -> None:
    doc = doc_named("x")
    doc["extensions"][1]["number"] = "201"
    with ConfigStore.open(path, BOARD) as store:
        with pytest.raises(ConfigValidationError) as caught:
            store.import_text(json.dumps(doc), "t")
        assert str(caught.value) == 'extensions[1].number: duplicate extension "201"'
        assert store.is_empty


def test_corrupt_file_is_reported_not_wiped(path: Path) -> None:
    path.write_text('{"meta": {"1": {"current": 3}}, "revisions": {"3": {"rev": 3, "docu')
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="corrupt configuration file") as caught:
        ConfigStore.open(path, BOARD)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_dangling_current_pointer_is_corrupt(path: Path) -> None:
    path.write_text(json.dumps({"meta": {"1": {"current": 9}}, "revisions": {}}))
    with pytest.raises(ConfigError, match="current revision 9 is missing"):
        ConfigStore.open(path, BOARD)


def test_closed_store_refuses_use(path: Path) -> None:
    store = ConfigStore.open(path, BOARD)
    store.commit(doc_named("a"), "t")
    store.close()
    store.close()  # idempotent
    with pytest.raises(ConfigError, match="closed"):
        store.commit(doc_named("b"), "t")


def test_keep_must_be_positive(path: Path) -> None:
    with pytest.raises(ValueError, match="keep must be at least 1"):
        ConfigStore.open(path, BOARD, keep=0)
