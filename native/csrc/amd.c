/* amd.c - voice activity for answering-machine detection; see amd.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amd.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define FRAME_MS 10
#define FLOOR_RISE_DB 0.01f        /* per frame: 1 dB/s */
#define ABOVE_FLOOR_DB 10.0f
#define LPC_ORDER 4
#define NCLASS 2                   /* AMD_VOICE, AMD_TONE */
/* dBm0 of a mean power p: 0 dBm0 = a full-scale sine less 3.14 dB (G.711 overload). */
#define DBM0_REF (32768.0f * 32768.0f / 2.0f)

typedef struct {
    int active;
    int run;              /* frames of this class in a row, before it started */
    int miss;             /* frames without it since the last one, while active */
    int64_t run_start;    /* ms: onset of the current run */
    int64_t last_end;     /* ms: end of the last frame of this class */
} edge_t;

struct amd_vad_s {
    float threshold_dbm0;
    float tone_gain_db;
    int on_frames, hang_frames;
    float floor_dbm0;
    int64_t frames;
    int fill;
    int last_class;
    int16_t buf[AMD_FRAME];
    float win[AMD_FRAME];  /* Hann window for the predictor's autocorrelation */
    edge_t edge[NCLASS];
};

amd_vad_t *amd_vad_new(void)
{
    amd_vad_t *v = calloc(1, sizeof(*v));
    int i;

    if (v == NULL)
        return NULL;
    for (i = 0; i < AMD_FRAME; i++)
        v->win[i] = 0.5f - 0.5f * cosf(2.0f * (float) M_PI * ((float) i + 0.5f) / AMD_FRAME);
    amd_vad_set(v, -42.0f, 30, 60, 20.0f);
    return v;
}

void amd_vad_free(amd_vad_t *v)
{
    free(v);
}

int amd_vad_set(amd_vad_t *v, float threshold_dbm0, int on_ms, int hang_ms,
                float tone_gain_db)
{
    if (v == NULL || !(threshold_dbm0 >= -70.0f && threshold_dbm0 <= 0.0f)
        || on_ms < 10 || on_ms > 1000 || hang_ms < 10 || hang_ms > 2000
        || !(tone_gain_db >= 5.0f && tone_gain_db <= 60.0f))
        return AMD_EINVAL;
    v->threshold_dbm0 = threshold_dbm0;
    v->tone_gain_db = tone_gain_db;
    v->on_frames = (on_ms + FRAME_MS - 1) / FRAME_MS;
    v->hang_frames = (hang_ms + FRAME_MS - 1) / FRAME_MS;
    amd_vad_reset(v);
    return 0;
}

void amd_vad_reset(amd_vad_t *v)
{
    if (v == NULL)
        return;
    v->floor_dbm0 = v->threshold_dbm0 - ABOVE_FLOOR_DB;
    v->frames = 0;
    v->fill = 0;
    v->last_class = 0;
    memset(v->edge, 0, sizeof(v->edge));
}

/* Prediction gain (dB) of an order-4 linear predictor fitted to the Hann-windowed frame:
 * its power over the residual's, by Levinson-Durbin on the autocorrelation. A tiny
 * white-noise correction (r0 x 1.0001, -40 dB) keeps the recursion stable. Measured on
 * 10 ms frames through A-law: steady tones 22-27 dB (the window's edges limit it), espeak-ng
 * and synthetic speech a median of 4-6 dB, 90 % of frames under 15 dB. */
static float prediction_gain_db(const amd_vad_t *v)
{
    float x[AMD_FRAME], r[LPC_ORDER + 1], a[LPC_ORDER + 1], tmp[LPC_ORDER + 1];
    float err, k;
    int i, j, lag;

    for (i = 0; i < AMD_FRAME; i++)
        x[i] = v->win[i] * (float) v->buf[i];
    for (lag = 0; lag <= LPC_ORDER; lag++) {
        float acc = 0.0f;

        for (i = lag; i < AMD_FRAME; i++)
            acc += x[i] * x[i - lag];
        r[lag] = acc;
    }
    if (r[0] <= 0.0f)
        return 0.0f;
    r[0] *= 1.0001f;
    err = r[0];
    memset(a, 0, sizeof(a));
    a[0] = 1.0f;
    for (i = 1; i <= LPC_ORDER; i++) {
        float acc = r[i];

        for (j = 1; j < i; j++)
            acc += a[j] * r[i - j];
        k = -acc / err;
        memcpy(tmp, a, sizeof(a));
        for (j = 1; j < i; j++)
            a[j] = tmp[j] + k * tmp[i - j];
        a[i] = k;
        err *= 1.0f - k * k;
        if (err <= 0.0f)
            return 60.0f;
    }
    return 10.0f * log10f(r[0] / err);
}

static int classify(amd_vad_t *v, const int16_t *x)
{
    float power = 0.0f, level;
    int i;

    for (i = 0; i < AMD_FRAME; i++)
        power += (float) x[i] * (float) x[i];
    power /= (float) AMD_FRAME;
    level = 10.0f * log10f(power / DBM0_REF + 1e-12f) + 3.14f;
    if (level < v->floor_dbm0)
        v->floor_dbm0 = level;
    else
        v->floor_dbm0 += FLOOR_RISE_DB;
    if (level < v->threshold_dbm0 || level < v->floor_dbm0 + ABOVE_FLOOR_DB)
        return 0;
    return prediction_gain_db(v) >= v->tone_gain_db ? AMD_TONE : AMD_VOICE;
}

static int frame(amd_vad_t *v, amd_event_t *ev, int max_ev, int nev)
{
    int cls = classify(v, v->buf);
    int64_t t0 = v->frames * FRAME_MS;
    int c;

    v->last_class = cls;
    v->frames++;
    for (c = 0; c < NCLASS; c++) {
        edge_t *e = &v->edge[c];
        int what = c + 1;
        int type = 0;
        int64_t at = 0;

        if (cls == what) {
            if (e->run == 0 && !e->active)
                e->run_start = t0;
            e->run++;
            e->miss = 0;
            e->last_end = t0 + FRAME_MS;
            if (!e->active && e->run >= v->on_frames) {
                e->active = 1;
                type = AMD_EV_START;
                at = e->run_start;
            }
        } else if (e->active) {
            if (++e->miss >= v->hang_frames) {
                e->active = 0;
                e->run = 0;
                e->miss = 0;
                type = AMD_EV_END;
                at = e->last_end;
            }
        } else {
            e->run = 0;
        }
        if (type != 0 && nev < max_ev) {
            ev[nev].type = type;
            ev[nev].what = what;
            ev[nev].ms = at;
            nev++;
        }
    }
    return nev;
}

int amd_vad_rx(amd_vad_t *v, const int16_t *amp, int n, amd_event_t *ev, int max_ev)
{
    int nev = 0, i = 0;

    if (v == NULL || (amp == NULL && n > 0) || n < 0 || (ev == NULL && max_ev > 0)
        || max_ev < 0)
        return AMD_EINVAL;
    while (i < n) {
        int take = AMD_FRAME - v->fill;

        if (take > n - i)
            take = n - i;
        memcpy(v->buf + v->fill, amp + i, (size_t) take * sizeof(int16_t));
        v->fill += take;
        i += take;
        if (v->fill == AMD_FRAME) {
            v->fill = 0;
            nev = frame(v, ev, max_ev, nev);
        }
    }
    return nev;
}

int amd_vad_frame_class(const amd_vad_t *v)
{
    return v == NULL ? 0 : v->last_class;
}
