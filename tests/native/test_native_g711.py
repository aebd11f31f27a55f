"""G.711: exhaustive sweeps against an independent reference (ITU-T G.191 STL style)."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from native import dsp


# -- reference, transcribed from the structure of the ITU-T G.191 STL g711.c ------------
def ref_alaw_compress(x: int) -> int:
    ix = (~x if x < 0 else x) >> 4  # 12 MSBs, one's complement for negatives
    if ix > 15:
        iexp = 1
        while ix > 16 + 15:
            ix >>= 1
            iexp += 1
        ix -= 16
        ix += iexp << 4
    if x >= 0:
        ix |= 0x80
    return ix ^ 0x55


def ref_alaw_expand(code: int) -> int:
    ix = (code ^ 0x55) & 0x7F
    iexp = ix >> 4
    mant = ix & 0x0F
    if iexp > 0:
        mant += 16
    mant = (mant << 4) + 8
    if iexp > 1:
        mant <<= iexp - 1
    return mant if code > 127 else -mant


def ref_ulaw_compress(x: int) -> int:
    absno = ((~x) >> 2) + 33 if x < 0 else (x >> 2) + 33
    absno = min(absno, 0x1FFF)
    i = absno >> 6
    segno = 1
    while i:
        segno += 1
        i >>= 1
    high = 8 - segno
    low = 0x0F - ((absno >> segno) & 0x0F)
    code = (high << 4) | low
    if x >= 0:
        code |= 0x80
    return code


def ref_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x80 else 1
    mantissa = ~code & 0xFF
    exponent = (mantissa >> 4) & 0x07
    segment = exponent + 1
    mantissa &= 0x0F
    step = 4 << segment
    return sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * 33)


ALL_PCM = array("h", range(-32768, 32768))
ALL_CODES = bytes(range(256))


def test_alaw_encode_sweep_all_int16() -> None:
    got = dsp.alaw_encode(ALL_PCM)
    assert got == bytes(ref_alaw_compress(x) for x in ALL_PCM)


def test_ulaw_encode_sweep_all_int16() -> None:
    got = dsp.ulaw_encode(ALL_PCM)
    assert got == bytes(ref_ulaw_compress(x) for x in ALL_PCM)


def test_alaw_decode_all_codes() -> None:
    assert list(dsp.alaw_decode(ALL_CODES)) == [ref_alaw_expand(c) for c in ALL_CODES]


def test_ulaw_decode_all_codes() -> None:
    assert list(dsp.ulaw_decode(ALL_CODES)) == [ref_ulaw_expand(c) for c in ALL_CODES]


def test_alaw_code_round_trip() -> None:
    assert dsp.alaw_encode(dsp.alaw_decode(ALL_CODES)) == ALL_CODES


def test_ulaw_code_round_trip() -> None:
    decoded = dsp.ulaw_decode(ALL_CODES)
    again = dsp.ulaw_encode(decoded)
    # 0x7F (-0) and 0xFF (+0) both decode to 0, which encodes as 0xFF
    assert decoded[0x7F] == decoded[0xFF] == 0
    assert [c for c in range(256) if again[c] != c] == [0x7F]
    assert dsp.ulaw_decode(again) == decoded


def test_quantiser_is_monotonic() -> None:
    for decode, encode in ((dsp.alaw_decode, dsp.alaw_encode), (dsp.ulaw_decode, dsp.ulaw_encode)):
        values = decode(encode(ALL_PCM))
        assert all(a <= b for a, b in zip(values, values[1:], strict=False))


def test_known_values() -> None:
    assert dsp.alaw_encode(array("h", [0, 32767, -32768])) == bytes([0xD5, 0xAA, 0x2A])
    assert dsp.ulaw_encode(array("h", [0, 32767, -32768])) == bytes([0xFF, 0x80, 0x00])
    assert dsp.silence_code(0) == 0xD5 and dsp.silence_code(1) == 0xFF


def test_bytes_input_and_empty() -> None:
    pcm = array("h", [100, -100, 5000])
    assert dsp.alaw_encode(pcm.tobytes()) == dsp.alaw_encode(pcm)
    assert dsp.alaw_encode(b"") == b""
    assert len(dsp.ulaw_decode(b"")) == 0


# -- properties (hypothesis) ------------------------------------------------------------

int16_lists = st.lists(st.integers(-32768, 32767), max_size=400)


@given(int16_lists)
def test_encode_is_elementwise_and_length_preserving(xs: list[int]) -> None:
    pcm = array("h", xs)
    for encode in (dsp.alaw_encode, dsp.ulaw_encode):
        codes = encode(pcm)
        assert len(codes) == len(xs)
        assert all(codes[i] == encode(pcm[i : i + 1])[0] for i in range(0, len(xs), 37))


@given(int16_lists)
def test_decode_encode_error_is_within_half_a_step(xs: list[int]) -> None:
    pcm = array("h", xs)
    for encode, decode, top in ((dsp.alaw_encode, dsp.alaw_decode, 32256),
                                (dsp.ulaw_encode, dsp.ulaw_decode, 32124)):  # fmt: skip
        back = decode(encode(pcm))
        for x, y in zip(pcm, back, strict=True):
            # step size grows with the magnitude: at most |x|/16 + 16 (1/32 of a segment)
            if abs(x) <= top:
                assert abs(x - y) <= abs(x) // 16 + 16
            else:
                assert abs(y) == top
