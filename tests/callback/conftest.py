"""Fixtures of the callback tests (helpers live in cbrig.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cbrig import Rig, make_rig


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = make_rig()
    try:
        yield r
    finally:
        r.store.close()
