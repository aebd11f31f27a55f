"""The routing tables the call engine uses, built from one configuration document.

Built whole from the document on every committed revision and swapped in one assignment,
so a configuration change never leaves the engine half old and half new, and calls in
progress keep the legs they already have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Destination:
    type: str                   # extension | ring_group | queue | hangup | busy
    target: str | None = None


@dataclass(frozen=True, slots=True)
class InboundRoute:
    name: str
    trunk: str | None
    called: str | None
    caller_prefix: str | None
    destination: Destination


@dataclass(frozen=True, slots=True)
class OutboundRoute:
    name: str
    pattern: re.Pattern[str]
    trunks: tuple[str, ...]
    strip: int
    prepend: str

    def translate(self, digits: str) -> str:
        return self.prepend + digits[self.strip:]


@dataclass(frozen=True, slots=True)
class Extension:
    number: str
    name: str
    port: str
    enabled: bool


@dataclass(slots=True)
class Dialplan:
    country: str = "EU"
    extensions: dict[str, Extension] = field(default_factory=dict)
    by_port: dict[str, Extension] = field(default_factory=dict)
    trunk_of_port: dict[str, str] = field(default_factory=dict)   # port id -> trunk id
    trunk_ports: dict[str, tuple[str, ...]] = field(default_factory=dict)  # trunk -> ports
    inbound: list[InboundRoute] = field(default_factory=list)
    outbound: list[OutboundRoute] = field(default_factory=list)

    @classmethod
    def from_document(cls, doc: dict[str, Any], port_ids: list[str]) -> Dialplan:
        plan = cls(country=str(doc.get("system", {}).get("country", "EU")))
        for e in doc.get("extensions", []):
            ext = Extension(e["number"], e.get("name", ""), e.get("port") or "",
                            e.get("enabled", True))
            plan.extensions[ext.number] = ext
            if ext.port:
                plan.by_port[ext.port] = ext
        for t in doc.get("trunks", []):
            if not t.get("enabled", True):
                continue
            port = t["port"]
            ports = tuple(p for p in port_ids if p == port or p.startswith(port + "."))
            plan.trunk_ports[t["id"]] = ports
            for p in ports:
                plan.trunk_of_port[p] = t["id"]
        for r in doc.get("routes", []):
            m = r.get("match", {})
            d = r["destination"]
            plan.inbound.append(InboundRoute(
                r.get("name", ""), m.get("trunk"), m.get("called"), m.get("caller_prefix"),
                Destination(d["type"], d.get("target"))))
        for o in doc.get("outbound", []):
            plan.outbound.append(OutboundRoute(
                o.get("name", ""), re.compile(o["pattern"]), tuple(o.get("trunks", [])),
                int(o.get("strip", 0)), str(o.get("prepend", ""))))
        return plan

    def route_inbound(self, trunk: str | None, called: str | None,
                      caller: str | None) -> InboundRoute | None:
        """First route whose every given condition matches (order is the admin's)."""
        for r in self.inbound:
            if r.trunk is not None and r.trunk != trunk:
                continue
            if r.called is not None and r.called != called:
                continue
            if r.caller_prefix is not None and not (caller or "").startswith(r.caller_prefix):
                continue
            return r
        return None

    def route_outbound(self, digits: str) -> OutboundRoute | None:
        for o in self.outbound:
            if o.pattern.fullmatch(digits):
                return o
        return None

    def could_be_extension(self, digits: str) -> bool:
        return any(n.startswith(digits) and n != digits for n in self.extensions)
