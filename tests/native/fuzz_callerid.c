/*
 * fuzz_callerid.c - libFuzzer target for the caller ID module (callerid.h).
 *
 * Built and run by test_native_callerid_fuzz.py:
 *   clang -fsanitize=fuzzer,address,undefined -Inative/csrc fuzz_callerid.c (all of csrc)
 * The first input byte picks what is fuzzed:
 *   0: the message decoder on arbitrary bytes; a non-OK status carries no data, an OK
 *      one carries NUL-terminated, in-bound fields, and re-encoding them gives them back;
 *   1: the three receivers on arbitrary audio in arbitrary block sizes;
 *   2: transmitter -> receiver over a clean line: any message the transmitter accepts
 *      must come back with the same fields (abort otherwise);
 *   3: a valid transmission with part of its audio overwritten by the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callerid.h"

#define MAX_AUDIO 48000

static int16_t audio[MAX_AUDIO];

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_callerid: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                           \
        }                                                                      \
    } while (0)

static int terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static void check_result(const cid_result_t *r)
{
    REQUIRE(r->status >= CID_OK && r->status <= CID_UNSUPPORTED);
    REQUIRE(terminated(r->msg.number, sizeof(r->msg.number)));
    REQUIRE(terminated(r->msg.name, sizeof(r->msg.name)));
    REQUIRE(terminated(r->msg.datetime, sizeof(r->msg.datetime)));
    if (r->status != CID_OK) {
        REQUIRE(r->msg.number[0] == '\0' && r->msg.name[0] == '\0');
        REQUIRE(r->msg.datetime[0] == '\0');
        REQUIRE(r->msg.number_absence == 0 && r->msg.name_absence == 0);
    }
}

static int same_fields(const cid_message_t *a, const cid_message_t *b)
{
    return strcmp(a->number, b->number) == 0 && strcmp(a->name, b->name) == 0
        && strcmp(a->datetime, b->datetime) == 0 && a->number_absence == b->number_absence
        && a->name_absence == b->name_absence;
}

static void fuzz_decode(const uint8_t *data, size_t size)
{
    cid_result_t r, again;
    uint8_t buf[CID_MAX_MESSAGE];
    int n;

    memset(&r, 0x5A, sizeof(r));
    if (cid_decode_message(data, (int) (size > 100000 ? 100000 : size), &r) < 0)
        return;
    check_result(&r);
    if (r.status != CID_OK)
        return;
    n = cid_encode_message(CID_V23, &r.msg, buf, (int) sizeof(buf));
    if (n < 0)
        return;                          /* the decoder takes a superset of what we send */
    REQUIRE(cid_decode_message(buf, n, &again) == CID_OK);
    REQUIRE(same_fields(&r.msg, &again.msg));
}

static void feed(cid_rx_t *rx, const int16_t *amp, int n, const uint8_t *sizes, size_t nsizes)
{
    cid_result_t r;
    int at = 0, i = 0;

    while (at < n) {
        int k = nsizes > 0 ? 1 + sizes[i++ % nsizes] * 4 : 160;
        if (k > n - at)
            k = n - at;
        REQUIRE(cid_rx_block(rx, amp + at, k) >= 0);
        while (cid_rx_get(rx, &r))
            check_result(&r);
        at += k;
    }
}

static void fuzz_audio(const uint8_t *data, size_t size)
{
    int n = (int) (size / 2 > MAX_AUDIO ? MAX_AUDIO : size / 2), std;

    memcpy(audio, data, (size_t) n * 2);
    for (std = CID_BELL202; std <= CID_DTMF; std++) {
        cid_rx_t *rx = cid_rx_new(std);
        REQUIRE(rx != NULL);
        feed(rx, audio, n, data, size < 16 ? size : 16);
        cid_rx_free(rx);
    }
}

/* A message from the input: raw bytes into the fields (mostly rejected) or bytes mapped
 * onto each field's alphabet (mostly accepted). */
static size_t take_message(const uint8_t *d, size_t size, cid_message_t *m)
{
    static const char num_chars[] = "0123456789*#+";
    size_t at = 0, i, len;
    int mapped;

    memset(m, 0, sizeof(*m));
    if (size < 4)
        return size;
    mapped = !(d[0] & 0x80);
    m->format = d[0] & 1;
    m->number_absence = (d[0] & 2) ? (d[0] & 4 ? 'P' : 'O') : 0;
    m->name_absence = (d[0] & 8) ? (d[0] & 16 ? 'P' : 'O') : 0;
    len = d[1] % (CID_MAX_NUMBER + 2);
    at = 2;
    for (i = 0; i < len && at < size; i++, at++)
        m->number[i] = mapped ? num_chars[d[at] % 13] : (char) d[at];
    m->number[CID_MAX_NUMBER] = '\0';
    if (at < size) {
        len = d[at++] % (CID_MAX_NAME + 2);
        for (i = 0; i < len && at < size; i++, at++)
            m->name[i] = mapped ? (char) (0x20 + d[at] % 95) : (char) d[at];
        m->name[CID_MAX_NAME] = '\0';
    }
    if (at + 4 <= size && (d[0] & 32)) {
        snprintf(m->datetime, sizeof(m->datetime), "%02d%02d%02d%02d", 1 + d[at] % 12,
                 1 + d[at + 1] % 31, d[at + 2] % 24, d[at + 3] % 60);
        at += 4;
    }
    return at;
}

static void fuzz_round_trip(const uint8_t *data, size_t size, int overwrite)
{
    cid_message_t m;
    cid_result_t r;
    cid_tx_t *tx;
    cid_rx_t *rx;
    int std, n = 0, got = 0;
    size_t used;

    if (size < 2)
        return;
    std = data[0] % 3;
    used = 1 + take_message(data + 1, size - 1, &m);
    tx = cid_tx_new(std);
    rx = cid_rx_new(std);
    REQUIRE(tx != NULL && rx != NULL);
    /* -39..0 dBm0 FSK; -24..0 dBm0 per tone DTMF (its detector stops at -38) */
    cid_tx_set_level(tx, -(float) (data[0] % (std == CID_DTMF ? 25 : 40)));
    if (cid_tx_set_message(tx, &m) < 0)
        goto done;
    while (cid_tx_busy(tx) && n + 160 <= MAX_AUDIO - 800)
        n += cid_tx_block(tx, audio + n, 160);
    REQUIRE(!cid_tx_busy(tx));
    memset(audio + n, 0, 800 * sizeof(int16_t));
    n += 800;
    if (overwrite && used < size) {
        size_t at = (data[used] * 97u) % (size_t) n, k;
        for (k = used + 1; k + 1 < size && at < (size_t) n; k += 2, at++)
            audio[at] = (int16_t) (data[k] | (data[k + 1] << 8));
    }
    REQUIRE(cid_rx_block(rx, audio, n) >= 0);
    while (cid_rx_get(rx, &r)) {
        check_result(&r);
        if (r.status == CID_OK && !overwrite) {
            REQUIRE(same_fields(&r.msg, &m));
            got = 1;
        }
    }
    REQUIRE(overwrite || got);
done:
    cid_tx_free(tx);
    cid_rx_free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        fuzz_decode(data + 1, size - 1);
        break;
    case 1:
        fuzz_audio(data + 1, size - 1);
        break;
    case 2:
        fuzz_round_trip(data + 1, size - 1, 0);
        break;
    default:
        fuzz_round_trip(data + 1, size - 1, 1);
        break;
    }
    return 0;
}
