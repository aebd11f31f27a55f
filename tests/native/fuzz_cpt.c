/* libFuzzer target: the call-progress tone detector on arbitrary input and arbitrary tone
 * sets. The first byte chooses between a fixed plan (ETSI-like and UK-like tones) and a
 * tone set decoded from the input; the rest is PCM fed in blocks of input-chosen sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpt.h"

static const cpt_tone_t plan[] = {
    {0, 1, {{425, 0, 0, 0}}, 0, 0},
    {1, 2, {{425, 0, 0, 1000}, {0, 0, 0, 4000}}, 3, 0},
    {2, 2, {{425, 0, 0, 500}, {0, 0, 0, 500}}, 0, 0},
    {3, 2, {{425, 0, 0, 250}, {0, 0, 0, 250}}, 0, 0},
    {4, 4, {{950, 0, 0, 330}, {1400, 0, 0, 330}, {1800, 0, 0, 330}, {0, 0, 0, 1000}}, 3, 0},
    {5, 2, {{1100, 0, 0, 500}, {0, 0, 0, 3000}}, 2, 0},
    {6, 1, {{2100, 0, 0, 0}}, 0, 0},
    {7, 4, {{400, 450, 0, 400}, {0, 0, 0, 200}, {400, 450, 0, 400}, {0, 0, 0, 2000}}, 0, 0},
    {8, 4, {{400, 0, 0, 400}, {0, 0, 0, 350}, {400, 0, 0, 225}, {0, 0, 0, 525}}, 0, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cpt_tone_t tones[CPT_MAX_TONES];
    cpt_event_t ev[(CPT_MAX_TONES + 2) * (4096 / CPT_BLOCK + 2)];
    int16_t pcm[4096];
    cpt_det_t *d;
    size_t pos = 1;
    int ntones, i, j, k;

    if (size < 2)
        return 0;
    if (data[0] & 1) {
        ntones = (int) (sizeof(plan) / sizeof(plan[0]));
        memcpy(tones, plan, sizeof(plan));
    } else {
        /* a tone set from the input: may well be invalid (then NULL) */
        ntones = 1 + data[1] % CPT_MAX_TONES;
        pos = 2;
        memset(tones, 0, sizeof(tones));
        for (i = 0; i < ntones && pos + 2 < size; i++) {
            tones[i].id = i;
            tones[i].nsegs = 1 + data[pos++] % CPT_MAX_SEGMENTS;
            tones[i].confirm_runs = data[pos] % 10;
            tones[i].confirm_ms = (data[pos++] % 4) * 700;
            for (j = 0; j < tones[i].nsegs && pos + 3 < size; j++) {
                tones[i].segs[j].f1_hz = (float) (data[pos] % 2 ? 0 : 50 + data[pos + 1] * 15);
                tones[i].segs[j].f2_hz = (float) (data[pos] % 3 ? 0 : 300 + data[pos + 2] * 8);
                tones[i].segs[j].duration_ms = tones[i].nsegs == 1 ? 0 : 1 + data[pos + 3] * 20;
                pos += 4;
            }
        }
    }
    d = cpt_det_new(tones, ntones);
    if (d == NULL)
        return 0;
    if (pos < size)
        cpt_det_set(d, -60.0f + (float) (data[pos] % 61), -70.0f + (float) (data[pos] % 71),
                    (data[pos] % 3) * 500);
    while (pos + 1 < size) {
        int chunk = 1 + (data[pos] % 255) * 16, n = (int) ((size - pos - 1) / 2);

        pos++;
        if (chunk > n)
            chunk = n;
        if (chunk > 4096)
            chunk = 4096;
        if (chunk <= 0)
            break;
        memcpy(pcm, data + pos, (size_t) chunk * 2);
        pos += (size_t) chunk * 2;
        k = cpt_det_rx(d, pcm, chunk, ev, (int) (sizeof(ev) / sizeof(ev[0])));
        if (k < 0)
            abort();
        for (i = 0; i < k; i++)
            if (ev[i].start_ms < 0 || ev[i].end_ms < ev[i].start_ms - 1000
                || (ev[i].type == CPT_EV_SILENCE) != (ev[i].tone == -1))
                abort();
    }
    if (cpt_det_dropped(d) != 0)
        abort();
    cpt_det_free(d);
    return 0;
}
