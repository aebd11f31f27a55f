"""Build the echo canceller with AddressSanitizer + UBSan into a C driver and run it."""

from __future__ import annotations

import pathlib

import pytest
from sanitize_build import CSRC, needs_gcc, run_sanitized


@pytest.mark.slow
@needs_gcc
def test_echo_canceller_is_clean_under_asan_and_ubsan(tmp_path: pathlib.Path) -> None:
    run_sanitized(tmp_path, "sanitize_echo", [CSRC / "echo.c"])
