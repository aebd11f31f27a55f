"""Acceptance: a received SMS is stored exactly once, even when the box dies between storing
it and deleting it from the module.

The simulated module lives in this process (its SIM storage survives the box's death, as a
real module's does); the box's receive path runs in a child process
(sms_crash_child.py: the real driver over the module's pty, the firmware's
``store_received_sms``, a real event store). The child is frozen right after the message
was committed and before the driver deletes it, then killed with SIGKILL. A new child
starts on the same database and the same module: it reads the message again at start,
finds its key (migration 6) and only deletes it. After that:

- the store holds one record of the message (and one outbox message for the cloud);
- the module's storage is empty;
- a new message — the same text from the same sender, stamped by the SMSC a second
  later — is stored: nothing new is ever dropped.

The same for a long message (three parts stored on the module, all read again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

from drivers.gsm.simulator import SimModem
from drivers.gsm.sms import ReceivedSms
from firmware.app import store_received_sms
from firmware.store import EventStore
from tests.gsm.rig import wait_until

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHILD = HERE / "sms_crash_child.py"
START_S = 60.0  # generous: a shared, noisy machine starting a Python process
SENDER = "+447700900999"
WHEN = dt.datetime(2026, 12, 7, 10, 0, 0, tzinfo=dt.UTC)


class Child:
    """One life of the box's receive path."""

    def __init__(self, proc: asyncio.subprocess.Process, errors: Path) -> None:
        self.proc = proc
        self.errors = errors

    @classmethod
    async def start(cls, db: Path, sim: SimModem, mode: str, life: int) -> Child:
        errors = db.parent / f"child{life}.stderr"
        with errors.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(CHILD), str(db), sim.device_path, mode,
                stdout=asyncio.subprocess.PIPE, stderr=err,
                env=dict(os.environ, PYTHONPATH=str(REPO)))
        child = cls(proc, errors)
        assert await child.line() == ["ready"]
        return child

    async def line(self, timeout: float = START_S) -> list[str]:
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                raw = await self.proc.stdout.readline()
        except TimeoutError:
            raise AssertionError(f"child said nothing in {timeout:g} s: "
                                 f"{self.errors.read_text()}") from None
        assert raw, f"child ended: {self.errors.read_text()}"
        return raw.decode().split()

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert await self.proc.wait() == -signal.SIGKILL


async def _stored_once_across_a_kill(db: Path, sim: SimModem, text: str, parts: int,
                                     **deliver: object) -> None:
    first = await Child.start(db, sim, "hang", 1)
    pdus = sim.deliver_text(SENDER, text, timestamp=WHEN, **deliver)  # type: ignore[arg-type]
    assert len(pdus) == parts
    words = await first.line()
    assert words[0] == "stored" and words[2] == str(parts), words
    # Committed, not deleted: the module still holds every part.
    assert sorted(sim.stored_messages().values()) == sorted(pdus)
    await first.kill()

    second = await Child.start(db, sim, "run", 2)
    assert await second.line() == ["again", str(parts)]
    await wait_until(lambda: sim.stored_messages() == {}, START_S)
    # Nothing new is dropped: the same text from the same sender a second later.
    later = sim.deliver_text(SENDER, text, timestamp=WHEN + dt.timedelta(seconds=1),
                             **deliver)  # type: ignore[arg-type]
    assert later != pdus
    words = await second.line()
    assert words[0] == "stored" and words[2] == str(parts), words
    await wait_until(lambda: sim.stored_messages() == {}, START_S)
    await second.kill()

    with EventStore.open(db) as store:
        records = sorted(store.sms(direction="in"), key=lambda r: r.id or 0)
        assert [(r.text, r.parts, r.missing, sorted(r.raw_pdus)) for r in records] == [
            (text, parts, [], sorted(pdus)), (text, parts, [], sorted(later))]
        assert [r.sent_ts for r in records] == [
            WHEN.isoformat(), (WHEN + dt.timedelta(seconds=1)).isoformat()]
        outbox = [m.payload["id"] for m in store.outbox_pending(limit=100)
                  if m.topic == "sms"]
        assert outbox == [r.id for r in records]
        keys = store.connection.execute(
            "SELECT sms_id FROM sms_received ORDER BY sms_id").fetchall()
        assert [k[0] for k in keys] == [r.id for r in records for _ in range(parts)]
        assert store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_sms_killed_between_store_and_delete_is_stored_once(tmp_path: Path) -> None:
    async with SimModem() as sim:
        await _stored_once_across_a_kill(tmp_path / "events.db", sim,
                                         "Stored, then the box died before the delete", 1)


async def test_long_sms_killed_between_store_and_delete_is_stored_once(tmp_path: Path) -> None:
    text = "A long message in three parts, stored once whatever happens. " * 6
    async with SimModem() as sim:
        await _stored_once_across_a_kill(tmp_path / "events.db", sim, text, 3,
                                         part_chars=140, reference=0x1234, ref_bits=16)


def test_received_keys_decide_what_is_new(tmp_path: Path) -> None:
    # The store's side, without a process: a message all of whose PDUs are known is the
    # one stored before — even read again in fewer parts (a crash after the completing
    # part was deleted leaves its siblings, which come back incomplete); any new PDU makes
    # it a new message, stored.
    def received(pdus: list[str], iccid: str | None = "8944000000000000001") -> ReceivedSms:
        return ReceivedSms(modem="gsm1", sender=SENDER, text=None, encoding="gsm7",
                           timestamp=None, smsc=None, raw_pdus=pdus, parts=3,
                           imei="860000000000001", iccid=iccid)

    with EventStore.open(tmp_path / "events.db") as store:
        first = store_received_sms(store, received(["AA01", "AA02", "AA03"]))
        assert first is not None
        assert store_received_sms(store, received(["aa03", "AA01", "AA02"])) is None
        assert store_received_sms(store, received(["AA01", "AA02"])) is None
        assert store_received_sms(store, received(["AA01", "AA02", "AA04"])) not in (
            None, first)
        # Another SIM, the same PDUs: another message.
        assert store_received_sms(store, received(["AA01"], "8944000000000000002")) \
            is not None
        # No SIM known: the module's IMEI identifies it.
        assert store_received_sms(store, received(["BB01"], None)) is not None
        assert store_received_sms(store, received(["BB01"], None)) is None
        assert len(store.sms(direction="in")) == 4
        assert len([m for m in store.outbox_pending(limit=100) if m.topic == "sms"]) == 4
