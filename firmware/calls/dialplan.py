"""The routing tables the call engine uses, built from one configuration document.

Built whole from the document on every committed revision and swapped in one assignment,
so a configuration change never leaves the engine half old and half new, and calls in
progress keep the legs they already have. Every section is optional here (the schema
decides what is required), so the engine runs on any valid document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from firmware.callback.policy import Blacklist
from firmware.calls.numbering import COS_LEVELS, emergency_clash, plan_for
from firmware.numbers import MalformedNumber, normalize_number, normalize_prefix
from firmware.timeconditions import TimeCondition, TimeConditionError


@dataclass(frozen=True, slots=True)
class Destination:
    type: str      # extension | ring_group | queue | ivr | voicemail | external |
    #               announcement | hangup | busy
    target: str | None = None
    priority: int = 0   # a queue destination: the caller's priority there (at least)

    @classmethod
    def parse(cls, d: dict[str, Any] | None, default: Destination | None = None
              ) -> Destination | None:
        if not d:
            return default
        return cls(str(d["type"]), d.get("target"), int(d.get("priority", 0)))


HANGUP = Destination("hangup")


@dataclass(frozen=True, slots=True)
class InboundRoute:
    name: str
    trunk: str | None
    called: str | None
    caller_prefix: str | None
    destination: Destination
    record: bool = False
    time_condition: str | None = None       # working hours: closed → night_destination
    night_destination: Destination | None = None
    called_key: str | None = None           # ``called`` / ``caller_prefix`` in canonical
    prefix_key: str | None = None           # spelling (firmware.numbers): "+7495…" = "8495…"


@dataclass(frozen=True, slots=True)
class OutboundRoute:
    name: str
    pattern: re.Pattern[str]
    trunks: tuple[str, ...]
    strip: int
    prepend: str
    caller_id: str = "trunk"        # trunk (the line's own) | extension | hidden | a number

    def translate(self, digits: str) -> str:
        return self.prepend + digits[self.strip:]


@dataclass(frozen=True, slots=True)
class Extension:
    number: str
    name: str
    port: str
    enabled: bool = True
    cos: str = "mobile"              # the most expensive number class it may dial
    voicemail: bool = True
    call_waiting: bool = True
    pickup_group: str | None = "default"
    ring_s: int = 20                 # before forward-on-no-answer / voicemail
    record: bool = False
    message_waiting: str = "both"    # how new voicemail shows: stutter | lamp | both


@dataclass(frozen=True, slots=True)
class RingMember:
    target: str                      # an extension number or an external number
    delay_s: int = 0                 # cascading: when this member joins; sequential: order

    @property
    def external(self) -> bool:
        return not self.target.isdigit() or len(self.target) > 6


@dataclass(frozen=True, slots=True)
class RingGroup:
    id: str
    name: str
    strategy: str                    # ringall | sequential | cascading
    members: tuple[RingMember, ...]
    member_s: int = 15               # sequential/cascading: ring time per step
    timeout_s: int = 60              # ring all / overall
    failover: Destination = HANGUP


@dataclass(frozen=True, slots=True)
class IvrMenu:
    id: str
    name: str
    prompt: str | None               # prompt file name under the data dir, or None (tones)
    options: dict[str, Destination]
    timeout_s: float = 5.0
    retries: int = 3
    direct_dial: bool = True
    timeout_destination: Destination = HANGUP
    invalid_destination: Destination = HANGUP


@dataclass(frozen=True, slots=True)
class TollGuard:
    allow_international: bool = False
    allow_premium: bool = False
    blocked_prefixes: tuple[str, ...] = ()
    max_outbound_concurrent: int = 4
    max_calls_per_hour_extension: int = 30
    max_calls_per_hour_trunk: int = 120
    max_call_s: int = 3600           # the last safety net on every external call


@dataclass(frozen=True, slots=True)
class FeatureCodes:
    pickup: str = "*8"
    directed_pickup: str = "**"
    forward_always_on: str = "*72"
    forward_always_off: str = "*73"
    forward_busy_on: str = "*90"
    forward_busy_off: str = "*91"
    forward_no_answer_on: str = "*92"
    forward_no_answer_off: str = "*93"
    forward_unreachable_on: str = "*94"
    forward_unreachable_off: str = "*95"
    dnd_on: str = "*78"
    dnd_off: str = "*79"
    voicemail: str = "*97"
    day_night_toggle: str = "*28"
    park_prefix: str = "70"          # park slots 701..709: dial to park (in a call) or pick up
    agent_login: str = "*45"
    agent_logout: str = "*46"
    agent_pause: str = "*47"
    agent_unpause: str = "*48"
    agent_pause_reason: str = "*49"  # *49<n># pauses with reason n of PAUSE_REASONS


# The reasons an agent gives from a phone, by number (*49<n>#); the web takes any word.
PAUSE_REASONS: Final = {"1": "break", "2": "lunch", "3": "training", "4": "meeting",
                        "5": "after_call_work"}


@dataclass(frozen=True, slots=True)
class VoicemailPolicy:
    max_message_s: int = 120
    max_messages: int = 100          # per mailbox
    max_silence_s: int = 10          # a caller silent this long is done


@dataclass(slots=True)
class Dialplan:
    country: str = "EU"
    extensions: dict[str, Extension] = field(default_factory=dict)
    by_port: dict[str, Extension] = field(default_factory=dict)
    trunk_of_port: dict[str, str] = field(default_factory=dict)   # port id -> trunk id
    trunk_ports: dict[str, tuple[str, ...]] = field(default_factory=dict)  # trunk -> ports
    inbound: list[InboundRoute] = field(default_factory=list)
    outbound: list[OutboundRoute] = field(default_factory=list)
    ring_groups: dict[str, RingGroup] = field(default_factory=dict)
    ivrs: dict[str, IvrMenu] = field(default_factory=dict)
    toll: TollGuard = field(default_factory=TollGuard)
    features: FeatureCodes = field(default_factory=FeatureCodes)
    park_slots: int = 9
    park_timeout_s: int = 60
    voicemail: VoicemailPolicy = field(default_factory=VoicemailPolicy)
    record_beep: bool = False
    directory: dict[str, str] = field(default_factory=dict)
    time_conditions: dict[str, TimeCondition] = field(default_factory=dict)
    blacklist: Blacklist = field(default_factory=Blacklist)   # canonical number -> name

    @classmethod
    def from_document(cls, doc: dict[str, Any], port_ids: list[str]) -> Dialplan:
        plan = cls(country=str(doc.get("system", {}).get("country", "EU")))
        for e in doc.get("extensions", []):
            cos = e.get("cos", "mobile")
            ext = Extension(e["number"], e.get("name", ""), e.get("port") or "",
                            e.get("enabled", True),
                            cos=cos if cos in COS_LEVELS else "internal",
                            voicemail=e.get("voicemail", True),
                            call_waiting=e.get("call_waiting", True),
                            pickup_group=e.get("pickup_group", "default"),
                            ring_s=int(e.get("ring_s", 20)), record=e.get("record", False),
                            message_waiting=e.get("message_waiting", "both"))
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
            called, prefix = m.get("called"), m.get("caller_prefix")
            plan.inbound.append(InboundRoute(
                r.get("name", ""), m.get("trunk"), called, prefix,
                Destination.parse(r["destination"]) or HANGUP, r.get("record", False),
                r.get("time_condition"), Destination.parse(r.get("night_destination")),
                called_key=None if called is None else plan.number_key(called),
                prefix_key=None if prefix is None else plan.prefix_key(prefix)))
        tz = str(doc.get("system", {}).get("timezone", "UTC"))
        for tc in doc.get("time_conditions", []):
            try:
                plan.time_conditions[tc["id"]] = TimeCondition.from_config(tc, tz)
            except (TimeConditionError, KeyError, ValueError):
                pass  # the validated document never gets here; be safe with old ones
        plan.blacklist = Blacklist.from_entries(doc.get("blacklist", []), plan.country)
        for o in doc.get("outbound", []):
            plan.outbound.append(OutboundRoute(
                o.get("name", ""), re.compile(o["pattern"]), tuple(o.get("trunks", [])),
                int(o.get("strip", 0)), str(o.get("prepend", "")),
                str(o.get("caller_id", "trunk"))))
        for g in doc.get("ring_groups", []):
            members = tuple(
                RingMember(m, 0) if isinstance(m, str)
                else RingMember(str(m["target"]), int(m.get("delay_s", 0)))
                for m in g.get("members", []))
            plan.ring_groups[g["id"]] = RingGroup(
                g["id"], g.get("name", ""), g.get("strategy", "ringall"), members,
                member_s=int(g.get("member_s", g.get("ring_s", 15))),
                timeout_s=int(g.get("timeout_s", g.get("ring_s", 60))),
                failover=Destination.parse(g.get("failover"), HANGUP) or HANGUP)
        for m in doc.get("ivrs", []):
            plan.ivrs[m["id"]] = IvrMenu(
                m["id"], m.get("name", ""), m.get("prompt"),
                {k: d for k, v in m.get("options", {}).items()
                 if (d := Destination.parse(v)) is not None},
                timeout_s=float(m.get("timeout_s", 5.0)), retries=int(m.get("retries", 3)),
                direct_dial=m.get("direct_dial", True),
                timeout_destination=Destination.parse(m.get("timeout_destination"), HANGUP)
                or HANGUP,
                invalid_destination=Destination.parse(m.get("invalid_destination"), HANGUP)
                or HANGUP)
        vm = doc.get("voicemail", {})
        plan.voicemail = VoicemailPolicy(int(vm.get("max_message_s", 120)),
                                         int(vm.get("max_messages", 100)),
                                         int(vm.get("max_silence_s", 10)))
        plan.record_beep = bool(doc.get("recording", {}).get("beep", False))
        sec = doc.get("security", {}).get("toll_fraud", {})
        if sec:
            plan.toll = TollGuard(
                allow_international=sec.get("allow_international", False),
                allow_premium=sec.get("allow_premium", False),
                blocked_prefixes=tuple(sec.get("blocked_prefixes", ())),
                max_outbound_concurrent=int(sec.get("max_outbound_concurrent", 4)),
                max_calls_per_hour_extension=int(sec.get("max_calls_per_hour_extension", 30)),
                max_calls_per_hour_trunk=int(sec.get("max_calls_per_hour_trunk", 120)),
                max_call_s=int(sec.get("max_call_s", 3600)))
        for entry in doc.get("directory", []):
            plan.directory[plan._directory_key(str(entry["number"]))] = str(entry["name"])
        return plan

    def _directory_key(self, number: str) -> str:
        return self.number_key(number)

    def number_key(self, number: str) -> str:
        """A number as routes compare it: canonical (``+7 495…``, ``8495…`` and
        ``7495…`` alike), or as given when it is no subscriber number (a short DID, "100")."""
        try:
            return normalize_number(number, self.country)
        except MalformedNumber:
            return number

    def prefix_key(self, prefix: str) -> str:
        """A caller prefix as routes compare it (``normalize_prefix``), or as given."""
        try:
            return normalize_prefix(prefix, self.country)
        except MalformedNumber:
            return prefix

    def caller_name(self, number: str | None) -> str | None:
        """The name caller ID shows for a number (caller-ID-with-name): the extension's
        own name, else the directory's entry for it (any spelling of the same number)."""
        if not number:
            return None
        ext = self.extensions.get(number)
        if ext is not None:
            return ext.name or None
        return self.directory.get(self._directory_key(number))

    def route_inbound(self, trunk: str | None, called: str | None,
                      caller: str | None) -> InboundRoute | None:
        """First route whose every given condition matches (order is the admin's).

        Numbers compare in canonical spelling, so a route written ``+74951234567`` takes
        the E1 call whose called number arrives as ``4951234567``, and a caller prefix
        ``+7916`` matches ``89161234567``; a prefix that matches as written still does
        (a local prefix with no country code)."""
        called_key = None if called is None else self.number_key(called)
        caller_key = self.number_key(caller) if caller else ""
        for r in self.inbound:
            if r.trunk is not None and r.trunk != trunk:
                continue
            if r.called is not None and r.called != called and r.called_key != called_key:
                continue
            if r.caller_prefix is not None and not (
                    (caller or "").startswith(r.caller_prefix)
                    or caller_key.startswith(r.prefix_key or r.caller_prefix)):
                continue
            return r
        return None

    def route_outbound(self, digits: str) -> OutboundRoute | None:
        for o in self.outbound:
            if o.pattern.fullmatch(digits):
                return o
        return None

    def could_be_longer(self, digits: str) -> bool:
        """Whether more digits could still make another extension, code or emergency
        number (so a stale extension "10" never cuts off 101 in RU)."""
        f = self.features
        codes = [f.pickup, f.forward_always_on, f.forward_always_off, f.forward_busy_on,
                 f.forward_busy_off, f.forward_no_answer_on, f.forward_no_answer_off,
                 f.forward_unreachable_on, f.forward_unreachable_off,
                 f.dnd_on, f.dnd_off, f.voicemail, f.day_night_toggle, f.agent_login,
                 f.agent_logout, f.agent_pause, f.agent_unpause, f.agent_pause_reason]
        return any(n.startswith(digits) and n != digits
                   for n in (*self.extensions, *codes, *plan_for(self.country).emergency))

    def is_emergency(self, digits: str) -> bool:
        """An emergency number of the box's country: it always goes out, whatever else
        the plan holds (see ``emergency_clashes``)."""
        return digits in plan_for(self.country).emergency

    def emergency_clashes(self) -> list[str]:
        """Internal numbers (extensions, park slots) that collide with an emergency number:
        validation refuses them, but a stored document from before may hold one."""
        park = [self.features.park_prefix + str(n) for n in range(1, self.park_slots + 1)]
        return [clash for number in (*self.extensions, *park)
                if (clash := emergency_clash(number, self.country)) is not None]

    def park_slot(self, digits: str) -> int | None:
        p = self.features.park_prefix
        if len(digits) == len(p) + 1 and digits.startswith(p) and digits[-1].isdigit():
            n = int(digits[-1])
            return n if 1 <= n <= self.park_slots else None
        return None
