"""Answering-machine detection: the rules on scripted edges, and accuracy on generated
audio run through the native voice-activity detector (as the media engine runs it)."""

from __future__ import annotations

import subprocess
import wave
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.sim import voices
from firmware.campaigns.amd import AmdDecision, AmdRules, AnsweringMachineDetector
from native.amd import VoiceActivity
from native.dsp import alaw_decode, alaw_encode
from tests.campaigns.amd_cases import (
    Case,
    human,
    human_noisy_line,
    human_three_words,
    machine,
    machine_short_greeting,
)

CASES = 60                 # of each kind
MIN_ACCURACY = 0.95        # per kind


def classify(audio: array, rules: AmdRules | None = None) -> AmdDecision:
    """Feed ``audio`` 20 ms at a time, as the media engine does, until a decision."""
    vad = VoiceActivity()
    det = AnsweringMachineDetector(rules or AmdRules(), 0)
    for i in range(0, len(audio), 160):
        for ev in vad.process(audio[i:i + 160]):
            det.feed(ev.what, ev.kind, ev.ms)
        decision = det.decide((i + 160) // 8)
        if decision is not None:
            return decision
    decision = det.decide(len(audio) // 8 + 10_000)
    assert decision is not None
    return decision


# -- the rules, on scripted talkspurts ---------------------------------------------------

def run(edges: list[tuple[str, str, int]], until: int) -> AmdDecision | None:
    det = AnsweringMachineDetector(AmdRules(), 0)
    for what, kind, ms in edges:
        det.feed(what, kind, ms)
    for now in range(0, until + 1, 10):
        if (d := det.decide(now)) is not None:
            return d
    return None


def test_short_greeting_then_silence_is_a_person() -> None:
    d = run([("voice", "start", 300), ("voice", "end", 800)], 3000)
    assert d is not None and d.result == "human" and d.at_ms == 1600   # 800 ms after


def test_each_machine_rule() -> None:
    assert run([], 3000).reason.startswith("2500 ms of silence")                  # type: ignore[union-attr]
    long_word = run([("voice", "start", 100)], 7000)
    assert long_word is not None and long_word.result == "machine"
    assert "greeting longer" in long_word.reason          # 1.5 s comes before 5 s
    words = [e for k in range(5) for e in (("voice", "start", 100 + 250 * k),
                                           ("voice", "end", 250 + 250 * k))]
    many = run(words, 2000)
    assert many is not None and many.result == "machine" and "more than 3 words" in many.reason
    beep = run([("voice", "start", 100), ("voice", "end", 600), ("tone", "start", 700)], 800)
    assert beep is not None and beep.result == "machine" and "beep" in beep.reason


def test_clicks_are_not_words_and_close_talkspurts_are_one_word() -> None:
    click = run([("voice", "start", 200), ("voice", "end", 240)], 3000)
    assert click is not None and click.reason.startswith("2500 ms")     # no word heard
    joined = AnsweringMachineDetector(AmdRules(), 0)
    for what, kind, ms in [("voice", "start", 100), ("voice", "end", 300),
                           ("voice", "start", 330), ("voice", "end", 600)]:
        joined.feed(what, kind, ms)
    joined.decide(2000)
    assert joined.words == 1


def test_rules_from_a_campaign() -> None:
    rules = AmdRules.from_config({"greeting_ms": 3000, "max_words": 6, "enabled": True})
    assert rules.greeting_ms == 3000 and rules.max_words == 6
    assert rules.initial_silence_ms == AmdRules().initial_silence_ms


# -- accuracy on generated audio ---------------------------------------------------------

@pytest.mark.parametrize(("make", "count"), [
    (human, CASES), (machine, CASES), (human_three_words, CASES // 2),
    (human_noisy_line, CASES // 2), (machine_short_greeting, CASES // 2)],
    ids=lambda v: getattr(v, "__name__", str(v)))
def test_accuracy_on_generated_answers(make: Callable[[int], Case], count: int) -> None:
    wrong: list[tuple[int, str]] = []
    for seed in range(count):
        case = make(1000 * count + seed)
        d = classify(case.audio)
        called = "machine" if d.result == "machine" else "human"     # notsure → a person
        if called != case.kind:
            wrong.append((case.seed, d.reason))
    report = f"{make.__name__}: {len(wrong)}/{count} misclassified {wrong}"
    print(report)
    assert 1 - len(wrong) / count >= MIN_ACCURACY, report


def test_a_person_is_decided_within_a_second_of_their_greeting() -> None:
    for seed in range(10):
        case = human(seed)
        d = classify(case.audio)
        vad = VoiceActivity()
        ends = [e.ms for e in vad.process(case.audio) if e.what == "voice" and e.kind == "end"]
        assert d.result == "human" and d.at_ms - ends[-1] <= 1000


def _espeak(text: str, path: Path) -> array:
    wav = path / "say.wav"
    speech = subprocess.run(["espeak-ng", "--stdout", text], check=True,
                            capture_output=True).stdout
    subprocess.run(["sox", "-t", "wav", "-", "-r", "8000", "-c", "1", "-b", "16", str(wav)],
                   input=speech, check=True, capture_output=True)
    with wave.open(str(wav), "rb") as w:
        pcm = array("h")
        pcm.frombytes(w.readframes(w.getnframes()))
    return array("h", alaw_decode(alaw_encode(pcm)))


def test_synthesised_speech(tmp_path: Path) -> None:
    """Real synthesised words: greetings people say, and machines' announcements
    (espeak-ng and sox come with image/dev/bootstrap.sh)."""
    people = ["Hello?", "Yes?", "Hello, yes?", "Speaking."]
    machines = ["Hello, you have reached the office of John Smith. I cannot take your call "
                "right now, please leave a message after the tone.",
                "The subscriber you are calling is not available. Please leave your "
                "message after the signal."]
    for text in people:
        audio = voices.silence(400) + _espeak(text, tmp_path) + voices.silence(5000)
        assert classify(audio).result != "machine", text
    for text in machines:
        audio = voices.silence(400) + _espeak(text, tmp_path) + voices.beep()
        assert classify(audio).result == "machine", text
