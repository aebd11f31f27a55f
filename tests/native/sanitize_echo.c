/*
 * sanitize_echo.c - exercises the echo canceller (echo.c) under AddressSanitizer and UBSan:
 * every tail length, both kernels, every option, odd block lengths, saturating input,
 * reset, bad arguments. Exits 0 when every check holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

static int failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            failures++;                                                                \
        }                                                                              \
    } while (0)

int main(void)
{
    static int16_t far[8000], near[8000], out[8000], lin[8000];
    static const int tails[] = {64, 100, 128, 256};
    static const int blocks[] = {1, 7, 80, 160, 333};
    unsigned r = 12345u;
    float h[64];
    int t, opt, i, b;

    for (i = 0; i < 8000; i++) {
        r = r * 1103515245u + 12345u;
        far[i] = (int16_t) ((int) (r >> 16) - 32768);      /* full-scale noise */
        near[i] = (int16_t) (i >= 20 ? far[i - 20] / 2 : 0);
    }
    CHECK(echo_can_new(63, 0) == NULL);
    CHECK(echo_can_new(257, 0) == NULL);
    CHECK(echo_can_new(128, 1 << 10) == NULL);
    CHECK(echo_can_state_bytes(1) == 0);
    for (t = 0; t < 4; t++) {
        for (opt = 0; opt <= ECHO_OPT_ALL; opt++) {
            echo_can_t *s = echo_can_new(tails[t], opt);
            echo_can_stats_t st;
            int pos = 0;
            CHECK(s != NULL);
            if (s == NULL)
                continue;
            for (b = 0; pos < 8000; b++) {
                int n = blocks[b % 5];
                if (n > 8000 - pos)
                    n = 8000 - pos;
                CHECK(echo_can_process_ex(s, far + pos, near + pos, out + pos,
                                          (b & 1) ? lin + pos : NULL, n) == 0);
                pos += n;
            }
            CHECK(echo_can_process(s, far, near, out, 0) == 0);
            memcpy(lin, near, sizeof(lin));
            CHECK(echo_can_process(s, far, lin, lin, 8000) == 0);   /* in place */
            echo_can_get_stats(s, &st);
            CHECK(echo_can_get_impulse(s, h, 64) == 64);
            CHECK(echo_can_process(s, NULL, near, out, 10) == ECHO_EINVAL);
            CHECK(echo_can_process(s, far, near, out, -1) == ECHO_EINVAL);
            CHECK(echo_can_set_options(s, 99) == ECHO_EINVAL);
            CHECK(echo_can_set_options(s, opt ^ ECHO_OPT_PORTABLE) == 0);
            CHECK(echo_can_taps(s) >= tails[t] * 8);
            CHECK(strlen(echo_can_kernel(s)) > 0);
            echo_can_reset(s);
            CHECK(echo_can_process(s, far, near, out, 8000) == 0);
            echo_can_free(s);
        }
    }
    echo_can_free(NULL);
    if (failures) {
        fprintf(stderr, "sanitize_echo: %d failures\n", failures);
        return 1;
    }
    printf("sanitize_echo: ok\n");
    return 0;
}
