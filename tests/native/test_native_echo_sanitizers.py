"""Build the echo canceller with AddressSanitizer + UBSan into a C driver and run it."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
CSRC = HERE.parents[1] / "native" / "csrc"
GCC = shutil.which("gcc")


@pytest.mark.slow
@pytest.mark.skipif(GCC is None, reason="gcc not found on PATH: cannot build the C driver")
def test_echo_canceller_is_clean_under_asan_and_ubsan(tmp_path: pathlib.Path) -> None:
    assert GCC is not None
    exe = tmp_path / "sanitize_echo"
    cmd = [
        GCC, "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
        "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all",
        f"-I{CSRC}", str(HERE / "sanitize_echo.c"), str(CSRC / "echo.c"), "-lm", "-o", str(exe),
    ]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")  # fmt: skip
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=240, env=env)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "runtime error" not in report and "Sanitizer" not in report, report
    assert "sanitize_echo: ok" in run.stdout
