/*
 * sanitize_driver.c - exercises the native core under AddressSanitizer and UBSan.
 *
 * Built by test_native_sanitizers.py together with the sources of native/csrc; exits 0 when every check
 * holds (a sanitizer report aborts with a non-zero status).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtmf.h"
#include "g711.h"
#include "media.h"
#include "tone.h"

static int failures;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static void g711_paths(void)
{
    static int16_t pcm[65536], back[65536];
    static uint8_t codes[65536];
    int codec, i;

    for (i = 0; i < 65536; i++)
        pcm[i] = (int16_t) (i - 32768);
    for (codec = 0; codec < 2; codec++) {
        CHECK(g711_encode(codec, codes, pcm, 65536) == 0);
        CHECK(g711_decode(codec, back, codes, 65536) == 0);
        for (i = 1; i < 65536; i++)
            CHECK(back[i] >= back[i - 1]);
    }
    CHECK(g711_encode(5, codes, pcm, 1) == -1);
    CHECK(g711_decode(0, back, codes, -1) == -1);
    CHECK(g711_silence_code(9) == -1);
}

static void dtmf_paths(void)
{
    static const char digits[] = "0123456789*#ABCD";
    dtmf_gen_t *g = dtmf_gen_new();
    dtmf_det_t *d = dtmf_det_new();
    int16_t amp[203];
    dtmf_event_t ev[8];
    char got[32];
    int ngot = 0, k, i;

    CHECK(g != NULL && d != NULL);
    CHECK(dtmf_gen_set(g, -20.0f, 0.0f, 50, 50) == 0);
    CHECK(dtmf_gen_put(g, digits) == 16);
    CHECK(dtmf_gen_put(g, "12x") == DTMF_EINVAL);
    CHECK(dtmf_gen_block(g, amp, -1) == DTMF_EINVAL);
    while (dtmf_gen_busy(g)) {
        dtmf_gen_block(g, amp, 203);
        k = dtmf_det_rx(d, amp, 203, ev, 8);
        CHECK(k >= 0);
        for (i = 0; i < k; i++)
            if (ev[i].type == DTMF_DIGIT_START && ngot < 31)
                got[ngot++] = ev[i].digit;
    }
    got[ngot] = '\0';
    CHECK(strcmp(got, digits) == 0);
    CHECK(dtmf_det_dropped(d) == 0);
    CHECK(dtmf_gen_put(g, "7") == 1);
    for (i = 0; i < 6; i++) {
        dtmf_gen_block(g, amp, 203);
        k = dtmf_det_rx(d, amp, 203, ev, 0);   /* no room: events dropped, counted */
        CHECK(k == 0);
    }
    CHECK(dtmf_det_dropped(d) == 2);
    CHECK(dtmf_det_rx(d, NULL, 10, ev, 8) == DTMF_EINVAL);
    CHECK(dtmf_det_set(d, 10.0f, 4.0f, 8.0f) == DTMF_EINVAL);
    CHECK(dtmf_gen_set(g, 0.0f, 0.0f, 0, 0) == DTMF_EINVAL);
    for (i = 0; i < 200; i++)
        dtmf_gen_put(g, "5");   /* fills the queue, then DTMF_EFULL */
    CHECK(dtmf_gen_put(g, "5") == DTMF_EFULL);
    dtmf_gen_free(g);
    dtmf_det_free(d);
}

static void tone_paths(void)
{
    tone_segment_t segs[5] = {
        {425.0f, 0.0f, -13.0f, 3}, {0.0f, 0.0f, 0.0f, 1}, {350.0f, 440.0f, 3.14f, 2},
        {3999.0f, 1.0f, -60.0f, 1}, {1.0f, 0.0f, 0.0f, 1},
    };
    tone_gen_t *t = tone_gen_new();
    int16_t amp[1000];

    CHECK(t != NULL);
    CHECK(tone_gen_set(t, segs, 5, 1) == TONE_EINVAL);
    CHECK(tone_gen_set(t, segs, 4, 0) == 0);
    CHECK(tone_gen_block(t, amp, 1000) == 7 * 8);
    CHECK(!tone_gen_active(t));
    segs[0].f1_hz = 4000.0f;
    CHECK(tone_gen_set(t, segs, 1, 0) == TONE_EINVAL);
    segs[0].f1_hz = 425.0f;
    segs[0].duration_ms = 0;
    CHECK(tone_gen_set(t, segs, 1, 1) == 0);
    CHECK(tone_gen_block(t, amp, 1000) == 1000);
    tone_gen_free(t);
}

static void engine_run(int nslots, int block)
{
    me_engine_t *e = me_new(nslots, block);
    size_t len = (size_t) nslots * (size_t) block;
    uint8_t *rx = malloc(len), *tx = malloc(len);
    tone_segment_t busy[2] = {{425.0f, 0.0f, -13.0f, 30}, {0.0f, 0.0f, 0.0f, 30}};
    int16_t prompt[333];
    me_event_t ev;
    int tick, s, nev = 0;

    CHECK(e != NULL && rx != NULL && tx != NULL);
    for (s = 0; s < (int) (sizeof(prompt) / sizeof(prompt[0])); s++)
        prompt[s] = (int16_t) (s * 97);
    for (s = 0; s < nslots; s++) {
        CHECK(me_configure_slot(e, s, s % 2, s % 7 != 6, 1) == 0);
        CHECK(me_join(e, s, (uint32_t) (s % 5), s % 3 == 0) == 0);
        if (s % 4 == 1)
            CHECK(me_record(e, s, 1) == 0);
        if (s % 3 == 2)
            CHECK(me_configure_echo(e, s, 64 + 64 * (s % 2), ECHO_OPT_NLP | ECHO_OPT_CNG) == 0);
        if (s % 5 == 3) {
            cpt_tone_t busy_det[1];

            memset(busy_det, 0, sizeof(busy_det));
            busy_det[0].id = 7;
            busy_det[0].nsegs = 2;
            busy_det[0].segs[0] = (tone_segment_t) {425.0f, 0.0f, -13.0f, 30};
            busy_det[0].segs[1] = (tone_segment_t) {0.0f, 0.0f, 0.0f, 30};
            CHECK(me_configure_cpd(e, s, busy_det, 1, -36.0f, -50.0f, 100) == 0);
        }
        if (nslots > 1)
            CHECK(me_whisper(e, s, (s + 1) % nslots) == 0);
    }
    for (tick = 0; tick < 160; tick++) {
        int16_t frames[2 * 700];
        for (s = 0; s < (int) len; s++)
            rx[s] = (uint8_t) (s * 31 + tick);
        s = (tick * 13) % nslots;
        switch (tick % 4) {
        case 0: me_play_tone(e, s, busy, 2, tick % 8 == 0); break;
        case 1: me_play_dtmf(e, s, "159#", -10.0f, 0.0f, 40, 20); break;
        case 2: me_play_pcm(e, s, prompt, 333); break;
        default: me_stop_playback(e, s); me_leave(e, s); break;
        }
        CHECK(me_tick(e, rx, tx, len) == 0);
        if (tick % 3 == 0)
            for (s = 1; s < nslots; s += 4)
                CHECK(me_record_read(e, s, frames, 700) >= 0);
        if (tick == 100 && nslots > 2)
            CHECK(me_whisper(e, 2, -1) == 0 && me_record(e, 1, 0) == 0);
        while (me_poll_event(e, &ev) == 1) {
            CHECK(ev.slot >= 0 && ev.slot < nslots);
            nev++;
        }
    }
    CHECK(nev > 0 || nslots == 1);  /* one slot: each playback is replaced first */
    CHECK(me_whisper(e, 0, 0) == ME_EINVAL);
    CHECK(me_configure_echo(e, 0, 10, 0) == ME_EINVAL);
    CHECK(me_configure_cpd(e, 0, NULL, 1, -36.0f, -50.0f, 0) == ME_EINVAL);
    CHECK(me_configure_echo(e, 0, 0, 0) == 0 && me_configure_cpd(e, 0, NULL, 0, 0, 0, 0) == 0);
    CHECK(me_whisper(e, 0, nslots) == ME_ESLOT);
    CHECK(me_record_read(e, 0, NULL, 10) == ME_EINVAL);
    CHECK(me_tick(e, rx, tx, len - 1) == ME_ELENGTH);
    CHECK(me_tick(NULL, rx, tx, len) == ME_EINVAL);
    CHECK(me_configure_slot(e, nslots, 0, 1, 1) == ME_ESLOT);
    CHECK(me_configure_slot(e, -1, 0, 1, 1) == ME_ESLOT);
    CHECK(me_configure_slot(e, 0, 2, 1, 1) == ME_EINVAL);
    CHECK(me_join(NULL, 0, 1, 0) == ME_ESLOT);
    CHECK(me_play_pcm(e, 0, NULL, 10) == ME_EINVAL);
    CHECK(me_play_pcm(e, 0, prompt, 0) == ME_EINVAL);
    CHECK(me_play_dtmf(e, 0, NULL, -10.0f, 0.0f, 40, 40) == ME_EINVAL);
    CHECK(me_play_dtmf(e, 0, "1", -10.0f, 0.0f, -1, 40) == ME_EINVAL);
    CHECK(me_play_tone(e, 0, NULL, 1, 0) == ME_EINVAL);
    CHECK(me_poll_event(e, NULL) == ME_EINVAL);
    me_free(e);
    free(rx);
    free(tx);
}

static void engine_overflow(void)
{
    me_engine_t *e = me_new(ME_MAX_SLOTS, 8);
    uint8_t rx[ME_MAX_SLOTS * 8], tx[ME_MAX_SLOTS * 8];
    int16_t one[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    me_event_t ev;
    int tick, s, n = 0;

    CHECK(e != NULL);
    memset(rx, 0xD5, sizeof(rx));
    for (s = 0; s < ME_MAX_SLOTS; s++)
        me_configure_slot(e, s, ME_ALAW, 1, 0);
    for (tick = 0; tick < 5; tick++) {
        for (s = 0; s < ME_MAX_SLOTS; s++)
            CHECK(me_play_pcm(e, s, one, 8) == 0);
        CHECK(me_tick(e, rx, tx, sizeof(rx)) == 0);
    }
    while (me_poll_event(e, &ev) == 1)
        n++;
    CHECK(n == ME_EVENT_QUEUE_LEN);
    CHECK(me_events_dropped(e) == 5 * ME_MAX_SLOTS - ME_EVENT_QUEUE_LEN);
    me_free(e);
    me_free(NULL);
    CHECK(me_new(0, 160) == NULL && me_new(257, 160) == NULL && me_new(4, 100) == NULL);
}

int main(void)
{
    g711_paths();
    dtmf_paths();
    tone_paths();
    engine_run(ME_MAX_SLOTS, 160);
    engine_run(7, 80);
    engine_run(1, 8);
    engine_overflow();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("sanitize_driver: ok");
    return 0;
}
