"""Child process of the SMS SIGKILL test: the box's SMS receive path until it is killed.

Usage: python sms_crash_child.py DB_PATH TTY MODE

Runs the real driver (an AT engine over TTY, the pty of a simulated module the parent
keeps alive across the child's lives, a GsmModem and its SMS service) and the firmware's
receive path (``firmware.app.store_received_sms``) on the event store at DB_PATH. Prints,
each line flushed at once:

- ``ready``              when the modem is initialised and the receive listener attached
                         (which sweeps the module's storage);
- ``stored ID PARTS``    when a message was committed to the store;
- ``again PARTS``        when a message read from the module was found stored before.

MODE ``hang``: after the first ``stored`` the process freezes inside the listener: the
message is committed but the listener has not returned, so the driver has not sent
AT+CMGD — the moment between store and delete in which the parent kills it.
MODE ``run``: it goes on receiving.
"""

from __future__ import annotations

import asyncio
import sys
import time

from drivers.gsm.atengine import AtEngine
from drivers.gsm.modem import GsmModem
from drivers.gsm.sms import ReceivedSms
from firmware.app import store_received_sms
from firmware.store import EventStore


async def main(path: str, tty: str, mode: str) -> None:
    store = EventStore.open(path)
    engine = await AtEngine.open_serial(tty, name="gsm1")
    modem = GsmModem(engine, "gsm1")
    await modem.initialise()

    def received(sms: ReceivedSms) -> None:
        sms_id = store_received_sms(store, sms)
        if sms_id is None:
            print(f"again {sms.parts}", flush=True)
            return
        print(f"stored {sms_id} {sms.parts}", flush=True)
        while mode == "hang":
            time.sleep(3600)  # the loop is frozen: the delete never leaves

    modem.sms.on_received(received)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
