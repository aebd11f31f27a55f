/*
 * tone.h - cadenced tone generator (dial tone, ringback, busy, congestion, SIT ...).
 *
 * What: a tone is up to TONE_MAX_SEGMENTS cadence segments, each one or two frequencies at
 * a level in dBm0 (per frequency, see osc.h for the 0 dBm0 convention) for a duration in
 * ms (0 = continuous: the segment never ends). A segment with f1 = f2 = 0 is silence (the
 * "off" part of a cadence). With repeat set, the cadence restarts after its last segment;
 * without, the generator stops there and reports done.
 *   dial tone: {425, 0, -13, 0}                       (repeat irrelevant)
 *   ringback:  {425, 0, -13, 1000}, {0, 0, 0, 4000}   repeat
 *   busy:      {425, 0, -13, 500},  {0, 0, 0, 500}    repeat
 *
 * How: two phase-accumulator oscillators (osc.h), phase-continuous for the life of the
 * generator, across segments and calls. Block API: tone_gen_block() writes n samples.
 *
 * Usage: s = tone_gen_new(); tone_gen_set(s, segs, nsegs, repeat); then per block
 * tone_gen_block(s, amp, n); tone_gen_free(s). tone_gen_new() allocates; nothing else does.
 */
#ifndef EDGEPBX_TONE_H
#define EDGEPBX_TONE_H

#include <stdint.h>

#define TONE_MAX_SEGMENTS 4
#define TONE_MAX_LEVEL_DBM0 3.14f
#define TONE_MAX_DURATION_MS (24 * 3600 * 1000)

#define TONE_EINVAL (-1)

typedef struct {
    float f1_hz;        /* 0 <= f < 4000; 0 = none */
    float f2_hz;        /* 0 <= f < 4000; 0 = none */
    float level_dbm0;   /* per frequency, <= TONE_MAX_LEVEL_DBM0 */
    int duration_ms;    /* 0 = continuous, else 1 .. TONE_MAX_DURATION_MS */
} tone_segment_t;

typedef struct tone_gen_s tone_gen_t;

/* An idle generator (produces nothing until tone_gen_set()); NULL if out of memory. */
tone_gen_t *tone_gen_new(void);
void tone_gen_free(tone_gen_t *s);

/* Load a cadence and start it from its first segment; 0, or TONE_EINVAL (generator left
 * idle) for nsegs outside 1..TONE_MAX_SEGMENTS or a segment out of range. */
int tone_gen_set(tone_gen_t *s, const tone_segment_t *segs, int nsegs, int repeat);

/* Stop: the generator goes idle. */
void tone_gen_stop(tone_gen_t *s);

/* 1 while the generator has samples to produce. */
int tone_gen_active(const tone_gen_t *s);

/* Write n samples of the tone to amp; returns how many were tone (the rest, once the
 * cadence has ended or the generator is idle, are 0). Negative n returns TONE_EINVAL. */
int tone_gen_block(tone_gen_t *s, int16_t *amp, int n);

#endif
