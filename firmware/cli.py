"""The `edgepbx` command.

    edgepbx run [--sim] [--data-dir DIR] [--http HOST:PORT]
    edgepbx config export|import|validate FILE [--data-dir DIR]
    edgepbx version

Every expected failure (bad configuration, port in use, missing device, data directory
problems) ends with one line on stderr naming the problem and a non-zero exit status —
never a traceback. Exit status 2: bad usage or input; 1: the box could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from drivers.board import PortSpec
from firmware import __version__, logs

log = logging.getLogger("edgepbx")

DEFAULT_DATA_DIR = Path(os.environ.get("EDGEPBX_DATA_DIR", "/var/lib/edgepbx"))


class CliError(Exception):
    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def _http_address(text: str) -> tuple[str, int]:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgepbx", description="edgepbx PBX appliance")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the box")
    run.add_argument("--sim", action="store_true", help="run on the simulated board")
    run.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    run.add_argument("--http", type=_http_address, default=("127.0.0.1", 8080),
                     metavar="HOST:PORT", help="web UI address (default 127.0.0.1:8080)")
    run.add_argument("--log-level", default="info",
                     choices=["debug", "info", "warning", "error"])
    run.add_argument("--log-format", default="auto", choices=["auto", "json", "text"])

    cfg = sub.add_parser("config", help="export, import or validate the configuration")
    cfg.add_argument("action", choices=["export", "import", "validate"])
    cfg.add_argument("file", help="file to write (export) or read; - for stdout/stdin")
    cfg.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)

    sub.add_parser("version", help="print the firmware version")
    return parser


# -- run ------------------------------------------------------------------------------------
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


# -- config ---------------------------------------------------------------------------------
def _config(args: argparse.Namespace) -> int:
    from firmware.app import DataDirLock, StartupError, board_ports, open_config

    data_dir: Path = args.data_dir
    ports = board_ports(simulated=True)   # hardware board files arrive with the port drivers
    if args.action == "validate":
        return _validate(args.file, ports)
    if not (data_dir / "config.json").exists():
        raise CliError(f"no configuration in {data_dir} (run the box once, or check --data-dir)")
    if args.action == "export":
        store = open_config(data_dir, ports)
        try:
            _write(args.file, store.export())
        finally:
            store.close()
        return 0
    if args.action == "import":
        lock = DataDirLock(data_dir)
        try:
            lock.acquire()
        except StartupError as exc:
            raise CliError(f"{exc}: import through the web UI, or stop the box first") \
                from None
        try:
            store = open_config(data_dir, ports)
            try:
                rev = store.import_text(_read(args.file), author="cli")
            finally:
                store.close()
        finally:
            lock.release()
        print(json.dumps({"imported": True, "revision": rev}))
        return 0
    raise CliError(f"unknown config action {args.action!r}")


def _validate(name: str, ports: list[PortSpec]) -> int:
    from drivers.board import known_port_ids
    from firmware.config import find_issues

    text = _read(name)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{name}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from None
    issues = find_issues(doc, known_port_ids(ports))
    if issues:
        raise CliError(f"{name}: invalid configuration: " + "; ".join(map(str, issues)))
    print(json.dumps({"valid": True}))
    return 0


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        raise CliError(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise CliError(f"{name}: {exc.strerror}") from None


def _write(name: str, text: str) -> None:
    if name == "-":
        sys.stdout.write(text)
        return
    try:
        Path(name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{name}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(__version__)
        return 0
    logs.setup(getattr(args, "log_level", "warning") if args.command == "run" else "warning",
               getattr(args, "log_format", "auto"))
    from firmware.app import StartupError
    from firmware.config import ConfigError
    from firmware.frontends import FrontendError

    try:
        if args.command == "run":
            return asyncio.run(_run(args))
        return _config(args)
    except CliError as exc:
        print(f"edgepbx: error: {exc}", file=sys.stderr)
        return exc.status
    except (StartupError, FrontendError) as exc:
        print(f"edgepbx: error: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"edgepbx: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _one_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "; ".join(lines) if lines else text


if __name__ == "__main__":
    sys.exit(main())
