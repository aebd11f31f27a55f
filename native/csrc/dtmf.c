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

/* Goertzel coefficients 2 cos(2 pi f / 8000): rows then columns. */
static const float goertzel_coef[8] = {
    1.707737809f, 1.645281036f, 1.568686984f, 1.478204568f,
    1.164104023f, 0.996370211f, 0.798618389f, 0.568532707f,
};

#define THIRD (DTMF_DET_BLOCK / 3)
/* Each tone beats every other tone of its group by 8 dB (power ratio). */
#define RELATIVE_PEAK 6.31f
/* The two tones carry at least this share of the block energy (-3 dB). */
#define TONE_TO_TOTAL 0.5f
/* The weakest third of a block has at least this share of the strongest (-3 dB). */
#define THIRDS_STEADY 0.5f
/* Onset/offset estimate: 0.4 block before the first hit / after the first miss. */
#define EDGE_ADJUST ((DTMF_DET_BLOCK * 2) / 5)

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

struct dtmf_det_s {
    /* configuration: mean-square threshold per tone, twist limits as power ratios */
    float threshold_ms;
    float fwd_twist, rev_twist;
    /* the block in progress */
    float s1[8], s2[8];      /* Goertzel state */
    float third_energy[3];
    int in_block;            /* samples so far */
    int64_t block_start;     /* sample index of the block's first sample */
    /* digit state */
    char last_hit;           /* hit of the previous block, or 0 */
    int64_t last_hit_start;  /* its block start */
    char current;            /* digit held, or 0 */
    int misses;              /* consecutive blocks without it */
    int64_t first_miss;      /* block start of the first of them */
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
    s->fwd_twist = powf(10.0f, fwd_twist_db / 10.0f);
    s->rev_twist = powf(10.0f, rev_twist_db / 10.0f);
    dtmf_det_reset(s);
    return 0;
}

void dtmf_det_reset(dtmf_det_t *s)
{
    memset(s->s1, 0, sizeof(s->s1));
    memset(s->s2, 0, sizeof(s->s2));
    memset(s->third_energy, 0, sizeof(s->third_energy));
    s->in_block = 0;
    s->block_start = 0;
    s->last_hit = 0;
    s->last_hit_start = 0;
    s->current = 0;
    s->misses = 0;
    s->first_miss = 0;
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

/* Classify the finished block: the digit it is a hit for, or 0. */
static char block_hit(const dtmf_det_t *s)
{
    /* Goertzel power |X|^2 of a sine of peak A over N samples is (A N / 2)^2; scaled by
     * 2 / N^2 it is the tone's mean square A^2 / 2, comparable with the threshold. */
    const float scale = 2.0f / ((float) DTMF_DET_BLOCK * (float) DTMF_DET_BLOCK);
    float ms[8], total, emin, emax;
    int i, r = 0, c = 4;

    for (i = 0; i < 8; i++)
        ms[i] = scale * (s->s1[i] * s->s1[i] + s->s2[i] * s->s2[i]
                         - goertzel_coef[i] * s->s1[i] * s->s2[i]);
    for (i = 1; i < 4; i++) {
        if (ms[i] > ms[r])
            r = i;
        if (ms[4 + i] > ms[c])
            c = 4 + i;
    }
    if (ms[r] < s->threshold_ms || ms[c] < s->threshold_ms)
        return 0;
    if (ms[c] > ms[r] * s->fwd_twist || ms[r] > ms[c] * s->rev_twist)
        return 0;
    for (i = 0; i < 4; i++) {
        if (i != r && ms[r] < RELATIVE_PEAK * ms[i])
            return 0;
        if (4 + i != c && ms[c] < RELATIVE_PEAK * ms[4 + i])
            return 0;
    }
    total = (s->third_energy[0] + s->third_energy[1] + s->third_energy[2])
            / (float) DTMF_DET_BLOCK;
    if (ms[r] + ms[c] < TONE_TO_TOTAL * total)
        return 0;
    emin = emax = s->third_energy[0];
    for (i = 1; i < 3; i++) {
        if (s->third_energy[i] < emin)
            emin = s->third_energy[i];
        if (s->third_energy[i] > emax)
            emax = s->third_energy[i];
    }
    if (emin < THIRDS_STEADY * emax)
        return 0;
    return digit_map[r][c - 4];
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

/* The block just finished: run the digit state machine. */
static void end_block(dtmf_det_t *s, dtmf_event_t *ev, int max_ev, int *nev)
{
    char hit = block_hit(s);

    if (s->current != 0) {
        if (hit == s->current) {
            s->misses = 0;
        } else {
            if (s->misses++ == 0)
                s->first_miss = s->block_start;
            if (s->misses >= 2) {
                emit(s, ev, max_ev, nev, DTMF_DIGIT_END, s->current,
                     s->first_miss + EDGE_ADJUST);
                s->current = 0;
                s->misses = 0;
            }
        }
    }
    if (s->current == 0 && hit != 0 && hit == s->last_hit) {
        s->current = hit;
        s->misses = 0;
        emit(s, ev, max_ev, nev, DTMF_DIGIT_START, hit, s->last_hit_start - EDGE_ADJUST);
    }
    s->last_hit = hit;
    s->last_hit_start = s->block_start;

    memset(s->s1, 0, sizeof(s->s1));
    memset(s->s2, 0, sizeof(s->s2));
    memset(s->third_energy, 0, sizeof(s->third_energy));
    s->in_block = 0;
    s->block_start += DTMF_DET_BLOCK;
}

int dtmf_det_rx(dtmf_det_t *s, const int16_t *amp, int n, dtmf_event_t *ev, int max_ev)
{
    int nev = 0;
    int pos = 0;

    if (n < 0 || max_ev < 0 || (n > 0 && amp == NULL) || (max_ev > 0 && ev == NULL))
        return DTMF_EINVAL;
    while (pos < n) {
        int chunk = DTMF_DET_BLOCK - s->in_block;
        int i, k;

        if (chunk > n - pos)
            chunk = n - pos;
        for (i = 0; i < chunk; i++) {
            float x = (float) amp[pos + i];

            for (k = 0; k < 8; k++) {
                float s0 = goertzel_coef[k] * s->s1[k] - s->s2[k] + x;

                s->s2[k] = s->s1[k];
                s->s1[k] = s0;
            }
            s->third_energy[(s->in_block + i) / THIRD] += x * x;
        }
        s->in_block += chunk;
        pos += chunk;
        if (s->in_block == DTMF_DET_BLOCK)
            end_block(s, ev, max_ev, &nev);
    }
    return nev;
}
