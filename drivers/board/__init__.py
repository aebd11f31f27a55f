"""What a box has: its ports, their media slots, and the hardware or simulation behind them.

A *board* turns a description of the box (a board file under image/boards/ on hardware, or
the simulated default) into call channels (drivers.channel.Channel) and a TDM highway for
the media engine. The composition root (firmware.app) picks the board; nothing else does.

Slot layout: FXS ports first, then FXO, GSM and the E1 B-channels, in order, one slot each.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.channel import ChannelKind


@dataclass(frozen=True, slots=True)
class PortSpec:
    id: str
    kind: ChannelKind
    slot: int


def default_layout(fxs: int = 4, fxo: int = 2, gsm: int = 2, e1_channels: int = 30
                   ) -> list[PortSpec]:
    ports: list[PortSpec] = []
    for kind, count, prefix in ((ChannelKind.FXS, fxs, "fxs"), (ChannelKind.FXO, fxo, "fxo"),
                                (ChannelKind.GSM, gsm, "gsm")):
        for i in range(1, count + 1):
            ports.append(PortSpec(f"{prefix}{i}", kind, len(ports)))
    for b in range(1, e1_channels + 1):
        ports.append(PortSpec(f"e1.{b}", ChannelKind.PRI, len(ports)))
    return ports


def known_port_ids(ports: list[PortSpec]) -> set[str]:
    """Port ids the configuration may name: every port, plus "e1" for a whole span."""
    ids = {p.id for p in ports}
    if any(p.kind is ChannelKind.PRI for p in ports):
        ids.add("e1")
    return ids
