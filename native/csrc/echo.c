/*
 * echo.c - line echo canceller (ITU-T G.168 style). Interface and memory: echo.h.
 *
 * THE PROBLEM
 * A hybrid returns part of what we send (the far end, x) back in what we receive (the near
 * end, d): d(n) = sum_j h(j) x(n-j) + v(n), where h is the echo path (a bulk delay and a
 * dispersive response of a few ms, 6 dB or more of loss: the echo return loss, ERL) and v
 * is the near-end talker plus line noise. We estimate h by an FIR filter w of L taps (the
 * tail, 8 taps per ms) and send e(n) = d(n) - sum_j w(j) x(n-j). The gain of the
 * canceller is ERLE = 10 log10(E[d^2] / E[e^2]) while only the far end talks.
 *
 * WHY A FREQUENCY-DOMAIN FILTER
 * A time-domain NLMS costs 2L multiply-adds per sample (4 with two filters) and converges
 * slowly on speech: its convergence is governed by the eigenvalue spread of the far end's
 * autocorrelation, i.e. by how far speech is from white (30-40 dB between formants and
 * valleys). Pre-whitening helps but a low-order whitener leaves most of that spread. The
 * partitioned-block frequency-domain adaptive filter (PBFDAF, also "multi-delay filter":
 * Soo and Pang 1990; Borrallo and Otero 1992; the two-filter and learning-rate ideas below
 * follow the published literature, e.g. Valin 2007, IEEE TASLP 15(3)) fixes both:
 *   - the tail is cut into K partitions of N = 64 taps (8 ms); each is applied by
 *     overlap-save with FFTs of 2N = 128 points, so a block of N samples costs a few
 *     FFTs plus K complex multiply-adds per frequency bin: about 8 real operations per
 *     tap per block of 64 samples instead of 64;
 *   - each frequency bin adapts with its own step, normalised by the far end's power in
 *     that bin summed over the K partitions (the exact norm of the regression vector of
 *     that bin), so weak and strong bins converge at the same rate: speech converges
 *     about as fast as white noise.
 * The price is N samples of block delay inside the filter. We do not pass it to the
 * output: when a call ends in the middle of a block, the output samples received so far
 * are computed from the partial block with the missing far-end samples set to zero,
 * which is exact (the filter is causal: outputs before sample p never see samples from p
 * on). The same block is computed again, complete, when its last sample arrives; the
 * first p outputs are not emitted twice. So any block length works and the canceller adds
 * no delay; blocks of 64 (or 160 = 2.5 x 64, the media engine's tick, which needs a
 * partial block every second tick) are cheapest.
 *
 * THE BLOCK
 * Block b holds samples bN .. bN+N-1. X_k is the 128-point real FFT of the far end over
 * blocks b-k-1 and b-k (the two-block window ending k blocks ago), kept in a ring of K
 * spectra. W_k is the FFT of partition k's N taps followed by N zeros. Then
 *   Y = sum_k X_k W_k,   y = last N samples of IFFT(Y),   e = d - y.
 * The gradient for the taps of partition k is the first N samples of
 * IFFT(conj(X_k) E), E the FFT of N zeros followed by e. We add mu(f) conj(X_k) E to W_k
 * directly (the "unconstrained" update) and restore the constraint - taps N..2N-1 of
 * IFFT(W_k) are zero - on one partition per block, round robin (so each partition every
 * K blocks: the alternately constrained MDF of the literature). The wrap-around error the
 * unconstrained updates leave between two projections is small and is removed by them.
 *
 * STEP SIZE: NORMALISED PER BIN, PROPORTIONATE PER PARTITION
 *   W_k += MU_MAX q_k conj(X_k) E / (P(f) + delta(f)),   P(f) = sum_k q_k |X_k(f)|^2,
 * i.e. an NLMS in every bin whose regressor is (X_0(f) .. X_{K-1}(f)): P(f) is its exact
 * (weighted) norm, so weak and strong bins, speech onsets and a ring still filling up
 * all get the right step. delta(f) is REL_FLOOR_DB below the mean bin of P plus an
 * absolute floor at FLOOR_DBM0: bins speech barely excites are not driven by noise (this
 * is worth 5-10 dB of steady ERLE on speech). q_k (mean 1) is the proportionate gain of
 * the IPNLMS (Benesty and Gay 2002) applied per partition (as in the "IPMDF" of the
 * literature): a PROP_ALPHA mix of uniform and of |W_k| / sum |W_k|. A hybrid echo path
 * fills one or two of the 16 partitions; the others then get little step, which is what
 * makes convergence fast (an NLMS over 16 equal partitions needs 4-5 times as long).
 * The partitions with q_k > ACTIVE_Q (the echo) are constrained every block, the others
 * in turn.
 *
 * THE START WINDOW: CONVERGING ON LONG BULK DELAYS
 * From zero, the proportionate gains alone are slow when the echo sits far into the tail:
 * 20 dB on speech took 0.3 s with the echo in partition 0 but 1.8-1.95 s with bulk delays
 * of 37.5-75 ms (G.168 D5, D7, D9), 2.9 s at 256 ms. The cause is the far end's
 * correlation across blocks: while the filter is far from the echo path, the error
 * correlates with every partition's far-end spectrum, so all partitions fill with a
 * smeared copy of the echo that decays only slowly (the eigenvalue spread the per-bin
 * normalisation cannot remove: it whitens across frequency, not across blocks). Echo in
 * partition 0 escapes this at every speech onset: for a few blocks after a pause only the
 * newest spectra are non-zero and the echo is identified without ambiguity. Measured with
 * the delay known in advance, adapting only the echo's partitions converges 3-4 times
 * faster - but only if the other partitions are cleared: frozen, their smeared content
 * caps the ERLE at 10-16 dB.
 * So the bulk delay is estimated from the background filter itself (its per-bin
 * normalised gradient is a pre-whitened cross-correlation of far and near end) and the
 * adaptation is concentrated on it:
 *   - search: once the far end has been active for WIN_WAIT blocks (the ring holds the
 *     whole tail, so a late echo can be represented at all) and the background cancels
 *     WIN_GATE_DB (its content explains echo, not noise), the partition of largest energy
 *     and WIN_HALF on each side form the window; the other partitions are cleared;
 *   - in the window only the window's partitions adapt (the proportionate gains are
 *     computed over them, zero outside, so the per-bin norm covers only them: a short,
 *     fast NLMS). Each block the window re-centres on its strongest partition, clearing
 *     any partition it leaves, so a window set one partition off walks onto the echo;
 *   - release, back to the proportionate update over the whole tail: when the foreground
 *     cancels WIN_RELEASE_DB, when the background has not gained WIN_STALL_DB for
 *     WIN_STALL_MS (an echo path with reflections outside the window: they are then
 *     learnt by the normal update), or after WIN_MAX_MS. The window is a start-up aid
 *     only; it comes back after echo_can_reset, not on echo-path changes.
 * The background is the one filter touched, so a wrong window never reaches the output
 * unless it cancels better than the foreground. Measured (speech, 128 ms tail), the
 * time to 20 dB on the G.168 models is 0.25-0.6 s instead of 0.3-1.95 s, on noise
 * 0.1-0.3 s instead of 0.1-0.75 s; steady-state ERLE rose 1-4 dB; at 256 ms the worst
 * case went from 2.85 s to 0.65 s. Ideas tried and dropped: a sharper proportionate rule
 * (alpha near 1, or q from |W_k|^2) locks onto the partitions that the first blocks fill
 * and slowed every model; leaving the outside partitions adapting or leaking at a small
 * step instead of clearing them; a larger step, or a lower normalisation floor, in the
 * window (no consistent gain); a smaller step after convergence (the steady state on
 * speech is limited by tracking, not by noise: 1-2 dB worse everywhere). A copy to the
 * foreground now also needs the background to cancel at all (eb below d) in the double
 * talk branch, so no filter worse than none reaches the output.
 *
 * TWO FILTERS: NO DIVERGENCE
 * The background filter (the one above) adapts; the foreground filter makes the output
 * and only ever changes by taking the background's coefficients. Per block we compare
 * smoothed energies (time constant 4 blocks) of the near end d, the background error eb
 * and the foreground error ef. The background is copied into the foreground when, for
 * COPY_BLOCKS blocks in a row, it is better by COPY_BETTER_DB, it removes echo at all
 * (eb below d) and no double talk is held; during double talk only when it is
 * COPY_DT_BETTER_DB better for COPY_DT_BLOCKS (an echo-path change, see below). When the
 * background has been RESET_WORSE_DB worse than a foreground that cancels at least
 * FG_CANCELS_DB for RESET_BLOCKS blocks, it diverged and is restored from the foreground.
 *
 * DOUBLE TALK
 * Two detectors, per block, with a hangover of DT_HANG_MS:
 *   - Geigel (G.168's classic): max |d| over the block above max |x| over the tail by
 *     GEIGEL_DB (0 dB: a dispersive path with 6 dB ERL can have a peak gain close to
 *     0 dB, so only a near end louder than the loudest far sample counts). It is the
 *     only guard before the filter has converged.
 *   - normalised cross-correlation (Benesty, Morgan and Cho 2000): once the foreground
 *     has cancelled CONVERGED_DB, its echo estimate y matches the echo in d, so
 *     rho = <d, y> / (|d| |y|) (smoothed over 2 blocks) is 0.99 and more while only the
 *     far end talks; near-end speech as loud as the echo brings it to 0.7, 6 dB louder
 *     to 0.45. Double talk is declared below RHO_DT. Unlike a level detector it does
 *     not depend on the ERL, and unlike Geigel it sees soft near-end speech.
 * During double talk the background does not adapt. If it lasts DT_ESCAPE_MS the
 * echo path has probably changed (the detector then mistakes the new echo for near-end
 * speech): the background adapts again at DT_ESCAPE_MU_DB below the normal step, and
 * takes over the foreground once it is clearly better.
 *
 * NON-LINEAR PROCESSOR AND COMFORT NOISE
 * The linear canceller leaves a residual about ERLE below the echo, and any non-linear
 * echo. When the far end has been active within the tail, the near end is not active
 * (no double talk held) and the linear stage cancels at least NLP_ERLE_DB, the NLP
 * replaces the output by comfort noise, fading in 1 ms; on double talk it opens within
 * the block that detected it. The comfort noise has the level and a first-order spectral tilt
 * of the near-end background, both measured on the linear output where the far end is
 * quiet (minimum-tracking energy, slow rise).
 *
 * ARITHMETIC
 * 32-bit float, sample values in 16-bit PCM units (a 0 dBm0 sine has peak 22827). The
 * FFT is our own: a 64-point complex radix-2 FFT (split real/imaginary arrays so the
 * inner loops of the later stages are contiguous and vectorise) with a real-signal
 * split step for 128 real points; the inverse uses the same code by swapping the real
 * and imaginary arrays. Twiddles are computed once in echo_can_new. Spectra are stored
 * split (re[], im[]) with 65 bins padded to 72, so the per-bin loops over partitions are
 * plain contiguous loops: the compiler vectorises them (SSE2/NEON), and on x86 an
 * AVX2+FMA build of the same code is selected at run time (ECHO_OPT_PORTABLE forces the
 * portable one; the tests run both).
 */
#include "echo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define ECHO_X86_AVX 1
#else
#define ECHO_X86_AVX 0
#endif

/* 0 dBm0: a sine of peak 22827, i.e. mean power 22827^2 / 2 (PCM units squared). */
#define DBM0_POWER (22827.0f * 22827.0f / 2.0f)
#define DB_TO_POWER(db) (powf(10.0f, (db) / 10.0f))
#define DB_TO_AMP(db) (powf(10.0f, (db) / 20.0f))

#define TAPS_PER_MS 8
#define N 64                      /* block length and partition length, samples (8 ms) */
#define M 128                     /* FFT length, 2N */
#define NB 65                     /* bins of a real 128-point FFT (0 .. M/2) */
#define NBP 72                    /* bins padded to a multiple of 8 floats */
#define KMAX (ECHO_TAIL_MAX_MS * TAPS_PER_MS / N) /* 32 partitions at 256 ms */

#define PROP_ALPHA 0.5f           /* IPNLMS mix: -1 plain NLMS, 1 fully proportionate */
#define ACTIVE_Q 2.0f             /* partitions with a step this far above the mean... */
#define ACTIVE_MAX 3              /* ...are constrained every block (at most this many) */
#define REL_FLOOR_DB (-10.0f)     /* per-bin normalisation floor below the mean bin */
#define MU_MAX 1.0f               /* block step (per-bin normalised) */
#define FLOOR_DBM0 (-66.0f)       /* regularisation of the per-bin normalisation */
#define FAR_ACTIVE_DBM0 (-50.0f)  /* far end over the tail above this: echo to learn */
#define GEIGEL_DB 0.0f            /* max|d| above max|x| (tail) by this: double talk */
#define DT_HANG_MS 48             /* double talk is held this long after detection */
#define CONVERGED_DB 20.0f        /* foreground ERLE that arms the correlation detector */
#define RHO_DT 0.85f              /* NCC of d with the echo estimate below: double talk */
#define DT_MIN_DBM0 (-50.0f)      /* ...when the near end is louder than this */
#define DT_ESCAPE_MS 2000         /* double talk this long: adapt slowly anyway */
#define DT_ESCAPE_MU_DB (-12.0f)  /* ...at this step relative to MU_MAX */
#define COPY_DT_BETTER_DB (-6.0f) /* during double talk, copy only when this much better */
#define COPY_DT_BLOCKS 8
#define COPY_BETTER_DB (-0.5f)    /* background this much better: copy to foreground */
#define COPY_BLOCKS 2
#define RESET_WORSE_DB 3.0f       /* background this much worse: restore it */
#define RESET_BLOCKS 4
#define FG_CANCELS_DB (-6.0f)     /* ...while the foreground cancels at least this much */
#define NLP_ERLE_DB 6.0f          /* linear stage must cancel this much for the NLP */
#define NLP_FADE 0.125f           /* NLP gain step per sample (1 ms fade) */
#define CNG_INIT_DBM0 (-70.0f)    /* comfort noise level before anything is measured */
#define CNG_MAX_DBM0 (-45.0f)     /* comfort noise never louder than this */
#define NOISE_RISE_DB_S 3.0f      /* background estimate may rise this fast (dB/s) */
#define WIN_HALF 1                /* start window: the echo's partition and this many each side */
#define WIN_WAIT 24               /* far-end blocks before the window search (192 ms) */
#define WIN_GATE_DB 3.0f          /* window set once the background cancels this much */
#define WIN_RELEASE_DB 25.0f      /* window released once the foreground cancels this much... */
#define WIN_MAX_MS 1600           /* ...or after this much adaptation in it */
#define WIN_STALL_MS 300          /* ...or when the background has not gained WIN_STALL_DB */
#define WIN_STALL_DB 1.0f         /*    for this long (the echo is not all in the window) */

typedef struct {
    void (*rfft)(const echo_can_t *s, const float *x, float *re, float *im);
    void (*irfft)(const echo_can_t *s, const float *re, const float *im, float *x);
    void (*filter)(float *restrict ar, float *restrict ai, const float *xr, const float *xi,
                   const float *wr, const float *wi, int head, int k0, int k1, int K);
    void (*update)(float *wr, float *wi, const float *xr, const float *xi,
                   const float *gr, const float *gi, const float *q, int head, int K);
    void (*pnorm)(float *restrict den, const float *xr, const float *xi, const float *q,
                  int head, int K);
    const char *name;
} kernels_t;

struct echo_can_s {
    int taps;                 /* L = K N */
    int K;                    /* partitions */
    int options;
    const kernels_t *kern;
    void *raw;                /* the allocation (this struct and the arrays below) */
    /* K x NBP each, partition k at [k * NBP] (filters) or ring slot (far-end spectra) */
    float *xr, *xi;           /* far-end spectra, ring: X_k in slot (head + k) % K */
    float *wbr, *wbi;         /* background filter W_k */
    float *wfr, *wfi;         /* foreground filter W_k */

    /* constant tables, computed in echo_can_new */
    float twr[N], twi[N];     /* 64-point FFT twiddles of stage h at [h + j], j < h */
    float rtr[NBP], rti[NBP]; /* exp(-j 2 pi k / 128), real-split twiddles */
    unsigned char bitrev[N];

    /* constants derived from the defines, in PCM power units */
    float delta, far_active, geigel_amp, cng_max, rho_dt, cdd_min, noise_rise;

    /* ---- state below is cleared by reset ---- */
    int head;                 /* ring slot of X_0 */
    int fill;                 /* samples of the current block received */
    int emitted;              /* samples of the current block already output */
    int constrain;            /* next partition to constrain */
    float xwin[M];            /* far end: previous block, current block (zeros beyond fill) */
    float din[N];             /* near end of the current block */
    float psum[NBP];          /* P(f) = sum_k q_k |X_k(f)|^2 (scratch) */
    float yor[NBP], yoi[NBP]; /* foreground: sum over partitions 1..K-1 for this block */
    float xen[KMAX];          /* far-end energy per block, ring by block count */
    float xmx[KMAX + 1];      /* max |x| per block, ring */
    int xpos;
    uint32_t blocks;
    int converged;            /* foreground has cancelled CONVERGED_DB once */
    int dt_hang;              /* blocks of double-talk hangover left */
    float sd, sb, sf;         /* smoothed block energies of d, eb, ef */
    int better, worse;
    float cdy, cdd, cyy, rho; /* double talk: smoothed cross/auto-correlations, their NCC */
    int dt_run;               /* blocks of double talk in a row */
    float qk[KMAX];           /* proportionate step of each partition (mean 1) */
    float ld, lf, lx;         /* long-term (far-active) energies for ERLE/ERL stats */
    float noise;              /* near-end background power per sample */
    float nr1, nr0;           /* background lag-1 and lag-0 correlations (tilt) */
    float cng_amp, cng_tilt, cng_prev;
    float nlp_gain, nlp_target;
    uint32_t rng;
    float e_prev;
    uint32_t fg_updates, bg_resets;
    int win;                  /* start window: WIN_SEARCH, WIN_ON, WIN_DONE */
    int win_lo, win_hi;       /* partitions in the window (WIN_ON) */
    int win_blocks;           /* blocks adapted in the window (before it: while searching) */
    int win_stall;            /* blocks since the background's ERLE last improved in it */
    float win_best;           /* best background ERLE in it (ratio) */
};

enum { WIN_SEARCH = 0, WIN_ON = 1, WIN_DONE = 2 };

/* ---- kernels: FFT and per-bin loops, instantiated per target ------------------------- */

/* The bodies are written once and compiled for each target (portable, AVX2+FMA). */
#define KERNELS(SUF, NAME, ATTR)                                                               \
    /* in-place 64-point complex FFT, forward (exp(-j...)) */                             \
    ATTR static void cfft_##SUF(const echo_can_t *s, float *re, float *im)                 \
    {                                                                                      \
        int i, j, h;                                                                       \
        for (i = 0; i < N; i++) {                                                          \
            j = s->bitrev[i];                                                              \
            if (j > i) {                                                                   \
                float t = re[i]; re[i] = re[j]; re[j] = t;                                 \
                t = im[i]; im[i] = im[j]; im[j] = t;                                       \
            }                                                                              \
        }                                                                                  \
        for (i = 0; i < N; i += 4) { /* stages h = 1 and 2 together: twiddles 1, -j */     \
            float ar = re[i] + re[i + 1], ai = im[i] + im[i + 1];                          \
            float br = re[i] - re[i + 1], bi = im[i] - im[i + 1];                          \
            float cr = re[i + 2] + re[i + 3], ci = im[i + 2] + im[i + 3];                  \
            float dr = re[i + 2] - re[i + 3], di = im[i + 2] - im[i + 3];                  \
            re[i] = ar + cr; im[i] = ai + ci;                                              \
            re[i + 2] = ar - cr; im[i + 2] = ai - ci;                                      \
            re[i + 1] = br + di; im[i + 1] = bi - dr;   /* b + (-j) d */                   \
            re[i + 3] = br - di; im[i + 3] = bi + dr;                                      \
        }                                                                                  \
        for (h = 4; h < N; h <<= 1) {                                                      \
            const float *wr = s->twr + h, *wi = s->twi + h;                                \
            for (i = 0; i < N; i += 2 * h) {                                               \
                float *ar = re + i, *ai = im + i, *br = re + i + h, *bi = im + i + h;      \
                for (j = 0; j < h; j++) {                                                  \
                    float tr = br[j] * wr[j] - bi[j] * wi[j];                              \
                    float ti = br[j] * wi[j] + bi[j] * wr[j];                              \
                    br[j] = ar[j] - tr; bi[j] = ai[j] - ti;                                \
                    ar[j] += tr; ai[j] += ti;                                              \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }                                                                                      \
    /* 128 real samples -> bins 0..64 (unnormalised DFT); bins 65..71 left alone */       \
    ATTR static void rfft_##SUF(const echo_can_t *s, const float *x, float *re, float *im) \
    {                                                                                      \
        float zr[N], zi[N];                                                                \
        int k;                                                                             \
        for (k = 0; k < N; k++) {                                                          \
            zr[k] = x[2 * k];                                                              \
            zi[k] = x[2 * k + 1];                                                          \
        }                                                                                  \
        cfft_##SUF(s, zr, zi);                                                             \
        re[0] = zr[0] + zi[0];                                                             \
        im[0] = 0.0f;                                                                      \
        re[N] = zr[0] - zi[0];                                                             \
        im[N] = 0.0f;                                                                      \
        for (k = 1; k < N; k++) {                                                          \
            int m = N - k;                                                                 \
            float fer = 0.5f * (zr[k] + zr[m]), fei = 0.5f * (zi[k] - zi[m]);              \
            float for_ = 0.5f * (zi[k] + zi[m]), foi = -0.5f * (zr[k] - zr[m]);            \
            re[k] = fer + s->rtr[k] * for_ - s->rti[k] * foi;                              \
            im[k] = fei + s->rtr[k] * foi + s->rti[k] * for_;                              \
        }                                                                                  \
    }                                                                                      \
    /* bins 0..64 -> 128 real samples (the exact inverse: includes the 1/128) */          \
    ATTR static void irfft_##SUF(const echo_can_t *s, const float *re, const float *im,    \
                                 float *x)                                                 \
    {                                                                                      \
        float zr[N], zi[N];                                                                \
        const float sc = 1.0f / (float) M;                                                 \
        int k;                                                                             \
        for (k = 0; k < N; k++) {                                                          \
            int m = N - k;                                                                 \
            float fer = re[k] + re[m], fei = im[k] - im[m];                                \
            float dr = re[k] - re[m], di = im[k] + im[m];                                  \
            float for_ = dr * s->rtr[k] + di * s->rti[k];                                  \
            float foi = di * s->rtr[k] - dr * s->rti[k];                                   \
            zr[k] = sc * (fer - foi);                                                      \
            zi[k] = sc * (fei + for_);                                                     \
        }                                                                                  \
        cfft_##SUF(s, zi, zr); /* inverse by swapping real and imaginary parts */          \
        for (k = 0; k < N; k++) {                                                          \
            x[2 * k] = zr[k];                                                              \
            x[2 * k + 1] = zi[k];                                                          \
        }                                                                                  \
    }                                                                                      \
    /* a += sum over partitions k0..k1-1 of X_k W_k (complex, per bin) */                 \
    ATTR static void filter_##SUF(float *restrict ar, float *restrict ai, const float *xr, \
                                  const float *xi, const float *wr, const float *wi,       \
                                  int head, int k0, int k1, int K)                         \
    {                                                                                      \
        int k, f;                                                                          \
        for (k = k0; k < k1; k++) {                                                        \
            int slot = (head + k) % K;                                                     \
            const float *restrict pxr = xr + slot * NBP, *restrict pxi = xi + slot * NBP;  \
            const float *restrict pwr = wr + k * NBP, *restrict pwi = wi + k * NBP;        \
            for (f = 0; f < NBP; f++) {                                                    \
                ar[f] += pxr[f] * pwr[f] - pxi[f] * pwi[f];                                \
                ai[f] += pxr[f] * pwi[f] + pxi[f] * pwr[f];                                \
            }                                                                              \
        }                                                                                  \
    }                                                                                      \
    /* W_k += conj(X_k) G for every partition (G = mu(f) E(f)) */                         \
    ATTR static void update_##SUF(float *wr, float *wi, const float *xr, const float *xi,  \
                                  const float *gr, const float *gi, const float *q,        \
                                  int head, int K)                                         \
    {                                                                                      \
        int k, f;                                                                          \
        for (k = 0; k < K; k++) {                                                          \
            int slot = (head + k) % K;                                                     \
            const float qk = q[k];                                                         \
            const float *restrict pxr = xr + slot * NBP, *restrict pxi = xi + slot * NBP;  \
            float *restrict pwr = wr + k * NBP, *restrict pwi = wi + k * NBP;              \
            for (f = 0; f < NBP; f++) {                                                    \
                pwr[f] += qk * (pxr[f] * gr[f] + pxi[f] * gi[f]);                          \
                pwi[f] += qk * (pxr[f] * gi[f] - pxi[f] * gr[f]);                          \
            }                                                                              \
        }                                                                                  \
    }                                                                                      \
    /* den = sum over partitions of q_k |X_k|^2 (the weighted norm of each bin's regressor) */\
    ATTR static void pnorm_##SUF(float *restrict den, const float *xr, const float *xi,    \
                                 const float *q, int head, int K)                          \
    {                                                                                      \
        int k, f;                                                                          \
        for (f = 0; f < NBP; f++)                                                          \
            den[f] = 0.0f;                                                                 \
        for (k = 0; k < K; k++) {                                                          \
            int slot = (head + k) % K;                                                     \
            const float *restrict pxr = xr + slot * NBP, *restrict pxi = xi + slot * NBP;  \
            const float qk = q[k];                                                         \
            for (f = 0; f < NBP; f++)                                                      \
                den[f] += qk * (pxr[f] * pxr[f] + pxi[f] * pxi[f]);                        \
        }                                                                                  \
    }                                                                                      \
    static const kernels_t kernels_##SUF = {rfft_##SUF, irfft_##SUF, filter_##SUF,         \
                                            update_##SUF, pnorm_##SUF, NAME};

KERNELS(portable, "portable", )

#if ECHO_X86_AVX
#if defined(__GNUC__) && !defined(__clang__)
/* let the AVX2 build fuse multiply-adds (ISO C mode disables contraction by default) */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#endif
KERNELS(avx2_fma, "avx2-fma", __attribute__((target("avx2,fma"))))
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

static int cpu_has_avx2_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

static void select_kernel(echo_can_t *s)
{
#if ECHO_X86_AVX
    if (!(s->options & ECHO_OPT_PORTABLE) && cpu_has_avx2_fma()) {
        s->kern = &kernels_avx2_fma;
        return;
    }
#endif
    s->kern = &kernels_portable;
}

/* ---- allocation ------------------------------------------------------------------------ */

static int taps_for(int tail_ms)
{
    int taps = tail_ms * TAPS_PER_MS;
    return (taps + N - 1) / N * N; /* whole partitions: the tail rounds up to 8 ms */
}

static size_t struct_bytes(void)
{
    return (sizeof(echo_can_t) + 63) / 64 * 64;
}

size_t echo_can_state_bytes(int tail_ms)
{
    if (tail_ms < ECHO_TAIL_MIN_MS || tail_ms > ECHO_TAIL_MAX_MS)
        return 0;
    /* 6 arrays of K x NBP floats, plus 64 bytes of alignment slack */
    return struct_bytes() + 6 * (size_t) (taps_for(tail_ms) / N) * NBP * sizeof(float) + 64;
}

static void init_tables(echo_can_t *s)
{
    const double pi = 3.14159265358979323846;
    int h, j, i;
    for (h = 1; h < N; h <<= 1) {
        for (j = 0; j < h; j++) {
            s->twr[h + j] = (float) cos(pi * j / h);
            s->twi[h + j] = (float) -sin(pi * j / h);
        }
    }
    s->twr[0] = 1.0f;
    s->twi[0] = 0.0f;
    for (j = 0; j < NBP; j++) {
        s->rtr[j] = (float) cos(2.0 * pi * j / M);
        s->rti[j] = (float) -sin(2.0 * pi * j / M);
    }
    for (i = 0; i < N; i++) {
        int r = 0, b;
        for (b = 0; b < 6; b++)
            r |= ((i >> b) & 1) << (5 - b);
        s->bitrev[i] = (unsigned char) r;
    }
}

void echo_can_reset(echo_can_t *s)
{
    if (s == NULL)
        return;
    /* the six arrays are contiguous */
    memset(s->xr, 0, 6 * (size_t) s->K * NBP * sizeof(float));
    memset(&s->head, 0, sizeof(*s) - offsetof(echo_can_t, head));
    s->noise = DB_TO_POWER(CNG_INIT_DBM0) * DBM0_POWER;
    s->cng_amp = sqrtf(3.0f * s->noise);
    s->nlp_gain = s->nlp_target = 1.0f;
    s->rng = 0x12345678u;
}

echo_can_t *echo_can_new(int tail_ms, int options)
{
    size_t bytes = echo_can_state_bytes(tail_ms);
    unsigned char *raw, *arr;
    echo_can_t *s;
    size_t one;

    if (bytes == 0 || (options & ~ECHO_OPT_ALL))
        return NULL;
    raw = malloc(bytes);
    if (raw == NULL)
        return NULL;
    s = (echo_can_t *) raw; /* malloc's alignment suits the struct */
    memset(s, 0, sizeof(*s));
    s->raw = raw;
    s->taps = taps_for(tail_ms);
    s->K = s->taps / N;
    s->options = options;
    arr = raw + struct_bytes();
    arr += (64 - ((uintptr_t) arr & 63)) & 63; /* 64-byte aligned arrays */
    one = (size_t) s->K * NBP;
    s->xr = (float *) arr;
    s->xi = s->xr + one;
    s->wbr = s->xi + one;
    s->wbi = s->wbr + one;
    s->wfr = s->wbi + one;
    s->wfi = s->wfr + one;
    init_tables(s);
    select_kernel(s);
    s->delta = (float) s->K * M * DB_TO_POWER(FLOOR_DBM0) * DBM0_POWER;
    s->far_active = DB_TO_POWER(FAR_ACTIVE_DBM0) * DBM0_POWER * N;
    s->geigel_amp = DB_TO_AMP(GEIGEL_DB);
    s->cng_max = DB_TO_POWER(CNG_MAX_DBM0) * DBM0_POWER;
    s->rho_dt = RHO_DT;
    s->cdd_min = DB_TO_POWER(DT_MIN_DBM0) * DBM0_POWER * N;
    s->noise_rise = DB_TO_POWER(NOISE_RISE_DB_S * N / 8000.0f);
    echo_can_reset(s);
    return s;
}

void echo_can_free(echo_can_t *s)
{
    if (s != NULL)
        free(s->raw);
}

int echo_can_set_options(echo_can_t *s, int options)
{
    if (s == NULL || (options & ~ECHO_OPT_ALL))
        return ECHO_EINVAL;
    s->options = options;
    select_kernel(s);
    return 0;
}

int echo_can_options(const echo_can_t *s)
{
    return s->options;
}

int echo_can_taps(const echo_can_t *s)
{
    return s->taps;
}

const char *echo_can_kernel(const echo_can_t *s)
{
    return s->kern->name;
}

/* ---- the block --------------------------------------------------------------------------- */

static float energy(const float *v, int n)
{
    float acc = 0.0f;
    int i;
    for (i = 0; i < n; i++)
        acc += v[i] * v[i];
    return acc;
}

/* Foreground output for the current block, its samples from..to-1, into e[] (d - y). The
 * far-end window is xwin with zeros beyond fill. */
static void fg_output(echo_can_t *s, const float *x0r, const float *x0i, float *e,
                      int from, int to)
{
    float ar[NBP], ai[NBP], t[M];
    int f, i;
    for (f = 0; f < NBP; f++) {
        ar[f] = s->yor[f] + x0r[f] * s->wfr[f] - x0i[f] * s->wfi[f];
        ai[f] = s->yoi[f] + x0r[f] * s->wfi[f] + x0i[f] * s->wfr[f];
    }
    s->kern->irfft(s, ar, ai, t);
    for (i = from; i < to; i++)
        e[i] = s->din[i] - t[N + i];
}

/* Sum over partitions 1..K-1 of the foreground for the next block (its X_1.. are known). */
static void prepare_next(echo_can_t *s)
{
    memset(s->yor, 0, sizeof(s->yor));
    memset(s->yoi, 0, sizeof(s->yoi));
    /* next block's X_k (k >= 1) is this block's X_{k-1}: slot (head + k - 1) % K */
    s->kern->filter(s->yor, s->yoi, s->xr, s->xi, s->wfr, s->wfi,
                    s->head + s->K - 1, 1, s->K, s->K);
}

static void project(echo_can_t *s, int k)
{
    float t[M];
    float *wr = s->wbr + k * NBP, *wi = s->wbi + k * NBP;
    s->kern->irfft(s, wr, wi, t);
    memset(t + N, 0, N * sizeof(float));
    s->kern->rfft(s, t, wr, wi);
}

static void clear_partition(echo_can_t *s, int k)
{
    memset(s->wbr + k * NBP, 0, NBP * sizeof(float));
    memset(s->wbi + k * NBP, 0, NBP * sizeof(float));
}

/* The start window (see the prose at the top): pe[k] is the energy of the background's
 * partition k. Searching: after WIN_WAIT blocks of far end, once the background cancels
 * WIN_GATE_DB, keep only its strongest partition and WIN_HALF each side (the others are
 * cleared: what they hold is the far end's correlation, not echo). In the window: follow
 * the strongest partition; release at WIN_RELEASE_DB, on a stall, or after WIN_MAX_MS. */
static void start_window(echo_can_t *s, const float *pe)
{
    int k, pk = 0, lo, hi, K = s->K;

    if (s->win == WIN_SEARCH) {
        if (s->converged) {
            s->win = WIN_DONE; /* converged without it */
            return;
        }
        if (++s->win_blocks < WIN_WAIT || s->dt_hang > 0
            || !(s->sb * DB_TO_POWER(WIN_GATE_DB) < s->sd))
            return;
        for (k = 1; k < K; k++)
            if (pe[k] > pe[pk])
                pk = k;
    } else {
        /* the background's ERLE: has it improved by WIN_STALL_DB lately? */
        float g = s->sd / (s->sb + 1e-3f);
        if (g > s->win_best * DB_TO_POWER(WIN_STALL_DB)) {
            s->win_best = g;
            s->win_stall = 0;
        }
        if (s->sf * DB_TO_POWER(WIN_RELEASE_DB) < s->sd
            || ++s->win_blocks > WIN_MAX_MS * 8 / N || ++s->win_stall > WIN_STALL_MS * 8 / N) {
            s->win = WIN_DONE;
            return;
        }
        pk = s->win_lo;
        for (k = s->win_lo; k <= s->win_hi; k++)
            if (pe[k] > pe[pk])
                pk = k;
    }
    lo = pk - WIN_HALF > 0 ? pk - WIN_HALF : 0;
    hi = pk + WIN_HALF < K - 1 ? pk + WIN_HALF : K - 1;
    if (s->win == WIN_SEARCH) {
        s->win = WIN_ON;
        s->win_blocks = 0;
        s->win_best = 1.0f;
        s->win_stall = 0;
        for (k = 0; k < K; k++)
            if (k < lo || k > hi)
                clear_partition(s, k);
    } else {
        for (k = s->win_lo; k <= s->win_hi; k++)
            if (k < lo || k > hi)
                clear_partition(s, k);
    }
    s->win_lo = lo;
    s->win_hi = hi;
}

/* A complete block is in xwin/din: cancel it (linear output into e[0..N)), adapt, decide. */
static void process_block(echo_can_t *s, float *e)
{
    float *x0r, *x0i;
    float yb[M], eb[N], er[NBP], ei[NBP], gr[NBP], gi[NBP];
    float ed, ef, ebe, eyf, ex, xtail, xmax, dmax, mu;
    int f, i, K = s->K, dt, adapt, far_on;

    /* the newest spectrum replaces the oldest in the ring */
    s->head = (s->head + K - 1) % K;
    x0r = s->xr + s->head * NBP;
    x0i = s->xi + s->head * NBP;
    s->kern->rfft(s, s->xwin, x0r, x0i);
    for (f = NB; f < NBP; f++)
        x0r[f] = x0i[f] = 0.0f;

    /* foreground (the output) and background */
    fg_output(s, x0r, x0i, e, 0, N);
    memset(er, 0, sizeof(er));
    memset(ei, 0, sizeof(ei));
    s->kern->filter(er, ei, s->xr, s->xi, s->wbr, s->wbi, s->head, 0, K, K);
    s->kern->irfft(s, er, ei, yb);
    for (i = 0; i < N; i++)
        eb[i] = s->din[i] - yb[N + i];

    /* block statistics */
    ed = energy(s->din, N);
    ef = energy(e, N);
    ebe = energy(eb, N);
    eyf = 0.0f;
    for (i = 0; i < N; i++)
        eyf += (s->din[i] - e[i]) * (s->din[i] - e[i]);
    ex = energy(s->xwin + N, N);
    s->xpos = (s->xpos + 1) % K;
    s->xen[s->xpos] = ex;
    xmax = 0.0f;
    for (i = N; i < M; i++)
        xmax = fmaxf(xmax, fabsf(s->xwin[i]));
    s->xmx[s->xpos] = xmax;
    xtail = 0.0f;
    xmax = 0.0f;
    for (i = 0; i < K; i++) {
        xtail += s->xen[i];
        xmax = fmaxf(xmax, s->xmx[i]);
    }
    xtail /= (float) K; /* mean energy per block over the tail */
    dmax = 0.0f;
    for (i = 0; i < N; i++)
        dmax = fmaxf(dmax, fabsf(s->din[i]));

    /* smoothed energies (time constant 4 blocks) */
    s->sd = 0.75f * s->sd + 0.25f * ed;
    s->sb = 0.75f * s->sb + 0.25f * ebe;
    s->sf = 0.75f * s->sf + 0.25f * ef;
    far_on = xtail > s->far_active;
    if (far_on) {
        s->ld += ed;
        s->lf += ef;
        s->lx += ex;
        if (s->lx > 1e12f) {
            s->ld *= 0.5f;
            s->lf *= 0.5f;
            s->lx *= 0.5f;
        }
    }

    /* double talk: Geigel always; once the foreground cancels CONVERGED_DB, also the
     * normalised cross-correlation of the near end with the foreground's echo estimate */
    dt = far_on && dmax > s->geigel_amp * xmax;
    {
        float cdy = 0.0f, rho;
        for (i = 0; i < N; i++)
            cdy += s->din[i] * (s->din[i] - e[i]);
        s->cdy = 0.5f * s->cdy + 0.5f * cdy;
        s->cdd = 0.5f * s->cdd + 0.5f * ed;
        s->cyy = 0.5f * s->cyy + 0.5f * eyf;
        rho = s->cdy / sqrtf(s->cdd * s->cyy + 1e-6f);
        s->rho = rho;
        if (far_on && !s->converged && s->sf * DB_TO_POWER(CONVERGED_DB) < s->sd)
            s->converged = 1;
        if (far_on && s->converged && rho < s->rho_dt && s->cdd > s->cdd_min)
            dt = 1;
    }
    if (dt) {
        s->dt_hang = DT_HANG_MS * 8 / N;
        if (s->dt_run < 0x7fffffff)
            s->dt_run++;
    } else if (s->dt_hang > 0) {
        s->dt_hang--;
    } else {
        s->dt_run = 0;
    }

    /* adapt the background: freely while the near end is quiet; during double talk not
     * at all, unless it has lasted DT_ESCAPE_MS (then the echo path has probably changed
     * and the detector mistakes the new echo for near-end speech): slowly */
    adapt = !(s->options & ECHO_OPT_FREEZE) && far_on;
    mu = MU_MAX;
    if (s->dt_hang > 0)
        mu = s->dt_run > DT_ESCAPE_MS * 8 / N ? MU_MAX * DB_TO_AMP(DT_ESCAPE_MU_DB) : 0.0f;
    if (adapt && mu > 0.0f) {
        float t[M];
        memset(t, 0, N * sizeof(float));
        memcpy(t + N, eb, N * sizeof(float));
        s->kern->rfft(s, t, er, ei);
        {
            /* proportionate partition gains (IPNLMS in the MDF): q_k from |W_k|, over
             * the start window while there is one (zero outside it), else over all */
            float tot = 0.0f, pe[KMAX], wk[KMAX];
            int k;
            for (k = 0; k < K; k++)
                pe[k] = energy(s->wbr + k * NBP, NB) + energy(s->wbi + k * NBP, NB);
            if (s->win != WIN_DONE)
                start_window(s, pe);
            int lo = 0, hi = K - 1;
            if (s->win == WIN_ON) {
                lo = s->win_lo;
                hi = s->win_hi;
            }
            for (k = 0; k < K; k++)
                s->qk[k] = 0.0f;
            for (k = lo; k <= hi; k++) {
                wk[k] = sqrtf(pe[k]);
                tot += wk[k];
            }
            for (k = lo; k <= hi; k++) /* mean 1 over the K partitions */
                s->qk[k] = (float) K / (float) (hi - lo + 1)
                           * ((1.0f - PROP_ALPHA) * 0.5f
                              + (1.0f + PROP_ALPHA) * 0.5f * (float) (hi - lo + 1) * wk[k]
                                    / (tot + 1e-3f));
        }
        s->kern->pnorm(s->psum, s->xr, s->xi, s->qk, s->head, K);
        {
            /* regularisation: an absolute floor and REL_FLOOR_DB below the mean bin */
            float mean = 0.0f, dl;
            for (f = 0; f < NB; f++)
                mean += s->psum[f];
            dl = s->delta + mean * (DB_TO_POWER(REL_FLOOR_DB) / NB);
            for (f = 0; f < NB; f++)
                s->psum[f] += dl;
        }
        for (f = 0; f < NB; f++) {
            float g = mu / s->psum[f];
            gr[f] = g * er[f];
            gi[f] = g * ei[f];
        }
        for (; f < NBP; f++)
            gr[f] = gi[f] = 0.0f;
        s->kern->update(s->wbr, s->wbi, s->xr, s->xi, gr, gi, s->qk, s->head, K);
        {
            /* the partitions that carry the echo every block, the others in turn */
            int k, done = 0;
            for (k = 0; k < K && done < ACTIVE_MAX; k++) {
                if (s->qk[k] > ACTIVE_Q && k != s->constrain) {
                    project(s, k);
                    done++;
                }
            }
            project(s, s->constrain);
            s->constrain = (s->constrain + 1) % K;
        }
    }

    /* two filters: copy when the background is better, restore it when it diverged */
    if (s->sb < s->sd
        && ((s->sb < DB_TO_POWER(COPY_BETTER_DB) * s->sf && s->dt_hang == 0)
            || s->sb < DB_TO_POWER(COPY_DT_BETTER_DB) * s->sf)) {
        if (++s->better >= (s->dt_hang == 0 ? COPY_BLOCKS : COPY_DT_BLOCKS)) {
            memcpy(s->wfr, s->wbr, 2 * (size_t) K * NBP * sizeof(float));
            s->sf = s->sb;
            s->better = 0;
            s->fg_updates++;
        }
    } else {
        s->better = 0;
    }
    if (s->sb > DB_TO_POWER(RESET_WORSE_DB) * s->sf && s->sf < DB_TO_POWER(FG_CANCELS_DB) * s->sd) {
        if (++s->worse >= RESET_BLOCKS) {
            memcpy(s->wbr, s->wfr, 2 * (size_t) K * NBP * sizeof(float));
            s->sb = s->sf;
            s->worse = 0;
            s->bg_resets++;
            if (s->win == WIN_ON) {
                int k;
                for (k = 0; k < K; k++)
                    if (k < s->win_lo || k > s->win_hi)
                        clear_partition(s, k);
            }
        }
    } else {
        s->worse = 0;
    }

    /* near-end background (minimum tracking on the linear output) and its tilt */
    {
        float p = ef / N;
        if (p < s->noise) {
            s->noise = 0.7f * s->noise + 0.3f * p;
        } else {
            s->noise *= s->noise_rise;
            if (s->noise > p)
                s->noise = p;
        }
        if (xtail < s->far_active || ef < 2.0f * s->noise * N) {
            float r0 = 0.0f, r1 = 0.0f;
            for (i = 0; i < N; i++) {
                r0 += e[i] * e[i];
                r1 += e[i] * (i > 0 ? e[i - 1] : s->e_prev);
            }
            s->nr0 = 0.9f * s->nr0 + 0.1f * r0;
            s->nr1 = 0.9f * s->nr1 + 0.1f * r1;
        }
        s->e_prev = e[N - 1];
    }
    {
        /* comfort noise: first-order AR, c(n) = a c(n-1) + u(n), u uniform; a from the
         * background's lag-1 correlation, u scaled so c has the background's power */
        float a = s->nr0 > 0.0f ? s->nr1 / s->nr0 : 0.0f;
        float p = s->noise < s->cng_max ? s->noise : s->cng_max;
        a = a > 0.9f ? 0.9f : (a < -0.9f ? -0.9f : a);
        s->cng_tilt = a;
        s->cng_amp = sqrtf(3.0f * p * (1.0f - a * a));
    }

    /* NLP decision for the next block */
    s->nlp_target = 1.0f;
    if ((s->options & ECHO_OPT_NLP) && far_on && s->dt_hang == 0 && s->converged
        && ef * DB_TO_POWER(NLP_ERLE_DB) < ed)
        s->nlp_target = 0.0f;

    prepare_next(s);
    s->blocks++;
}

static float cng_sample(echo_can_t *s)
{
    float u;
    s->rng = s->rng * 1664525u + 1013904223u;
    u = (float) (int32_t) s->rng * (1.0f / 2147483648.0f); /* uniform in [-1, 1) */
    s->cng_prev = s->cng_tilt * s->cng_prev + s->cng_amp * u;
    return s->cng_prev;
}

static int16_t sat16(float v)
{
    if (v >= 32767.0f)
        return 32767;
    if (v <= -32768.0f)
        return -32768;
    return (int16_t) lrintf(v);
}

/* Emit linear outputs e[from..to) of the current block to out[] / lin[] through the NLP. */
static void emit(echo_can_t *s, const float *e, int from, int to, int16_t *out, int16_t *lin)
{
    int i;
    for (i = from; i < to; i++) {
        float v = e[i];
        if (lin != NULL)
            lin[i - from] = sat16(v);
        if (s->options & ECHO_OPT_NLP) {
            float g = s->nlp_gain, t = s->nlp_target;
            g = t > g ? fminf(t, g + NLP_FADE) : fmaxf(t, g - NLP_FADE);
            s->nlp_gain = g;
            if (g < 1.0f) {
                float c = (s->options & ECHO_OPT_CNG) ? cng_sample(s) : 0.0f;
                v = g * v + (1.0f - g) * c;
            }
        }
        out[i - from] = sat16(v);
    }
}

int echo_can_process_ex(echo_can_t *s, const int16_t *far, const int16_t *near,
                        int16_t *out, int16_t *lin, int n)
{
    float e[N];
    int i = 0;

    if (s == NULL || far == NULL || near == NULL || out == NULL || n < 0)
        return ECHO_EINVAL;
    while (i < n) {
        int take = N - s->fill, j;
        if (take > n - i)
            take = n - i;
        for (j = 0; j < take; j++) {
            s->xwin[N + s->fill + j] = (float) far[i + j];
            s->din[s->fill + j] = (float) near[i + j];
        }
        s->fill += take;
        i += take;
        if (s->fill == N) {
            int from = s->emitted, base = i - N;
            process_block(s, e);
            emit(s, e, from, N, out + base + from, lin != NULL ? lin + base + from : NULL);
            memcpy(s->xwin, s->xwin + N, N * sizeof(float));
            memset(s->xwin + N, 0, N * sizeof(float));
            s->fill = 0;
            s->emitted = 0;
        }
    }
    if (s->fill > s->emitted) {
        /* partial block: exact outputs for the samples we have (zeros stand for the rest) */
        float pr[NBP], pi[NBP];
        int from = s->emitted, base = n - s->fill;
        s->kern->rfft(s, s->xwin, pr, pi);
        fg_output(s, pr, pi, e, from, s->fill);
        emit(s, e, from, s->fill, out + base + from, lin != NULL ? lin + base + from : NULL);
        s->emitted = s->fill;
    }
    return 0;
}

int echo_can_process(echo_can_t *s, const int16_t *far, const int16_t *near, int16_t *out, int n)
{
    return echo_can_process_ex(s, far, near, out, NULL, n);
}

void echo_can_get_stats(const echo_can_t *s, echo_can_stats_t *st)
{
    float p = s->noise > 1e-6f ? s->noise : 1e-6f;
    st->erle_db = (s->lf > 0.0f && s->ld > 0.0f) ? 10.0f * log10f(s->ld / s->lf) : 0.0f;
    st->erl_db = (s->ld > 0.0f && s->lx > 0.0f) ? 10.0f * log10f(s->lx / s->ld) : 0.0f;
    st->noise_dbm0 = 10.0f * log10f(p / DBM0_POWER);
    st->double_talk = s->dt_hang > 0;
    st->nlp_active = s->nlp_target < 1.0f;
    st->fg_updates = s->fg_updates;
    st->bg_resets = s->bg_resets;
}

int echo_can_get_impulse(const echo_can_t *s, float *h, int n)
{
    float t[M];
    int k, j, c = 0;
    if (s == NULL || h == NULL || n < 0)
        return 0;
    if (n > s->taps)
        n = s->taps;
    for (k = 0; k * N < n; k++) {
        s->kern->irfft(s, s->wfr + k * NBP, s->wfi + k * NBP, t);
        for (j = 0; j < N && c < n; j++)
            h[c++] = t[j];
    }
    return c;
}
