/*
 * echo.h - line echo canceller in the spirit of ITU-T G.168.
 *
 * What: removes the echo of the far-end (reference) signal that a 2-wire/4-wire hybrid
 * returns in the near-end signal. Tail (the echo path span the filter covers, bulk delay
 * included) 64..256 ms, 128 ms by default. An adaptive FIR filter models the echo path
 * and its estimate is subtracted from the near end (the "linear canceller"); a double-talk
 * detector keeps near-end speech from corrupting the model; a non-linear processor (NLP)
 * removes the small residual echo the linear stage leaves, and comfort noise (CNG) fills
 * the gap the NLP leaves at the level of the near end's background noise.
 *
 * How (details in echo.c, before the code): a partitioned-block frequency-domain
 * adaptive filter (64-tap partitions, 128-point FFTs), each frequency bin normalised by
 * the far end's power in it and each partition weighted by its share of the echo path
 * (proportionate step), so speech converges about as fast as noise; at the start the
 * adaptation is confined to the few partitions around the echo's bulk delay, estimated
 * from the filter itself, until it has converged. Two filters of the
 * same length: the background adapts, the foreground makes the output and only changes
 * by copying the background when it has been measurably better for a while. Double talk
 * (Geigel, and the normalised cross-correlation of the near end with the echo estimate)
 * stops adaptation; if the background still diverges the foreground keeps the good
 * model and the background is restored from it: the output never diverges.
 * Arithmetic is 32-bit float, samples in 16-bit PCM units (1.0 = 1 LSB; a 0 dBm0 sine
 * has peak 22827, as in osc.h).
 *
 * Usage:
 *   echo_can_t *ec = echo_can_new(128, ECHO_OPT_NLP | ECHO_OPT_CNG);
 *   per block:  echo_can_process(ec, far, near, out, n);   (out may be near)
 *   echo_can_free(ec);
 * "far" is what was sent towards the hybrid (the reference), "near" what came back from
 * it in the same block; any block length works and adds no delay (a call that ends inside
 * a 64-sample block gets the exact outputs of the samples it brought, computed from the
 * partial block; multiples of 64, or the 160-sample tick, are cheapest). Only echo_can_new
 * allocates (one block); every other call is allocation-free and real-time safe. One
 * instance per channel, used by one thread at a time.
 *
 * Memory per channel (one allocation, see echo_can_state_bytes()): 6 arrays of
 * K x 72 floats (K = taps / 64 partitions: far-end spectra, background and foreground
 * filters, real and imaginary parts) plus the state (3.5 KB: FFT tables, block buffers):
 * 31.2 KB at 128 ms (1024 taps), 17.3 KB at 64 ms, 58.8 KB at 256 ms.
 *
 * Standards: ITU-T G.168 (digital network echo cancellers): tail, ERL >= 6 dB
 * assumption, convergence and double-talk behaviour, NLP and comfort noise.
 */
#ifndef EDGEPBX_ECHO_H
#define EDGEPBX_ECHO_H

#include <stddef.h>
#include <stdint.h>

#define ECHO_EINVAL (-1)

#define ECHO_TAIL_MIN_MS 64
#define ECHO_TAIL_MAX_MS 256
#define ECHO_TAIL_DEFAULT_MS 128

/* Option bits. */
#define ECHO_OPT_NLP 1          /* non-linear processor on the output */
#define ECHO_OPT_CNG 2          /* comfort noise where the NLP suppresses (needs NLP) */
#define ECHO_OPT_FREEZE 4       /* adaptation frozen: the filters keep their coefficients */
#define ECHO_OPT_PORTABLE 8     /* use the portable C kernel even where a SIMD one exists */
#define ECHO_OPT_ALL 15

typedef struct echo_can_s echo_can_t;

typedef struct {
    float erle_db;        /* linear-canceller ERLE, long-term estimate while far end active */
    float erl_db;         /* echo return loss seen by the foreground (far power / echo power) */
    float noise_dbm0;     /* comfort-noise level (near-end background estimate) */
    int double_talk;      /* 1 while the double-talk detector holds */
    int nlp_active;       /* 1 while the NLP suppresses */
    uint32_t fg_updates;  /* background copied to foreground */
    uint32_t bg_resets;   /* background restored from foreground (divergence caught) */
} echo_can_stats_t;

/* A canceller with a tail of tail_ms (64..256; rounded up to a multiple of 8 ms) and the
 * given ECHO_OPT_* bits; NULL if tail_ms is out of range, options unknown, or no memory. */
echo_can_t *echo_can_new(int tail_ms, int options);
void echo_can_free(echo_can_t *s);
/* Bytes echo_can_new allocates for tail_ms (0 if out of range). */
size_t echo_can_state_bytes(int tail_ms);
/* Forget everything (filters zero, as just created); options kept. */
void echo_can_reset(echo_can_t *s);
/* Change options (ECHO_OPT_*): 0 or ECHO_EINVAL. */
int echo_can_set_options(echo_can_t *s, int options);
int echo_can_options(const echo_can_t *s);
/* Filter length in taps (8 per ms). */
int echo_can_taps(const echo_can_t *s);
/* Name of the kernel in use: "portable" or "avx2-fma". */
const char *echo_can_kernel(const echo_can_t *s);

/* Cancel the echo of far[0..n) in near[0..n), writing out[0..n) (out may alias near).
 * 0, or ECHO_EINVAL (NULL pointer, n < 0). */
int echo_can_process(echo_can_t *s, const int16_t *far, const int16_t *near, int16_t *out, int n);
/* The same, also writing the linear canceller's output (before NLP/CNG) to lin if lin is
 * not NULL. */
int echo_can_process_ex(echo_can_t *s, const int16_t *far, const int16_t *near,
                        int16_t *out, int16_t *lin, int n);

void echo_can_get_stats(const echo_can_t *s, echo_can_stats_t *st);
/* Copy the foreground echo-path estimate, h[k] for a delay of k samples, k < n (n at most
 * the taps): the number copied. */
int echo_can_get_impulse(const echo_can_t *s, float *h, int n);

#endif
