/* cpt.c - call-progress tone detection with cadence; see cpt.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpt.h"
#include "osc.h"

#define SUB 3                  /* filters per frequency from SUB_FROM_HZ: f, f(1 -+ 1.5 %) */
/* Frequencies from this one get SUB filters, lower ones one. 0: all get SUB. Measured:
 * 700 Hz saves ~30 % but loses ringback at -2 % and 10 dB SNR (purity near 0.6). */
#define SUB_FROM_HZ 0.0f
#define SUB_STEP 0.015f
#define LANES 8
#define MAX_BINS (CPT_MAX_FREQS * SUB)         /* 48, a multiple of LANES */
#define MAX_PROFILES (CPT_MAX_TONES * CPT_MAX_SEGMENTS)
#define HIST 32                                /* completed runs kept */
#define BLOCK_MS (CPT_BLOCK * 1000 / OSC_SAMPLE_RATE)   /* 32 */
#define TWO_PI 6.283185307f

/* Hann window w[m] = sin^2(pi (m + 0.5) / 256): sum 128, sum of squares 96. */
static const float hann[CPT_BLOCK] = {
    0.000037649f, 0.000338808f, 0.000940944f, 0.001843694f, 0.003046515f, 0.004548682f,
    0.006349291f, 0.008447256f, 0.010841315f, 0.013530024f, 0.016511764f, 0.019784740f,
    0.023346980f, 0.027196337f, 0.031330494f, 0.035746960f, 0.040443074f, 0.045416008f,
    0.050662767f, 0.056180190f, 0.061964953f, 0.068013572f, 0.074322403f, 0.080887647f,
    0.087705349f, 0.094771401f, 0.102081548f, 0.109631386f, 0.117416367f, 0.125431803f,
    0.133672864f, 0.142134587f, 0.150811875f, 0.159699501f, 0.168792111f, 0.178084229f,
    0.187570256f, 0.197244479f, 0.207101071f, 0.217134095f, 0.227337506f, 0.237705159f,
    0.248230808f, 0.258908114f, 0.269730645f, 0.280691881f, 0.291785220f, 0.303003980f,
    0.314341403f, 0.325790660f, 0.337344854f, 0.348997025f, 0.360740155f, 0.372567170f,
    0.384470946f, 0.396444312f, 0.408480056f, 0.420570928f, 0.432709646f, 0.444888896f,
    0.457101344f, 0.469339632f, 0.481596389f, 0.493864231f, 0.506135769f, 0.518403611f,
    0.530660368f, 0.542898656f, 0.555111104f, 0.567290354f, 0.579429072f, 0.591519944f,
    0.603555688f, 0.615529054f, 0.627432830f, 0.639259845f, 0.651002975f, 0.662655146f,
    0.674209340f, 0.685658597f, 0.696996020f, 0.708214780f, 0.719308119f, 0.730269355f,
    0.741091886f, 0.751769192f, 0.762294841f, 0.772662494f, 0.782865905f, 0.792898929f,
    0.802755521f, 0.812429744f, 0.821915771f, 0.831207889f, 0.840300499f, 0.849188125f,
    0.857865413f, 0.866327136f, 0.874568197f, 0.882583633f, 0.890368614f, 0.897918452f,
    0.905228599f, 0.912294651f, 0.919112353f, 0.925677597f, 0.931986428f, 0.938035047f,
    0.943819810f, 0.949337233f, 0.954583992f, 0.959556926f, 0.964253040f, 0.968669506f,
    0.972803663f, 0.976653020f, 0.980215260f, 0.983488236f, 0.986469976f, 0.989158685f,
    0.991552744f, 0.993650709f, 0.995451318f, 0.996953485f, 0.998156306f, 0.999059056f,
    0.999661192f, 0.999962351f, 0.999962351f, 0.999661192f, 0.999059056f, 0.998156306f,
    0.996953485f, 0.995451318f, 0.993650709f, 0.991552744f, 0.989158685f, 0.986469976f,
    0.983488236f, 0.980215260f, 0.976653020f, 0.972803663f, 0.968669506f, 0.964253040f,
    0.959556926f, 0.954583992f, 0.949337233f, 0.943819810f, 0.938035047f, 0.931986428f,
    0.925677597f, 0.919112353f, 0.912294651f, 0.905228599f, 0.897918452f, 0.890368614f,
    0.882583633f, 0.874568197f, 0.866327136f, 0.857865413f, 0.849188125f, 0.840300499f,
    0.831207889f, 0.821915771f, 0.812429744f, 0.802755521f, 0.792898929f, 0.782865905f,
    0.772662494f, 0.762294841f, 0.751769192f, 0.741091886f, 0.730269355f, 0.719308119f,
    0.708214780f, 0.696996020f, 0.685658597f, 0.674209340f, 0.662655146f, 0.651002975f,
    0.639259845f, 0.627432830f, 0.615529054f, 0.603555688f, 0.591519944f, 0.579429072f,
    0.567290354f, 0.555111104f, 0.542898656f, 0.530660368f, 0.518403611f, 0.506135769f,
    0.493864231f, 0.481596389f, 0.469339632f, 0.457101344f, 0.444888896f, 0.432709646f,
    0.420570928f, 0.408480056f, 0.396444312f, 0.384470946f, 0.372567170f, 0.360740155f,
    0.348997025f, 0.337344854f, 0.325790660f, 0.314341403f, 0.303003980f, 0.291785220f,
    0.280691881f, 0.269730645f, 0.258908114f, 0.248230808f, 0.237705159f, 0.227337506f,
    0.217134095f, 0.207101071f, 0.197244479f, 0.187570256f, 0.178084229f, 0.168792111f,
    0.159699501f, 0.150811875f, 0.142134587f, 0.133672864f, 0.125431803f, 0.117416367f,
    0.109631386f, 0.102081548f, 0.094771401f, 0.087705349f, 0.080887647f, 0.074322403f,
    0.068013572f, 0.061964953f, 0.056180190f, 0.050662767f, 0.045416008f, 0.040443074f,
    0.035746960f, 0.031330494f, 0.027196337f, 0.023346980f, 0.019784740f, 0.016511764f,
    0.013530024f, 0.010841315f, 0.008447256f, 0.006349291f, 0.004548682f, 0.003046515f,
    0.001843694f, 0.000940944f, 0.000338808f, 0.000037649f
};
#define HANN_SUM 128.0f
#define HANN_SUM_SQ 96.0f

/* A block is a profile's when its components hold this share of the block's energy. */
#define PURITY_MIN 0.6f
/* ... and each component at least this share of the profile's power (twist within 6 dB;
 * also keeps a single tone's leakage from making it a two-tone profile). */
#define COMPONENT_MIN 0.2f
/* Preference of single-tone profiles over two-tone ones (see classify()). */
#define SINGLE_BONUS 1.4f
/* A block counts for a tone when the tone covers about half of it or more (the purity of
 * a partly covered window falls with its coverage), so a run of n blocks measures a tone
 * or pause of n x 32 ms +- 16 ms on average: no correction is needed. Kept as a knob. */
#define RUN_ADJ_MS 0
/* Cadence tolerance: max(20 %, 60 ms) of the segment. */
#define TOL_FRAC 0.2f
#define TOL_MIN_MS 60

typedef struct {
    int nf;
    int f[2];            /* indices into freq_hz */
} profile_t;

typedef struct {
    int cls;             /* profile index + 1; 0 for a pause */
    int dur_ms;
    int min_ms, max_ms;
} seg_t;

typedef struct {
    int id, nsegs, continuous, confirm_runs, confirm_ms;
    seg_t seg[CPT_MAX_SEGMENTS];
    /* while active */
    int active;
    int exp;             /* segment the current run should be */
    int64_t start_ms, last_on_end_ms;
} ctone_t;

typedef struct {
    int cls;
    int64_t start_blk, nblk;
} run_t;

struct cpt_det_s {
    int nfreq, nbins, nprof, ntones;
    float freq_hz[CPT_MAX_FREQS];
    int bin0[CPT_MAX_FREQS], nsub[CPT_MAX_FREQS];   /* each frequency's filters */
    float coef[MAX_BINS], pair[MAX_BINS], cosw[MAX_BINS], sinw[MAX_BINS];
    float s1[MAX_BINS], s2[MAX_BINS];
    profile_t prof[MAX_PROFILES];
    ctone_t tone[CPT_MAX_TONES];
    /* configuration */
    float threshold_ms, silence_ms_level;
    int silence_blocks;
    /* block in progress */
    int pos;
    float wen;           /* sum of (w x)^2 */
    int64_t blk;         /* blocks completed */
    /* runs */
    run_t hist[HIST];
    int64_t nhist;       /* completed runs so far */
    run_t cur;
    /* silence */
    int64_t silent_start;
    int64_t silent_blocks;
    int silence_reported;
    uint32_t dropped;
};

static int seg_is_on(const tone_segment_t *g)
{
    return g->f1_hz > 0.0f || g->f2_hz > 0.0f;
}

static int find_or_add_freq(cpt_det_t *s, float f)
{
    int i;

    if (f == 0.0f)
        return -1;
    for (i = 0; i < s->nfreq; i++)
        if (fabsf(s->freq_hz[i] - f) < 0.5f)
            return i;
    if (s->nfreq >= CPT_MAX_FREQS || !(f >= 100.0f && f <= 3800.0f))
        return -2;
    s->freq_hz[s->nfreq] = f;
    return s->nfreq++;
}

/* The class (profile + 1) of a tone segment, adding the profile if new; -1 if invalid. */
static int profile_of(cpt_det_t *s, const tone_segment_t *g)
{
    int a = find_or_add_freq(s, g->f1_hz), b = find_or_add_freq(s, g->f2_hz), i, t;

    if (a == -2 || b == -2)
        return -1;
    if (a < 0) {
        a = b;
        b = -1;
    }
    if (b >= 0 && b < a) {
        t = a;
        a = b;
        b = t;
    }
    if (b == a)
        b = -1;
    for (i = 0; i < s->nprof; i++)
        if (s->prof[i].f[0] == a && s->prof[i].f[1] == b)
            return i + 1;
    if (s->nprof >= MAX_PROFILES)
        return -1;
    s->prof[s->nprof].nf = b >= 0 ? 2 : 1;
    s->prof[s->nprof].f[0] = a;
    s->prof[s->nprof].f[1] = b;
    return ++s->nprof;
}

static int tol_ms(int d)
{
    int t = (int) (TOL_FRAC * (float) d);

    return t > TOL_MIN_MS ? t : TOL_MIN_MS;
}

static int load_tone(cpt_det_t *s, ctone_t *t, const cpt_tone_t *in)
{
    int i;

    if (in->id < 0 || in->nsegs < 1 || in->nsegs > CPT_MAX_SEGMENTS)
        return -1;
    t->id = in->id;
    t->nsegs = in->nsegs;
    t->continuous = in->nsegs == 1;
    for (i = 0; i < in->nsegs; i++) {
        const tone_segment_t *g = &in->segs[i];
        int on = seg_is_on(g);

        if (!(g->f1_hz >= 0.0f && g->f2_hz >= 0.0f))
            return -1;
        if (t->continuous ? (g->duration_ms != 0 || !on)
                          : (g->duration_ms < 1 || g->duration_ms > 60000))
            return -1;
        t->seg[i].cls = on ? profile_of(s, g) : 0;
        if (t->seg[i].cls < 0)
            return -1;
        t->seg[i].dur_ms = g->duration_ms;
        t->seg[i].min_ms = g->duration_ms - tol_ms(g->duration_ms);
        t->seg[i].max_ms = g->duration_ms + tol_ms(g->duration_ms);
    }
    if (t->seg[0].cls == 0)
        return -1;
    for (i = 0; i < in->nsegs && !t->continuous; i++) {
        const seg_t *a = &t->seg[i], *b = &t->seg[(i + 1) % in->nsegs];

        if (a->cls == b->cls)
            return -1;   /* two pauses, or one tone split in two */
    }
    if (t->continuous) {
        if (in->confirm_ms != 0 && (in->confirm_ms < 100 || in->confirm_ms > 60000))
            return -1;
        t->confirm_ms = in->confirm_ms;
    } else {
        if (in->confirm_runs != 0 && (in->confirm_runs < 2 || in->confirm_runs > 8))
            return -1;
        t->confirm_runs = in->confirm_runs ? in->confirm_runs
                                           : (2 * in->nsegs < 4 ? 2 * in->nsegs : 4);
    }
    return 0;
}

cpt_det_t *cpt_det_new(const cpt_tone_t *tones, int ntones)
{
    cpt_det_t *s;
    int i, j, k;

    if (tones == NULL || ntones < 1 || ntones > CPT_MAX_TONES)
        return NULL;
    s = calloc(1, sizeof(cpt_det_t));
    if (s == NULL)
        return NULL;
    for (i = 0; i < ntones; i++)
        if (load_tone(s, &s->tone[i], &tones[i]) < 0)
            goto fail;
    s->ntones = ntones;
    /* default confirmation of continuous tones: longer than any "on" of theirs in a
     * cadence of the set */
    for (i = 0; i < ntones; i++) {
        ctone_t *t = &s->tone[i];
        int longest = 0;

        if (!t->continuous || t->confirm_ms != 0)
            continue;
        for (j = 0; j < ntones; j++)
            for (k = 0; k < s->tone[j].nsegs; k++)
                if (!s->tone[j].continuous && s->tone[j].seg[k].cls == t->seg[0].cls
                    && s->tone[j].seg[k].dur_ms > longest)
                    longest = s->tone[j].seg[k].dur_ms;
        t->confirm_ms = longest * 5 / 4 + 100;
        if (t->confirm_ms < 1000)
            t->confirm_ms = 1000;
    }
    /* filters: 1 or SUB per frequency, padded with unused ones to a multiple of LANES */
    for (i = 0, k = 0; i < s->nfreq; i++) {
        s->bin0[i] = k;
        s->nsub[i] = s->freq_hz[i] >= SUB_FROM_HZ ? SUB : 1;
        k += s->nsub[i];
    }
    s->nbins = ((k + LANES - 1) / LANES) * LANES;
    for (i = 0; i < s->nfreq; i++)
        for (j = 0; j < s->nsub[i]; j++) {
            float step = s->nsub[i] == 1 ? 0.0f : SUB_STEP * (float) (j - 1);
            float w = TWO_PI * s->freq_hz[i] * (1.0f + step) / (float) OSC_SAMPLE_RATE;
            int b = s->bin0[i] + j;

            s->coef[b] = 2.0f * cosf(w);
            s->pair[b] = s->coef[b] * s->coef[b] - 1.0f;
            s->cosw[b] = cosf(w);
            s->sinw[b] = sinf(w);
        }
    cpt_det_set(s, -36.0f, -50.0f, 0);
    return s;
fail:
    free(s);
    return NULL;
}

void cpt_det_free(cpt_det_t *s)
{
    free(s);
}

static float dbm0_to_ms(float dbm0)
{
    float peak = osc_dbm0_to_peak(dbm0);

    return peak * peak / 2.0f;
}

int cpt_det_set(cpt_det_t *s, float threshold_dbm0, float silence_dbm0, int silence_ms)
{
    if (!(threshold_dbm0 >= -60.0f && threshold_dbm0 <= 0.0f))
        return CPT_EINVAL;
    if (!(silence_dbm0 >= -70.0f && silence_dbm0 <= 0.0f))
        return CPT_EINVAL;
    if (silence_ms != 0 && (silence_ms < 100 || silence_ms > 3600000))
        return CPT_EINVAL;
    s->threshold_ms = dbm0_to_ms(threshold_dbm0);
    s->silence_ms_level = dbm0_to_ms(silence_dbm0);
    s->silence_blocks = (silence_ms + BLOCK_MS - 1) / BLOCK_MS;
    cpt_det_reset(s);
    return 0;
}

void cpt_det_reset(cpt_det_t *s)
{
    int i;

    memset(s->s1, 0, sizeof(s->s1));
    memset(s->s2, 0, sizeof(s->s2));
    s->wen = 0.0f;
    s->pos = 0;
    s->blk = 0;
    s->nhist = 0;
    s->cur.cls = 0;
    s->cur.start_blk = 0;
    s->cur.nblk = 0;
    s->silent_start = 0;
    s->silent_blocks = 0;
    s->silence_reported = 0;
    s->dropped = 0;
    for (i = 0; i < s->ntones; i++)
        s->tone[i].active = 0;
}

uint32_t cpt_det_dropped(const cpt_det_t *s)
{
    return s->dropped;
}

static void emit(cpt_det_t *s, cpt_event_t *ev, int max_ev, int *nev, int type, int tone,
                 int64_t start_ms, int64_t end_ms)
{
    if (*nev >= max_ev) {
        s->dropped++;
        return;
    }
    ev[*nev].type = type;
    ev[*nev].tone = tone;
    ev[*nev].start_ms = start_ms < 0 ? 0 : start_ms;
    ev[*nev].end_ms = end_ms < 0 ? 0 : end_ms;
    (*nev)++;
}

/* A run's duration and onset in ms, corrected for the partly covered edge blocks. */
static int64_t run_dur(const run_t *r)
{
    return r->nblk * BLOCK_MS + (r->cls != 0 ? RUN_ADJ_MS : -RUN_ADJ_MS);
}

static int64_t run_start(const run_t *r)
{
    return r->start_blk * BLOCK_MS + (r->cls != 0 ? -RUN_ADJ_MS / 2 : RUN_ADJ_MS / 2);
}

/* A one-block run at the boundary of segments seg and seg + 1 whose class is neither of
 * theirs is a transition, skipped: the block that straddles two tones of a cadence that
 * follow each other directly (SIT) is pure in neither, and a block only partly covered by
 * a tone can look like a neighbouring profile (400 Hz as 400 + 450 Hz). */
static int is_glitch(const ctone_t *t, int seg, const run_t *r)
{
    int next = (seg + 1) % t->nsegs;

    return r->nblk <= 1 && r->cls != t->seg[seg].cls && r->cls != t->seg[next].cls;
}

/* The class of the block just ended (profile + 1, or 0). */
static int classify(const cpt_det_t *s, float total)
{
    const float scale = 2.0f / (HANN_SUM * HANN_SUM);
    float comp[CPT_MAX_FREQS], best = 0.0f;
    int i, j, cls = 0;

    if (total <= 0.0f)
        return 0;
    for (i = 0; i < s->nfreq; i++) {
        comp[i] = 0.0f;
        for (j = 0; j < s->nsub[i]; j++) {
            int b = s->bin0[i] + j;
            float re = s->s1[b] - s->cosw[b] * s->s2[b];
            float im = s->sinw[b] * s->s2[b];
            float p = scale * (re * re + im * im);

            if (p > comp[i])
                comp[i] = p;
        }
    }
    for (i = 0; i < s->nprof; i++) {
        const profile_t *p = &s->prof[i];
        float sum = 0.0f, purity;
        int ok = 1;

        for (j = 0; j < p->nf; j++)
            sum += comp[p->f[j]];
        for (j = 0; j < p->nf; j++)
            if (comp[p->f[j]] < s->threshold_ms || comp[p->f[j]] < COMPONENT_MIN * sum)
                ok = 0;
        purity = sum / total;
        /* a single tone's leakage into a neighbour (400 into 450 Hz, strongest in blocks
         * a tone only partly covers) must not make it a two-tone profile: the two-tone
         * one wins only with SINGLE_BONUS times the purity */
        if (p->nf == 1)
            purity *= SINGLE_BONUS;
        if (ok && sum >= PURITY_MIN * total && purity > best) {
            best = purity;
            cls = i + 1;
        }
    }
    return cls;
}

/* The completed run h-th from the newest (0 = newest). */
static const run_t *hist_back(const cpt_det_t *s, int h)
{
    if (h >= s->nhist || h >= HIST)
        return NULL;
    return &s->hist[(s->nhist - 1 - h) % HIST];
}

/* Does the cadence of t hold over the runs, with the current (partial) run as segment
 * `seg`? On success the onset of the oldest matched "on" run goes to *start. */
static int match_from(const cpt_det_t *s, const ctone_t *t, int seg, int64_t *start)
{
    const seg_t *g = &t->seg[seg];
    int64_t d = run_dur(&s->cur);
    int matched = 1, h = 0, need = t->confirm_runs;

    if (s->cur.cls != g->cls || d < g->min_ms || d > g->max_ms)
        return 0;
    *start = run_start(&s->cur);
    while (matched < need || t->seg[seg].cls == 0) {
        const run_t *r = hist_back(s, h++);
        int prev = (seg + t->nsegs - 1) % t->nsegs;

        if (r == NULL)
            return 0;
        if (is_glitch(t, prev, r))
            continue;
        seg = prev;
        g = &t->seg[seg];
        d = run_dur(r);
        if (r->cls != g->cls || d < g->min_ms || d > g->max_ms)
            return 0;
        matched++;
        if (g->cls != 0)
            *start = run_start(r);
    }
    return 1;
}

/* A run just closed: advance or end every active tone. */
static void run_closed(cpt_det_t *s, const run_t *r, cpt_event_t *ev, int max_ev, int *nev)
{
    int i;

    for (i = 0; i < s->ntones; i++) {
        ctone_t *t = &s->tone[i];
        const seg_t *g = &t->seg[t->exp];
        int64_t d = run_dur(r);

        if (!t->active)
            continue;
        if (t->continuous) {
            t->active = 0;
            emit(s, ev, max_ev, nev, CPT_EV_ENDED, t->id, t->start_ms, run_start(r) + d);
            continue;
        }
        if (is_glitch(t, (t->exp + t->nsegs - 1) % t->nsegs, r))
            continue;
        if (r->cls == g->cls && d >= g->min_ms && d <= g->max_ms) {
            if (g->cls != 0)
                t->last_on_end_ms = run_start(r) + d;
            t->exp = (t->exp + 1) % t->nsegs;
            continue;
        }
        t->active = 0;
        emit(s, ev, max_ev, nev, CPT_EV_ENDED, t->id, t->start_ms, t->last_on_end_ms);
    }
}

/* After each block: active tones whose current run already breaks the cadence end; the
 * others are checked for confirmation. */
static void check_tones(cpt_det_t *s, cpt_event_t *ev, int max_ev, int *nev)
{
    int64_t now_ms = s->blk * BLOCK_MS;
    int i, j;

    for (i = 0; i < s->ntones; i++) {
        ctone_t *t = &s->tone[i];
        int64_t d = run_dur(&s->cur), start = 0;

        if (t->active) {
            const seg_t *g = &t->seg[t->exp];

            if (t->continuous || is_glitch(t, (t->exp + t->nsegs - 1) % t->nsegs, &s->cur))
                continue;
            if (s->cur.cls != g->cls || d > g->max_ms) {
                t->active = 0;
                emit(s, ev, max_ev, nev, CPT_EV_ENDED, t->id, t->start_ms, t->last_on_end_ms);
            }
            continue;
        }
        if (t->continuous) {
            if (s->cur.cls == t->seg[0].cls && d >= t->confirm_ms) {
                t->active = 1;
                t->exp = 0;
                t->start_ms = run_start(&s->cur);
                emit(s, ev, max_ev, nev, CPT_EV_DETECTED, t->id, t->start_ms, now_ms);
            }
            continue;
        }
        for (j = 0; j < t->nsegs; j++)
            if (match_from(s, t, j, &start)) {
                t->active = 1;
                t->exp = j;
                t->start_ms = start;
                /* the end of the newest "on" run matched so far */
                t->last_on_end_ms = s->cur.cls != 0 ? now_ms : run_start(&s->cur);
                emit(s, ev, max_ev, nev, CPT_EV_DETECTED, t->id, start, now_ms);
                break;
            }
    }
}

static void end_block(cpt_det_t *s, cpt_event_t *ev, int max_ev, int *nev)
{
    float total = s->wen / HANN_SUM_SQ;
    int cls = classify(s, total);

    if (cls == s->cur.cls && s->cur.nblk > 0) {
        s->cur.nblk++;
    } else {
        if (s->cur.nblk > 0) {
            s->hist[s->nhist % HIST] = s->cur;
            s->nhist++;
            run_closed(s, &s->cur, ev, max_ev, nev);
        }
        s->cur.cls = cls;
        s->cur.start_blk = s->blk;
        s->cur.nblk = 1;
    }
    s->blk++;
    check_tones(s, ev, max_ev, nev);

    if (s->silence_blocks > 0) {
        if (total < s->silence_ms_level) {
            if (s->silent_blocks++ == 0)
                s->silent_start = s->blk - 1;
            if (s->silent_blocks >= s->silence_blocks && !s->silence_reported) {
                s->silence_reported = 1;
                emit(s, ev, max_ev, nev, CPT_EV_SILENCE, -1, s->silent_start * BLOCK_MS,
                     s->blk * BLOCK_MS);
            }
        } else {
            s->silent_blocks = 0;
            s->silence_reported = 0;
        }
    }

    memset(s->s1, 0, sizeof(s->s1));
    memset(s->s2, 0, sizeof(s->s2));
    s->wen = 0.0f;
    s->pos = 0;
}

/* Feed amp[0..n), all inside the current block. */
static void feed(cpt_det_t *s, const int16_t *amp, int n)
{
    const float *w = hann + s->pos;
    float wen = s->wen;
    int g, i, k;

    for (g = 0; g < s->nbins; g += LANES) {
        float a1[LANES], a2[LANES], c[LANES], c2[LANES];

        memcpy(a1, s->s1 + g, sizeof(a1));
        memcpy(a2, s->s2 + g, sizeof(a2));
        memcpy(c, s->coef + g, sizeof(c));
        memcpy(c2, s->pair + g, sizeof(c2));
        /* two samples per step, as in dtmf.c: s[n] = c s1 + (x0 - s2),
         * s[n+1] = (c^2 - 1) s1 + (c (x0 - s2) + x1) */
        for (i = 0; i + 1 < n; i += 2) {
            float x0 = (float) amp[i] * w[i], x1 = (float) amp[i + 1] * w[i + 1];

            for (k = 0; k < LANES; k++) {
                float u = x0 - a2[k];

                a2[k] = c[k] * a1[k] + u;
                a1[k] = c2[k] * a1[k] + (c[k] * u + x1);
            }
        }
        for (; i < n; i++) {
            float x = (float) amp[i] * w[i];

            for (k = 0; k < LANES; k++) {
                float t = c[k] * a1[k] + (x - a2[k]);

                a2[k] = a1[k];
                a1[k] = t;
            }
        }
        memcpy(s->s1 + g, a1, sizeof(a1));
        memcpy(s->s2 + g, a2, sizeof(a2));
    }
    for (i = 0; i < n; i++) {
        float xw = (float) amp[i] * w[i];

        wen += xw * xw;
    }
    s->wen = wen;
}

int cpt_det_rx(cpt_det_t *s, const int16_t *amp, int n, cpt_event_t *ev, int max_ev)
{
    int nev = 0, done = 0;

    if (n < 0 || max_ev < 0 || (n > 0 && amp == NULL) || (max_ev > 0 && ev == NULL))
        return CPT_EINVAL;
    while (done < n) {
        int chunk = CPT_BLOCK - s->pos;

        if (chunk > n - done)
            chunk = n - done;
        feed(s, amp + done, chunk);
        s->pos += chunk;
        done += chunk;
        if (s->pos == CPT_BLOCK)
            end_block(s, ev, max_ev, &nev);
    }
    return nev;
}
