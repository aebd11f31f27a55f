"""edgepbx native DSP and media core (C, bound with cffi in API mode).

`native.dsp` wraps the signal-processing blocks (G.711, DTMF generation and detection,
tone generation); `native.media` wraps the media engine that processes every channel slot
once per tick. The compiled extension is `native._native`, built at install time from
native/csrc by native/_build/build_ffi.py. This package imports nothing else of ours.
"""
