"""Fuzz the caller ID module with libFuzzer (clang -fsanitize=fuzzer,address,undefined).

fuzz_callerid.c drives the message decoder, the three receivers on arbitrary audio, and
transmitter -> receiver round trips (any message the transmitter accepts must come back
identical). The normal run fuzzes for 20 s; set EDGEPBX_FUZZ_SECONDS for longer (CI: 300).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
CSRC = HERE.parents[1] / "native" / "csrc"
CLANG = shutil.which("clang")
SECONDS = int(os.environ.get("EDGEPBX_FUZZ_SECONDS", "20"))

SEEDS = [
    # mode 0: the published SDMF example and an MDMF message
    bytes([0]) + bytes.fromhex("04 12 30 39 33 30 31 32 32 34 36 30 39 35 35 35 31 32 31 32 51"),
    bytes([0]) + bytes.fromhex("80 0d 02 03 31 32 33 07 03 41 42 43 08 01 50 af"),
    # mode 1: a little audio
    bytes([1]) + bytes(range(256)) * 4,
    # mode 2/3: Bell 202 / V.23 / DTMF; MDMF with date, number and name (mapped alphabets)
    bytes([2, 0, 0x21, 10]) + bytes(range(10)) + bytes([5]) + b"HELLO" + bytes([3, 4, 5, 6]),
    bytes([2, 1, 0x20, 4]) + bytes(range(4)) + bytes([0, 1, 2, 3, 4]),
    bytes([2, 2, 0x00, 7]) + bytes(range(7)) + bytes([0]),
    bytes([3, 1, 0x21, 5]) + bytes(range(5)) + bytes([2]) + b"AB" + bytes(range(40)),
]


@pytest.mark.slow
@pytest.mark.skipif(CLANG is None, reason="clang not on PATH: cannot build the libFuzzer target")
def test_callerid_survives_libfuzzer(tmp_path: pathlib.Path) -> None:
    assert CLANG is not None
    exe = tmp_path / "fuzz_callerid"
    cmd = [
        CLANG, "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
        "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
        f"-I{CSRC}", str(HERE / "fuzz_callerid.c"), *map(str, sorted(CSRC.glob("*.c"))),
        "-lm", "-o", str(exe),
    ]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / f"seed{i}").write_bytes(seed)
    run = subprocess.run(
        [str(exe), f"-max_total_time={SECONDS}", "-timeout=10", "-rss_limit_mb=1024",
         "-print_final_stats=1", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 120, cwd=tmp_path,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-4000:]
    assert "ERROR: " not in report and "runtime error" not in report, report[-4000:]
    assert "Done " in report, report[-4000:]
