/*
 * sanitize_callerid.c - exercises the caller ID module (callerid.h) under AddressSanitizer
 * and UBSan: every standard and format through transmitter and receiver, odd block sizes,
 * noise, corrupt messages, argument errors. Built by test_native_callerid_sanitize.py
 * with the sources of native/csrc; prints "sanitize_callerid: ok" when every check holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callerid.h"

#define MAX_AUDIO 48000

static int failures;
static int16_t audio[MAX_AUDIO];

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static int transmit(int std, const cid_message_t *m, float level)
{
    cid_tx_t *tx = cid_tx_new(std);
    int n = 0;

    CHECK(tx != NULL);
    CHECK(cid_tx_set_level(tx, level) == 0);
    CHECK(cid_tx_set_message(tx, m) > 0);
    while (cid_tx_busy(tx) && n + 333 <= MAX_AUDIO - 800)
        n += cid_tx_block(tx, audio + n, 333);
    CHECK(!cid_tx_busy(tx));
    memset(audio + n, 0, 800 * sizeof(int16_t));
    cid_tx_free(tx);
    return n + 800;
}

/* Results found in audio[0..n) fed in blocks of `block`; the last one in *last. */
static int receive(int std, int n, int block, cid_result_t *last)
{
    cid_rx_t *rx = cid_rx_new(std);
    cid_result_t r;
    int at, found = 0;

    CHECK(rx != NULL);
    for (at = 0; at < n; at += block) {
        int k = n - at < block ? n - at : block;
        CHECK(cid_rx_block(rx, audio + at, k) >= 0);
        while (cid_rx_get(rx, &r)) {
            *last = r;
            found++;
        }
    }
    cid_rx_free(rx);
    return found;
}

static void round_trips(void)
{
    static const int blocks[] = {1, 13, 160, 4096};
    cid_message_t m;
    cid_result_t r;
    int std, fmt, b, n;

    for (std = CID_BELL202; std <= CID_DTMF; std++) {
        for (fmt = CID_FMT_SDMF; fmt <= CID_FMT_MDMF; fmt++) {
            memset(&m, 0, sizeof(m));
            m.format = fmt;
            strcpy(m.number, std == CID_DTMF ? "01234567890123456789" : "+4930123456*#");
            if (std != CID_DTMF) {
                strcpy(m.datetime, "12312359");
                if (fmt == CID_FMT_MDMF)
                    strcpy(m.name, "A NAME OF FIFTY CHARACTERS, MORE OR LESS ~!@#$%^&*");
            }
            n = transmit(std, &m, -20.0f);
            for (b = 0; b < 4; b++) {
                memset(&r, 0, sizeof(r));
                CHECK(receive(std, n, blocks[b], &r) == 1);
                CHECK(r.status == CID_OK);
                CHECK(strcmp(r.msg.number, m.number) == 0);
                CHECK(strcmp(r.msg.name, m.name) == 0);
                CHECK(strcmp(r.msg.datetime, m.datetime) == 0);
            }
            /* a corrupted byte in the audio: reported as bad, never as data */
            if (std != CID_DTMF) {
                int at = (300 + 180 + 10 * 5 + 3) * 20 / 3;
                int k;
                for (k = 0; k < 6; k++)
                    audio[at + k] = (int16_t) -audio[at + k];
                if (receive(std, n, 160, &r) > 0 && r.status != CID_OK)
                    CHECK(r.msg.number[0] == '\0' && r.msg.name[0] == '\0');
            }
        }
    }
}

static void noise_and_junk(void)
{
    uint32_t seed = 12345;
    uint8_t buf[CID_MAX_MESSAGE + 10];
    cid_result_t r;
    int i, std, k;

    for (i = 0; i < MAX_AUDIO; i++) {
        seed = seed * 1103515245u + 12345u;
        audio[i] = (int16_t) (seed >> 16);
    }
    for (std = CID_BELL202; std <= CID_DTMF; std++)
        CHECK(receive(std, MAX_AUDIO, 257, &r) == 0);
    for (k = 0; k < 2000; k++) {
        int len = k % (int) sizeof(buf);
        for (i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t) (seed >> 24);
        }
        if (len >= 2) {
            buf[0] = k & 1 ? CID_MSG_MDMF_CALL : CID_MSG_SDMF_CALL;
            buf[1] = (uint8_t) (len - 3);
        }
        CHECK(cid_decode_message(buf, len, &r) >= 0);
        if (r.status != CID_OK)
            CHECK(r.msg.number[0] == '\0' && r.msg.name[0] == '\0');
    }
}

static void arguments(void)
{
    cid_tx_t *tx = cid_tx_new(CID_V23);
    cid_rx_t *rx = cid_rx_new(CID_DTMF);
    cid_message_t m;
    cid_result_t r;
    uint8_t buf[8];

    memset(&m, 0, sizeof(m));
    CHECK(cid_tx_new(7) == NULL && cid_rx_new(-2) == NULL);
    CHECK(cid_tx_set_message(tx, &m) == CID_EINVAL);
    CHECK(cid_tx_set_message(NULL, &m) == CID_EINVAL);
    CHECK(cid_tx_block(tx, audio, -5) == CID_EINVAL);
    CHECK(cid_tx_block(tx, NULL, 5) == CID_EINVAL);
    CHECK(cid_rx_block(rx, NULL, 5) == CID_EINVAL);
    CHECK(cid_rx_block(NULL, audio, 5) == CID_EINVAL);
    CHECK(cid_rx_get(rx, &r) == 0);
    CHECK(cid_encode_message(CID_V23, NULL, buf, 8) == CID_EINVAL);
    CHECK(cid_decode_message(NULL, 3, &r) == CID_EINVAL);
    CHECK(cid_decode_message(NULL, 0, &r) == CID_BAD_MESSAGE);
    memset(m.number, '1', sizeof(m.number));      /* unterminated field */
    CHECK(cid_encode_message(CID_V23, &m, buf, 8) == CID_EINVAL);
    cid_rx_reset(rx);
    cid_tx_free(tx);
    cid_rx_free(rx);
    cid_tx_free(NULL);
    cid_rx_free(NULL);
}

/* Message waiting indicators: both standards, lamp on with a count and off, through the
 * modulator and the receiver; and the fields an indicator may not carry. */
static void message_waiting(void)
{
    cid_message_t m;
    cid_result_t r;
    uint8_t buf[CID_MAX_MESSAGE];
    int std, on, n;

    for (std = CID_BELL202; std <= CID_V23; std++) {
        for (on = 0; on <= 1; on++) {
            memset(&m, 0, sizeof(m));
            m.format = CID_FMT_MDMF;
            m.mwi = on ? CID_MWI_ON : CID_MWI_OFF;
            m.messages = on && std == CID_V23 ? 255 : 0;
            n = transmit(std, &m, -13.0f);
            memset(&r, 0, sizeof(r));
            CHECK(receive(std, n, 160, &r) == 1);
            CHECK(r.status == CID_OK && r.msg_type == CID_MSG_MDMF_MWI);
            CHECK(r.msg.mwi == m.mwi && r.msg.messages == m.messages);
            CHECK(r.msg.number[0] == '\0');
        }
    }
    memset(&m, 0, sizeof(m));
    m.format = CID_FMT_MDMF;
    m.mwi = CID_MWI_ON;
    strcpy(m.number, "123");
    CHECK(cid_encode_message(CID_V23, &m, buf, (int) sizeof(buf)) == CID_EINVAL);
    m.number[0] = '\0';
    m.messages = 256;
    CHECK(cid_encode_message(CID_V23, &m, buf, (int) sizeof(buf)) == CID_EINVAL);
    m.messages = 0;
    m.mwi = 3;
    CHECK(cid_encode_message(CID_V23, &m, buf, (int) sizeof(buf)) == CID_EINVAL);
    m.mwi = CID_MWI_ON;
    m.format = CID_FMT_SDMF;
    CHECK(cid_encode_message(CID_V23, &m, buf, (int) sizeof(buf)) == CID_EINVAL);
    m.format = CID_FMT_MDMF;
    CHECK(cid_encode_message(CID_DTMF, &m, buf, (int) sizeof(buf)) == CID_EINVAL);
    m.mwi = CID_MWI_NONE;
    m.messages = 2;                      /* a count without an indicator */
    strcpy(m.number, "123");
    CHECK(cid_encode_message(CID_V23, &m, buf, (int) sizeof(buf)) == CID_EINVAL);
}

int main(void)
{
    round_trips();
    message_waiting();
    noise_and_junk();
    arguments();
    if (failures) {
        fprintf(stderr, "sanitize_callerid: %d failures\n", failures);
        return 1;
    }
    printf("sanitize_callerid: ok\n");
    return 0;
}
