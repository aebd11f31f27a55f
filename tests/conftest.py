"""Shared fixtures: a running box on the simulated board, and a signed-in API client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02,
                   what: str = "condition") -> Any:
    """Poll until predicate() is truthy (may be async); fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if isinstance(last, Awaitable):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[Any]:
    from firmware.app import Box, Settings

    b = Box(Settings(data_dir=tmp_path / "data", simulated=True))
    await b.start()
    try:
        yield b
    finally:
        await b.stop()
