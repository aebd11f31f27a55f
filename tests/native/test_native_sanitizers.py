"""Build the C core with AddressSanitizer + UBSan into a C driver and run it."""

from __future__ import annotations

import pathlib

import pytest
from sanitize_build import needs_gcc, run_sanitized


@pytest.mark.slow
@needs_gcc
def test_c_core_is_clean_under_asan_and_ubsan(tmp_path: pathlib.Path) -> None:
    run_sanitized(tmp_path, "sanitize_driver")
