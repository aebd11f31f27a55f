/* libFuzzer target: the DTMF detector and generator on arbitrary input.
 * The first bytes choose the configuration and block sizes; the rest is PCM. Checks the
 * API's promises: event counts within the documented bound, events well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dtmf_det_t *d;
    dtmf_gen_t *g;
    dtmf_event_t ev[2 * (4096 / DTMF_DET_BLOCK + 2)];
    int16_t pcm[4096];
    char digits[9];
    size_t pos = 4, n;
    int i, k;

    if (size < 4)
        return 0;
    d = dtmf_det_new();
    g = dtmf_gen_new();
    if (d == NULL || g == NULL)
        abort();
    dtmf_det_set(d, -60.0f + (float) (data[0] % 61), (float) (data[1] % 21),
                 (float) (data[2] % 21));
    while (pos < size) {
        int chunk = 1 + (data[pos] % 255) * 16;

        pos++;
        n = (size - pos) / 2;
        if ((size_t) chunk > n)
            chunk = (int) n;
        if (chunk > 4096)
            chunk = 4096;
        memcpy(pcm, data + pos, (size_t) chunk * 2);
        pos += (size_t) chunk * 2;
        k = dtmf_det_rx(d, pcm, chunk, ev, (int) (sizeof(ev) / sizeof(ev[0])));
        if (k < 0 || k > 2 * (chunk / DTMF_DET_BLOCK + 2))
            abort();
        for (i = 0; i < k; i++)
            if (!dtmf_is_digit(ev[i].digit) || ev[i].time_ms < 0
                || (ev[i].type != DTMF_DIGIT_START && ev[i].type != DTMF_DIGIT_END))
                abort();
        if (chunk == 0)
            break;
    }
    if (dtmf_det_dropped(d) != 0)
        abort();
    /* generator on digits taken from the input */
    for (i = 0; i < 8 && (size_t) i < size; i++)
        digits[i] = "0123456789*#ABCDx"[data[i] % 17];
    digits[i] = '\0';
    dtmf_gen_set(g, -60.0f + (float) (data[0] % 64), -20.0f + (float) (data[1] % 41),
                 1 + data[2] % 200, data[3] % 200);
    dtmf_gen_put(g, digits);
    for (i = 0; i < 20 && dtmf_gen_busy(g); i++)
        dtmf_gen_block(g, pcm, 1 + data[i % size] * 8);
    dtmf_det_free(d);
    dtmf_gen_free(g);
    return 0;
}
