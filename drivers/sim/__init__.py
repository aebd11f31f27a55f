"""The simulated board: simulated chips, lines, modems and the people on them.

Everything here models a device the firmware would meet on a real box — a SLIC with a phone
on it, a DAA on a phone-company line, a GSM module on a serial port (drivers.gsm.simulator),
the far switch of an E1 span — and the *people*: phones that go off-hook and press keys,
callers on trunks who speak DTMF and listen. Audio travels as G.711 on a simulated TDM
highway (`SimHighway`), so digits pressed on a simulated phone reach the firmware only as
sound, exactly as on hardware.

Nothing in firmware/ may import this package except the composition root, which picks it
when the box runs with ``--sim``.
"""
