"""Crash-safe JSON storage for TinyDB.

Owns the bytes of the configuration file and nothing else: it knows no schema and no
revisions. TinyDB's own ``JSONStorage`` truncates and rewrites the file in place, so a
power cut or a SIGKILL mid-write leaves a torn file. Here every write goes to a temporary
file in the same directory, is flushed and fsync'd, then renamed over the target with
``os.replace`` (atomic on POSIX), and the directory is fsync'd so the rename itself is
durable. A reader therefore sees either the old file or the new one, never a mix.

TinyDB performs one ``storage.write`` per table operation. ``batch()`` lets the caller
group several table operations into ONE durable write (a config commit inserts a revision,
moves the current pointer and prunes old revisions atomically).

A missing file is an empty database. A file that does not parse raises ``ConfigError``
naming the file; it is never silently replaced by an empty one.

Single writer: one process owns the file (the firmware); the store is not locked against a
second writer.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinydb import Storage

from firmware.config.errors import ConfigError

_TMP_SUFFIX = ".tmp"


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}."


def fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so that a crash leaves either old or new content."""
    directory = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=_TMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        try:
            os.chmod(tmp_name, os.stat(target).st_mode & 0o7777)
        except FileNotFoundError:
            pass  # first write: keep mkstemp's private 0600
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(directory)


def _doc_id_order(doc_id: str) -> tuple[int, int | str]:
    return (0, int(doc_id)) if doc_id.isdigit() else (1, doc_id)


def encode_database(data: dict[str, Any]) -> str:
    """JSON text of a TinyDB database: one line per document, tables and ids in order.

    Readable and diffable by a technician, and produced by the C JSON encoder (an indented
    dump uses the pure-Python one and costs several times more per commit).
    """
    tables = sorted(data.items())
    lines = ["{"]
    for t, (name, table) in enumerate(tables):
        lines.append(f"{json.dumps(name)}: {{")
        docs = sorted(table.items(), key=lambda item: _doc_id_order(str(item[0])))
        for d, (doc_id, doc) in enumerate(docs):
            text = json.dumps(doc, ensure_ascii=False, sort_keys=True)
            lines.append(f" {json.dumps(str(doc_id))}: {text}{',' if d < len(docs) - 1 else ''}")
        lines.append("}," if t < len(tables) - 1 else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


class AtomicJSONStorage(Storage):
    """TinyDB storage writing the whole database atomically (temp file, fsync, rename).

    The text last read or written is kept in memory and every read() parses a fresh copy
    from it, so what TinyDB sees is exactly what is on disk; the file has a single writer
    (this process), so it cannot change behind our back.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._text: str | None = None  # None: no file (an empty database)
        self._loaded = False
        self._in_batch = False
        self._batch_dirty = False
        self._pending: dict[str, Any] | None = None
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        # A crash between mkstemp and os.replace leaves a temporary behind; the target is
        # intact, so the leftover is garbage. Only our own prefix/suffix is touched.
        prefix = _tmp_prefix(self.path)
        try:
            entries = list(self.path.parent.iterdir())
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith(prefix) and entry.name.endswith(_TMP_SUFFIX):
                try:
                    entry.unlink()
                except FileNotFoundError:
                    pass

    def _load(self) -> str | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            text = raw.decode("utf-8")
            data = json.loads(text)
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{self.path}: corrupt configuration file (not UTF-8: {exc})"
            ) from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{self.path}: corrupt configuration file "
                f"(line {exc.lineno} column {exc.colno}: {exc.msg})"
            ) from exc
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise ConfigError(
                f"{self.path}: corrupt configuration file (not a TinyDB database: "
                "expected an object of tables)"
            )
        return text

    def read(self) -> dict[str, Any] | None:
        if self._pending is not None:
            return self._pending
        if not self._loaded:
            self._text = self._load()
            self._loaded = True
        # TinyDB mutates what read() returns and hands nested values to its callers: each
        # read gets its own copy, parsed from the text that is on disk.
        return None if self._text is None else json.loads(self._text)

    def write(self, data: dict[str, Any]) -> None:
        if self._in_batch:
            self._pending = data
            self._batch_dirty = True
            return
        self._write_through(data)

    def _write_through(self, data: dict[str, Any]) -> None:
        text = encode_database(data)
        atomic_write_bytes(self.path, text.encode("utf-8"))
        self._text = text
        self._loaded = True

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group table operations into one durable write at the end of the block.

        Inside the block, reads and writes work on one pending copy of the database. If
        the block raises, or the final write fails, the pending copy is dropped: memory
        and disk stay as they were.
        """
        if self._in_batch:
            raise RuntimeError("AtomicJSONStorage.batch() does not nest")
        committed = self.read()
        self._pending = committed if committed is not None else {}
        self._in_batch = True
        self._batch_dirty = False
        try:
            yield
            if self._batch_dirty:
                self._write_through(self._pending)
        finally:
            self._in_batch = False
            self._pending = None

    def close(self) -> None:
        self._text = None
        self._loaded = False
