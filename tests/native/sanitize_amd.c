/* sanitize_amd.c - drive the voice-activity detector under ASan/UBSan: every block size,
 * full-scale noise and tones, silence, bad arguments, a tiny event array. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "amd.h"

int main(void)
{
    amd_vad_t *v = amd_vad_new();
    int16_t buf[1000];
    amd_event_t ev[64], one[1];
    unsigned seed = 12345;
    int i, n, k, total = 0;

    if (v == NULL)
        return 1;
    if (amd_vad_set(v, 1.0f, 30, 60, 20.0f) != AMD_EINVAL || amd_vad_set(v, -42.0f, 5, 60, 20)
        != AMD_EINVAL || amd_vad_set(v, -42.0f, 30, 60, 70.0f) != AMD_EINVAL
        || amd_vad_rx(NULL, buf, 10, ev, 64) != AMD_EINVAL
        || amd_vad_rx(v, NULL, 10, ev, 64) != AMD_EINVAL
        || amd_vad_rx(v, buf, -1, ev, 64) != AMD_EINVAL)
        return 2;
    for (n = 0; n <= 1000; n += 7) {
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            switch ((n / 7) % 3) {
            case 0: buf[i] = (int16_t) ((seed >> 16) & 0xffff); break;            /* noise */
            case 1: buf[i] = (int16_t) (32767.0 * sin(0.7853981634 * i)); break;  /* 1 kHz */
            default: buf[i] = 0;
            }
        }
        k = amd_vad_rx(v, buf, n, ev, 64);
        if (k < 0)
            return 3;
        total += k;
        if (amd_vad_rx(v, buf, n, one, 1) < 0 || amd_vad_rx(v, buf, n, NULL, 0) < 0)
            return 4;
    }
    amd_vad_reset(v);
    amd_vad_free(v);
    amd_vad_free(NULL);
    printf("sanitize_amd: ok (%d events)\n", total);
    return 0;
}
