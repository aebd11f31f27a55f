"""`edgepbx acd simulate|staffing`, and the queue event log in the event store."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from firmware.acd import messages as m
from firmware.acd.kpi import kpis
from firmware.acd.log import QueueEvent
from firmware.cli import main
from firmware.store import EventStore
from tests.acd.helpers import core_with


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_simulate_prints_the_kpis_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "acd", "simulate", "--agents", "10", "--calls-per-hour",
                         "150", "--aht", "200", "--hours", "4", "--seed", "3")
    assert status == 0
    result = json.loads(out)
    assert list(result) == ["offered", "answered", "abandoned", "sl", "asa_s", "awt_s",
                            "ata_s", "abandon_rate", "occupancy", "max_queue_len"]
    assert list(result["sl"]) == ["10", "20", "30"]
    assert result["abandoned"] == 0 and result["answered"] == result["offered"] > 400
    assert 0 <= result["sl"]["10"] <= result["sl"]["20"] <= result["sl"]["30"] <= 100
    assert result["asa_s"] == result["awt_s"] and result["ata_s"] is None
    # Same seed, same day.
    assert run(capsys, "acd", "simulate", "--agents", "10", "--calls-per-hour", "150",
               "--aht", "200", "--hours", "4", "--seed", "3")[1] == out


def test_simulate_with_patience_and_a_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "acd", "simulate", "--agents", "5", "--calls-per-hour",
                         "120", "--aht", "180", "--patience", "60", "--strategy", "ring_all",
                         "--hours", "4")
    result = json.loads(out)
    assert status == 0 and result["abandoned"] > 0
    assert result["answered"] + result["abandoned"] == result["offered"]
    assert 0 < result["abandon_rate"] < 100 and result["ata_s"] > 0


def test_staffing_by_erlang_c_confirmed_by_simulation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "acd", "staffing", "--calls-per-hour", "360", "--aht", "180",
                         "--target-sl", "80/20")
    result = json.loads(out)
    assert status == 0 and result["agents"] == 22
    assert result["erlang_c"]["sl"] >= 80 > result["erlang_c"]["one_fewer_sl"]
    assert result["simulation"]["with"]["agents"] == 22
    assert result["simulation"]["with"]["meets_target"] is True


@pytest.mark.parametrize("argv", [
    ["acd", "staffing", "--calls-per-hour", "360", "--aht", "180", "--target-sl", "80"],
    ["acd", "simulate", "--agents", "0", "--calls-per-hour", "1", "--aht", "1"],
    ["acd", "simulate", "--agents", "2", "--calls-per-hour", "1", "--aht", "1",
     "--strategy", "best"],
])
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_queue_events_persist_and_recompute_the_same_kpis(tmp_path: Path) -> None:
    core = core_with({"q": {"wrap_up_s": 5}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q", "+1"), 10.0)
    core.handle(m.AgentAnswered("c1", "a1"), 12.5)
    core.handle(m.CallerArrived("c2", "q", "+2"), 13.0)
    core.handle(m.CallerHungUp("c2"), 40.0)
    core.handle(m.CallEnded("c1"), 70.0)
    core.on_timer(75.0)
    with EventStore.open(tmp_path / "events.db") as store:
        assert store.add_queue_events(core.events) == len(core.events)
        stored = store.queue_events()
        assert stored == core.events
        assert [e.kind for e in store.queue_events(queue="q", kind="connect")] == ["connect"]
        assert all(e.agent == "a1" for e in store.queue_events(agent="a1"))
        assert store.queue_events(since=40.0, until=71.0)[0].ts == 40.0
        assert kpis(store.queue_events(until=100.0), 0, 100, now=100) == kpis(
            core.events, 0, 100, now=100)
    with EventStore.open(tmp_path / "events.db") as store:
        assert len(store.queue_events()) == len(core.events)


def test_a_failed_batch_adds_nothing(tmp_path: Path) -> None:
    with EventStore.open(tmp_path / "events.db") as store:
        good = QueueEvent(1.0, "enter", "q", "c1", "", 0, "")
        with pytest.raises(Exception):  # noqa: B017 - sqlite's own error type
            store.add_queue_events([good, QueueEvent(2.0, None, "q", "c1", "", 0, "")])  # type: ignore[arg-type]
        assert store.queue_events() == []


def test_kpi_csv_export_is_plain_csv() -> None:
    import csv

    from firmware.acd.kpi import report_csv

    core = core_with({"q": {}}, agents=["a1"])
    core.handle(m.CallerArrived("c1", "q"), 0.0)
    rows = list(csv.reader(io.StringIO(report_csv(kpis(core.events, 0, 10, now=10)))))
    assert rows[0][:3] == ["scope", "id", "offered"] and rows[1][:3] == ["total", "", "1"]
