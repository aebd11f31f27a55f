"""cffi builder (API mode, out of line) for the native DSP/media core: native._native.

The cdef below mirrors the public headers in native/csrc; in API mode the C compiler
checks every declaration here against the real header, so a drift fails the build.
Every call through `lib` releases the GIL; no function here calls back into Python.
"""

from __future__ import annotations

import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CSRC = HERE.parent / "csrc"
HEADERS = ("g711.h", "tone.h", "dtmf.h", "media.h")

CDEF = """
/* g711.h */
#define G711_ALAW ...
#define G711_ULAW ...
uint8_t g711_alaw_encode1(int16_t x);
int16_t g711_alaw_decode1(uint8_t code);
uint8_t g711_ulaw_encode1(int16_t x);
int16_t g711_ulaw_decode1(uint8_t code);
int g711_encode(int codec, uint8_t *dst, const int16_t *src, int n);
int g711_decode(int codec, int16_t *dst, const uint8_t *src, int n);
int g711_silence_code(int codec);

/* tone.h */
#define TONE_MAX_SEGMENTS ...
#define TONE_EINVAL ...
typedef struct {
    float f1_hz;
    float f2_hz;
    float level_dbm0;
    int duration_ms;
} tone_segment_t;
typedef struct tone_gen_s tone_gen_t;
tone_gen_t *tone_gen_new(void);
void tone_gen_free(tone_gen_t *s);
int tone_gen_set(tone_gen_t *s, const tone_segment_t *segs, int nsegs, int repeat);
void tone_gen_stop(tone_gen_t *s);
int tone_gen_active(const tone_gen_t *s);
int tone_gen_block(tone_gen_t *s, int16_t *amp, int n);

/* dtmf.h */
#define DTMF_EINVAL ...
#define DTMF_EFULL ...
#define DTMF_GEN_QUEUE_LEN ...
#define DTMF_DET_BLOCK ...
#define DTMF_DIGIT_START ...
#define DTMF_DIGIT_END ...
typedef struct {
    int type;
    char digit;
    int64_t time_ms;
} dtmf_event_t;
typedef struct dtmf_gen_s dtmf_gen_t;
typedef struct dtmf_det_s dtmf_det_t;
int dtmf_is_digit(char c);
dtmf_gen_t *dtmf_gen_new(void);
void dtmf_gen_free(dtmf_gen_t *s);
int dtmf_gen_set(dtmf_gen_t *s, float level_dbm0, float twist_db, int on_ms, int off_ms);
int dtmf_gen_put(dtmf_gen_t *s, const char *digits);
void dtmf_gen_reset(dtmf_gen_t *s);
int dtmf_gen_busy(const dtmf_gen_t *s);
int dtmf_gen_block(dtmf_gen_t *s, int16_t *amp, int n);
dtmf_det_t *dtmf_det_new(void);
void dtmf_det_free(dtmf_det_t *s);
int dtmf_det_set(dtmf_det_t *s, float threshold_dbm0, float fwd_twist_db, float rev_twist_db);
void dtmf_det_reset(dtmf_det_t *s);
int dtmf_det_rx(dtmf_det_t *s, const int16_t *amp, int n, dtmf_event_t *ev, int max_ev);
char dtmf_det_current(const dtmf_det_t *s);
uint32_t dtmf_det_dropped(const dtmf_det_t *s);

/* media.h */
#define ME_MAX_SLOTS ...
#define ME_MAX_BLOCK ...
#define ME_EVENT_QUEUE_LEN ...
#define ME_MAX_PCM_SAMPLES ...
#define ME_ALAW ...
#define ME_ULAW ...
#define ME_EINVAL ...
#define ME_ESLOT ...
#define ME_ENOMEM ...
#define ME_EDISABLED ...
#define ME_ELENGTH ...
#define ME_EV_DTMF_START ...
#define ME_EV_DTMF_END ...
#define ME_EV_PLAYBACK_DONE ...
typedef struct {
    int slot;
    int type;
    int value;
    int64_t time_ms;
} me_event_t;
typedef struct me_engine_s me_engine_t;
me_engine_t *me_new(int nslots, int block);
void me_free(me_engine_t *e);
int me_nslots(const me_engine_t *e);
int me_block(const me_engine_t *e);
int64_t me_time_ms(const me_engine_t *e);
int me_configure_slot(me_engine_t *e, int slot, int codec, int enabled, int dtmf_detect);
int me_join(me_engine_t *e, int slot, uint32_t conf, int listen_only);
int me_leave(me_engine_t *e, int slot);
int me_play_tone(me_engine_t *e, int slot, const tone_segment_t *segs, int nsegs, int repeat);
int me_play_dtmf(me_engine_t *e, int slot, const char *digits, float level_dbm0,
                 float twist_db, int on_ms, int off_ms);
int me_play_pcm(me_engine_t *e, int slot, const int16_t *pcm, size_t n);
int me_stop_playback(me_engine_t *e, int slot);
int me_playing(const me_engine_t *e, int slot);
int me_tick(me_engine_t *e, const uint8_t *rx, uint8_t *tx, size_t len);
int me_poll_event(me_engine_t *e, me_event_t *ev);
uint32_t me_events_dropped(const me_engine_t *e);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "native._native",
    "\n".join(f'#include "{h}"' for h in HEADERS),
    # paths relative to the project root, where setuptools runs the build
    sources=[str(p.relative_to(ROOT)) for p in sorted(CSRC.glob("*.c"))],
    include_dirs=[str(CSRC.relative_to(ROOT))],
    libraries=["m"],
    extra_compile_args=["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
