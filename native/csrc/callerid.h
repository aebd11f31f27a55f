/*
 * callerid.h - caller ID (CLIP) transmitter and receiver: FSK (Bell 202, ITU-T V.23 as
 * used by ETSI EN 300 659) with SDMF/MDMF messages, and DTMF caller ID.
 *
 * What
 *   - FSK physical layer, 1200 bit/s asynchronous (1 start bit 0, 8 data bits LSB first,
 *     1 stop bit 1): Bell 202 (mark 1200 Hz, space 2200 Hz; Telcordia GR-30-CORE) and
 *     V.23 (mark 1300 Hz, space 2100 Hz; ETSI EN 300 659-1). A transmission is the channel
 *     seizure (300 alternating bits 0101..., default), the mark signal (180 bits of 1,
 *     default), the message bytes and a short mark tail.
 *   - Message layer: message type, length, parameters, checksum (two's complement of the
 *     modulo-256 sum of every byte from the type to the last parameter byte).
 *       SDMF (type 0x04): MMDDHHMM then the number, or 'O' (unavailable) / 'P' (private).
 *       MDMF (type 0x80, call set-up): parameters 0x01 date/time (MMDDHHMM), 0x02 calling
 *       line identity, 0x04 reason for absence of the number ('O'/'P'), 0x07 calling party
 *       name, 0x08 reason for absence of the name ('O'/'P'); other parameters are skipped.
 *       MDMF message waiting indicator (type 0x82; ETSI EN 300 659-3 clause 5.2.2, and
 *       the on-hook VMWI of Telcordia GR-30-CORE): optional 0x01 date/time, the visual
 *       indicator 0x0B of one byte (0xFF activation: lamp on, 0x00 deactivation: lamp
 *       off; other values are reserved and make the message malformed), and, ETSI only,
 *       0x13 number of messages (one byte, binary). Sent on-hook, not associated with
 *       ringing; the line driver adds the alert (line reversal + DT-AS, or RP-AS).
 *   - DTMF caller ID (ETSI EN 300 659-1 annex / Q.23-based national specs): transmitted as
 *     <start><digits><end>, start 'A' (or 'D'), end 'C' (or '#'); the reasons for absence
 *     as the information code 'B' 0 0 'C' (unavailable, 'O') or 'B' 1 0 'C' (private, 'P').
 *     The receiver also takes the Swedish multi-field form A<n>[D<n>][B<xx>]C and the
 *     Danish D1# (private) / D2#, D3# (unavailable). 70 ms tones, 70 ms pauses by default.
 *
 * How (receiver)
 *   FSK: two complex correlators over the last CID_CORR_LEN (8) samples, 1.2 bits, at
 *   the mark and space frequencies; the sign of |mark|^2 - |space|^2 is the bit. This
 *   is a non-coherent matched filter, so it does not care about the line level, and the
 *   comparison does not care about a mark/space level difference (twist) of several dB.
 *   Carrier detect: the signal power (4 ms average) is above the threshold (default
 *   -48 dBm0, settable) and at least 3/4 of it falls in the two correlators' bands (white
 *   noise gives about 0.5, speech less); carrier is dropped when the power falls 3 dB
 *   under the threshold. Bit timing: UART style, re-synchronised on every start bit edge.
 *   A message starts only after at least CID_MIN_MARK_BITS (40) bits of continuous mark,
 *   so a channel seizure, noise or speech cannot start one; a glitch that does not last to
 *   the middle of a start bit is ignored. The start bit's edge is located to a fraction of a sample (zero
 *   crossing interpolated), and each decision sums three samples at the measured best
 *   point of the eye. A framing error, more than 40 bit times of mark between two bytes or
 *   loss of carrier abandon the message silently (nothing is reported). A complete
 *   message is reported with its checksum verdict; a message that fails the checksum, or
 *   whose fields are malformed, carries no data (every field empty), only the status.
 *   The mark frequency is measured over the mark signal (mark_hz), which tells Bell 202
 *   from V.23 on the same audio (each receiver decodes both: their tones are 100 Hz
 *   apart, within a one-bit correlator's bandwidth).
 *   DTMF: the digits come from the DTMF detector of dtmf.h (default settings); a message
 *   left unfinished for 2 s is dropped.
 *
 * Levels are dBm0 (osc.h: 0 dBm0 = a sine of peak 22827); FSK default -13 dBm0, DTMF
 * default -10 dBm0 per tone.
 *
 * Usage
 *   tx = cid_tx_new(CID_V23); cid_message_t m = {0}; m.format = CID_FMT_MDMF;
 *   strcpy(m.number, "0123456789"); cid_tx_set_message(tx, &m);
 *   while (cid_tx_busy(tx)) cid_tx_block(tx, amp, 160);
 *   rx = cid_rx_new(CID_V23); per block: if (cid_rx_block(rx, amp, n) > 0 &&
 *   cid_rx_get(rx, &r) && r.status == CID_OK) use r.msg.
 * Only the _new functions allocate; the block functions never do.
 *
 * Memory per instance: cid_rx_t is 808 bytes on x86-64 (cid_rx_state_size()),
 * plus one dtmf_det_t for CID_DTMF; cid_tx_t is 328 bytes (cid_tx_state_size()),
 * plus one dtmf_gen_t for CID_DTMF.
 */
#ifndef EDGEPBX_CALLERID_H
#define EDGEPBX_CALLERID_H

#include <stddef.h>
#include <stdint.h>

#define CID_EINVAL (-1)

/* Field limits (characters, without the terminating NUL). ETSI allows 20 digits and
 * 50 name characters; Bell CPE display at least 10/15. */
#define CID_MAX_NUMBER 20
#define CID_MAX_NAME 50
#define CID_DATETIME_LEN 8
/* type + length + up to 255 parameter bytes + checksum */
#define CID_MAX_MESSAGE 258

/* Transmission defaults and receiver limits, in bits at 1200 bit/s. */
#define CID_SEIZURE_BITS 300
#define CID_MARK_BITS 180
#define CID_MIN_MARK_BITS 40
#define CID_CORR_LEN 8

/* Message types. */
#define CID_MSG_SDMF_CALL 0x04
#define CID_MSG_MDMF_CALL 0x80
#define CID_MSG_MDMF_MWI 0x82
/* MDMF parameter types. */
#define CID_PARAM_DATETIME 0x01
#define CID_PARAM_NUMBER 0x02
#define CID_PARAM_NUMBER_ABSENT 0x04
#define CID_PARAM_NAME 0x07
#define CID_PARAM_NAME_ABSENT 0x08
#define CID_PARAM_VISUAL_INDICATOR 0x0B
#define CID_PARAM_MESSAGES 0x13
/* Visual indicator values (EN 300 659-3 / GR-30-CORE). */
#define CID_VI_ON 0xFF
#define CID_VI_OFF 0x00

/* Timing facts for the line driver (ms), from the standards; the FXS driver schedules
 * the transmission, this module only makes the audio.
 * Bell (GR-30-CORE): data between the first and second ring, starting at least 500 ms
 * after the end of the first ring and ending at least 200 ms before the second. */
#define CID_BELL_AFTER_RING1_MIN_MS 500
#define CID_BELL_BEFORE_RING2_MIN_MS 200
/* ETSI EN 300 659-1, data during ringing (after the first ring): the same 500 ms after
 * the first ring and 200 ms before the next. */
#define CID_ETSI_AFTER_RING1_MIN_MS 500
#define CID_ETSI_BEFORE_RING2_MIN_MS 200
/* ETSI EN 300 659-1, data before ringing, line reversal then DT-AS (2130 + 2750 Hz):
 * reversal to DT-AS at least 100 ms; DT-AS lasts 100 +- 10 ms; DT-AS end to FSK start
 * 45..500 ms; FSK end to the first ring at least 200 ms. */
#define CID_ETSI_REVERSAL_TO_DTAS_MIN_MS 100
#define CID_ETSI_DTAS_MS 100
#define CID_ETSI_DTAS_LOW_HZ 2130
#define CID_ETSI_DTAS_HIGH_HZ 2750
#define CID_ETSI_DTAS_TO_FSK_MIN_MS 45
#define CID_ETSI_DTAS_TO_FSK_MAX_MS 500
#define CID_ETSI_FSK_TO_RING_MIN_MS 200
/* ETSI EN 300 659-1, data before ringing with a ring-pulse alerting signal (RP-AS,
 * 200..300 ms): RP-AS end to FSK start 500..800 ms. */
#define CID_ETSI_RPAS_MIN_MS 200
#define CID_ETSI_RPAS_MAX_MS 300
#define CID_ETSI_RPAS_TO_FSK_MIN_MS 500
#define CID_ETSI_RPAS_TO_FSK_MAX_MS 800
/* DTMF caller ID (national specs, e.g. Sweden): digits of 70 ms, pauses of 70 ms, sent
 * before the first ring (after a line reversal where used). */
#define CID_DTMF_TONE_MS 70
#define CID_DTMF_PAUSE_MS 70

enum {
    CID_BELL202 = 0,
    CID_V23 = 1,
    CID_DTMF = 2
};

enum {
    CID_FMT_SDMF = 0,
    CID_FMT_MDMF = 1,
    CID_FMT_DTMF = 2
};

/* Status of a received message. */
enum {
    CID_OK = 0,             /* checksum right and fields well formed */
    CID_BAD_CHECKSUM = 1,   /* no data */
    CID_BAD_MESSAGE = 2,    /* checksum right but fields malformed; no data */
    CID_UNSUPPORTED = 3     /* checksum right, a message type other than call set-up or
                               MDMF message waiting */
};

/* cid_message_t.mwi: what kind of message. */
enum {
    CID_MWI_NONE = 0,       /* a call set-up message (caller ID) */
    CID_MWI_ON = 1,         /* message waiting indicator, lamp on */
    CID_MWI_OFF = 2         /* message waiting indicator, lamp off */
};

/* The caller ID of one call, or a message waiting indication. Empty strings and 0
 * characters mean "not present". number: digits (and * # + in FSK); name: printable ASCII
 * 0x20..0x7E; datetime: "MMDDHHMM"; number_absence/name_absence: 'O' unavailable,
 * 'P' private. mwi: CID_MWI_NONE for caller ID, else a message waiting indicator (MDMF
 * only, FSK only) that carries at most the datetime and messages: the number of messages
 * waiting 1..255 (sent as parameter 0x13), 0 when not sent. */
typedef struct {
    int format;             /* CID_FMT_SDMF or CID_FMT_MDMF (ignored for DTMF) */
    char number[CID_MAX_NUMBER + 1];
    char name[CID_MAX_NAME + 1];
    char datetime[CID_DATETIME_LEN + 1];
    char number_absence;
    char name_absence;
    int mwi;
    int messages;
} cid_message_t;

typedef struct {
    int standard;           /* the receiver's standard */
    int status;             /* CID_OK ... CID_UNSUPPORTED */
    int msg_type;           /* FSK message type byte; 0 for DTMF */
    cid_message_t msg;      /* all empty unless status == CID_OK */
    float mark_hz;          /* FSK: measured mark frequency; 0 for DTMF */
    float level_dbm0;       /* FSK: mean level over the message bytes */
    int64_t start_sample;   /* first message byte's start bit / first digit */
    int64_t end_sample;     /* end of the checksum's stop bit / of the end digit */
} cid_result_t;

typedef struct cid_tx_s cid_tx_t;
typedef struct cid_rx_s cid_rx_t;

/* ---- message layer (pure functions, no audio) ---------------------------------- */

/* Check m for standard and write the FSK message (type, length, parameters, checksum)
 * into buf: the number of bytes, or CID_EINVAL (invalid field, nothing to send, or buf
 * too small). SDMF needs a datetime and a number or number_absence; MDMF needs at least
 * one field; a number and its reason for absence exclude each other (so do name and
 * name_absence). For CID_DTMF, writes the digit string (NUL-terminated, e.g. "A123C")
 * and returns its length; DTMF carries only the number or its absence. */
int cid_encode_message(int standard, const cid_message_t *m, uint8_t *buf, int max);

/* Decode one FSK message from type byte to checksum (len bytes) into out: returns the
 * status (CID_OK ...) or CID_EINVAL for bad arguments; a buffer shorter or longer than
 * its length byte says is CID_BAD_MESSAGE. out->msg is all empty unless CID_OK. */
int cid_decode_message(const uint8_t *buf, int len, cid_result_t *out);

/* ---- transmitter ---------------------------------------------------------------- */

/* NULL for an unknown standard or no memory. Idle until a message is set. */
cid_tx_t *cid_tx_new(int standard);
void cid_tx_free(cid_tx_t *s);
size_t cid_tx_state_size(void);
/* Level in dBm0 (-60..+3), for FSK the level of the sine, for DTMF per tone.
 * Applies to messages set from now on. 0 or CID_EINVAL. */
int cid_tx_set_level(cid_tx_t *s, float level_dbm0);
/* FSK: bits of channel seizure (0..1000) and of mark signal (0..1000) before the message.
 * 0 or CID_EINVAL. */
int cid_tx_set_preamble(cid_tx_t *s, int seizure_bits, int mark_bits);
/* DTMF: start digit 'A' or 'D', end digit 'C' or '#'. 0 or CID_EINVAL. */
int cid_tx_set_dtmf_codes(cid_tx_t *s, char start, char end);
/* Start sending m (replacing anything in progress): returns the message bytes (FSK) or
 * digits (DTMF) queued, or CID_EINVAL (nothing changes). */
int cid_tx_set_message(cid_tx_t *s, const cid_message_t *m);
/* Write n samples; returns how many of them carry the transmission (the rest are 0). */
int cid_tx_block(cid_tx_t *s, int16_t *amp, int n);
/* 1 while the transmission has samples left. */
int cid_tx_busy(const cid_tx_t *s);

/* ---- receiver ------------------------------------------------------------------- */

cid_rx_t *cid_rx_new(int standard);
void cid_rx_free(cid_rx_t *s);
size_t cid_rx_state_size(void);
/* Forget the stream and any pending result. */
void cid_rx_reset(cid_rx_t *s);
/* FSK carrier-detect threshold, -70..0 dBm0 (default -48). 0 or CID_EINVAL. */
int cid_rx_set_threshold(cid_rx_t *s, float level_dbm0);
/* Feed n samples: 1 if a result is pending (see cid_rx_get), 0 if not, CID_EINVAL for
 * bad arguments. A result completed while another is still pending replaces it and
 * counts in cid_rx_overruns. */
int cid_rx_block(cid_rx_t *s, const int16_t *amp, int n);
/* Copy the pending result to out and clear it: 1, or 0 when there is none. */
int cid_rx_get(cid_rx_t *s, cid_result_t *out);
/* FSK: 1 while the carrier is detected. */
int cid_rx_carrier(const cid_rx_t *s);
uint32_t cid_rx_overruns(const cid_rx_t *s);

#endif
