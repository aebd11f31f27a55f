"""Subcommands of the `edgepbx` command, one module each.

A module here defines ``register(subparsers)``, which adds its parser(s) and sets
``handler=`` to a function taking the parsed arguments and returning the exit status.
Expected failures raise :class:`CliError` (one line, exit status 2 by default); the command
prints them as ``edgepbx: error: …`` — never a traceback. Add a module to ``MODULES`` to
make it part of the command.
"""

from __future__ import annotations

MODULES = [
    "firmware.commands.run",
    "firmware.commands.config",
    "firmware.commands.gsm",
    "firmware.commands.acd",
    "firmware.commands.dsp",
    "firmware.commands.bench",
]


class CliError(Exception):
    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status
