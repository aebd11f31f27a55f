"""The configuration store: one JSON document, versioned, committed atomically.

Owns the configuration file (a TinyDB database on ``AtomicJSONStorage``) and the live
configuration in memory. It validates before it writes, keeps the last ``keep`` revisions
for rollback, and tells subscribers (appliers) about each committed change so running
services can apply it live. It does not know what the services do with the document.

Layout of the TinyDB database::

    revisions   one record per kept revision, doc_id == rev:
                {rev, at (ISO 8601 UTC), author, comment, document}
    meta        doc_id 1: {"current": rev}

A commit inserts the new revision, moves ``meta.current`` and prunes revisions older than
the last ``keep`` inside one ``AtomicJSONStorage.batch()``: one temp-file + fsync + rename,
so after a crash the file holds either the previous commit or the new one, whole.

Threading: a synchronous core meant to be called from the asyncio loop thread; every call
is short (one small file write). It is not thread-safe and the file has a single writer.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypedDict

from tinydb import TinyDB
from tinydb.table import Document, Table

from firmware.config.errors import ConfigApplyError, ConfigError, ValidationIssue
from firmware.config.schema import find_issues, upgrade_document, validate_document
from firmware.config.storage import AtomicJSONStorage

log = logging.getLogger(__name__)

Applier = Callable[[dict[str, Any], dict[str, Any]], None]
"""Called as ``applier(old_document, new_document)`` after each commit."""

DEFAULT_KEEP: Final = 50
_META_ID: Final = 1


class RevisionInfo(TypedDict):
    rev: int
    at: str
    author: str
    comment: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _applier_name(applier: Applier) -> str:
    name = getattr(applier, "__qualname__", None) or type(applier).__qualname__
    module = getattr(applier, "__module__", None)
    return f"{module}.{name}" if module else name


class ConfigStore:
    """Versioned, validated, crash-safe configuration document. Open with ``open()``."""

    def __init__(
        self,
        db: TinyDB,
        storage: AtomicJSONStorage,
        known_ports: Iterable[str],
        keep: int,
        clock: Callable[[], datetime],
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self._db = db
        self._storage = storage
        self._revisions_table: Table = db.table("revisions", cache_size=0)
        self._meta: Table = db.table("meta", cache_size=0)
        self._known_ports = frozenset(known_ports)
        self._keep = keep
        self._clock = clock
        self._appliers: list[Applier] = []
        self._applying = False
        self._closed = False
        self._revision = 0
        self._document: dict[str, Any] | None = None
        self._kept: list[int] = []
        self._load()

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        known_ports: Iterable[str],
        keep: int = DEFAULT_KEEP,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> ConfigStore:
        """Open (never create) the store at ``path``; a missing file is an empty store.

        Raises ``ConfigError`` naming the file if it is corrupt. The stored document is not
        re-validated here (the board may have changed): see ``check()``.
        """
        db = TinyDB(path, storage=AtomicJSONStorage)
        storage = db.storage
        assert isinstance(storage, AtomicJSONStorage)
        try:
            return cls(db, storage, known_ports, keep, clock)
        except BaseException:
            db.close()
            raise

    def _load(self) -> None:
        where = self._storage.path
        self._kept = sorted(doc.doc_id for doc in self._revisions_table)
        meta = self._meta.get(doc_id=_META_ID)
        if meta is None:
            if self._kept:
                raise ConfigError(f"{where}: corrupt configuration file (revisions but no meta)")
            return
        current = meta.get("current") if isinstance(meta, dict) else None
        if not isinstance(current, int) or current not in self._kept:
            raise ConfigError(
                f"{where}: corrupt configuration file (current revision {current!r} is missing)"
            )
        record = self._revisions_table.get(doc_id=current)
        document = record.get("document") if isinstance(record, dict) else None
        if not isinstance(document, dict):
            raise ConfigError(f"{where}: corrupt configuration file (revision {current})")
        self._revision = current
        self._document = document

    # --- reading -------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._storage.path

    @property
    def known_ports(self) -> frozenset[str]:
        return self._known_ports

    @property
    def is_empty(self) -> bool:
        """True until the first commit: the caller decides what the first document is."""
        return self._document is None

    @property
    def revision(self) -> int:
        """The current revision number; 0 for an empty store."""
        return self._revision

    @property
    def current(self) -> dict[str, Any]:
        """A deep copy of the current document (callers may mutate it freely)."""
        self._check_open()
        if self._document is None:
            raise ConfigError(f"{self.path}: no configuration has been committed yet")
        return copy.deepcopy(self._document)

    def revisions(self) -> list[RevisionInfo]:
        """The kept revisions, newest first, without their documents."""
        self._check_open()
        out: list[RevisionInfo] = []
        for record in self._revisions_table:
            out.append(
                RevisionInfo(
                    rev=record["rev"],
                    at=record["at"],
                    author=record["author"],
                    comment=record["comment"],
                )
            )
        out.sort(key=lambda info: info["rev"], reverse=True)
        return out

    def get_revision(self, rev: int) -> dict[str, Any]:
        """The document of a kept revision (a copy); ``ConfigError`` if it is not kept."""
        self._check_open()
        record = self._revisions_table.get(doc_id=rev) if rev in self._kept else None
        if record is None:
            kept = f"{self._kept[0]}..{self._kept[-1]}" if self._kept else "none"
            raise ConfigError(f"revision {rev} is not kept (kept: {kept})")
        return copy.deepcopy(record["document"])

    # --- validating ----------------------------------------------------------------------

    def validate(self, doc: object) -> None:
        """Raise ``ConfigValidationError`` listing every problem of ``doc`` on this board."""
        validate_document(doc, self._known_ports)

    def check(self) -> list[ValidationIssue]:
        """Problems of the current document on this board (e.g. a module was removed)."""
        return [] if self._document is None else find_issues(self._document, self._known_ports)

    # --- writing -------------------------------------------------------------------------

    def commit(self, doc: dict[str, Any], author: str, comment: str = "") -> int:
        """Validate ``doc``, write it as a new revision, then run the appliers.

        Returns the new revision. A document that fails validation raises
        ``ConfigValidationError`` and changes nothing, on disk or in memory. If an applier
        fails the revision stays committed and ``ConfigApplyError`` is raised after every
        applier has run.
        """
        self._check_open()
        if self._applying:
            raise ConfigError("commit() called from inside an applier")
        new_doc = copy.deepcopy(doc)
        self.validate(new_doc)
        rev = self._revision + 1
        record = {
            "rev": rev,
            "at": self._clock().astimezone(UTC).isoformat(timespec="milliseconds"),
            "author": author,
            "comment": comment,
            "document": copy.deepcopy(new_doc),
        }
        pruned = [old for old in self._kept if old <= rev - self._keep]
        with self._storage.batch():
            self._revisions_table.insert(Document(record, doc_id=rev))
            self._meta.upsert(Document({"current": rev}, doc_id=_META_ID))
            if pruned:
                self._revisions_table.remove(doc_ids=pruned)
        old_doc = self._document
        self._document = new_doc
        self._revision = rev
        self._kept = [r for r in self._kept if r not in pruned] + [rev]
        self._apply(rev, {} if old_doc is None else old_doc, new_doc)
        return rev

    def update(
        self,
        fn: Callable[[dict[str, Any]], dict[str, Any] | None],
        author: str,
        comment: str = "",
    ) -> int:
        """Commit ``fn(copy_of_current)``: ``fn`` mutates the copy (or returns a new doc)."""
        doc = self.current
        result = fn(doc)
        return self.commit(doc if result is None else result, author, comment)

    def rollback(self, rev: int, author: str, comment: str | None = None) -> int:
        """Commit the document of kept revision ``rev`` again, as a NEW revision."""
        doc = self.get_revision(rev)
        return self.commit(
            doc, author, f"rollback to revision {rev}" if comment is None else comment
        )

    def subscribe(self, applier: Applier) -> Callable[[], None]:
        """Call ``applier(old_doc, new_doc)`` after each commit; returns an unsubscriber.

        On the first commit of an empty store ``old_doc`` is ``{}``. Appliers get copies.
        """
        self._appliers.append(applier)

        def unsubscribe() -> None:
            if applier in self._appliers:
                self._appliers.remove(applier)

        return unsubscribe

    def _apply(self, rev: int, old_doc: dict[str, Any], new_doc: dict[str, Any]) -> None:
        failures: list[tuple[str, BaseException]] = []
        self._applying = True
        try:
            for applier in list(self._appliers):
                try:
                    applier(copy.deepcopy(old_doc), copy.deepcopy(new_doc))
                except Exception as exc:  # one failing service must not stop the others
                    name = _applier_name(applier)
                    log.exception("applying configuration revision %d: %s failed", rev, name)
                    failures.append((name, exc))
        finally:
            self._applying = False
        if failures:
            raise ConfigApplyError(rev, failures) from failures[0][1]

    # --- import / export -----------------------------------------------------------------

    def export(self) -> str:
        """The current document as pretty JSON text."""
        return json.dumps(self.current, indent=2, ensure_ascii=False) + "\n"

    def import_text(self, text: str, author: str, comment: str = "import") -> int:
        """Parse, upgrade, validate and commit a document given as JSON text."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"import: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"import: expected a JSON object, got {type(doc).__name__}")
        return self.commit(upgrade_document(doc), author, comment)

    # --- lifetime ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError(f"{self.path}: configuration store is closed")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()

    def __enter__(self) -> ConfigStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
