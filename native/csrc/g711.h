/*
 * g711.h - ITU-T G.711 A-law and mu-law companding.
 *
 * What: conversion between 16-bit linear PCM and 8-bit G.711 codes, one sample or a
 * block at a time.
 *
 * How: the segment (chord) algorithm of G.711, as in the ITU-T G.191 Software Tool
 * Library (g711.c), so the codes are bit-exact with the ITU reference:
 *   - A-law: the 16-bit input is reduced to its 12 most significant magnitude bits
 *     (negative values by one's complement, i.e. |x| - 1, which keeps the quantiser
 *     symmetric about -1/2), split into a 3-bit segment and a 4-bit mantissa; the sign
 *     bit is 1 for x >= 0, and the even bits are inverted (XOR 0x55).
 *   - mu-law: the 14 most significant bits, magnitude by one's complement, plus the
 *     bias 33 (0x84 on the 16-bit scale), clipped to 0x1FFF, segment and mantissa, and
 *     the whole code inverted (sign bit 1 for x >= 0).
 * Decoding returns the middle of the quantisation interval on the 16-bit scale. mu-law
 * codes 0x7F and 0xFF both decode to 0. Silence (linear 0) encodes to 0xD5 (A-law) and
 * 0xFF (mu-law).
 *
 * Usage: g711_encode(G711_ALAW, codes, pcm, n); g711_decode(G711_ALAW, pcm, codes, n).
 * No state, no tables to initialise; every function is re-entrant.
 */
#ifndef EDGEPBX_G711_H
#define EDGEPBX_G711_H

#include <stdint.h>

enum {
    G711_ALAW = 0,
    G711_ULAW = 1
};

#define G711_ALAW_SILENCE 0xD5
#define G711_ULAW_SILENCE 0xFF

uint8_t g711_alaw_encode1(int16_t x);
int16_t g711_alaw_decode1(uint8_t code);
uint8_t g711_ulaw_encode1(int16_t x);
int16_t g711_ulaw_decode1(uint8_t code);

/* Block functions. codec is G711_ALAW or G711_ULAW; return 0, or -1 for an unknown
 * codec or a negative n (nothing is written then). */
int g711_encode(int codec, uint8_t *dst, const int16_t *src, int n);
int g711_decode(int codec, int16_t *dst, const uint8_t *src, int n);

/* The code of linear 0 for the codec, or -1 for an unknown codec. */
int g711_silence_code(int codec);

#endif
