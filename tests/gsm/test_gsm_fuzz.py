"""Coverage-guided fuzzing (atheris) of the AT line parser and the PDU decoder.

Each target runs in its own process (libFuzzer ends the process it runs in) for
``EDGEPBX_FUZZ_SECONDS`` seconds (default 10 each, about 20 s for the pair; set it higher
for a longer campaign).  The targets and their contracts are in ``fuzz_gsm.py``.  Without
atheris on the machine (no wheel for this Python or CPU) the test is skipped and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECONDS = int(os.environ.get("EDGEPBX_FUZZ_SECONDS", "10"))


def _atheris_problem() -> str | None:
    probe = subprocess.run([sys.executable, "-c", "import atheris"], capture_output=True,
                           text=True, timeout=60)
    if probe.returncode == 0:
        return None
    lines = (probe.stderr.strip() or "import failed").splitlines()
    return lines[-1]


@pytest.mark.slow
@pytest.mark.timeout(SECONDS * 3 + 120)
@pytest.mark.parametrize("target", ["at", "pdu"])
def test_fuzz(target: str, tmp_path: Path) -> None:
    problem = _atheris_problem()
    if problem is not None:
        reason = f"atheris cannot be imported here ({problem}); pip install atheris"
        print(reason)
        pytest.skip(reason)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gsm.fuzz_gsm", target, f"-max_total_time={SECONDS}",
         "-rss_limit_mb=2048", "-print_final_stats=1"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=SECONDS * 3 + 60)
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert proc.returncode == 0 and not crashes, (
        f"fuzzing {target} found a failing input {crashes}:\n{proc.stderr[-4000:]}")
    assert "Done" in proc.stderr, proc.stderr[-2000:]
