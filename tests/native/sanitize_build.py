"""Build a C test driver with the native sources under AddressSanitizer + UBSan, run it.

Shared by the sanitizer tests of the media engine, the echo canceller and caller ID.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
CSRC = HERE.parents[1] / "native" / "csrc"
GCC = shutil.which("gcc")

needs_gcc = pytest.mark.skipif(GCC is None,
                               reason="gcc not found on PATH: cannot build the C driver")


def run_sanitized(tmp_path: pathlib.Path, driver: str,
                  sources: list[pathlib.Path] | None = None) -> str:
    """Compile ``tests/native/<driver>.c`` with ``sources`` (default: every native C file)
    under ASan/UBSan, run it, assert a clean exit with no sanitizer report and the
    driver's "<driver>: ok" line; returns its stdout."""
    assert GCC is not None
    exe = tmp_path / driver
    srcs = sources if sources is not None else sorted(CSRC.glob("*.c"))
    cmd = [
        GCC, "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
        "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all",
        f"-I{CSRC}", str(HERE / f"{driver}.c"), *map(str, srcs), "-lm", "-o", str(exe),
    ]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert build.returncode == 0, build.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")  # fmt: skip
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=240, env=env)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "runtime error" not in report and "Sanitizer" not in report, report
    assert f"{driver}: ok" in run.stdout
    return run.stdout
