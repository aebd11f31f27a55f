"""The `edgepbx` command: a thin dispatcher over firmware/commands/.

    edgepbx run [--sim] [--data-dir DIR] [--http HOST:PORT]
    edgepbx config export|import|validate FILE [--data-dir DIR]
    edgepbx version

Every expected failure (bad configuration, address in use, missing device, data directory
problems) ends with one line on stderr naming the problem and a non-zero exit status —
never a traceback. Exit status 2: bad usage or input; 1: the box could not run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from firmware import __version__
from firmware.commands import MODULES, CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgepbx", description="edgepbx PBX appliance")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in MODULES:
        importlib.import_module(name).register(sub)
    version = sub.add_parser("version", help="print the firmware version")
    version.set_defaults(handler=lambda args: print(__version__) or 0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CliError as exc:
        print(f"edgepbx: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
