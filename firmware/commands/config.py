"""`edgepbx config export|import|validate FILE`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from drivers.board import PortSpec
from firmware.commands import CliError
from firmware.commands.run import DEFAULT_DATA_DIR


def register(sub: Any) -> None:
    cfg = sub.add_parser("config", help="export, import or validate the configuration")
    cfg.add_argument("action", choices=["export", "import", "validate"])
    cfg.add_argument("file", help="file to write (export) or read; - for stdout/stdin")
    cfg.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    cfg.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from firmware.app import StartupError
    from firmware.config import ConfigError

    try:
        return _config(args)
    except StartupError as exc:
        raise CliError(str(exc), status=1) from None
    except ConfigError as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        raise CliError("; ".join(lines) if lines else str(exc)) from None



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


