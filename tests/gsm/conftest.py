"""Fixtures for the GSM tests: a simulated module on a pty and a driver over it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from tests.gsm.rig import Rig


@pytest.fixture
async def leak_check() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running or file descriptors open."""
    fds = set(os.listdir("/proc/self/fd"))
    yield
    await asyncio.sleep(0.02)
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current and not t.done()] == []
    assert set(os.listdir("/proc/self/fd")) - fds == set()


@pytest.fixture
async def rig(leak_check: None) -> AsyncIterator[Rig]:
    r = await Rig.open()
    yield r
    await r.close()
