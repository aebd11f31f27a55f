/* dtmf.c - DTMF generator and Goertzel detector; see dtmf.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtmf.h"
#include "osc.h"

static const char digit_map[4][4] = {
    {'1', '2', '3', 'A'},
    {'4', '5', '6', 'B'},
    {'7', '8', '9', 'C'},
    {'*', '0', '#', 'D'},
};
static const float row_hz[4] = {697.0f, 770.0f, 852.0f, 941.0f};
static const float col_hz[4] = {1209.0f, 1336.0f, 1477.0f, 1633.0f};

static int digit_pos(char c, int *row, int *col)
{
    int r, k;

    for (r = 0; r < 4; r++)
        for (k = 0; k < 4; k++)
            if (digit_map[r][k] == c && c != '\0') {
                *row = r;
                *col = k;
                return 1;
            }
    return 0;
}

int dtmf_is_digit(char c)
{
    int r, k;

    return digit_pos(c, &r, &k);
}

/* ---- generator ---------------------------------------------------------------- */

enum { GEN_IDLE, GEN_ON, GEN_OFF };

struct dtmf_gen_s {
    float level_dbm0, twist_db;
    int32_t on_samples, off_samples;
    char queue[DTMF_GEN_QUEUE_LEN];
    int q_head, q_count;
    int state;
    int32_t remaining;
    osc_t lo, hi;
};

dtmf_gen_t *dtmf_gen_new(void)
{
    dtmf_gen_t *s = calloc(1, sizeof(dtmf_gen_t));

    if (s != NULL)
        dtmf_gen_set(s, -10.0f, 0.0f, 80, 80);
    return s;
}

void dtmf_gen_free(dtmf_gen_t *s)
{
    free(s);
}

int dtmf_gen_set(dtmf_gen_t *s, float level_dbm0, float twist_db, int on_ms, int off_ms)
{
    if (!(level_dbm0 >= -60.0f && level_dbm0 <= 3.14f))
        return DTMF_EINVAL;
    if (!(twist_db >= -20.0f && twist_db <= 20.0f))
        return DTMF_EINVAL;
    if (on_ms < 1 || on_ms > 10000 || off_ms < 0 || off_ms > 10000)
        return DTMF_EINVAL;
    s->level_dbm0 = level_dbm0;
    s->twist_db = twist_db;
    s->on_samples = on_ms * (OSC_SAMPLE_RATE / 1000);
    s->off_samples = off_ms * (OSC_SAMPLE_RATE / 1000);
    return 0;
}

int dtmf_gen_put(dtmf_gen_t *s, const char *digits)
{
    size_t len, i;

    if (digits == NULL)
        return DTMF_EINVAL;
    len = strlen(digits);
    for (i = 0; i < len; i++)
        if (!dtmf_is_digit(digits[i]))
            return DTMF_EINVAL;
    if (len > (size_t) (DTMF_GEN_QUEUE_LEN - s->q_count))
        return DTMF_EFULL;
    for (i = 0; i < len; i++) {
        s->queue[(s->q_head + s->q_count) % DTMF_GEN_QUEUE_LEN] = digits[i];
        s->q_count++;
    }
    return (int) len;
}

void dtmf_gen_reset(dtmf_gen_t *s)
{
    s->q_count = 0;
    s->state = GEN_IDLE;
    s->remaining = 0;
}

/* With the current part used up, move to the next one that has samples, or go idle. */
static void gen_advance(dtmf_gen_t *s)
{
    while (s->remaining == 0) {
        if (s->state == GEN_ON) {
            s->state = GEN_OFF;
            s->remaining = s->off_samples;
        } else if (s->q_count > 0) {
            int row = 0, col = 0;
            char c = s->queue[s->q_head];

            s->q_head = (s->q_head + 1) % DTMF_GEN_QUEUE_LEN;
            s->q_count--;
            digit_pos(c, &row, &col);
            s->lo.phase = 0;
            s->hi.phase = 0;
            osc_set(&s->lo, row_hz[row], s->level_dbm0);
            osc_set(&s->hi, col_hz[col], s->level_dbm0 + s->twist_db);
            s->state = GEN_ON;
            s->remaining = s->on_samples;
        } else {
            s->state = GEN_IDLE;
            return;
        }
    }
}

int dtmf_gen_busy(const dtmf_gen_t *s)
{
    return s->state != GEN_IDLE || s->q_count > 0;
}

int dtmf_gen_block(dtmf_gen_t *s, int16_t *amp, int n)
{
    int produced = 0;

    if (n < 0)
        return DTMF_EINVAL;
    gen_advance(s);
    while (produced < n && s->state != GEN_IDLE) {
        int chunk = n - produced;
        int i;

        if (s->remaining < chunk)
            chunk = (int) s->remaining;
        if (s->state == GEN_ON) {
            for (i = 0; i < chunk; i++)
                amp[produced + i] = osc_sat16(osc_next(&s->lo) + osc_next(&s->hi));
        } else {
            memset(amp + produced, 0, (size_t) chunk * sizeof(int16_t));
        }
        produced += chunk;
        s->remaining -= chunk;
        gen_advance(s);
    }
    if (produced < n)
        memset(amp + produced, 0, (size_t) (n - produced) * sizeof(int16_t));
    return produced;
}

/* ---- detector ----------------------------------------------------------------- */

/* Window length and hop (samples); the hop is DTMF_DET_BLOCK. */
#define WIN 128
#define HOP DTMF_DET_BLOCK
#define QUARTER (WIN / 4)
#define TWO_PI 6.283185307f

/* Hann window w[m] = sin^2(pi (m + 0.5) / 128): sum 64, sum of squares 48. */
static const float hann[WIN] = {
    0.000150591f, 0.001354772f, 0.003760233f, 0.007361179f, 0.012148935f, 0.018111967f,
    0.025235910f, 0.033503601f, 0.042895122f, 0.053387849f, 0.064956504f, 0.077573217f,
    0.091207593f, 0.105826786f, 0.121395577f, 0.137876459f, 0.155229728f, 0.173413579f,
    0.192384205f, 0.212095904f, 0.232501190f, 0.253550904f, 0.275194335f, 0.297379343f,
    0.320052482f, 0.343159130f, 0.366643621f, 0.390449380f, 0.414519056f, 0.438794662f,
    0.463217718f, 0.487729386f, 0.512270614f, 0.536782282f, 0.561205338f, 0.585480944f,
    0.609550620f, 0.633356379f, 0.656840870f, 0.679947518f, 0.702620657f, 0.724805665f,
    0.746449096f, 0.767498810f, 0.787904096f, 0.807615795f, 0.826586421f, 0.844770272f,
    0.862123541f, 0.878604423f, 0.894173214f, 0.908792407f, 0.922426783f, 0.935043496f,
    0.946612151f, 0.957104878f, 0.966496399f, 0.974764090f, 0.981888033f, 0.987851065f,
    0.992638821f, 0.996239767f, 0.998645228f, 0.999849409f, 0.999849409f, 0.998645228f,
    0.996239767f, 0.992638821f, 0.987851065f, 0.981888033f, 0.974764090f, 0.966496399f,
    0.957104878f, 0.946612151f, 0.935043496f, 0.922426783f, 0.908792407f, 0.894173214f,
    0.878604423f, 0.862123541f, 0.844770272f, 0.826586421f, 0.807615795f, 0.787904096f,
    0.767498810f, 0.746449096f, 0.724805665f, 0.702620657f, 0.679947518f, 0.656840870f,
    0.633356379f, 0.609550620f, 0.585480944f, 0.561205338f, 0.536782282f, 0.512270614f,
    0.487729386f, 0.463217718f, 0.438794662f, 0.414519056f, 0.390449380f, 0.366643621f,
    0.343159130f, 0.320052482f, 0.297379343f, 0.275194335f, 0.253550904f, 0.232501190f,
    0.212095904f, 0.192384205f, 0.173413579f, 0.155229728f, 0.137876459f, 0.121395577f,
    0.105826786f, 0.091207593f, 0.077573217f, 0.064956504f, 0.053387849f, 0.042895122f,
    0.033503601f, 0.025235910f, 0.018111967f, 0.012148935f, 0.007361179f, 0.003760233f,
    0.001354772f, 0.000150591f
};
#define HANN_SUM 64.0f
#define HANN_SUM_SQ 48.0f

/* Goertzel coefficient 2 cos w per bin (rows, then columns), w = 2 pi f / 8000. */
static const float goertzel_coef[8] = {
    1.707737809f, 1.645281036f, 1.568686984f, 1.478204568f,
    1.164104023f, 0.996370211f, 0.798618389f, 0.568532707f,
};
/* (2 cos w)^2 - 1 per bin, for two Goertzel steps at once. */
static const float goertzel_pair[8] = {
    1.916368425f, 1.706949688f, 1.460778853f, 1.185088746f,
    0.355138176f, -0.007246403f, -0.362208668f, -0.676770561f,
};
/* Per bin: cos w, sin w (complex output), cos(w HOP), sin(w HOP) (nominal phase advance
 * from one window to the next). */
static const float bin_rot[8][4] = {
    {0.853868905f, 0.520488130f, -0.888136449f, -0.459579861f}, /*  697 */
    {0.822640518f, 0.568561851f, 0.535826795f, 0.844327926f},    /*  770 */
    {0.784343492f, 0.620326758f, 0.402906436f, -0.915241173f},   /*  852 */
    {0.739102284f, 0.673593211f, -0.984564335f, -0.175023059f},  /*  941 */
    {0.582052012f, 0.813151558f, -0.470703932f, -0.882291226f},  /* 1209 */
    {0.498185105f, 0.867070701f, -0.379779096f, -0.925077207f},  /* 1336 */
    {0.399309195f, 0.916816321f, 0.402906436f, -0.915241173f},   /* 1477 */
    {0.284266353f, 0.958745347f, 0.920231847f, 0.391373667f},    /* 1633 */
};

/* Accept a tone whose frequency, measured from the phase advance between windows, is
 * within this fraction of nominal: halfway between Q.24's must-accept 1.5 % and
 * must-reject 3.5 %. */
#define FREQ_TOL 0.025f
/* Per window, before the frequency is known, a tone may be this far below the threshold
 * (a tone 2.5 % off loses up to 3.6 dB in the Hann window; -4 dB). */
#define LOOSE_LEVEL 0.4f
/* The two tones (level corrected for frequency offset) carry at least this share of each
 * window's energy (-0.46 dB): DTMF is nearly all tone, speech is not. */
#define TONE_TO_TOTAL 0.9f
/* Each tone's level in the two windows of a hit agrees within 2 dB (power ratio). */
#define LEVEL_STEADY 1.585f
/* The weakest 4 ms quarter of a window has at least this share of the strongest. */
#define QUARTER_STEADY 0.35f
/* Twist is measured to about +-0.3 dB; the limits get this much grace so that a digit at
 * exactly the configured limit is accepted (1 dB beyond it is rejected). */
#define TWIST_GRACE_DB 0.5f
/* Consecutive hops without a hit that end a digit. */
#define END_MISSES 3
/* Onset = start of the first window of the first hit + ONSET_ADJUST samples;
 * offset = end of the last window of the last hit + OFFSET_ADJUST samples. */
#define ONSET_ADJUST (-12)
#define OFFSET_ADJUST 12

struct dtmf_det_s {
    /* configuration: mean-square threshold per tone, twist limits as power ratios */
    float threshold_ms;
    float fwd_twist, rev_twist;
    /* two Hann-windowed Goertzel banks overlapping by half a window: bank `late` is in the
     * second half of its window (the one that ends with the current hop) */
    float s1[2][8], s2[2][8];
    float wen[2];            /* sum of (w x)^2 per bank */
    float qen[4];            /* plain energy of the last 4 quarters (ring) */
    int late;
    int pos;                 /* samples into the current hop */
    int64_t hop_end;         /* sample index just past the current hop */
    /* the previous window: its candidate digit (0 if none), bins and energy */
    char prev_cand;
    float prev_re[8], prev_im[8], prev_ms[8], prev_total;
    /* digit state */
    char last_hit;           /* hit of the previous hop, or 0 */
    char current;            /* digit held, or 0 */
    int misses;              /* consecutive hops without it */
    int64_t last_hit_end;    /* end of the last window of the last hit of `current` */
    uint32_t dropped;
};

dtmf_det_t *dtmf_det_new(void)
{
    dtmf_det_t *s = calloc(1, sizeof(dtmf_det_t));

    if (s != NULL)
        dtmf_det_set(s, -38.0f, 4.0f, 8.0f);
    return s;
}

void dtmf_det_free(dtmf_det_t *s)
{
    free(s);
}

int dtmf_det_set(dtmf_det_t *s, float threshold_dbm0, float fwd_twist_db, float rev_twist_db)
{
    float peak;

    if (!(threshold_dbm0 >= -60.0f && threshold_dbm0 <= 0.0f))
        return DTMF_EINVAL;
    if (!(fwd_twist_db >= 0.0f && fwd_twist_db <= 20.0f))
        return DTMF_EINVAL;
    if (!(rev_twist_db >= 0.0f && rev_twist_db <= 20.0f))
        return DTMF_EINVAL;
    peak = osc_dbm0_to_peak(threshold_dbm0);
    s->threshold_ms = peak * peak / 2.0f;
    s->fwd_twist = powf(10.0f, (fwd_twist_db + TWIST_GRACE_DB) / 10.0f);
    s->rev_twist = powf(10.0f, (rev_twist_db + TWIST_GRACE_DB) / 10.0f);
    dtmf_det_reset(s);
    return 0;
}

void dtmf_det_reset(dtmf_det_t *s)
{
    memset(s->s1, 0, sizeof(s->s1));
    memset(s->s2, 0, sizeof(s->s2));
    memset(s->wen, 0, sizeof(s->wen));
    memset(s->qen, 0, sizeof(s->qen));
    s->late = 0;
    s->pos = 0;
    s->hop_end = HOP;
    s->prev_cand = 0;
    s->last_hit = 0;
    s->current = 0;
    s->misses = 0;
    s->last_hit_end = 0;
    s->dropped = 0;
}

char dtmf_det_current(const dtmf_det_t *s)
{
    return s->current;
}

uint32_t dtmf_det_dropped(const dtmf_det_t *s)
{
    return s->dropped;
}

/* Hann window power response at an offset of d bins (|d| < 1) relative to d = 0:
 * (sinc(d) / (1 - d^2))^2. */
static float hann_gain(float d)
{
    float x = 3.14159265f * d;
    float g;

    if (fabsf(d) < 1e-4f)
        return 1.0f;
    g = sinf(x) / x / (1.0f - d * d);
    return g * g;
}

/* Both the window just completed (bins re/im/ms, energy total) and the previous one are
 * candidates for the digit at row r, column c. Measure each tone's frequency from its
 * phase advance over the hop, correct its level for the offset, and check level,
 * steadiness, twist and purity over the two windows: 1 if a hit. */
static int confirm_hit(const dtmf_det_t *s, const float *re, const float *im,
                       const float *ms, float total, int r, int c)
{
    const int bins[2] = {r, 4 + c};
    float now[2], before[2];
    int j;

    for (j = 0; j < 2; j++) {
        int k = bins[j];
        const float *rot = bin_rot[k];
        /* y_now conj(y_prev) e^(-j w HOP): its angle is the phase advance beyond nominal */
        float dre = re[k] * s->prev_re[k] + im[k] * s->prev_im[k];
        float dim = im[k] * s->prev_re[k] - re[k] * s->prev_im[k];
        float are = dre * rot[2] + dim * rot[3];
        float aim = dim * rot[2] - dre * rot[3];
        float df = atan2f(aim, are) * ((float) OSC_SAMPLE_RATE / (TWO_PI * (float) HOP));
        float f = k < 4 ? row_hz[k] : col_hz[k - 4];
        float gain;

        if (!(fabsf(df) <= FREQ_TOL * f))
            return 0;
        gain = hann_gain(df * ((float) WIN / (float) OSC_SAMPLE_RATE));
        now[j] = ms[k] / gain;
        before[j] = s->prev_ms[k] / gain;
        if (now[j] < s->threshold_ms || before[j] < s->threshold_ms)
            return 0;
        if (now[j] > LEVEL_STEADY * before[j] || before[j] > LEVEL_STEADY * now[j])
            return 0;
    }
    if (now[0] + now[1] < TONE_TO_TOTAL * total
        || before[0] + before[1] < TONE_TO_TOTAL * s->prev_total)
        return 0;
    now[0] += before[0];
    now[1] += before[1];
    if (now[1] > now[0] * s->fwd_twist || now[0] > now[1] * s->rev_twist)
        return 0;
    return 1;
}

static void emit(dtmf_det_t *s, dtmf_event_t *ev, int max_ev, int *nev, int type, char digit,
                 int64_t sample)
{
    if (*nev >= max_ev) {
        s->dropped++;
        return;
    }
    if (sample < 0)
        sample = 0;
    ev[*nev].type = type;
    ev[*nev].digit = digit;
    ev[*nev].time_ms = sample / (OSC_SAMPLE_RATE / 1000);
    (*nev)++;
}

/* A hop just ended, and with it the window of bank `late`: classify the window, decide
 * whether the hop is a hit, run the digit state machine, then start a new window. */
static void end_hop(dtmf_det_t *s, dtmf_event_t *ev, int max_ev, int *nev)
{
    const float scale = 2.0f / (HANN_SUM * HANN_SUM);
    const int b = s->late;
    float re[8], im[8], ms[8], total, qmin, qmax;
    int i, r = 0, c = 0;
    char cand = 0, hit = 0;

    /* Goertzel output y = s1 - e^(-jw) s2; its mean-square-equivalent level 2|y|^2/(sum w)^2
     * is A^2/2 for a sine of peak A at the bin frequency. */
    for (i = 0; i < 8; i++) {
        re[i] = s->s1[b][i] - bin_rot[i][0] * s->s2[b][i];
        im[i] = bin_rot[i][1] * s->s2[b][i];
        ms[i] = scale * (re[i] * re[i] + im[i] * im[i]);
    }
    total = s->wen[b] / HANN_SUM_SQ;
    for (i = 1; i < 4; i++) {
        if (ms[i] > ms[r])
            r = i;
        if (ms[4 + i] > ms[4 + c])
            c = i;
    }
    qmin = qmax = s->qen[0];
    for (i = 1; i < 4; i++) {
        if (s->qen[i] < qmin)
            qmin = s->qen[i];
        if (s->qen[i] > qmax)
            qmax = s->qen[i];
    }
    if (ms[r] >= LOOSE_LEVEL * s->threshold_ms && ms[4 + c] >= LOOSE_LEVEL * s->threshold_ms
        && ms[r] + ms[4 + c] >= LOOSE_LEVEL * total && qmin >= QUARTER_STEADY * qmax)
        cand = digit_map[r][c];
    if (cand != 0 && cand == s->prev_cand && confirm_hit(s, re, im, ms, total, r, c))
        hit = cand;

    if (s->current != 0) {
        if (hit == s->current) {
            s->misses = 0;
            s->last_hit_end = s->hop_end;
        } else if (++s->misses >= END_MISSES) {
            emit(s, ev, max_ev, nev, DTMF_DIGIT_END, s->current,
                 s->last_hit_end + OFFSET_ADJUST);
            s->current = 0;
            s->misses = 0;
        }
    }
    if (s->current == 0 && hit != 0 && hit == s->last_hit) {
        s->current = hit;
        s->misses = 0;
        s->last_hit_end = s->hop_end;
        /* first window of the first hit: the one before the previous */
        emit(s, ev, max_ev, nev, DTMF_DIGIT_START, hit,
             s->hop_end - WIN - 2 * HOP + ONSET_ADJUST);
    }
    s->last_hit = hit;

    s->prev_cand = cand;
    memcpy(s->prev_re, re, sizeof(re));
    memcpy(s->prev_im, im, sizeof(im));
    memcpy(s->prev_ms, ms, sizeof(ms));
    s->prev_total = total;

    memset(s->s1[b], 0, sizeof(s->s1[b]));
    memset(s->s2[b], 0, sizeof(s->s2[b]));
    s->wen[b] = 0.0f;
    s->late = 1 - b;
    s->pos = 0;
    s->hop_end += HOP;
}

/* Feed samples amp[0..n) that all fall in the current hop and one quarter. The two banks
 * run in local copies (no aliasing, so the 8-lane loops vectorise); one multiply-add chain
 * per bin and bank per sample. */
static void feed(dtmf_det_t *s, const int16_t *amp, int n, float *qacc)
{
    const float *wl = hann + HOP + s->pos;   /* the late bank: second half of its window */
    const float *we = hann + s->pos;         /* the early bank: first half */
    const int lb = s->late, eb = 1 - s->late;
    float l1[8], l2[8], e1[8], e2[8];
    float el = s->wen[lb], ee = s->wen[eb], q = *qacc;
    int i, k;

    memcpy(l1, s->s1[lb], sizeof(l1));
    memcpy(l2, s->s2[lb], sizeof(l2));
    memcpy(e1, s->s1[eb], sizeof(e1));
    memcpy(e2, s->s2[eb], sizeof(e2));
    /* Two samples per step: s[n] = c s1 + (x0 - s2) and, substituting it,
     * s[n+1] = (c^2 - 1) s1 + (c (x0 - s2) + x1); both wait only for the old s1. */
    for (i = 0; i + 1 < n; i += 2) {
        float x0 = (float) amp[i], x1 = (float) amp[i + 1];
        float xl0 = x0 * wl[i], xl1 = x1 * wl[i + 1];
        float xe0 = x0 * we[i], xe1 = x1 * we[i + 1];

        for (k = 0; k < 8; k++) {
            float ul = xl0 - l2[k], ue = xe0 - e2[k];

            l2[k] = goertzel_coef[k] * l1[k] + ul;
            l1[k] = goertzel_pair[k] * l1[k] + (goertzel_coef[k] * ul + xl1);
            e2[k] = goertzel_coef[k] * e1[k] + ue;
            e1[k] = goertzel_pair[k] * e1[k] + (goertzel_coef[k] * ue + xe1);
        }
        el += xl0 * xl0 + xl1 * xl1;
        ee += xe0 * xe0 + xe1 * xe1;
        q += x0 * x0 + x1 * x1;
    }
    for (; i < n; i++) {
        float x = (float) amp[i];
        float xl = x * wl[i], xe = x * we[i];

        for (k = 0; k < 8; k++) {
            /* (x - s2) first: only the multiply-add waits for the newest s1 */
            float tl = goertzel_coef[k] * l1[k] + (xl - l2[k]);
            float te = goertzel_coef[k] * e1[k] + (xe - e2[k]);

            l2[k] = l1[k];
            l1[k] = tl;
            e2[k] = e1[k];
            e1[k] = te;
        }
        el += xl * xl;
        ee += xe * xe;
        q += x * x;
    }
    memcpy(s->s1[lb], l1, sizeof(l1));
    memcpy(s->s2[lb], l2, sizeof(l2));
    memcpy(s->s1[eb], e1, sizeof(e1));
    memcpy(s->s2[eb], e2, sizeof(e2));
    s->wen[lb] = el;
    s->wen[eb] = ee;
    *qacc = q;
}

int dtmf_det_rx(dtmf_det_t *s, const int16_t *amp, int n, dtmf_event_t *ev, int max_ev)
{
    int nev = 0;
    int done = 0;

    if (n < 0 || max_ev < 0 || (n > 0 && amp == NULL) || (max_ev > 0 && ev == NULL))
        return DTMF_EINVAL;
    while (done < n) {
        /* the quarter in progress is qen[(pos / QUARTER) + 2 * late]: with HOP = 2
         * quarters, the ring index advances 0 1 2 3 over two hops */
        int qi = s->pos / QUARTER + 2 * s->late;
        int chunk = QUARTER - s->pos % QUARTER;

        if (chunk > n - done)
            chunk = n - done;
        if (s->pos % QUARTER == 0)
            s->qen[qi] = 0.0f;
        feed(s, amp + done, chunk, &s->qen[qi]);
        s->pos += chunk;
        done += chunk;
        if (s->pos == HOP)
            end_hop(s, ev, max_ev, &nev);
    }
    return nev;
}
