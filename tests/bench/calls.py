"""Call benchmarks through the whole box: every port busy at once, and a call-setup storm.

    python -m tests.bench.calls                        # both, printed as JSON lines
    python -m tests.bench.calls full --hold 20         # every port busy for 20 s
    python -m tests.bench.calls storm --rates 60,100,120 --window 20

Both run a real `Box` on the simulated board in this process: the channel drivers, the call
engine's scripts, the media thread ticking the native engine every 20 ms, the SQLite store
(CDRs) and INFO logs formatted as JSON (to a file, as the box logs to the journal). The
people on the lines are simulated in the same process and act only through the simulator:
far ends call in, answer, press keys (DTMF as audio) and hang up; phones ring, go off-hook
and on-hook. Their cost (the simulated devices' DSP on every tick, the people's loop) is
part of the figures; on hardware the highway is a DMA buffer and that work is not there.

Full load: the default board (4 FXS, 2 FXO, 2 GSM, 30 E1 B-channels), all 38 ports busy:
one E1 call answered by extension 201, one by ring group "desk" (202), one internal call
203 → 204, and 32 trunk calls (28 E1, 2 FXO, 2 GSM) in an IVR menu, everybody pressing a key
every ~2 s. Reported over the hold: CPU of the process (process time / wall, 100 % = one
core) split into the asyncio thread and the media thread, media ticks and late ticks, and
resident memory (VmRSS now, VmHWM peak).

Setup storm: a larger simulated board (``Settings(board=BoardSize(...))``; by default 120
phones and a 136-channel span, the 256 slots of the media engine) with 4 departments: far
ends call the department's number on a free B-channel at a fixed rate; each call goes
route → IVR (no key pressed: the menu's 1 s timeout, the schema's minimum; or with
``--ivr key`` the caller presses 9 at once) → the department's ring group (hunt, 30
phones) → a phone rings, answers after 50-150 ms and says "hello" (DTMF 5); the far end
hears it, talks 0.1 s and hangs up; the phone hears busy tone and hangs up. A phone is then
busy ≥ 0.7 s more (on-hook shorter than that is a flash), a B-channel ≥ 1.2 s on the timeout
path: with 256 slots the board itself carries ~100 calls/s on that path whatever the CPU.
Reported per offered rate: completed (answered, then cleared) calls per second over the
window, blocked arrivals (no free B-channel), calls the box could not answer (every phone
of the department busy), setup time (arrival → answer, includes the IVR's wait), CPU of
the process and of each thread, CPU ms per completed call, and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from firmware.app import BoardSize, Box, Settings
from firmware.logs import JsonFormatter
from firmware.service import BadRequest

_CLK = os.sysconf("SC_CLK_TCK")
# 256 slots, the media engine's limit: phones and B-channels in about the ratio of the time
# each is held per call at ~100 calls/s (a phone ~1.1 s, a B-channel ~1.3 s).
STORM_BOARD = BoardSize(fxs=120, fxo=0, gsm=0, e1_channels=136)


# -- measuring ------------------------------------------------------------------------------
def memory_kb() -> dict[str, int]:
    out: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def _thread_cpu_s(native_id: int | None) -> float:
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK   # utime + stime


def _media_thread_id() -> int | None:
    return next((t.native_id for t in threading.enumerate() if t.name == "media"), None)


class CpuMeter:
    """CPU of the whole process, the asyncio (main) thread and the media thread."""

    def __init__(self) -> None:
        self.media_tid = _media_thread_id()
        self.main_tid = threading.main_thread().native_id
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        return (time.monotonic(), time.process_time(), _thread_cpu_s(self.main_tid),
                _thread_cpu_s(self.media_tid))

    def read(self) -> dict[str, float]:
        w1, p1, a1, m1 = self._sample()
        w0, p0, a0, m0 = self._start
        wall = w1 - w0
        return {"wall_s": round(wall, 2), "cpu_s": round(p1 - p0, 2),
                "cpu_pct": round(100 * (p1 - p0) / wall, 1),
                "asyncio_thread_pct": round(100 * (a1 - a0) / wall, 1),
                "media_thread_pct": round(100 * (m1 - m0) / wall, 1)}


def _log_to_file(path: Path, level: str) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    return handler


async def _configure(box: Box, change: Any) -> None:
    doc = box.config_current()
    change(doc)
    await box.config_commit(doc, author="bench")


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def _all_idle(box: Box) -> bool:
    assert box.engine is not None
    return box.calls() == [] and not box.engine.busy_channels() and all(
        ch.state.value == "idle" for ch in box.channels.values())


# -- full load --------------------------------------------------------------------------------
async def _full_load(data_dir: Path, hold_s: float, press_every_s: float,
                     seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    box = Box(Settings(data_dir=data_dir))
    await box.start()
    try:
        assert box.sim is not None and box.board is not None and box.runtime is not None
        sim, board = box.sim, box.board
        highway = board.highway

        def change(d: dict[str, Any]) -> None:
            d["ivrs"] = [{"id": "hold", "name": "Hold", "prompt": None, "timeout_s": 60,
                          "retries": 10, "options": {"0": {"type": "hangup"}},
                          "timeout_destination": {"type": "hangup"},
                          "invalid_destination": {"type": "hangup"}}]
            d["ring_groups"] = [{"id": "desk", "name": "Desk", "strategy": "ringall",
                                 "members": ["202"]}]
            for r in d["routes"]:
                r["destination"] = {"type": "ivr", "target": "hold"}
            d["routes"][:0] = [
                {"name": "E1 201", "match": {"trunk": "e1", "called": "201",
                                             "caller_prefix": None},
                 "destination": {"type": "extension", "target": "201"}},
                {"name": "E1 desk", "match": {"trunk": "e1", "called": "200",
                                              "caller_prefix": None},
                 "destination": {"type": "ring_group", "target": "desk"}}]
        await _configure(box, change)
        await asyncio.sleep(1.0)
        idle = CpuMeter()
        await asyncio.sleep(3.0)
        idle_cpu, idle_mem = idle.read(), memory_kb()

        # one internal call, two E1 calls answered by phones, 32 trunk calls in the IVR
        await sim.phone_offhook("fxs3")
        await sim.phone_press("fxs3", "204")
        await _until(lambda: board.phones["fxs4"].ringing, 10, "fxs4 to ring")
        await sim.phone_offhook("fxs4")
        await sim.trunk_call("e1.1", "+74951000001", "201")
        await _until(lambda: board.phones["fxs1"].ringing, 10, "fxs1 to ring")
        await sim.phone_offhook("fxs1")
        await sim.trunk_call("e1.2", "+74951000002", "200")
        await _until(lambda: board.phones["fxs2"].ringing, 10, "fxs2 to ring")
        await sim.phone_offhook("fxs2")
        ivr_callers = [f"e1.{b}" for b in range(3, 31)] + ["fxo1", "fxo2", "gsm1", "gsm2"]
        for i, port in enumerate(ivr_callers):
            await sim.trunk_call(port, f"+7495200{i:04d}", "300")
        await _until(lambda: all(ch.state.value != "idle" for ch in box.channels.values())
                     and sum(c["state"] in ("active", "ivr") for c in box.calls()) == 35,
                     30, "every port busy (3 answered calls, 32 in the IVR)")

        talkers = ["fxs1", "fxs2", "fxs3", "fxs4", "e1.1", "e1.2", *ivr_callers]
        pressed = 0

        # An IVR caller's key is an invalid choice (complaint tone, another try): at most
        # 7 of the menu's 10 tries in the hold, so that nobody is hung up on.
        ivr_every_s = max(press_every_s, hold_s / 7)

        async def keys(port: str) -> None:
            nonlocal pressed
            every = ivr_every_s if port in ivr_callers else press_every_s
            await asyncio.sleep(rng.uniform(0, every))
            while True:
                digits = "123456789" if port.startswith(("fxs", "e1.1", "e1.2")) else "5"
                if port.startswith("fxs"):
                    await sim.phone_press(port, rng.choice(digits))
                else:
                    await sim.far_press(port, rng.choice(digits))
                pressed += 1
                await asyncio.sleep(every * rng.uniform(0.8, 1.2))

        ticks0, late0 = highway.ticks, highway.late_ticks
        meter = CpuMeter()
        pressers = [asyncio.create_task(keys(p)) for p in talkers]
        await asyncio.sleep(hold_s)
        cpu, mem = meter.read(), memory_kb()
        ticks, late = highway.ticks - ticks0, highway.late_ticks - late0
        busy = sum(ch.state.value != "idle" for ch in box.channels.values())
        calls = len(box.calls())
        for t in pressers:
            t.cancel()
        heard = {p: board.phones[p].heard_digits for p in ("fxs1", "fxs2", "fxs3", "fxs4")}

        for port in ["e1.1", "e1.2", *ivr_callers]:
            with contextlib.suppress(BadRequest):    # the box ended it already
                await sim.far_hangup(port)
        for port in ("fxs1", "fxs2", "fxs3", "fxs4"):
            await sim.phone_onhook(port)
        await _until(lambda: _all_idle(box), 15, "every channel idle afterwards")
        return {"bench": "calls_full_load", "ports": len(box.channels),
                "ports_busy_at_end": busy, "calls_at_end": calls, "hold_s": hold_s,
                "keys_pressed": pressed, "phones_heard_digits": sum(map(len, heard.values())),
                **cpu, "media_ticks": ticks,
                "media_ticks_expected": round(cpu["wall_s"] / highway.tick_s),
                "late_ticks": late, "media_errors": box.runtime.errors,
                "rss_mb": round(mem["VmRSS"] / 1024, 1), "hwm_mb": round(mem["VmHWM"] / 1024, 1),
                "idle_cpu_pct": idle_cpu["cpu_pct"],
                "idle_rss_mb": round(idle_mem["VmRSS"] / 1024, 1)}
    finally:
        await box.stop()


# -- setup storm ----------------------------------------------------------------------------
class StormPeople:
    """Far ends calling in at a fixed rate, phones answering, both ends hanging up."""

    def __init__(self, box: Box, rate: float, departments: int, answer_s: tuple[float, float],
                 talk_s: float, seed: int, ivr_key: bool = False) -> None:
        assert box.board is not None and box.sim is not None
        self.box = box
        self.sim = box.sim
        self.board = box.board
        self.rate = rate
        self.departments = departments
        self.answer_s = answer_s
        self.talk_s = talk_s
        self.ivr_key = ivr_key
        self.keyed: set[int] = set()                  # B-channels that chose in the IVR
        self.rng = random.Random(seed)
        self.free = deque(sorted(self.board.span.far))
        self.arrivals = 0
        self.blocked = 0
        self.counting = False
        self.far_calls: dict[int, float] = {}         # B-channel → arrival time
        self.far_hanging: set[int] = set()
        self.phones_answering: set[str] = set()
        self.phones_up: dict[str, float] = {}         # phone → when it went off-hook
        self.stuck = 0

    async def callers(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate
        nxt = loop.time()
        n = 0
        span = self.board.span
        while not stop.is_set():
            nxt += period
            delay = nxt - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            n += 1
            if self.counting:
                self.arrivals += 1
            bchan = None
            for _ in range(len(self.free)):
                b = self.free.popleft()
                self.free.append(b)
                if span.far[b].call_state == "idle" and b not in self.far_calls and \
                        self.box.channels[f"e1.{b}"].state.value == "idle":
                    bchan = b
                    break
            if bchan is None:
                if self.counting:
                    self.blocked += 1
                continue
            self.far_calls[bchan] = loop.time()
            dept = n % self.departments
            await self.sim.trunk_call(f"e1.{bchan}", f"+7495{n:07d}", f"{2000 + dept}")

    async def behave(self, stop: asyncio.Event) -> None:
        """Every 20 ms: phones that ring answer soon; far ends that heard "hello" hang up
        after the talk; phones that hear busy tone hang up."""
        loop = asyncio.get_running_loop()
        phones = self.board.phones
        span = self.board.span
        while not stop.is_set() or self.far_calls or self.phones_up:
            await asyncio.sleep(0.02)
            now = loop.time()
            for pid, phone in phones.items():
                if pid in self.phones_up:
                    if phone.heard_audio_ms >= 40 or now - self.phones_up[pid] > 10:
                        phone.onhook()
                        del self.phones_up[pid]
                elif phone.ringing and pid not in self.phones_answering:
                    self.phones_answering.add(pid)
                    loop.call_later(self.rng.uniform(*self.answer_s), self._answer, pid)
            for b, since in list(self.far_calls.items()):
                far = span.far[b]
                if b in self.far_hanging:
                    continue
                if self.ivr_key and b not in self.keyed and far.call_state == "active":
                    self.keyed.add(b)       # the menu answered: 9 (starts no extension)
                    far.press("9")
                if "5" in far.heard_digits and far.call_state == "active":
                    self.far_hanging.add(b)
                    loop.call_later(self.talk_s, self._far_hangup, b)
                elif far.call_state == "idle" and now - since > 0.5:
                    del self.far_calls[b]           # the box ended it (no phone free)
                    self.keyed.discard(b)
                elif now - since > 15:
                    self.stuck += 1
                    self.far_hanging.add(b)
                    loop.call_later(0, self._far_hangup, b)

    def _answer(self, pid: str) -> None:
        self.phones_answering.discard(pid)
        phone = self.board.phones[pid]
        if phone.ringing and not phone.off_hook:
            phone.offhook()
            phone.press("5")
            self.phones_up[pid] = asyncio.get_running_loop().time()

    def _far_hangup(self, b: int) -> None:
        async def go() -> None:
            try:
                if self.board.span.far[b].call_state != "idle":
                    await self.sim.far_hangup(f"e1.{b}")
            finally:
                self.far_hanging.discard(b)
                self.keyed.discard(b)
                self.far_calls.pop(b, None)
        asyncio.get_running_loop().create_task(go())


async def _storm(data_dir: Path, rate: float, warmup_s: float, window_s: float,
                 size: BoardSize, departments: int, talk_s: float,
                 seed: int, ivr: str) -> dict[str, Any]:
    box = Box(Settings(data_dir=data_dir, board=size))
    await box.start()
    try:
        assert box.board is not None and box.store is not None
        exts = [e["number"] for e in box.config_current()["extensions"]]
        per = len(exts) // departments

        def change(d: dict[str, Any]) -> None:
            d["ivrs"] = [{"id": f"ivr{k}", "name": f"Menu {k}", "prompt": None,
                          "timeout_s": 1, "retries": 1,
                          "options": {"9": {"type": "ring_group", "target": f"g{k}"}},
                          "timeout_destination": {"type": "ring_group", "target": f"g{k}"},
                          "invalid_destination": {"type": "hangup"}}
                         for k in range(departments)]
            d["ring_groups"] = [{"id": f"g{k}", "name": f"Department {k}",
                                 "strategy": "sequential", "member_s": 3, "timeout_s": 30,
                                 "members": exts[k * per:(k + 1) * per],
                                 "failover": {"type": "hangup"}}
                                for k in range(departments)]
            d["routes"][:0] = [
                {"name": f"Department {k}", "match": {"trunk": "e1", "called": f"{2000 + k}",
                                                      "caller_prefix": None},
                 "destination": {"type": "ivr", "target": f"ivr{k}"}}
                for k in range(departments)]
        await _configure(box, change)
        people = StormPeople(box, rate, departments, (0.05, 0.15), talk_s, seed,
                             ivr_key=ivr == "key")
        stop = asyncio.Event()
        tasks = [asyncio.create_task(people.callers(stop)),
                 asyncio.create_task(people.behave(stop))]
        highway = box.board.highway
        await asyncio.sleep(warmup_s)
        people.counting = True
        ticks0, late0 = highway.ticks, highway.late_ticks
        t0 = time.time()
        meter = CpuMeter()
        await asyncio.sleep(window_s)
        cpu, mem = meter.read(), memory_kb()
        t1 = time.time()
        people.counting = False
        ticks, late = highway.ticks - ticks0, highway.late_ticks - late0
        in_flight = len(box.calls())
        stop.set()
        await asyncio.wait(tasks, timeout=30)
        await _until(lambda: _all_idle(box), 20, "every channel idle after the storm")
        rows = box.store.cdrs(since=t0 - 30, limit=1_000_000)
        done = [r for r in rows if r.disposition == "answered" and t0 <= r.end_ts < t1]
        other = [r for r in rows if r.disposition != "answered" and t0 <= r.end_ts < t1]
        setup = sorted(r.answer_ts - r.start_ts for r in done if r.answer_ts is not None)
        completed = len(done) / (t1 - t0)

        def pct(p: float) -> float:
            return round(setup[min(len(setup) - 1, int(p / 100 * len(setup)))], 3) \
                if setup else 0.0
        return {"bench": "calls_setup_storm", "offered_per_s": rate, "ivr": ivr,
                "board": f"{size.fxs} FXS + {size.e1_channels} B-channels",
                "window_s": window_s, "completed_per_s": round(completed, 1),
                "arrivals": people.arrivals, "blocked": people.blocked,
                "not_answered": len(other), "stuck": people.stuck,
                "in_flight_at_end": in_flight,
                "setup_s_p50": pct(50), "setup_s_p95": pct(95), "setup_s_max": pct(100),
                **cpu,
                "cpu_ms_per_call": round(1000 * cpu["cpu_s"] / max(1, len(done)), 2),
                "media_ticks": ticks, "media_ticks_expected": round(cpu["wall_s"] / 0.02),
                "late_ticks": late,
                "rss_mb": round(mem["VmRSS"] / 1024, 1), "hwm_mb": round(mem["VmHWM"] / 1024, 1)}
    finally:
        await box.stop()


# -- entry points -----------------------------------------------------------------------------
def _run(coro_fn: Any, *args: Any, log_level: str = "info") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="edgepbx-bench-") as tmp:
        handler = _log_to_file(Path(tmp) / "box.log", log_level)
        try:
            result: dict[str, Any] = asyncio.run(coro_fn(Path(tmp) / "data", *args))
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()
        result["load_avg_1m"] = round(os.getloadavg()[0], 2)
        return result


def full_load(hold_s: float = 20.0, press_every_s: float = 2.0, seed: int = 1,
              log_level: str = "info") -> dict[str, Any]:
    return _run(_full_load, hold_s, press_every_s, seed, log_level=log_level)


def storm(rate: float, warmup_s: float = 5.0, window_s: float = 20.0,
          size: BoardSize = STORM_BOARD,
          departments: int = 4, talk_s: float = 0.1, seed: int = 1, ivr: str = "timeout",
          log_level: str = "info") -> dict[str, Any]:
    return _run(_storm, rate, warmup_s, window_s, size, departments, talk_s, seed, ivr,
                log_level=log_level)


def bench(hold_s: float = 20.0, rates: tuple[float, ...] = (50.0, 100.0),
          window_s: float = 20.0) -> list[dict[str, Any]]:
    return [full_load(hold_s)] + [storm(r, window_s=window_s) for r in rates]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.calls", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="?", choices=("full", "storm", "all"), default="all")
    ap.add_argument("--hold", type=float, default=20.0, help="full load: seconds held")
    ap.add_argument("--rates", default="50,100", help="storm: offered calls/s, comma-separated")
    ap.add_argument("--window", type=float, default=20.0, help="storm: seconds measured")
    ap.add_argument("--warmup", type=float, default=5.0, help="storm: seconds before")
    ap.add_argument("--fxs", type=int, default=120, help="storm: phones on the board")
    ap.add_argument("--bchannels", type=int, default=136, help="storm: E1 B-channels")
    ap.add_argument("--ivr", choices=("timeout", "key"), default="timeout",
                    help="storm: callers wait out the menu (1 s) or press 9 at once")
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args(argv)
    if args.which in ("full", "all"):
        print(json.dumps(full_load(args.hold, log_level=args.log_level)), flush=True)
    if args.which in ("storm", "all"):
        size = BoardSize(fxs=args.fxs, fxo=0, gsm=0, e1_channels=args.bchannels)
        for r in (float(x) for x in args.rates.split(",")):
            print(json.dumps(storm(r, args.warmup, args.window, size, ivr=args.ivr,
                                   log_level=args.log_level)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
