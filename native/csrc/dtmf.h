/*
 * dtmf.h - DTMF (ITU-T Q.23 frequencies) generation and detection.
 *
 * Digits: 0-9 * # A B C D. Row (low group) 697 770 852 941 Hz, column (high group)
 * 1209 1336 1477 1633 Hz. Levels are dBm0 per tone (osc.h: 0 dBm0 = peak 22827).
 *
 * Generator: each queued digit is sent as on_ms of the two tones (low group at
 * level_dbm0, high group at level_dbm0 + twist_db) followed by off_ms of silence,
 * including after the last digit, so queued batches stay spaced. Block API.
 *
 * Detector (ITU-T Q.24 / Telcordia GR-506 limits): two-stage, block API.
 *   Stage 1, per window: Hann-windowed Goertzel filters at the 8 exact frequencies over
 *   windows of 128 samples (16 ms) that overlap by half, so one window ends every
 *   DTMF_DET_BLOCK = 64 samples (8 ms, "a hop"). Two banks run at once, each sample
 *   weighted for both; the Hann window keeps leakage between DTMF bins and of the other
 *   group's tone below about -40 dB, so levels and twist are measured to ~0.3 dB. A window
 *   is a candidate for the digit of its strongest row and column bins when both are within
 *   4 dB of the threshold, they hold a fair share of the window's energy and its energy is
 *   steady (the weakest 4 ms quarter has at least 35 % of the strongest).
 *   Stage 2, per hop: when the window that just ended and the one before (8 ms earlier)
 *   are candidates for the same digit, each tone's frequency is measured from the phase
 *   advance of its bin between the two windows (unambiguous within +-62 Hz, accurate to
 *   ~1 Hz at 15 dB SNR) and must be within +-2.5 % of nominal, halfway between Q.24's
 *   must-accept +-1.5 % and must-reject +-3.5 %. The levels are then corrected for the
 *   window's response at that offset and must be: at or above the threshold, steady
 *   (within 2 dB between the two windows), within the twist limits (high at most
 *   fwd_twist_db above low, low at most rev_twist_db above high, each applied with 0.5 dB
 *   of grace so a digit at exactly the limit passes and 1 dB beyond fails), and pure: the
 *   two tones hold at least 90 % (-0.46 dB) of each window's energy (speech does not).
 *   Such a hop is a hit. A digit starts after two consecutive hits (the tone then covers
 *   three windows, 32 ms: tones of 25 ms and less are never accepted, 36 ms and more
 *   always) and ends after three consecutive hops without a hit (a 40 ms pause always
 *   separates two digits).
 * Events carry the digit and a time in ms from the start of the stream (sample count / 8):
 * the estimated onset for a start, offset for an end, both within about +-5 ms. A start is
 * known two hits after the onset (~30-40 ms), an end three hops after the offset.
 * Cost: about 3 ns per sample on a 2020s x86 core (SSE2 auto-vectorised, no intrinsics).
 *
 * Usage: g = dtmf_gen_new(); dtmf_gen_set(g, -10, 0, 80, 80); dtmf_gen_put(g, "123#");
 * while (dtmf_gen_busy(g)) dtmf_gen_block(g, amp, 160);
 * d = dtmf_det_new(); per block: k = dtmf_det_rx(d, amp, n, ev, max); handle ev[0..k).
 * Only the _new functions allocate.
 */
#ifndef EDGEPBX_DTMF_H
#define EDGEPBX_DTMF_H

#include <stdint.h>

#define DTMF_EINVAL (-1)
#define DTMF_EFULL (-2)

#define DTMF_GEN_QUEUE_LEN 128
/* The detector's hop: one decision every 64 samples (8 ms). */
#define DTMF_DET_BLOCK 64

enum {
    DTMF_DIGIT_START = 1,
    DTMF_DIGIT_END = 2
};

typedef struct {
    int type;          /* DTMF_DIGIT_START or DTMF_DIGIT_END */
    char digit;        /* '0'-'9', '*', '#', 'A'-'D' */
    int64_t time_ms;   /* from the start of the stream */
} dtmf_event_t;

typedef struct dtmf_gen_s dtmf_gen_t;
typedef struct dtmf_det_s dtmf_det_t;

/* 1 if c is a DTMF digit. */
int dtmf_is_digit(char c);

/* Generator: idle, defaults -10 dBm0, twist 0 dB, 80 ms on, 80 ms off; NULL if no memory. */
dtmf_gen_t *dtmf_gen_new(void);
void dtmf_gen_free(dtmf_gen_t *s);
/* Level -60..+3.14 dBm0 (low group), twist -20..+20 dB, on 1..10000 ms, off 0..10000 ms;
 * applies to digits started from now on. 0 or DTMF_EINVAL. */
int dtmf_gen_set(dtmf_gen_t *s, float level_dbm0, float twist_db, int on_ms, int off_ms);
/* Queue a NUL-terminated string of digits: the number queued, DTMF_EINVAL (a non-digit;
 * nothing queued) or DTMF_EFULL (not room for all; nothing queued). */
int dtmf_gen_put(dtmf_gen_t *s, const char *digits);
/* Drop the queue and the digit in progress. */
void dtmf_gen_reset(dtmf_gen_t *s);
/* 1 while digits or their gaps remain to be produced. */
int dtmf_gen_busy(const dtmf_gen_t *s);
/* Write n samples; returns how many belong to digits and gaps (the rest, when idle, 0). */
int dtmf_gen_block(dtmf_gen_t *s, int16_t *amp, int n);

/* Detector: threshold -38 dBm0, twist 4/8 dB; NULL if no memory. */
dtmf_det_t *dtmf_det_new(void);
void dtmf_det_free(dtmf_det_t *s);
/* threshold -60..0 dBm0 per tone, twists 0..20 dB; 0 or DTMF_EINVAL. Resets the stream. */
int dtmf_det_set(dtmf_det_t *s, float threshold_dbm0, float fwd_twist_db, float rev_twist_db);
/* Restart the stream: time 0, no digit held, no event for a digit that was held. */
void dtmf_det_reset(dtmf_det_t *s);
/* Feed n samples; writes up to max_ev events and returns their number, DTMF_EINVAL for bad
 * arguments. Events beyond max_ev are dropped and counted; 2 * (n / DTMF_DET_BLOCK + 2)
 * always fit (at most an end and a start per hop). */
int dtmf_det_rx(dtmf_det_t *s, const int16_t *amp, int n, dtmf_event_t *ev, int max_ev);
/* Digit held now, or 0. */
char dtmf_det_current(const dtmf_det_t *s);
/* Events dropped because the caller's array was full. */
uint32_t dtmf_det_dropped(const dtmf_det_t *s);

#endif
