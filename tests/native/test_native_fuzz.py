"""libFuzzer runs of the DTMF and call-progress tone detectors (ASan + UBSan).

Each target (tests/native/fuzz_*.c) is built with clang -fsanitize=fuzzer,address,undefined
and run for EDGEPBX_FUZZ_SECONDS (default 20 s) from a corpus kept under
/tmp/edgepbx-fuzz/<target> between runs; a crash, sanitizer report or broken API promise
fails the test with libFuzzer's output. Longer runs for CI: EDGEPBX_FUZZ_SECONDS=300.
Skipped, with the reason printed, when clang is not installed.
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
TARGETS = {"dtmf": ["dtmf.c", "osc.c"], "cpt": ["cpt.c", "tone.c", "osc.c"]}


@pytest.mark.slow
@pytest.mark.timeout(SECONDS + 300)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_detector(target: str, tmp_path: pathlib.Path) -> None:
    if CLANG is None:
        print("clang not found on PATH: libFuzzer targets not built (apt-get install clang)")
        pytest.skip("clang not found on PATH")
    exe = tmp_path / f"fuzz_{target}"
    cmd = [CLANG, "-std=c99", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all", f"-I{CSRC}",
           str(HERE / f"fuzz_{target}.c"), *(str(CSRC / f) for f in TARGETS[target]), "-lm",
           "-o", str(exe)]  # fmt: skip
    build = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert build.returncode == 0, build.stderr
    corpus = pathlib.Path(os.environ.get("EDGEPBX_FUZZ_CORPUS", "/tmp/edgepbx-fuzz")) / target
    corpus.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [str(exe), f"-max_total_time={SECONDS}", "-max_len=16384", "-timeout=10",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 240,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-4000:]
    assert "Done" in report, report[-4000:]
