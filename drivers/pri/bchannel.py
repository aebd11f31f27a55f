"""One B-channel of an E1 span as a call channel (Q.931 call-control primitives)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from drivers.channel import (
    Cause,
    Channel,
    ChannelAnswered,
    ChannelError,
    ChannelIdle,
    ChannelKind,
    ChannelProgress,
    ChannelReleased,
    ChannelSetup,
    ChannelState,
)

Indication = Callable[[int, str, dict[str, Any]], None]   # (bchan, "setup"|..., params)


class PriSpan(Protocol):
    """Call control of a Q.931 stack, per B-channel (1..31 except 16, numbered 1..30 here)."""

    def setup(self, bchan: int, called: str, caller: str | None) -> None: ...

    def alerting(self, bchan: int) -> None: ...

    def connect(self, bchan: int) -> None: ...

    def disconnect(self, bchan: int, cause: int) -> None: ...

    def on_indication(self, bchan: int, callback: Indication) -> None: ...


class PriBChannel(Channel):
    kind = ChannelKind.PRI

    def __init__(self, channel_id: str, slot: int, span: PriSpan, bchan: int) -> None:
        super().__init__(channel_id, slot)
        self.span = span
        self.bchan = bchan
        span.on_indication(bchan, self._on_indication)

    async def place_call(
        self, called: str | None, caller: str | None = None, caller_name: str | None = None,
        *, caller_withheld: bool = False,
    ) -> None:
        if self.state is not ChannelState.IDLE:
            raise ChannelError(f"{self.id}: B-channel busy ({self.state})")
        if not called:
            raise ChannelError(f"{self.id}: no called number")
        self.state = ChannelState.OUTBOUND
        self.span.setup(self.bchan, called, caller)

    async def answer(self) -> None:
        if self.state is not ChannelState.INBOUND:
            raise ChannelError(f"{self.id}: nothing to answer in state {self.state}")
        self.span.connect(self.bchan)
        self.state = ChannelState.ACTIVE

    async def release(self, cause: Cause = Cause.NORMAL_CLEARING) -> None:
        if self.state is ChannelState.IDLE:
            return
        self.span.disconnect(self.bchan, int(cause))
        self._set_idle()

    def _on_indication(self, bchan: int, kind: str, params: dict[str, Any]) -> None:
        if kind == "setup" and self.state is ChannelState.IDLE:
            self.state = ChannelState.INBOUND
            self.emit(ChannelSetup(self.id, caller=params.get("caller"),
                                   called=params.get("called")))
        elif kind == "alerting" and self.state is ChannelState.OUTBOUND:
            self.state = ChannelState.ALERTING
            self.emit(ChannelProgress(self.id))
        elif kind == "connect" and self.state in (ChannelState.OUTBOUND, ChannelState.ALERTING):
            self.state = ChannelState.ACTIVE
            self.emit(ChannelAnswered(self.id))
        elif kind == "disconnect" and self.state is not ChannelState.IDLE:
            cause = params.get("cause", Cause.NORMAL_CLEARING)
            try:
                cause = Cause(int(cause))
            except ValueError:
                cause = Cause.NORMAL_UNSPECIFIED
            self.emit(ChannelReleased(self.id, cause=cause))
            self._set_idle()

    def _set_idle(self) -> None:
        was = self.state
        self.state = ChannelState.IDLE
        if was is not ChannelState.IDLE:
            self.emit(ChannelIdle(self.id))

    def describe(self) -> dict[str, object]:
        d = super().describe()
        d["bchan"] = self.bchan
        return d
