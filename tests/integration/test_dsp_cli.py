"""The technician's signal tools, run as `edgepbx dsp …` processes on real WAV files."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import wave
from array import array
from pathlib import Path

CMD = [sys.executable, "-m", "firmware.cli", "dsp"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=120)


def ok(*args: str) -> dict:
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def write_wav(path: Path, pcm: array, rate: int = 8000, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def test_dtmf_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "digits.wav"
    ok("dtmf-encode", "0123456789*#ABCD", str(out), "--on-ms", "60", "--off-ms", "60",
       "--level-dbm0", "-20")
    got = ok("dtmf-decode", str(out))
    assert got["digits"] == "0123456789*#ABCD"
    first = got["events"][0]
    assert first["digit"] == "0" and abs(first["start_ms"] - 0) <= 20 \
        and 40 <= first["end_ms"] - first["start_ms"] <= 80


def test_caller_id_round_trip_every_standard(tmp_path: Path) -> None:
    for standard in ("bell202", "v23", "dtmf"):
        out = tmp_path / f"cid-{standard}.wav"
        extra = [] if standard == "dtmf" else ["--name", "ACME LTD", "--datetime", "11221530"]
        ok("cid-encode", "--standard", standard, "--number", "4951234567", *extra, str(out))
        got = ok("cid-decode", str(out))
        assert got["standard"] == standard and got["number"] == "4951234567"
        if standard != "dtmf":
            assert got["name"] == "ACME LTD" and got["datetime"] == "11221530"


def test_tone_generation_and_detection(tmp_path: Path) -> None:
    for country, tone in (("RU", "busy"), ("UK", "ringback"), ("US", "congestion")):
        out = tmp_path / f"{country}-{tone}.wav"
        ok("tone-gen", "--country", country, "--tone", tone, "--seconds", "6", str(out))
        tones = ok("cpd", str(out), "--country", country)["tones"]
        assert tones and tones[0]["tone"] == tone, tones


def test_echo_cancel_reports_erle(tmp_path: Path) -> None:
    rng = random.Random(5)
    far = array("h", (int(max(-32767, min(32767, rng.gauss(0, 3000)))) for _ in range(8000 * 4)))
    h = [0.0] * 30 + [0.3 * math.exp(-i / 6) * (-1) ** i for i in range(40)]
    near = array("h", [0] * len(far))
    for n in range(len(far)):
        acc = 0.0
        for k, hk in enumerate(h):
            if hk and n - k >= 0:
                acc += hk * far[n - k]
        near[n] = int(acc)
    write_wav(tmp_path / "far.wav", far)
    write_wav(tmp_path / "near.wav", near)
    got = ok("echo-cancel", "--far", str(tmp_path / "far.wav"), "--near",
             str(tmp_path / "near.wav"), "--out", str(tmp_path / "out.wav"), "--no-nlp")
    assert got["erle_db"] > 25 and got["convergence_ms"] < 2000
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert w.getframerate() == 8000 and w.getnframes() == len(far)


def test_wrong_files_get_one_line_errors(tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    write_wav(stereo, array("h", [0] * 1600), channels=2)
    wideband = tmp_path / "16k.wav"
    write_wav(wideband, array("h", [0] * 1600), rate=16000)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    for path, words in ((stereo, "stereo.wav"), (wideband, "16k.wav"), (text, "notes.wav"),
                        (tmp_path / "missing.wav", "missing.wav")):
        for tool in (["dtmf-decode", str(path)], ["cid-decode", str(path)],
                     ["cpd", str(path), "--country", "EU"]):
            proc = run(*tool)
            assert proc.returncode == 2, (tool, proc.stderr)
            assert "Traceback" not in proc.stderr
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            assert len(lines) == 1 and words in lines[0], proc.stderr
    proc = run("dtmf-encode", "12X", str(tmp_path / "x.wav"))
    assert proc.returncode == 2 and "12X" in proc.stderr
    proc = run("echo-cancel", "--far", str(stereo), "--near", str(stereo), "--out",
               str(tmp_path / "o.wav"), "--tail-ms", "500")
    assert proc.returncode == 2 and "64 to 256" in proc.stderr
