/* tone.c - cadenced tone generator; see tone.h. */
#include <stdlib.h>
#include <string.h>

#include "osc.h"
#include "tone.h"

struct tone_gen_s {
    tone_segment_t segs[TONE_MAX_SEGMENTS];
    int nsegs;
    int repeat;
    int active;
    int cur;              /* current segment */
    int64_t remaining;    /* samples left in it; unused for a continuous segment */
    osc_t osc1, osc2;
};

tone_gen_t *tone_gen_new(void)
{
    return calloc(1, sizeof(tone_gen_t));
}

void tone_gen_free(tone_gen_t *s)
{
    free(s);
}

static int freq_ok(float f)
{
    return f >= 0.0f && f < (float) (OSC_SAMPLE_RATE / 2);  /* false for NaN */
}

static void enter_segment(tone_gen_t *s, int i)
{
    const tone_segment_t *g = &s->segs[i];

    s->cur = i;
    s->remaining = (int64_t) g->duration_ms * (OSC_SAMPLE_RATE / 1000);
    osc_set(&s->osc1, g->f1_hz, g->level_dbm0);
    osc_set(&s->osc2, g->f2_hz, g->level_dbm0);
}

int tone_gen_set(tone_gen_t *s, const tone_segment_t *segs, int nsegs, int repeat)
{
    int i;

    s->active = 0;
    if (segs == NULL || nsegs < 1 || nsegs > TONE_MAX_SEGMENTS)
        return TONE_EINVAL;
    for (i = 0; i < nsegs; i++) {
        const tone_segment_t *g = &segs[i];

        if (!freq_ok(g->f1_hz) || !freq_ok(g->f2_hz))
            return TONE_EINVAL;
        if (!(g->level_dbm0 <= TONE_MAX_LEVEL_DBM0 && g->level_dbm0 >= -100.0f))
            return TONE_EINVAL;
        if (g->duration_ms < 0 || g->duration_ms > TONE_MAX_DURATION_MS)
            return TONE_EINVAL;
    }
    memcpy(s->segs, segs, (size_t) nsegs * sizeof(tone_segment_t));
    s->nsegs = nsegs;
    s->repeat = repeat != 0;
    s->active = 1;
    enter_segment(s, 0);
    return 0;
}

void tone_gen_stop(tone_gen_t *s)
{
    s->active = 0;
}

int tone_gen_active(const tone_gen_t *s)
{
    return s->active;
}

int tone_gen_block(tone_gen_t *s, int16_t *amp, int n)
{
    int produced = 0;

    if (n < 0)
        return TONE_EINVAL;
    while (produced < n && s->active) {
        int continuous = s->segs[s->cur].duration_ms == 0;
        int chunk = n - produced;
        int i;

        if (!continuous && s->remaining < chunk)
            chunk = (int) s->remaining;
        for (i = 0; i < chunk; i++)
            amp[produced + i] = osc_sat16(osc_next(&s->osc1) + osc_next(&s->osc2));
        produced += chunk;
        if (continuous)
            break;
        s->remaining -= chunk;
        if (s->remaining == 0) {
            if (s->cur + 1 < s->nsegs)
                enter_segment(s, s->cur + 1);
            else if (s->repeat)
                enter_segment(s, 0);
            else
                s->active = 0;
        }
    }
    if (produced < n)
        memset(amp + produced, 0, (size_t) (n - produced) * sizeof(int16_t));
    return produced;
}
