"""Shared fixtures: a running box on the simulated board, and a signed-in API client."""

from __future__ import annotations

import asyncio
import gc
import logging
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


class _LostTaskErrors(logging.Handler):
    """asyncio's report of a task that failed with nobody awaiting it: a background job
    (a health check, a poller) died silently. Such a failure fails the test it came in."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "exception was never retrieved" in record.getMessage():
            exc = record.exc_info[1] if record.exc_info else None
            self.seen.append(f"{record.getMessage().splitlines()[1:2]} {exc!r}")


@pytest.fixture(autouse=True)
def no_lost_task_errors() -> Any:
    handler = _LostTaskErrors()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield
        gc.collect()          # the report comes when the failed task is collected
    finally:
        logger.removeHandler(handler)
    assert not handler.seen, f"a background task failed unawaited: {handler.seen}"


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[Any]:
    from firmware.app import Box, Settings

    b = Box(Settings(data_dir=tmp_path / "data", simulated=True))
    await b.start()
    try:
        yield b
    finally:
        await b.stop()
