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
 * Detector: the Goertzel algorithm over non-overlapping blocks of DTMF_DET_BLOCK (102)
 * samples at 8 kHz evaluates the energy at the 8 frequencies. A block is a hit for a digit
 * when all of these hold:
 *   - the strongest row and column tones are each above the threshold (dBm0 per tone);
 *   - twist: the high tone at most fwd_twist_db above the low one, the low tone at most
 *     rev_twist_db above the high one (defaults 4 and 8 dB, Bellcore/Q.24 style). The
 *     filters leak up to -20 dB into each other, so twist is measured to about +-2 dB;
 *   - relative peak: each of the two beats every other tone of its group by 8 dB;
 *   - the two tones carry at least half of the block's energy (rejects noise and speech);
 *   - the block's energy is steady: each third of the block carries at least half the
 *     energy of the strongest third, so a block only partly covered by a tone is no hit.
 * A digit starts when the same hit is seen in two consecutive blocks and ends after two
 * consecutive blocks without it. A tone of 40 ms or more is always caught; one of 20 ms
 * never is (it cannot cover ~85 % of two consecutive blocks). The +-1.5 % frequency
 * tolerance of Q.24 costs at most 1.5 dB in a Goertzel filter of this length.
 * Events carry the digit and a time in ms from the start of the stream (sample count / 8):
 * for a start, the estimated onset (first hit block, less 0.4 block); for an end, the
 * estimated offset (first missed block, plus 0.4 block); both within about +-6 ms.
 * Full Q.24 talk-off and second-harmonic checks are not done yet.
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
#define DTMF_DET_BLOCK 102

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
 * arguments. Events beyond max_ev are dropped and counted (2 * (n / 102 + 2) always fit). */
int dtmf_det_rx(dtmf_det_t *s, const int16_t *amp, int n, dtmf_event_t *ev, int max_ev);
/* Digit held now, or 0. */
char dtmf_det_current(const dtmf_det_t *s);
/* Events dropped because the caller's array was full. */
uint32_t dtmf_det_dropped(const dtmf_det_t *s);

#endif
