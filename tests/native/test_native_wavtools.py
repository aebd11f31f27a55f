"""WAV technician tools: round trips and clear errors for wrong formats."""

from __future__ import annotations

import pathlib
import wave

import pytest

from native.wavtools import cpd_file, dtmf_decode_file, dtmf_encode_file, tone_gen_file


def test_dtmf_encode_then_decode(tmp_path: pathlib.Path) -> None:
    f = tmp_path / "d.wav"
    dtmf_encode_file("0123456789*#ABCD", f, on_ms=60, off_ms=60, level_dbm0=-12.0,
                     twist_db=2.0)  # fmt: skip
    with wave.open(str(f)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert w.getnframes() == 16 * 120 * 8
    out = dtmf_decode_file(f)
    assert out["digits"] == "0123456789*#ABCD"
    for i, e in enumerate(out["events"]):
        assert abs(e["start_ms"] - 120 * i) <= 6 and abs(e["end_ms"] - (120 * i + 60)) <= 6


def test_tone_gen_then_cpd(tmp_path: pathlib.Path) -> None:
    f = tmp_path / "busy.wav"
    tone_gen_file("RU", "busy", 5.0, f)
    out = cpd_file(f, "RU")
    assert [t["tone"] for t in out["tones"]] == ["busy"]
    assert out["tones"][0]["start_ms"] <= 40 and out["tones"][0]["end_ms"] >= 4500
    with pytest.raises(ValueError, match="unknown country"):
        tone_gen_file("XX", "busy", 1.0, f)
    with pytest.raises(ValueError, match="unknown tone"):
        tone_gen_file("RU", "fanfare", 1.0, f)


def _wav(path: pathlib.Path, channels: int, width: int, rate: int) -> pathlib.Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(channels * width * rate // 10))
    return path


@pytest.mark.parametrize("tool", [dtmf_decode_file, lambda p: cpd_file(p, "EU")])
def test_wrong_formats_are_named(tmp_path: pathlib.Path, tool: object) -> None:
    cases = {
        _wav(tmp_path / "stereo.wav", 2, 2, 8000): "2 channels",
        _wav(tmp_path / "wide.wav", 1, 2, 16000): "16000 Hz",
        _wav(tmp_path / "byte.wav", 1, 1, 8000): "8-bit",
    }
    text = tmp_path / "notes.txt"
    text.write_text("this is not audio\n")
    cases[text] = "not a PCM WAV"
    for path, what in cases.items():
        with pytest.raises(ValueError) as err:
            tool(path)  # type: ignore[operator]
        assert str(path) in str(err.value) and what in str(err.value)
