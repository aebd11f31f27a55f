"""The campaign dialer core: modes, retries, results, blacklist, limits, restart."""

from __future__ import annotations

from pathlib import Path

from firmware.callback import Blacklist, ConfigTrunkAdvisor
from firmware.campaigns import (
    Campaign,
    CampaignDialer,
    ContactOutcome,
    DialContact,
    campaign_results,
    import_contacts,
)
from firmware.store import EventStore
from firmware.timeconditions import TimeCondition

NOW = 1_741_000_000.0
DOC = {"system": {"country": "RU", "timezone": "UTC"},
       "trunks": [{"id": "gsm1", "port": "gsm1", "enabled": True},
                  {"id": "e1", "port": "e1", "enabled": True}],
       "callback": {"trunks": [{"trunk": "gsm1", "prefixes": ["+7916"]}]}}
NUMBERS = [f"+7916000000{i}" for i in range(6)]


def dialer(store: EventStore, mode: str, **kw: object) -> CampaignDialer:
    entry = {"id": "c1", "name": "C1", "mode": mode, "queue": "sales", "max_channels": 3,
             "retry": {"busy": [60], "no_answer": [120]}, "max_attempts": 2,
             "message": "promo", **kw}
    blacklist = Blacklist.from_entries([{"number": NUMBERS[5]}], "RU")
    d = CampaignDialer(store, Campaign.from_config(entry), ConfigTrunkAdvisor(DOC),
                       country="RU", timezone="UTC", blacklist=blacklist.__contains__)
    import_contacts(store, "c1", "number,priority\n" + "\n".join(
        f"{n},{9 - i}" for i, n in enumerate(NUMBERS)), NOW, country="RU", timezone="UTC")
    return d


def dials(d: CampaignDialer) -> list[DialContact]:
    return [c for c in d.drain() if isinstance(c, DialContact)]


def test_progressive_reserves_one_agent_per_dial_and_retries_busy() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "progressive")
        d.agents(["101", "102"], busy=0)
        d.on_timer(NOW)
        first = dials(d)
        assert [(x.number, x.agent) for x in first] == [(NUMBERS[0], "101"), (NUMBERS[1], "102")]
        assert first[0].trunks[0].trunk == "gsm1" and first[0].national == "89160000000"
        d.on_timer(NOW + 1)
        assert dials(d) == []                         # both agents reserved
        d.on_outcome(ContactOutcome(first[0].contact_id, 1, "busy", NOW + 5))
        d.on_outcome(ContactOutcome(first[1].contact_id, 1, "connected", NOW + 9, 8.0))
        d.agents(["101"], busy=1)
        d.on_timer(NOW + 10)
        [nxt] = dials(d)
        assert (nxt.number, nxt.agent) == (NUMBERS[2], "101")
        statuses = {c.number: c.status for c in store.campaign_contacts("c1")}
        assert statuses[NUMBERS[0]] == "retry_wait" and statuses[NUMBERS[1]] == "answered"


def test_predictive_dials_ahead_and_records_abandons() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "predictive", max_channels=10)
        import_contacts(store, "c1", "number\n" + "\n".join(
            f"+7903000000{i}" for i in range(10)), NOW, country="RU", timezone="UTC")
        for i in range(200):                          # a history of 20 % answers
            d.pacer.observe_dial(i % 5 == 0, 8.0)
            d.pacer.observe_handle(40.0)
        d.agents(["101", "102"], busy=10)
        d.on_timer(NOW)
        ahead = dials(d)
        assert len(ahead) > 2                         # more calls than free agents
        assert all(x.agent is None and x.queue == "sales" for x in ahead)
        d.on_outcome(ContactOutcome(ahead[0].contact_id, 1, "abandoned", NOW + 6, 6.0))
        assert d.pacer.abandoned == 1 and d.pacer.live_answers == 1
        assert campaign_results(store, "c1")["abandoned"] == 1


def test_autoinformer_fills_its_channels_and_records_confirmations() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "autoinformer", confirm_digit="1")
        d.on_timer(NOW)
        calls = dials(d)
        assert len(calls) == 3 and calls[0].message == "promo" and calls[0].confirm_digit == "1"
        d.on_outcome(ContactOutcome(calls[0].contact_id, 1, "confirmed", NOW + 20))
        d.on_outcome(ContactOutcome(calls[1].contact_id, 1, "played", NOW + 25))
        d.on_outcome(ContactOutcome(calls[2].contact_id, 1, "no_answer", NOW + 30))
        d.on_outcome(ContactOutcome(calls[2].contact_id, 1, "busy", NOW + 31))   # late: ignored
        d.on_timer(NOW + 31)
        assert [x.number for x in dials(d)] == NUMBERS[3:5]   # NUMBERS[5] is blacklisted
        results = campaign_results(store, "c1")
        assert results == {"confirmed": 1, "answered": 1, "retry_wait": 1, "dialing": 2,
                           "blacklisted": 1}
        outbox = [m.payload for m in store.outbox_pending() if m.topic == "campaign"]
        assert {p.get("outcome") for p in outbox} >= {"confirmed", "played", "no_answer"}


def test_retries_are_exhausted_into_a_final_status() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "autoinformer", max_channels=1)
        now = NOW
        for outcome in ("no_answer", "no_answer"):
            d.on_timer(now)
            [call] = dials(d)
            assert call.number == NUMBERS[0]
            d.on_outcome(ContactOutcome(call.contact_id, call.attempt, outcome, now + 30))
            now += 30 + 120
        first = store.campaign_contacts("c1")[0]
        assert (first.status, first.attempts) == ("no_answer", 2)


def test_preview_holds_the_contact_for_the_agent() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "preview")
        d.agents(["101", "102"], busy=0)
        d.on_timer(NOW)
        assert dials(d) == []                         # preview never dials by itself
        shown = d.preview_next("101", NOW)
        other = d.preview_next("102", NOW)
        assert shown is not None and other is not None and shown.id != other.id
        assert shown.fields == {} and shown.priority == 9
        d.preview_skip("102")
        assert d.preview_call("101", NOW + 15)
        [call] = dials(d)
        assert call.contact_id == shown.id and call.agent == "101"


def test_outside_working_hours_nothing_is_dialled() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "autoinformer")
        d._hours = TimeCondition.always().with_override("night")
        d.on_timer(NOW)
        assert dials(d) == []


def test_a_restart_settles_interrupted_dials(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with EventStore.open(path) as store:
        d = dialer(store, "autoinformer")
        d.on_timer(NOW)
        assert len(dials(d)) == 3
    with EventStore.open(path) as store:            # the box restarted mid-dial
        d = CampaignDialer(store, d.campaign, ConfigTrunkAdvisor(DOC), country="RU",
                           timezone="UTC")
        d.recover(NOW + 100)
        waiting = store.campaign_contacts("c1", ["retry_wait"])
        assert len(waiting) == 3 and all(c.next_ts == NOW + 100 + 600 for c in waiting)
        d.on_timer(NOW + 101)
        assert [x.number for x in dials(d)] == NUMBERS[3:6]   # only the others, not these


def test_no_more_dials_than_free_trunk_lines_and_message_left_is_final() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "autoinformer")
        d.lines(1)                                    # one trunk channel free
        d.on_timer(NOW)
        [only] = dials(d)
        d.lines(0)
        d.on_timer(NOW + 1)
        assert dials(d) == []
        d.on_outcome(ContactOutcome(only.contact_id, 1, "message_left", NOW + 9,
                                    answered_ts=NOW + 3))
        row = store.campaign_contact(only.contact_id)
        assert row is not None and (row.status, row.last_outcome) == ("machine",
                                                                      "message_left")
        [attempt] = list(store.campaign_attempts("c1"))
        assert attempt["answered_ts"] is None         # a machine is not a person's answer
        d.lines(None)
        d.on_timer(NOW + 10)
        assert len(dials(d)) == 3                     # max_channels again


def test_reconfigure_keeps_dials_in_flight_and_stop_drops_previews() -> None:
    with EventStore.open(":memory:") as store:
        d = dialer(store, "preview")
        held = d.preview_next("101", NOW)
        assert held is not None and d.preview_call("101", NOW)
        [dial] = dials(d)
        d.preview_next("102", NOW)
        d.reconfigure(Campaign.from_config({"id": "c1", "name": "C1", "mode": "preview",
                                            "queue": "sales", "abandon_cap_pct": 5}),
                      ConfigTrunkAdvisor(DOC), None, lambda _n: False, 0)
        assert d.in_flight() == 1 and d.pacer.cap == 0.05
        d.drop_previews()
        again = d.preview_next("103", NOW)
        assert again is not None and again.number == NUMBERS[1]    # 102's went back
        d.on_outcome(ContactOutcome(dial.contact_id, 1, "connected", NOW + 5))
        assert d.in_flight() == 0
