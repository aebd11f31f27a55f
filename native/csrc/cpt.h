/*
 * cpt.h - call-progress tone detection with cadence (ITU-T E.180 / Supplement 2,
 * ETSI ES 201 970, ITU-T T.30 CNG/CED).
 *
 * What: given a set of tones - each a cadence of segments, a segment being one or two
 * frequencies for a duration, or a pause - report when one of them is confirmed on the
 * line (dial, ringback, busy, congestion, SIT, fax CNG/CED ...), when it ends, and when
 * the line has been silent for a set time. Used for disconnect supervision on analog
 * lines (busy/congestion after the far end hangs up) and answer detection on outbound
 * calls. The per-country tone tables are data in native/cpt.py.
 *
 * How:
 *   - Blocks of CPT_BLOCK = 256 samples (32 ms), Hann-windowed Goertzel filters at every
 *     frequency of the set, each at f and f (1 +- 1.5 %) (the strongest counts), so tones
 *     up to about +-2.5 % off nominal lose under 1 dB. Resolution ~31 Hz: 400 and 450 Hz
 *     are told apart, 440 and 450 Hz are not (no table needs it).
 *   - Each block gets one class: the "profile" (distinct frequency set of the table's
 *     segments) with the highest purity - its components' power over the block's energy,
 *     at least 60 % (tones at 10 dB SNR stay near 90 %), every component at or above
 *     the threshold and holding at least 20 % of the profile's power - or none.
 *   - Consecutive blocks of one class form runs. A cadenced tone is confirmed when the
 *     last `confirm_runs` runs (the last one may still be running) follow its cadence
 *     from an "on" segment, each run's class equal to the segment's and its duration
 *     within max(20 %, 60 ms) of the segment's (run lengths are corrected for the half
 *     block a tone edge smears into its neighbour). A continuous tone (one segment of
 *     duration 0) is confirmed after `confirm_ms` of it. Once confirmed, the tone stays
 *     active while each run keeps to the cadence; the first run that does not (or that
 *     outlasts its segment) ends it, at the end of its last matched "on" run.
 *   - Silence: blocks below silence_dbm0 (mean level); after silence_ms of them in a row
 *     one CPT_EV_SILENCE event for that stretch.
 * Times are ms from the start of the stream, within about +-20 ms.
 * Cost: 3 filters per distinct frequency per sample (two samples per step, vectorised
 * over 8 filters), about 1 ns per filter-sample.
 *
 * Usage: t = cpt_det_new(tones, n); cpt_det_set(t, -36, -50, 5000); per block
 * k = cpt_det_rx(t, amp, len, ev, max); handle ev[0..k); cpt_det_free(t).
 * Only cpt_det_new allocates.
 */
#ifndef EDGEPBX_CPT_H
#define EDGEPBX_CPT_H

#include <stdint.h>

#include "tone.h"

#define CPT_BLOCK 256
#define CPT_MAX_TONES 16
#define CPT_MAX_FREQS 16
#define CPT_MAX_SEGMENTS TONE_MAX_SEGMENTS
#define CPT_EINVAL (-1)

enum {
    CPT_EV_DETECTED = 1,   /* confirmed: start_ms its onset, end_ms now */
    CPT_EV_ENDED = 2,      /* a detected tone stopped: start_ms its onset, end_ms its end */
    CPT_EV_SILENCE = 3     /* silence for silence_ms: tone -1, start_ms its start, end_ms now */
};

typedef struct {
    int id;               /* the caller's identifier, reported in events (>= 0) */
    int nsegs;            /* 1..CPT_MAX_SEGMENTS */
    /* f1/f2 (Hz, 0 = none; f1 = f2 = 0 a pause) and duration_ms (0 = continuous, only for
     * a single segment); level_dbm0 is ignored. Segments start with a tone, no two pauses
     * in a row, no two consecutive segments of the same frequencies. */
    tone_segment_t segs[CPT_MAX_SEGMENTS];
    int confirm_runs;     /* cadenced: runs that confirm it, 2..8; 0 = min(2 nsegs, 4) */
    int confirm_ms;       /* continuous: ms that confirm it; 0 = the default rule
                           * max(1000, 1.25 x the longest "on" of the same frequencies in
                           * the set + 100) so a cadence's "on" is not taken for it */
} cpt_tone_t;

typedef struct {
    int type;             /* CPT_EV_* */
    int tone;             /* cpt_tone_t.id, or -1 for silence */
    int64_t start_ms;
    int64_t end_ms;
} cpt_event_t;

typedef struct cpt_det_s cpt_det_t;

/* A detector for ntones (1..CPT_MAX_TONES) tones, threshold -36 dBm0, silence below
 * -50 dBm0 reported after 0 ms (= never). NULL if the set is invalid (see cpt_tone_t;
 * at most CPT_MAX_FREQS distinct frequencies, each 100..3800 Hz) or out of memory. */
cpt_det_t *cpt_det_new(const cpt_tone_t *tones, int ntones);
void cpt_det_free(cpt_det_t *s);
/* threshold (-60..0 dBm0, per component), silence level (-70..0 dBm0, mean) and time
 * (0 = off, else 100..3600000 ms); 0 or CPT_EINVAL. Restarts the stream. */
int cpt_det_set(cpt_det_t *s, float threshold_dbm0, float silence_dbm0, int silence_ms);
/* Restart the stream at time 0, nothing active. */
void cpt_det_reset(cpt_det_t *s);
/* Feed n samples; up to max_ev events written, their number returned (DTMF-style:
 * extra events are dropped and counted); CPT_EINVAL for bad arguments.
 * CPT_MAX_TONES + 2 per block always fit. */
int cpt_det_rx(cpt_det_t *s, const int16_t *amp, int n, cpt_event_t *ev, int max_ev);
/* Events dropped because the caller's array was full. */
uint32_t cpt_det_dropped(const cpt_det_t *s);

#endif
