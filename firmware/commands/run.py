"""`edgepbx run`: the box, on the simulated board or on hardware, until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any

from firmware import __version__, logs
from firmware.commands import CliError

log = logging.getLogger("edgepbx")

DEFAULT_DATA_DIR = Path(os.environ.get("EDGEPBX_DATA_DIR", "/var/lib/edgepbx"))


def http_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {port!r} is not a number") from None
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"port {number} is outside 1..65535")
    return host.strip("[]"), number


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the box")
    run.add_argument("--sim", action="store_true", help="run on the simulated board")
    run.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    run.add_argument("--http", type=http_address, default=("127.0.0.1", 8080),
                     metavar="HOST:PORT", help="web UI address (default 127.0.0.1:8080)")
    run.add_argument("--log-level", default="info",
                     choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-format", default="auto", choices=["auto", "json", "text"])
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from firmware.app import StartupError
    from firmware.frontends import FrontendError

    logs.setup(args.log_level, args.log_format)
    try:
        return asyncio.run(_run(args))
    except (StartupError, FrontendError) as exc:
        raise CliError(str(exc), status=1) from None



async def _run(args: argparse.Namespace) -> int:
    from firmware.app import Box, Settings
    from firmware.frontends import FrontendSettings, installed_frontends

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    box = Box(Settings(data_dir=args.data_dir.resolve(), simulated=args.sim))
    await box.start()
    frontends = []
    try:
        fsettings = FrontendSettings(box.settings.data_dir, args.http[0], args.http[1])
        for fe in installed_frontends():
            await fe.start(box, fsettings)
            frontends.append(fe)
        if not frontends:
            log.warning("no front end installed (edgepbx.frontends entry points): "
                        "the box runs without its web UI")
        log.info("edgepbx running", extra={"version": __version__,
                                           "url": f"http://{args.http[0]}:{args.http[1]}"})
        await stop.wait()
        log.info("shutting down")
    finally:
        for fe in reversed(frontends):
            await fe.stop()
        await box.stop()
    return 0


