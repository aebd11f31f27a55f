/* media.c - the media engine; see media.h. */
#include <stdlib.h>
#include <string.h>

#include "amd.h"
#include "callerid.h"
#include "dtmf.h"
#include "g711.h"
#include "media.h"

enum { PLAY_NONE, PLAY_TONE, PLAY_DTMF, PLAY_PCM };

typedef struct {
    int codec;
    int enabled;
    int dtmf_detect;
    int listen_only;
    uint32_t conf;         /* 0 = none */
    int group;             /* slot holding the conference accumulator, -1 = none */
    int play;              /* PLAY_* */
    tone_gen_t *tone;
    dtmf_gen_t *dtmf;
    dtmf_det_t *det;
    int64_t det_base;      /* engine sample index where the detector's stream began */
    int16_t *pcm;          /* owned prompt buffer */
    size_t pcm_len, pcm_pos;
    int whisper_to;        /* slot that hears this one's rx privately, -1 = none */
    echo_can_t *ec;        /* line echo canceller, NULL = off */
    cpt_det_t *cpd;        /* call-progress tone detector, NULL = off */
    int64_t cpd_base;      /* engine sample index where the detector's stream began */
    int16_t *rec;          /* recording ring: ME_REC_FRAMES stereo frames, NULL = no tap */
    int rec_head, rec_count;
    uint32_t rec_dropped;
    cid_rx_t *cid;         /* on-hook caller ID receiver, NULL = off */
    int64_t cid_base;      /* engine sample index where the receiver's stream began */
    cid_result_t cid_res;  /* the last message received (see me_cid_result) */
    int cid_has;           /* cid_res not yet fetched */
    amd_vad_t *vad;        /* voice activity (answer and machine detection), NULL = off */
    int64_t vad_base;      /* engine sample index where the detector's stream began */
} me_slot_t;

struct me_engine_s {
    int nslots;
    int block;
    int64_t samples;       /* engine time in samples */
    me_slot_t *slots;
    int16_t *lin_rx;       /* nslots * block decoded rx */
    int16_t *lin_tx;       /* nslots * block: what each slot sent last tick (echo reference) */
    int32_t *acc;          /* nslots * block conference sums (by group slot) */
    int whisperers;        /* slots with whisper_to >= 0 */
    me_event_t events[ME_EVENT_QUEUE_LEN];
    int ev_head, ev_count;
    uint32_t ev_dropped;
};

static int bad_slot(const me_engine_t *e, int slot)
{
    return e == NULL || slot < 0 || slot >= e->nslots;
}

me_engine_t *me_new(int nslots, int block)
{
    me_engine_t *e;
    int i;

    if (nslots < 1 || nslots > ME_MAX_SLOTS || block < 8 || block > ME_MAX_BLOCK
        || block % 8 != 0)
        return NULL;
    e = calloc(1, sizeof(me_engine_t));
    if (e == NULL)
        goto fail_engine;
    e->nslots = nslots;
    e->block = block;
    e->slots = calloc((size_t) nslots, sizeof(me_slot_t));
    if (e->slots == NULL)
        goto fail_slots;
    e->lin_rx = calloc((size_t) nslots * (size_t) block, sizeof(int16_t));
    if (e->lin_rx == NULL)
        goto fail_rx;
    e->acc = calloc((size_t) nslots * (size_t) block, sizeof(int32_t));
    if (e->acc == NULL)
        goto fail_acc;
    e->lin_tx = calloc((size_t) nslots * (size_t) block, sizeof(int16_t));
    if (e->lin_tx == NULL)
        goto fail_tx;
    for (i = 0; i < nslots; i++) {
        me_slot_t *s = &e->slots[i];

        s->codec = ME_ALAW;
        s->group = -1;
        s->whisper_to = -1;
        s->tone = tone_gen_new();
        s->dtmf = dtmf_gen_new();
        s->det = dtmf_det_new();
        if (s->tone == NULL || s->dtmf == NULL || s->det == NULL)
            goto fail_generators;
    }
    return e;

fail_generators:
    for (i = 0; i < nslots; i++) {
        tone_gen_free(e->slots[i].tone);
        dtmf_gen_free(e->slots[i].dtmf);
        dtmf_det_free(e->slots[i].det);
    }
    free(e->lin_tx);
fail_tx:
    free(e->acc);
fail_acc:
    free(e->lin_rx);
fail_rx:
    free(e->slots);
fail_slots:
    free(e);
fail_engine:
    return NULL;
}

void me_free(me_engine_t *e)
{
    int i;

    if (e == NULL)
        return;
    for (i = 0; i < e->nslots; i++) {
        tone_gen_free(e->slots[i].tone);
        dtmf_gen_free(e->slots[i].dtmf);
        dtmf_det_free(e->slots[i].det);
        free(e->slots[i].pcm);
        free(e->slots[i].rec);
        echo_can_free(e->slots[i].ec);
        cpt_det_free(e->slots[i].cpd);
        cid_rx_free(e->slots[i].cid);
        amd_vad_free(e->slots[i].vad);
    }
    free(e->lin_tx);
    free(e->acc);
    free(e->lin_rx);
    free(e->slots);
    free(e);
}

int me_nslots(const me_engine_t *e)
{
    return e == NULL ? ME_EINVAL : e->nslots;
}

int me_block(const me_engine_t *e)
{
    return e == NULL ? ME_EINVAL : e->block;
}

int64_t me_time_ms(const me_engine_t *e)
{
    return e == NULL ? ME_EINVAL : e->samples / 8;
}

static void push_event(me_engine_t *e, int slot, int type, int value, int64_t time_ms)
{
    me_event_t *ev;

    if (e->ev_count == ME_EVENT_QUEUE_LEN) {   /* full: drop the oldest */
        e->ev_head = (e->ev_head + 1) % ME_EVENT_QUEUE_LEN;
        e->ev_count--;
        e->ev_dropped++;
    }
    ev = &e->events[(e->ev_head + e->ev_count) % ME_EVENT_QUEUE_LEN];
    ev->slot = slot;
    ev->type = type;
    ev->value = value;
    ev->time_ms = time_ms;
    e->ev_count++;
}

int me_poll_event(me_engine_t *e, me_event_t *ev)
{
    if (e == NULL || ev == NULL)
        return ME_EINVAL;
    if (e->ev_count == 0)
        return 0;
    *ev = e->events[e->ev_head];
    e->ev_head = (e->ev_head + 1) % ME_EVENT_QUEUE_LEN;
    e->ev_count--;
    return 1;
}

uint32_t me_events_dropped(const me_engine_t *e)
{
    return e == NULL ? 0 : e->ev_dropped;
}

static void stop_playback(me_slot_t *s)
{
    tone_gen_stop(s->tone);
    dtmf_gen_reset(s->dtmf);
    s->pcm_pos = s->pcm_len;
    s->play = PLAY_NONE;
}

static void restart_detector(me_engine_t *e, me_slot_t *s)
{
    dtmf_det_reset(s->det);
    s->det_base = e->samples;
}

int me_configure_slot(me_engine_t *e, int slot, int codec, int enabled, int dtmf_detect)
{
    me_slot_t *s;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (codec != ME_ALAW && codec != ME_ULAW)
        return ME_EINVAL;
    s = &e->slots[slot];
    enabled = enabled != 0;
    dtmf_detect = dtmf_detect != 0;
    if ((enabled && !s->enabled) || (dtmf_detect && !s->dtmf_detect) || codec != s->codec)
        restart_detector(e, s);
    if (!enabled)
        stop_playback(s);
    s->codec = codec;
    s->enabled = enabled;
    s->dtmf_detect = dtmf_detect;
    return 0;
}

/* Recompute each slot's accumulator: the lowest slot of its conference. O(n^2), but only
 * when membership changes, never in the tick. */
static void regroup(me_engine_t *e)
{
    int i, j;

    for (i = 0; i < e->nslots; i++) {
        me_slot_t *s = &e->slots[i];

        s->group = -1;
        if (s->conf == 0)
            continue;
        for (j = 0; j <= i; j++)
            if (e->slots[j].conf == s->conf) {
                s->group = j;
                break;
            }
    }
}

int me_join(me_engine_t *e, int slot, uint32_t conf, int listen_only)
{
    if (bad_slot(e, slot))
        return ME_ESLOT;
    e->slots[slot].conf = conf;
    e->slots[slot].listen_only = conf != 0 && listen_only != 0;
    regroup(e);
    return 0;
}

int me_leave(me_engine_t *e, int slot)
{
    return me_join(e, slot, 0, 0);
}

int me_configure_echo(me_engine_t *e, int slot, int tail_ms, int options)
{
    me_slot_t *s;
    echo_can_t *ec = NULL;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (tail_ms != 0) {
        if (tail_ms < ECHO_TAIL_MIN_MS || tail_ms > ECHO_TAIL_MAX_MS
            || (options & ~ECHO_OPT_ALL) != 0)
            return ME_EINVAL;
        ec = echo_can_new(tail_ms, options);
        if (ec == NULL)
            return ME_ENOMEM;
    }
    s = &e->slots[slot];
    echo_can_free(s->ec);
    s->ec = ec;
    memset(e->lin_tx + (size_t) slot * e->block, 0, (size_t) e->block * sizeof(int16_t));
    return 0;
}

int me_configure_cpd(me_engine_t *e, int slot, const cpt_tone_t *tones, int ntones,
                     float threshold_dbm0, float silence_dbm0, int silence_ms)
{
    me_slot_t *s;
    cpt_det_t *det = NULL;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (ntones != 0) {
        if (tones == NULL || ntones < 0)
            return ME_EINVAL;
        det = cpt_det_new(tones, ntones);
        if (det == NULL)
            return ME_EINVAL;
        if (cpt_det_set(det, threshold_dbm0, silence_dbm0, silence_ms) < 0) {
            cpt_det_free(det);
            return ME_EINVAL;
        }
    }
    s = &e->slots[slot];
    cpt_det_free(s->cpd);
    s->cpd = det;
    s->cpd_base = e->samples;
    return 0;
}

int me_configure_vad(me_engine_t *e, int slot, int on, float threshold_dbm0, int on_ms,
                     int hang_ms, float tone_gain_db)
{
    me_slot_t *s;
    amd_vad_t *vad = NULL;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (on) {
        vad = amd_vad_new();
        if (vad == NULL)
            return ME_ENOMEM;
        if (amd_vad_set(vad, threshold_dbm0, on_ms, hang_ms, tone_gain_db) < 0) {
            amd_vad_free(vad);
            return ME_EINVAL;
        }
    }
    s = &e->slots[slot];
    amd_vad_free(s->vad);
    s->vad = vad;
    s->vad_base = e->samples;
    return 0;
}

int me_configure_cid(me_engine_t *e, int slot, int standard, float threshold_dbm0)
{
    me_slot_t *s;
    cid_rx_t *rx = NULL;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (standard != -1) {
        rx = cid_rx_new(standard);
        if (rx == NULL)
            return ME_EINVAL;
        if (threshold_dbm0 != 0.0f && cid_rx_set_threshold(rx, threshold_dbm0) < 0) {
            cid_rx_free(rx);
            return ME_EINVAL;
        }
    }
    s = &e->slots[slot];
    cid_rx_free(s->cid);
    s->cid = rx;
    s->cid_base = e->samples;
    s->cid_has = 0;
    return 0;
}

int me_cid_result(me_engine_t *e, int slot, cid_result_t *out)
{
    me_slot_t *s;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (out == NULL)
        return ME_EINVAL;
    s = &e->slots[slot];
    if (!s->cid_has)
        return 0;
    *out = s->cid_res;
    s->cid_has = 0;
    return 1;
}

int me_whisper(me_engine_t *e, int slot, int target)
{
    me_slot_t *s;

    if (bad_slot(e, slot) || (target != -1 && bad_slot(e, target)))
        return ME_ESLOT;
    if (target == slot)
        return ME_EINVAL;
    s = &e->slots[slot];
    e->whisperers += (target >= 0) - (s->whisper_to >= 0);
    s->whisper_to = target;
    return 0;
}

int me_record(me_engine_t *e, int slot, int on)
{
    me_slot_t *s;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    s = &e->slots[slot];
    if (on && s->rec == NULL) {
        s->rec = malloc((size_t) ME_REC_FRAMES * 2 * sizeof(int16_t));
        if (s->rec == NULL)
            return ME_ENOMEM;
    } else if (!on) {
        free(s->rec);
        s->rec = NULL;
    }
    s->rec_head = 0;
    s->rec_count = 0;
    s->rec_dropped = 0;
    return 0;
}

int me_record_read(me_engine_t *e, int slot, int16_t *dst, int max_frames)
{
    me_slot_t *s;
    int n, first;

    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (dst == NULL || max_frames < 0)
        return ME_EINVAL;
    s = &e->slots[slot];
    if (s->rec == NULL)
        return 0;
    n = s->rec_count < max_frames ? s->rec_count : max_frames;
    first = ME_REC_FRAMES - s->rec_head;          /* frames before the ring wraps */
    if (first > n)
        first = n;
    memcpy(dst, s->rec + (size_t) s->rec_head * 2, (size_t) first * 2 * sizeof(int16_t));
    memcpy(dst + (size_t) first * 2, s->rec, (size_t) (n - first) * 2 * sizeof(int16_t));
    s->rec_head = (s->rec_head + n) % ME_REC_FRAMES;
    s->rec_count -= n;
    return n;
}

uint32_t me_record_dropped(const me_engine_t *e, int slot)
{
    return bad_slot(e, slot) ? 0 : e->slots[slot].rec_dropped;
}

/* Append one block of (rx, tx) frames to the slot's ring, dropping the oldest if full. */
static void tap(me_slot_t *s, const int16_t *rx, const int16_t *txa, int b)
{
    int k, over = s->rec_count + b - ME_REC_FRAMES;

    if (over > 0) {
        s->rec_head = (s->rec_head + over) % ME_REC_FRAMES;
        s->rec_count -= over;
        s->rec_dropped += (uint32_t) over;
    }
    for (k = 0; k < b; k++) {
        int pos = (s->rec_head + s->rec_count + k) % ME_REC_FRAMES;

        s->rec[2 * pos] = rx[k];
        s->rec[2 * pos + 1] = txa[k];
    }
    s->rec_count += b;
}

static int check_play(const me_engine_t *e, int slot)
{
    if (bad_slot(e, slot))
        return ME_ESLOT;
    if (!e->slots[slot].enabled)
        return ME_EDISABLED;
    return 0;
}

int me_play_tone(me_engine_t *e, int slot, const tone_segment_t *segs, int nsegs, int repeat)
{
    me_slot_t *s;
    int rc = check_play(e, slot);

    if (rc < 0)
        return rc;
    s = &e->slots[slot];
    stop_playback(s);
    if (tone_gen_set(s->tone, segs, nsegs, repeat) < 0)
        return ME_EINVAL;
    s->play = PLAY_TONE;
    return 0;
}

int me_play_dtmf(me_engine_t *e, int slot, const char *digits, float level_dbm0,
                 float twist_db, int on_ms, int off_ms)
{
    me_slot_t *s;
    int rc = check_play(e, slot);

    if (rc < 0)
        return rc;
    if (digits == NULL || digits[0] == '\0')
        return ME_EINVAL;
    s = &e->slots[slot];
    stop_playback(s);
    if (dtmf_gen_set(s->dtmf, level_dbm0, twist_db, on_ms, off_ms) < 0
        || dtmf_gen_put(s->dtmf, digits) < 0)
        return ME_EINVAL;
    s->play = PLAY_DTMF;
    return 0;
}

int me_play_pcm(me_engine_t *e, int slot, const int16_t *pcm, size_t n)
{
    me_slot_t *s;
    int16_t *buf;
    int rc = check_play(e, slot);

    if (rc < 0)
        return rc;
    if (pcm == NULL || n == 0 || n > ME_MAX_PCM_SAMPLES)
        return ME_EINVAL;
    buf = malloc(n * sizeof(int16_t));
    if (buf == NULL)
        return ME_ENOMEM;
    memcpy(buf, pcm, n * sizeof(int16_t));
    s = &e->slots[slot];
    stop_playback(s);
    free(s->pcm);
    s->pcm = buf;
    s->pcm_len = n;
    s->pcm_pos = 0;
    s->play = PLAY_PCM;
    return 0;
}

int me_stop_playback(me_engine_t *e, int slot)
{
    if (bad_slot(e, slot))
        return ME_ESLOT;
    stop_playback(&e->slots[slot]);
    return 0;
}

int me_playing(const me_engine_t *e, int slot)
{
    if (bad_slot(e, slot))
        return ME_ESLOT;
    return e->slots[slot].play != PLAY_NONE;
}

/* Fill out[0..B) from the slot's playback; returns 1 while it plays, 0 once it has ended
 * (then *produced says how many samples it still gave this tick). */
static int run_playback(me_engine_t *e, me_slot_t *s, int16_t *out, int *produced)
{
    int b = e->block;

    switch (s->play) {
    case PLAY_TONE:
        *produced = tone_gen_block(s->tone, out, b);
        return tone_gen_active(s->tone);
    case PLAY_DTMF:
        *produced = dtmf_gen_block(s->dtmf, out, b);
        return dtmf_gen_busy(s->dtmf);
    case PLAY_PCM: {
        size_t left = s->pcm_len - s->pcm_pos;
        int n = left < (size_t) b ? (int) left : b;

        memcpy(out, s->pcm + s->pcm_pos, (size_t) n * sizeof(int16_t));
        memset(out + n, 0, (size_t) (b - n) * sizeof(int16_t));
        s->pcm_pos += (size_t) n;
        *produced = n;
        return s->pcm_pos < s->pcm_len;
    }
    default:
        *produced = 0;
        return 0;
    }
}

static int16_t sat16(int32_t v)
{
    return (int16_t) (v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

int me_tick(me_engine_t *e, const uint8_t *rx, uint8_t *tx, size_t len)
{
    const int b = e == NULL ? 0 : e->block;
    int i, k;

    if (e == NULL || rx == NULL || tx == NULL)
        return ME_EINVAL;
    if (len != (size_t) e->nslots * (size_t) b)
        return ME_ELENGTH;

    /* 1. decode and detect */
    for (i = 0; i < e->nslots; i++) {
        me_slot_t *s = &e->slots[i];
        int16_t *lin = e->lin_rx + (size_t) i * b;

        if (!s->enabled)
            continue;
        g711_decode(s->codec, lin, rx + (size_t) i * b, b);
        /* Caller ID sees the line as it arrives: on-hook nothing is sent, so there is no
         * echo to cancel, and the canceller's NLP must not touch the FSK. */
        if (s->cid != NULL && cid_rx_block(s->cid, lin, b) > 0
            && cid_rx_get(s->cid, &s->cid_res) && s->cid_res.status != CID_UNSUPPORTED) {
            s->cid_has = 1;
            push_event(e, i, ME_EV_CALLER_ID, s->cid_res.status,
                       (s->cid_base + s->cid_res.end_sample) / 8);
        }
        if (s->ec != NULL)
            echo_can_process(s->ec, e->lin_tx + (size_t) i * b, lin, lin, b);
        if (s->cpd != NULL) {
            cpt_event_t cev[8];
            int ncev = cpt_det_rx(s->cpd, lin, b, cev, (int) (sizeof(cev) / sizeof(cev[0])));

            for (k = 0; k < ncev; k++) {
                int type = cev[k].type == CPT_EV_DETECTED ? ME_EV_TONE_DETECTED
                         : cev[k].type == CPT_EV_ENDED ? ME_EV_TONE_ENDED : ME_EV_SILENCE;

                push_event(e, i, type, cev[k].tone, s->cpd_base / 8 + cev[k].end_ms);
            }
        }
        if (s->vad != NULL) {
            amd_event_t vev[4 * (ME_MAX_BLOCK / AMD_FRAME + 1)];
            int nvev = amd_vad_rx(s->vad, lin, b, vev, (int) (sizeof(vev) / sizeof(vev[0])));

            for (k = 0; k < nvev; k++)
                push_event(e, i, vev[k].type == AMD_EV_START ? ME_EV_VAD_START : ME_EV_VAD_END,
                           vev[k].what, s->vad_base / 8 + vev[k].ms);
        }
        if (s->dtmf_detect) {
            dtmf_event_t ev[2 * (ME_MAX_BLOCK / DTMF_DET_BLOCK + 2)];
            int nev = dtmf_det_rx(s->det, lin, b, ev, (int) (sizeof(ev) / sizeof(ev[0])));

            for (k = 0; k < nev; k++)
                push_event(e, i,
                           ev[k].type == DTMF_DIGIT_START ? ME_EV_DTMF_START : ME_EV_DTMF_END,
                           (unsigned char) ev[k].digit, s->det_base / 8 + ev[k].time_ms);
        }
    }

    /* 2. conference sums, one accumulator per conference */
    for (i = 0; i < e->nslots; i++)
        if (e->slots[i].group == i)
            memset(e->acc + (size_t) i * b, 0, (size_t) b * sizeof(int32_t));
    for (i = 0; i < e->nslots; i++) {
        const me_slot_t *s = &e->slots[i];
        int32_t *acc;
        const int16_t *lin;

        if (s->group < 0 || !s->enabled || s->listen_only)
            continue;
        acc = e->acc + (size_t) s->group * b;
        lin = e->lin_rx + (size_t) i * b;
        for (k = 0; k < b; k++)
            acc[k] += lin[k];
    }

    /* 3 and 4. playback or conference audio, encode */
    for (i = 0; i < e->nslots; i++) {
        me_slot_t *s = &e->slots[i];
        uint8_t *out_codes = tx + (size_t) i * b;
        int16_t out[ME_MAX_BLOCK];

        if (!s->enabled) {
            memset(out_codes, g711_silence_code(s->codec), (size_t) b);
            continue;
        }
        if (s->play != PLAY_NONE) {
            int produced = 0;

            if (!run_playback(e, s, out, &produced)) {
                s->play = PLAY_NONE;
                push_event(e, i, ME_EV_PLAYBACK_DONE, 0, (e->samples + produced) / 8);
            }
        } else if (s->group >= 0) {
            const int32_t *acc = e->acc + (size_t) s->group * b;
            const int16_t *own = e->lin_rx + (size_t) i * b;

            if (s->listen_only) {
                for (k = 0; k < b; k++)
                    out[k] = sat16(acc[k]);
            } else {
                for (k = 0; k < b; k++)
                    out[k] = sat16(acc[k] - own[k]);
            }
        } else {
            memset(out, 0, (size_t) b * sizeof(int16_t));
        }
        if (e->whisperers > 0 && s->play == PLAY_NONE) {
            int j;

            for (j = 0; j < e->nslots; j++) {
                const int16_t *w = e->lin_rx + (size_t) j * b;

                if (e->slots[j].whisper_to != i || !e->slots[j].enabled)
                    continue;
                for (k = 0; k < b; k++)
                    out[k] = sat16((int32_t) out[k] + w[k]);
            }
        }
        g711_encode(s->codec, out_codes, out, b);
        if (s->ec != NULL)
            memcpy(e->lin_tx + (size_t) i * b, out, (size_t) b * sizeof(int16_t));
        if (s->rec != NULL)
            tap(s, e->lin_rx + (size_t) i * b, out, b);
    }

    e->samples += b;
    return 0;
}
