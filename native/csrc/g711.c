/* g711.c - G.711 A-law / mu-law; see g711.h for the algorithm and its reference. */
#include "g711.h"

/* Number of significant bits of x (0 for 0): the segment of a magnitude is its bit length
 * minus the bit length of the top of segment 0. The compilers' count-leading-zeros builtin
 * is one instruction on x86 and ARM; the loop is the portable fallback. */
static int bitlen(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return x ? 32 - __builtin_clz(x) : 0;
#else
    int n = 0;

    while (x) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Segment of a magnitude below 8 * (first + 1): how many times it can be halved before it
 * fits in `first` (the top of segment 0, 2^k - 1). */
static int segment_of(uint32_t mag, uint32_t first)
{
    int seg = bitlen(mag) - bitlen(first);

    return seg > 0 ? seg : 0;
}

uint8_t g711_alaw_encode1(int16_t x)
{
    /* 12-bit magnitude: x >= 0 -> x >> 3, x < 0 -> (-x - 1) >> 3 (one's complement). */
    uint32_t mag = (x >= 0) ? (uint32_t) x >> 3 : (uint32_t) (-(int32_t) x - 1) >> 3;
    uint8_t sign = (x >= 0) ? 0x80 : 0x00;
    int seg = segment_of(mag, 0x1F);  /* mag <= 4095, so seg <= 7 */
    uint32_t mant = (seg < 2) ? (mag >> 1) & 0x0F : (mag >> seg) & 0x0F;

    return (uint8_t) ((sign | ((uint32_t) seg << 4) | mant) ^ 0x55);
}

int16_t g711_alaw_decode1(uint8_t code)
{
    uint32_t v = (uint32_t) (code ^ 0x55);
    int seg = (int) ((v >> 4) & 0x07);
    int32_t mag = (int32_t) ((v & 0x0F) << 4) + 8;

    if (seg > 0)
        mag += 0x100;
    if (seg > 1)
        mag <<= seg - 1;
    return (int16_t) ((v & 0x80) ? mag : -mag);
}

uint8_t g711_ulaw_encode1(int16_t x)
{
    /* 14-bit magnitude by one's complement, plus the bias 33, clipped to 0x1FFF. */
    uint32_t mag = (x >= 0) ? (uint32_t) x >> 2 : (uint32_t) (-(int32_t) x - 1) >> 2;
    uint8_t mask = (x >= 0) ? 0xFF : 0x7F;
    int seg;

    mag += 33;
    if (mag > 0x1FFF)
        mag = 0x1FFF;
    seg = segment_of(mag, 0x3F);  /* 33 <= mag <= 0x1FFF, so seg <= 7 */
    return (uint8_t) ((((uint32_t) seg << 4) | ((mag >> (seg + 1)) & 0x0F)) ^ mask);
}

int16_t g711_ulaw_decode1(uint8_t code)
{
    uint32_t v = (uint32_t) (uint8_t) ~code;
    int seg = (int) ((v >> 4) & 0x07);
    /* (mantissa * 8 + bias) << segment - bias, on the 16-bit scale (bias 0x84) */
    int32_t mag = ((((int32_t) (v & 0x0F) << 3) + 0x84) << seg) - 0x84;

    return (int16_t) ((v & 0x80) ? -mag : mag);
}

int g711_encode(int codec, uint8_t *dst, const int16_t *src, int n)
{
    int i;

    if (n < 0)
        return -1;
    if (codec == G711_ALAW) {
        for (i = 0; i < n; i++)
            dst[i] = g711_alaw_encode1(src[i]);
    } else if (codec == G711_ULAW) {
        for (i = 0; i < n; i++)
            dst[i] = g711_ulaw_encode1(src[i]);
    } else {
        return -1;
    }
    return 0;
}

int g711_decode(int codec, int16_t *dst, const uint8_t *src, int n)
{
    int i;

    if (n < 0)
        return -1;
    if (codec == G711_ALAW) {
        for (i = 0; i < n; i++)
            dst[i] = g711_alaw_decode1(src[i]);
    } else if (codec == G711_ULAW) {
        for (i = 0; i < n; i++)
            dst[i] = g711_ulaw_decode1(src[i]);
    } else {
        return -1;
    }
    return 0;
}

int g711_silence_code(int codec)
{
    if (codec == G711_ALAW)
        return G711_ALAW_SILENCE;
    if (codec == G711_ULAW)
        return G711_ULAW_SILENCE;
    return -1;
}
