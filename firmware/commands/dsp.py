"""`edgepbx dsp …`: the technician's signal tools (8 kHz mono 16-bit PCM WAV in and out,
JSON out).

    dtmf-decode IN.wav                       {"digits", "events": [{"digit","start_ms","end_ms"}]}
    dtmf-encode DIGITS OUT.wav [--on-ms --off-ms --level-dbm0 --twist-db]
    cid-encode --standard bell202|v23|dtmf --number N [--name --datetime MMDDHHMM] OUT.wav
    cid-decode IN.wav [--standard auto|bell202|v23|dtmf]   {"standard","number","name","datetime"}
    tone-gen --country CC --tone dial|ringback|busy|congestion|sit --seconds S OUT.wav
    cpd IN.wav --country CC                  {"tones": [{"tone","start_ms","end_ms"}]}
    echo-cancel --far FAR.wav --near NEAR.wav --out OUT.wav [--tail-ms N] [--no-nlp]
                                             {"erle_db", "convergence_ms"}

The work is done by the native core's file helpers; this module parses arguments, turns
their ValueError (a file in the wrong format, a bad argument) into one-line errors, and
prints JSON.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from firmware.commands import CliError

DIGITS = re.compile(r"^[0-9A-D*#]{1,64}$")


def register(sub: Any) -> None:
    dsp = sub.add_parser("dsp", help="signal tools on WAV files (DTMF, caller ID, tones, echo)")
    tools = dsp.add_subparsers(dest="tool", required=True, metavar="TOOL")

    p = tools.add_parser("dtmf-decode", help="find DTMF digits in a recording")
    p.add_argument("input")
    p.set_defaults(handler=_dtmf_decode)

    p = tools.add_parser("dtmf-encode", help="write DTMF digits to a WAV file")
    p.add_argument("digits")
    p.add_argument("output")
    p.add_argument("--on-ms", type=int, default=80)
    p.add_argument("--off-ms", type=int, default=80)
    p.add_argument("--level-dbm0", type=float, default=-10.0)
    p.add_argument("--twist-db", type=float, default=0.0)
    p.set_defaults(handler=_dtmf_encode)

    p = tools.add_parser("cid-encode", help="write a caller ID signal to a WAV file")
    p.add_argument("--standard", choices=["bell202", "v23", "dtmf"], required=True)
    p.add_argument("--number", required=True)
    p.add_argument("--name")
    p.add_argument("--datetime", help="MMDDHHMM")
    p.add_argument("output")
    p.set_defaults(handler=_cid_encode)

    p = tools.add_parser("cid-decode", help="decode caller ID from a recording")
    p.add_argument("input")
    p.add_argument("--standard", choices=["auto", "bell202", "v23", "dtmf"], default="auto")
    p.set_defaults(handler=_cid_decode)

    p = tools.add_parser("tone-gen", help="write a country's call-progress tone")
    p.add_argument("--country", required=True)
    p.add_argument("--tone", required=True,
                   choices=["dial", "ringback", "busy", "congestion", "sit"])
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("output")
    p.set_defaults(handler=_tone_gen)

    p = tools.add_parser("cpd", help="detect call-progress tones in a recording")
    p.add_argument("input")
    p.add_argument("--country", required=True)
    p.set_defaults(handler=_cpd)

    p = tools.add_parser("echo-cancel", help="cancel line echo; report ERLE and convergence")
    p.add_argument("--far", required=True, help="what was sent to the line")
    p.add_argument("--near", required=True, help="what came back (with the echo)")
    p.add_argument("--out", required=True)
    p.add_argument("--tail-ms", type=int, default=128)
    p.add_argument("--no-nlp", action="store_true",
                   help="linear canceller only (as G.168 convergence tests measure)")
    p.set_defaults(handler=_echo_cancel)


def _emit(result: Any) -> int:
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CliError(f"{exc.filename}: no such file") from None
    except OSError as exc:
        raise CliError(f"{exc.filename or ''}: {exc.strerror}") from None


def _dtmf_decode(args: argparse.Namespace) -> int:
    from native.wavtools import dtmf_decode_file

    return _emit(_guard(dtmf_decode_file, args.input))


def _dtmf_encode(args: argparse.Namespace) -> int:
    from native.wavtools import dtmf_encode_file

    if not DIGITS.match(args.digits):
        raise CliError(f"digits {args.digits!r}: use 0-9, *, #, A-D (1 to 64 of them)")
    _guard(dtmf_encode_file, args.digits, args.output, on_ms=args.on_ms, off_ms=args.off_ms,
           level_dbm0=args.level_dbm0, twist_db=args.twist_db)
    return _emit({"written": args.output, "digits": args.digits})


def _cid_encode(args: argparse.Namespace) -> int:
    from native.callerid import cid_encode_file

    _guard(cid_encode_file, args.standard, args.number, args.output, name=args.name,
           datetime=args.datetime)
    return _emit({"written": args.output, "standard": args.standard})


def _cid_decode(args: argparse.Namespace) -> int:
    from native.callerid import cid_decode_file

    return _emit(_guard(cid_decode_file, args.input, standard=args.standard))


def _tone_gen(args: argparse.Namespace) -> int:
    from native.wavtools import tone_gen_file

    if not 0 < args.seconds <= 600:
        raise CliError(f"--seconds {args.seconds}: must be more than 0 and at most 600")
    _guard(tone_gen_file, args.country, args.tone, args.seconds, args.output)
    return _emit({"written": args.output, "country": args.country.upper(),
                  "tone": args.tone})


def _cpd(args: argparse.Namespace) -> int:
    from native.wavtools import cpd_file

    return _emit(_guard(cpd_file, args.input, args.country))


def _echo_cancel(args: argparse.Namespace) -> int:
    from native.echo import cancel_files

    if not 64 <= args.tail_ms <= 256:
        raise CliError(f"--tail-ms {args.tail_ms}: the echo tail must be 64 to 256 ms")
    return _emit(_guard(cancel_files, args.far, args.near, args.out, tail_ms=args.tail_ms,
                        nlp=not args.no_nlp))
