/*
 * osc.h - phase-accumulator sine oscillator and dBm0 levels (internal to native/).
 *
 * What: the sine source shared by the DTMF and tone generators (and, later, FSK caller ID
 * and call-progress tones), and the level convention of the whole core.
 *
 * How: a 32-bit phase accumulator (one turn = 2^32) advanced by f / 8000 * 2^32 per
 * sample; the sine comes from a static const quarter-wave table of 256 steps (Q15) with
 * linear interpolation, accurate to about -96 dB. Phase is continuous for as long as the
 * oscillator lives, including across frequency changes. No libm in the per-sample path.
 *
 * Level convention (G.711): 0 dBm0 is a sine of peak amplitude 32768 * 10^(-3.14/20)
 * = 22827 on the 16-bit scale, so +3.14 dBm0 is the G.711 overload point (full scale).
 */
#ifndef EDGEPBX_OSC_H
#define EDGEPBX_OSC_H

#include <stdint.h>

#define OSC_SAMPLE_RATE 8000
/* Peak amplitude of a 0 dBm0 sine on the 16-bit scale. */
#define OSC_DBM0_PEAK 22827.06f

typedef struct {
    uint32_t phase;
    uint32_t step;   /* phase increment per sample; 0 = silent */
    float gain;      /* peak amplitude / 32767: scales the Q15 table */
} osc_t;

/* Set frequency (Hz, 0 <= f < 4000) and level (dBm0); keeps the phase. */
void osc_set(osc_t *o, float freq_hz, float level_dbm0);
/* Next sample (float, 16-bit scale) and advance. */
float osc_next(osc_t *o);
/* Peak amplitude of a sine at level_dbm0. */
float osc_dbm0_to_peak(float level_dbm0);
/* Round and saturate a float sample to int16. */
int16_t osc_sat16(float v);

#endif
