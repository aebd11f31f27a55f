/*
 * echo.c - line echo canceller (ITU-T G.168 style). Interface and memory: echo.h.
 *
 * THE PROBLEM
 * A hybrid returns part of what we send (the far end, x) back in what we receive (the near
 * end, d): d(n) = sum_k h(k) x(n-k) + v(n), where h is the echo path (a bulk delay and a
 * dispersive response of a few ms, 6 dB or more of loss: the echo return loss, ERL) and v
 * is the near-end talker plus line noise. We estimate h by an FIR filter w of N taps (the
 * tail, 8 taps per ms) and send e(n) = d(n) - sum_k w(k) x(n-k). The gain of the
 * canceller is ERLE = 10 log10(E[d^2] / E[e^2]) while only the far end talks.
 *
 * THE ADAPTIVE FILTER
 * NLMS: w += mu e(n) x_n / |x_n|^2 (x_n the last N far samples). NLMS converges fast on
 * white signals and slowly on speech, whose spectrum is far from flat (its slow modes are
 * the weak frequencies). We therefore adapt on a pre-whitened reference: a first-order
 * prediction error filter xw(n) = x(n) - a x(n-1), with a = r1/r0 the lag-one correlation
 * of the far end measured as we go (about 0 for white noise, 0.8-0.95 for voiced speech).
 * Filtering both sides of d = h*x + v by the same (1 - a z^-1) leaves h unchanged, so the
 * update uses xw and the whitened error ew(n) = e(n) - a e(n-1), and the output filter
 * still runs on x. The step is mu = 0.5 (half the fastest NLMS step: a good balance of
 * speed and misadjustment), regularised by N times a power floor of -66 dBm0 so silence
 * does not blow up the normalisation.
 *
 * TWO FILTERS: NO DIVERGENCE
 * The background filter wb adapts (whenever the far end is active and the double-talk
 * detector is quiet). The foreground filter wf makes the output. Every 8 ms block we
 * compare smoothed energies of the two errors: when the background has been 1 dB better
 * than the foreground (and better than no filter at all) for two blocks in a row, it is
 * copied into the foreground; when it has been 3 dB worse while the foreground cancels
 * at least 3 dB, something (near-end speech the detector missed) made it diverge, and it
 * is restored from the foreground. During double talk both errors carry the near-end
 * speech, the background cannot look 1 dB better unless it really models the echo
 * better, and the output keeps the last good model.
 *
 * DOUBLE-TALK DETECTION
 * Geigel: near-end speech is declared when |d(n)| exceeds half (-6 dB, the ERL G.168
 * assumes) of the largest |x| over the tail; adaptation then stops for a 30 ms hangover.
 * No copy to the foreground happens in a block that saw double talk (an NLMS adapting on
 * near-end speech partly "cancels" it, so its error can look better while its model gets
 * worse).
 *
 * NON-LINEAR PROCESSOR AND COMFORT NOISE
 * The linear canceller leaves a residual about ERLE below the echo. When the far end has
 * been active within one tail length, no double talk is held, and the linear stage is
 * cancelling at least 6 dB (short-term energies over 4 ms), the output is the residual of
 * an echo only: the NLP replaces it with comfort noise (or silence), fading in 1 ms. The
 * comfort noise is white, at the level of the near-end background measured while the far
 * end is silent (a slow minimum tracker of the error energy).
 *
 * ARITHMETIC
 * 32-bit float, sample values in 16-bit PCM units. The filter is stored time-reversed
 * (w[j] multiplies the sample of delay N-1-j) so filtering and update are one forward
 * pass over contiguous arrays. The far end lives in a linear buffer of 2N samples that is
 * shifted down once every N samples, so the current window x[q-N+1..q] and the previous
 * one x[q-N..q-1] are always contiguous. One fused pass per sample applies the previous
 * sample's update to wb and computes both filter outputs. The pass is written with 16
 * independent partial sums, which compilers turn into SIMD (SSE/AVX on x86, NEON on ARM)
 * without needing to reassociate floating-point sums. On x86 an AVX+FMA build of the same
 * C is selected at run time when the CPU has it (ECHO_OPT_PORTABLE forces the portable
 * one; the tests run both).
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

#define TAPS_PER_MS 8
#define LANES 16                  /* partial sums in the kernel; taps are a multiple */
#define BLOCK 64                  /* decision block: 8 ms */
#define MAXBLK 32                 /* |x| maximum kept per 32 samples for Geigel */

#define MU 0.5f                   /* NLMS step */
#define FLOOR_DBM0 (-66.0f)       /* regularisation floor of the NLMS normalisation */
#define FAR_ACTIVE_DBM0 (-50.0f)  /* far end active: adapt, arm the NLP */
#define WHITEN_MAX 0.95f          /* largest pre-whitening coefficient */
#define GEIGEL_DB (-6.0f)         /* |d| above max|x| at this gain: double talk */
#define DT_HANG_MS 30             /* adaptation stays frozen this long after double talk */
#define COPY_BETTER_DB (-1.0f)    /* background this much better: copy to foreground */
#define RESET_WORSE_DB 3.0f       /* background this much worse: restore it */
#define FG_CANCELS_DB (-3.0f)     /* ...while the foreground cancels at least this much */
#define NLP_ERLE_DB 6.0f          /* linear stage must cancel this much for the NLP */
#define NLP_FADE 0.125f           /* NLP gain step per sample (1 ms fade) */
#define CNG_INIT_DBM0 (-70.0f)    /* comfort noise level before anything is measured */
#define CNG_MAX_DBM0 (-40.0f)     /* comfort noise never louder than this */

typedef void (*kernel_fn)(float *wb, const float *wf, const float *x, const float *xw,
                          float g, int n, float *yb, float *yf, float *yp);

struct echo_can_s {
    int taps;                 /* N, a multiple of LANES and of MAXBLK */
    int options;
    kernel_fn kern_upd;       /* update wb by g * xw, then yb = wb.x, yf = wf.x */
    kernel_fn kern_dot;       /* yb = wb.x, yf = wf.x */
    const char *kern_name;
    void *raw;                /* the allocation (everything below points into it) */
    float *wb, *wf;           /* background and foreground filters, time-reversed, N */
    float *xb, *xwb;          /* far end and whitened far end, 2N, linear with shift */
    float *blkmax;            /* max |x| per MAXBLK samples over the tail, N / MAXBLK */

    /* constants derived from the defines, in PCM power units */
    float delta, far_active, geigel, cng_max;
    int dt_hang_len;

    /* ---- state below is cleared by reset ---- */
    int q;                    /* index of the newest sample in xb/xwb */
    float g;                  /* pending NLMS gain (applied to wb at the next sample) */
    float x_prev, eb_prev;    /* for the whitening filter */
    float d_prev;
    float a;                  /* whitening coefficient */
    double xw_pow;            /* |xw window|^2 */
    float r0, r1;             /* lag 0/1 correlations of the far end (smoothed per block) */
    float cur_max, max_full;  /* Geigel: max |x| of the current MAXBLK and over the tail */
    int blk_pos, blk_idx;
    int dt_hang;              /* samples of double-talk hangover left */
    int far_recent;           /* samples since far end was active, counted down from N */
    float px_s, pd_s, pef_s;  /* short-term powers (4 ms leaky) */
    float nlp_gain;           /* 1 = pass, 0 = fully suppressed */
    uint32_t rng;             /* comfort noise generator */
    float noise;              /* near-end background power estimate */
    float cng_amp;            /* uniform amplitude of the comfort noise */
    /* decision block */
    int bpos, badapt, bdt;
    float bd, bb, bf, bx, br0, br1;
    float sd, sb, sf;         /* smoothed block energies of d, eb, ef */
    int better, worse;
    float ld, lf, lx;         /* long-term (far-active) energies: ERLE, ERL */
    int double_talk_flag;
    uint32_t fg_updates, bg_resets;
};

/* ---- kernels -------------------------------------------------------------------------- */

/* The body is written once and instantiated for each target. n is a multiple of LANES. */
#define KERNEL_BODIES(SUFFIX, ATTR, MAC)                                                   \
    ATTR static void kern_upd_##SUFFIX(float *restrict wb, const float *restrict wf,       \
                                       const float *restrict x, const float *restrict xw,  \
                                       float g, int n, float *yb, float *yf, float *yp)    \
    {                                                                                      \
        float ab[LANES], af[LANES], ap[LANES];                                  \
        const float *xp = x - 1;                                                           \
        int j, k;                                                                          \
        for (k = 0; k < LANES; k++)                                                        \
            ab[k] = af[k] = ap[k] = 0.0f;                                          \
        for (j = 0; j < n;                                                                 \
             j += LANES, wb += LANES, wf += LANES, x += LANES, xw += LANES, xp += LANES) {  \
            for (k = 0; k < LANES; k++) {                                                  \
                float w = MAC(g, xw[k], wb[k]);                                            \
                wb[k] = w;                                                                 \
                ap[k] = MAC(w, xp[k], ap[k]);                                              \
                ab[k] = MAC(w, x[k], ab[k]);                                               \
                af[k] = MAC(wf[k], x[k], af[k]);                                           \
            }                                                                              \
        }                                                                                  \
        for (k = 1; k < LANES; k++) {                                                      \
            ab[0] += ab[k];                                                                \
            af[0] += af[k];                                                                \
            ap[0] += ap[k];                                                                \
        }                                                                                  \
        *yb = ab[0];                                                                       \
        *yf = af[0];                                                                       \
        *yp = ap[0];                                                                       \
    }                                                                                      \
    ATTR static void kern_dot_##SUFFIX(float *restrict wb, const float *restrict wf,       \
                                       const float *restrict x, const float *restrict xw,  \
                                       float g, int n, float *yb, float *yf, float *yp)    \
    {                                                                                      \
        float ab[LANES], af[LANES];                                                        \
        int j, k;                                                                          \
        (void) xw;                                                                         \
        (void) g;                                                                          \
        (void) yp;                                                                         \
        for (k = 0; k < LANES; k++)                                                        \
            ab[k] = af[k] = 0.0f;                                                          \
        for (j = 0; j < n; j += LANES, wb += LANES, wf += LANES, x += LANES) {             \
            for (k = 0; k < LANES; k++) {                                                  \
                ab[k] = MAC(wb[k], x[k], ab[k]);                                           \
                af[k] = MAC(wf[k], x[k], af[k]);                                           \
            }                                                                              \
        }                                                                                  \
        for (k = 1; k < LANES; k++) {                                                      \
            ab[0] += ab[k];                                                                \
            af[0] += af[k];                                                                \
        }                                                                                  \
        *yb = ab[0];                                                                       \
        *yf = af[0];                                                                       \
    }

#define MAC_PLAIN(a, b, c) ((a) * (b) + (c))
KERNEL_BODIES(portable, , MAC_PLAIN)

#if ECHO_X86_AVX
#define MAC_FMA(a, b, c) fmaf((a), (b), (c))
KERNEL_BODIES(avx, __attribute__((target("avx,fma"))), MAC_FMA)

static int cpu_has_avx_fma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("fma");
}
#endif

static void select_kernel(echo_can_t *s)
{
#if ECHO_X86_AVX
    if (!(s->options & ECHO_OPT_PORTABLE) && cpu_has_avx_fma()) {
        s->kern_upd = kern_upd_avx;
        s->kern_dot = kern_dot_avx;
        s->kern_name = "avx-fma";
        return;
    }
#endif
    s->kern_upd = kern_upd_portable;
    s->kern_dot = kern_dot_portable;
    s->kern_name = "portable";
}

/* ---- life cycle ----------------------------------------------------------------------- */

static int taps_for(int tail_ms)
{
    int n;

    if (tail_ms < ECHO_TAIL_MIN_MS || tail_ms > ECHO_TAIL_MAX_MS)
        return 0;
    n = tail_ms * TAPS_PER_MS;
    return (n + 31) / 32 * 32;    /* a multiple of LANES and MAXBLK (4 ms) */
}

#define ALIGN 64

size_t echo_can_state_bytes(int tail_ms)
{
    int n = taps_for(tail_ms);

    if (n == 0)
        return 0;
    return sizeof(echo_can_t) + ALIGN
           + sizeof(float) * (size_t) (6 * n + n / MAXBLK + 5 * (ALIGN / sizeof(float)));
}

echo_can_t *echo_can_new(int tail_ms, int options)
{
    echo_can_t *s;
    int n = taps_for(tail_ms);
    size_t bytes;
    unsigned char *p;
    float *f;
    const size_t pad = ALIGN / sizeof(float);

    if (n == 0 || (options & ~ECHO_OPT_ALL))
        return NULL;
    bytes = echo_can_state_bytes(tail_ms);
    p = malloc(bytes);
    if (p == NULL)
        return NULL;
    memset(p, 0, bytes);
    s = (echo_can_t *) (void *) p;
    s->raw = p;
    /* float arrays after the struct, each starting on an ALIGN boundary */
    f = (float *) (void *) (p + ((sizeof(echo_can_t) + ALIGN - 1) / ALIGN) * ALIGN);
    s->wb = f;
    f += n + pad;
    s->wf = f;
    f += n + pad;
    s->xb = f;
    f += 2 * n + pad;
    s->xwb = f;
    f += 2 * n + pad;
    s->blkmax = f;
    s->taps = n;
    s->options = options;
    s->delta = (float) n * DBM0_POWER * DB_TO_POWER(FLOOR_DBM0);
    s->far_active = DBM0_POWER * DB_TO_POWER(FAR_ACTIVE_DBM0);
    s->geigel = powf(10.0f, GEIGEL_DB / 20.0f);
    s->cng_max = DBM0_POWER * DB_TO_POWER(CNG_MAX_DBM0);
    s->dt_hang_len = DT_HANG_MS * TAPS_PER_MS;
    select_kernel(s);
    echo_can_reset(s);
    return s;
}

void echo_can_free(echo_can_t *s)
{
    if (s != NULL)
        free(s->raw);
}

void echo_can_reset(echo_can_t *s)
{
    int n = s->taps;

    memset(s->wb, 0, sizeof(float) * (size_t) n);
    memset(s->wf, 0, sizeof(float) * (size_t) n);
    memset(s->xb, 0, sizeof(float) * (size_t) (2 * n));
    memset(s->xwb, 0, sizeof(float) * (size_t) (2 * n));
    memset(s->blkmax, 0, sizeof(float) * (size_t) (n / MAXBLK));
    memset(&s->q, 0, sizeof(*s) - offsetof(echo_can_t, q));
    s->q = n - 1;               /* window xb[0..N-1]: silence */
    s->nlp_gain = 1.0f;
    s->rng = 0x12345678u;
    s->noise = DBM0_POWER * DB_TO_POWER(CNG_INIT_DBM0);
    s->cng_amp = sqrtf(3.0f * s->noise);
}

int echo_can_set_options(echo_can_t *s, int options)
{
    if (s == NULL || (options & ~ECHO_OPT_ALL))
        return ECHO_EINVAL;
    s->options = options;
    select_kernel(s);
    if (options & ECHO_OPT_FREEZE)
        s->g = 0.0f;
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
    return s->kern_name;
}

/* ---- per block ------------------------------------------------------------------------ */

static float power_db(float num, float den)
{
    if (den <= 0.0f)
        return num > 0.0f ? 99.0f : 0.0f;
    if (num <= 0.0f)
        return -99.0f;
    return 10.0f * log10f(num / den);
}

/* Every BLOCK samples: whitening coefficient, foreground/background decisions, long-term
 * statistics, comfort noise amplitude. */
static void block_decisions(echo_can_t *s)
{
    const float k_better = DB_TO_POWER(COPY_BETTER_DB);
    const float k_worse = DB_TO_POWER(RESET_WORSE_DB);
    const float k_fg = DB_TO_POWER(FG_CANCELS_DB);
    int far_on = s->bx > s->far_active * BLOCK;
    int n = s->taps;

    /* whitening: lag-one correlation, smoothed over about 128 ms */
    s->r0 += (s->br0 - s->r0) * 0.0625f;
    s->r1 += (s->br1 - s->r1) * 0.0625f;
    if (s->r0 > s->far_active * BLOCK) {
        float a = s->r1 / s->r0;
        s->a = a < 0.0f ? 0.0f : (a > WHITEN_MAX ? WHITEN_MAX : a);
    }

    s->sd += (s->bd - s->sd) * 0.5f;
    s->sb += (s->bb - s->sb) * 0.5f;
    s->sf += (s->bf - s->sf) * 0.5f;
    if (far_on && !(s->options & ECHO_OPT_FREEZE)) {
        if (s->badapt > BLOCK / 2 && s->bdt == 0 && s->sb < k_better * s->sf
            && s->sb < s->sd)
            s->better++;
        else
            s->better = 0;
        if (s->better >= 2) {
            memcpy(s->wf, s->wb, sizeof(float) * (size_t) n);
            s->sf = s->sb;
            s->better = 0;
            s->fg_updates++;
        }
        if (s->sb > k_worse * s->sf && s->sf < k_fg * s->sd)
            s->worse++;
        else
            s->worse = 0;
        if (s->worse >= 3) {
            memcpy(s->wb, s->wf, sizeof(float) * (size_t) n);
            s->sb = s->sf;
            s->worse = 0;
            s->g = 0.0f;
            s->bg_resets++;
        }
    }
    if (far_on && s->dt_hang == 0) {
        s->ld += (s->bd - s->ld) * 0.03125f;
        s->lf += (s->bf - s->lf) * 0.03125f;
        s->lx += (s->bx - s->lx) * 0.03125f;
    }
    s->cng_amp = sqrtf(3.0f * (s->noise < s->cng_max ? s->noise : s->cng_max));
    s->bpos = s->badapt = s->bdt = 0;
    s->bd = s->bb = s->bf = s->bx = s->br0 = s->br1 = 0.0f;
}

static int16_t to_pcm(float v)
{
    if (v >= 32767.0f)
        return 32767;
    if (v <= -32768.0f)
        return -32768;
    return (int16_t) lrintf(v);
}

int echo_can_process_ex(echo_can_t *s, const int16_t *far, const int16_t *near,
                        int16_t *out, int16_t *lin, int n)
{
    const int N = s != NULL ? s->taps : 0;
    const float nlp_k = DB_TO_POWER(-NLP_ERLE_DB);
    int i;

    if (s == NULL || far == NULL || near == NULL || out == NULL || n < 0)
        return ECHO_EINVAL;
    for (i = 0; i < n; i++) {
        float x = (float) far[i], d = (float) near[i];
        float xw, old, yb, yf, yp, eb, eb_post, ef, ebw, ax, o;
        float g = s->g;
        int adapt;

        /* 1. append the far sample (shift the buffers down every N samples) */
        if (s->q == 2 * N - 1) {
            memmove(s->xb, s->xb + N, sizeof(float) * (size_t) N);
            memmove(s->xwb, s->xwb + N, sizeof(float) * (size_t) N);
            s->q = N - 1;
        }
        s->q++;
        xw = x - s->a * s->x_prev;
        old = s->xwb[s->q - N];
        s->xwb[s->q] = xw;
        s->xb[s->q] = x;
        s->xw_pow += (double) xw * xw - (double) old * old;
        if (s->xw_pow < 0.0)
            s->xw_pow = 0.0;
        s->br0 += x * x;
        s->br1 += x * s->x_prev;
        s->x_prev = x;

        /* 2. apply the pending update to wb, filter with both */
        if (g != 0.0f) {
            s->kern_upd(s->wb, s->wf, s->xb + s->q - N + 1, s->xwb + s->q - N, g, N,
                        &yb, &yf, &yp);
            /* the previous error a-posteriori: after the update just applied */
            eb_post = s->d_prev - yp;
        } else {
            s->kern_dot(s->wb, s->wf, s->xb + s->q - N + 1, NULL, 0.0f, N, &yb, &yf, NULL);
            eb_post = s->eb_prev;
        }
        eb = d - yb;
        ef = d - yf;
        /* whitened error: the previous error must be the a-posteriori one (after the
         * update just applied); the a-priori one makes the loop unstable on strongly
         * correlated speech */
        ebw = eb - s->a * eb_post;
        s->d_prev = d;
        s->eb_prev = eb;

        /* 3. Geigel double-talk detector over the tail */
        ax = fabsf(x);
        if (ax > s->cur_max)
            s->cur_max = ax;
        if (++s->blk_pos == MAXBLK) {
            int k, nb = N / MAXBLK;
            float m = 0.0f;
            s->blkmax[s->blk_idx] = s->cur_max;
            s->blk_idx = s->blk_idx + 1 == nb ? 0 : s->blk_idx + 1;
            for (k = 0; k < nb; k++)
                if (s->blkmax[k] > m)
                    m = s->blkmax[k];
            s->max_full = m;
            s->cur_max = 0.0f;
            s->blk_pos = 0;
        }
        if (fabsf(d) > s->geigel * (s->max_full > s->cur_max ? s->max_full : s->cur_max)
            && fabsf(d) > 64.0f)
            s->dt_hang = s->dt_hang_len;
        else if (s->dt_hang > 0)
            s->dt_hang--;

        /* 4. short-term powers (4 ms) */
        s->px_s += (x * x - s->px_s) * 0.03125f;
        s->pd_s += (d * d - s->pd_s) * 0.03125f;
        s->pef_s += (ef * ef - s->pef_s) * 0.03125f;
        if (s->px_s > s->far_active)
            s->far_recent = N;
        else if (s->far_recent > 0)
            s->far_recent--;

        /* 5. the next NLMS gain */
        adapt = !(s->options & ECHO_OPT_FREEZE) && s->px_s > s->far_active && s->dt_hang == 0;
        s->g = adapt ? MU * ebw / (float) (s->xw_pow + s->delta) : 0.0f;
        s->badapt += adapt;

        /* 6. comfort-noise level: the near end while the far end is silent */
        if (s->far_recent == 0) {
            float r = s->pef_s < s->noise ? 0.015625f : 0.000244f;
            s->noise += (s->pef_s - s->noise) * r;
        }

        /* 7. NLP and comfort noise */
        o = ef;
        if (s->options & ECHO_OPT_NLP) {
            int on = s->far_recent > 0 && s->dt_hang == 0 && s->pef_s < nlp_k * s->pd_s;
            float cn = 0.0f;
            if (on)
                s->nlp_gain = s->nlp_gain > NLP_FADE ? s->nlp_gain - NLP_FADE : 0.0f;
            else
                s->nlp_gain = s->nlp_gain < 1.0f - NLP_FADE ? s->nlp_gain + NLP_FADE : 1.0f;
            if (s->options & ECHO_OPT_CNG) {
                s->rng = s->rng * 1664525u + 1013904223u;
                cn = s->cng_amp * ((float) (int32_t) s->rng * (1.0f / 2147483648.0f));
            }
            o = s->nlp_gain * ef + (1.0f - s->nlp_gain) * cn;
        } else {
            s->nlp_gain = 1.0f;
        }
        out[i] = to_pcm(o);
        if (lin != NULL)
            lin[i] = to_pcm(ef);

        /* 8. decision block */
        s->bd += d * d;
        s->bb += eb * eb;
        s->bf += ef * ef;
        s->bx += x * x;
        s->double_talk_flag = s->dt_hang > 0;
        s->bdt += s->dt_hang > 0;
        if (++s->bpos == BLOCK)
            block_decisions(s);
    }
    return 0;
}

int echo_can_process(echo_can_t *s, const int16_t *far, const int16_t *near, int16_t *out, int n)
{
    return echo_can_process_ex(s, far, near, out, NULL, n);
}

void echo_can_get_stats(const echo_can_t *s, echo_can_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->erle_db = power_db(s->ld, s->lf);
    st->erl_db = power_db(s->lx, s->ld);
    st->noise_dbm0 = power_db(s->noise, DBM0_POWER);
    st->double_talk = s->dt_hang > 0;
    st->nlp_active = s->nlp_gain < 0.5f;
    st->fg_updates = s->fg_updates;
    st->bg_resets = s->bg_resets;
}

int echo_can_get_impulse(const echo_can_t *s, float *h, int n)
{
    int k;

    if (n > s->taps)
        n = s->taps;
    for (k = 0; k < n; k++)
        h[k] = s->wf[s->taps - 1 - k];
    return n < 0 ? 0 : n;
}
