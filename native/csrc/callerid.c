/* callerid.c - caller ID FSK/DTMF transmitter and receiver; see callerid.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "callerid.h"
#include "dtmf.h"
#include "osc.h"

#define RATE 8000
#define TWO_PI 6.283185307179586
/* Bit timing in thirds of a sample: one sample is 3 units, one bit (8000/1200 samples)
 * is exactly 20, so the clocks below are integer and do not drift. */
#define UNITS_PER_SAMPLE 3
#define UNITS_PER_BIT 20
/* A bit decision sums |mark|^2 - |space|^2 over DEC_SPAN consecutive samples. It is
 * taken FIRST_DECISION_UNITS after the (interpolated) zero crossing of that difference
 * at a start bit's leading edge, then every bit. With an 8-sample window, the best
 * decision point was measured (message error rate at 10 and 12 dB SNR, both standards)
 * at 8 units after the crossing for the first of the three samples: one sample either
 * way costs a factor of 3 to 10 in errors, so this is tuned, not guessed. */
#define DEC_SPAN 3
#define FIRST_DECISION_UNITS (8 + UNITS_PER_SAMPLE * (DEC_SPAN - 1) / 2)
/* Mark bits after the last stop bit, so a receiver's filters see the stop bit out. */
#define TX_TAIL_BITS 4
/* Longest mark between two bytes of a message, in samples (40 bits). */
#define MAX_GAP_SAMPLES (40 * UNITS_PER_BIT / UNITS_PER_SAMPLE)
/* Shortest mark signal before a message, in samples. */
#define MIN_MARK_SAMPLES (CID_MIN_MARK_BITS * UNITS_PER_BIT / UNITS_PER_SAMPLE)
/* Power and in-band averages: one-pole, time constant 32 samples (4 ms). */
#define AVG_ALPHA (1.0f / 32.0f)
/* Carrier on: at least this share of the power in the correlators' bands. */
#define BAND_SHARE_ON 0.75f
/* Carrier off: 3 dB under the on threshold (power ratio). */
#define CARRIER_HYSTERESIS 0.5f
/* A DTMF caller ID left unfinished this long (samples, 2 s) is dropped. */
#define DTMF_TIMEOUT_SAMPLES (2 * RATE)
/* Input chunk for the DTMF detector, so that its events always fit the array below. */
#define DTMF_CHUNK (10 * DTMF_DET_BLOCK)
#define DTMF_MAX_EV (2 * (DTMF_CHUNK / DTMF_DET_BLOCK + 2))

static const float mark_hz_of[2] = {1200.0f, 1300.0f};
static const float space_hz_of[2] = {2200.0f, 2100.0f};

static int valid_standard(int standard)
{
    return standard == CID_BELL202 || standard == CID_V23 || standard == CID_DTMF;
}

/* ---- message layer ------------------------------------------------------------ */

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_printable(int c)
{
    return c >= 0x20 && c <= 0x7E;
}

/* Characters a number may carry: transmitted (digits * # +) and received (also space
 * and '-', which some networks put in for display). */
static int is_number_char_tx(int c)
{
    return is_digit(c) || c == '*' || c == '#' || c == '+';
}

static int is_number_char_rx(int c)
{
    return is_number_char_tx(c) || c == ' ' || c == '-';
}

/* Length of s if NUL-terminated within max bytes, else -1. */
static int bounded_len(const char *s, int max)
{
    int i;

    for (i = 0; i < max; i++)
        if (s[i] == '\0')
            return i;
    return -1;
}

static int two_digits(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* MMDDHHMM: 8 digits (and, when strict, a real month, day, hour and minute). */
static int valid_datetime(const char *d, int strict)
{
    int i;

    for (i = 0; i < CID_DATETIME_LEN; i++)
        if (!is_digit((unsigned char) d[i]))
            return 0;
    if (!strict)
        return 1;
    return two_digits(d) >= 1 && two_digits(d) <= 12 && two_digits(d + 2) >= 1
        && two_digits(d + 2) <= 31 && two_digits(d + 4) <= 23 && two_digits(d + 6) <= 59;
}

static int valid_absence(char c)
{
    return c == 'O' || c == 'P';
}

/* Checks the fields of m common to every standard; fills the presence flags. */
static int check_fields(const cid_message_t *m, int dtmf, int *num_len, int *name_len,
                        int *has_dt)
{
    int i, n, k;

    n = bounded_len(m->number, CID_MAX_NUMBER + 1);
    k = bounded_len(m->name, CID_MAX_NAME + 1);
    i = bounded_len(m->datetime, CID_DATETIME_LEN + 1);
    if (n < 0 || k < 0 || i < 0)
        return 0;
    for (*num_len = n, n = 0; n < *num_len; n++) {
        int c = (unsigned char) m->number[n];
        if (dtmf ? !is_digit(c) : !is_number_char_tx(c))
            return 0;
    }
    for (*name_len = k, k = 0; k < *name_len; k++)
        if (!is_printable((unsigned char) m->name[k]))
            return 0;
    *has_dt = i > 0;
    if (i != 0 && (i != CID_DATETIME_LEN || !valid_datetime(m->datetime, 1)))
        return 0;
    if (m->number_absence != 0 && (!valid_absence(m->number_absence) || *num_len > 0))
        return 0;
    if (m->name_absence != 0 && (!valid_absence(m->name_absence) || *name_len > 0))
        return 0;
    return 1;
}

/* DTMF digit string of m between start and end into buf (NUL-terminated). */
static int encode_dtmf(const cid_message_t *m, char start, char end, uint8_t *buf, int max)
{
    int num_len, name_len, has_dt, len;

    if (!check_fields(m, 1, &num_len, &name_len, &has_dt))
        return CID_EINVAL;
    if (name_len > 0 || m->name_absence != 0 || has_dt || m->mwi != CID_MWI_NONE
        || m->messages != 0)
        return CID_EINVAL;                   /* DTMF carries the number only */
    if (num_len > 0) {
        len = num_len + 2;
        if (len + 1 > max)
            return CID_EINVAL;
        buf[0] = (uint8_t) start;
        memcpy(buf + 1, m->number, (size_t) num_len);
        buf[num_len + 1] = (uint8_t) end;
    } else if (m->number_absence != 0) {
        len = 4;
        if (len + 1 > max)
            return CID_EINVAL;
        buf[0] = 'B';
        buf[1] = m->number_absence == 'P' ? '1' : '0';
        buf[2] = '0';
        buf[3] = 'C';
    } else {
        return CID_EINVAL;
    }
    buf[len] = '\0';
    return len;
}

static int put_param(uint8_t *body, int at, int type, const char *data, int len)
{
    body[at] = (uint8_t) type;
    body[at + 1] = (uint8_t) len;
    memcpy(body + at + 2, data, (size_t) len);
    return at + 2 + len;
}

int cid_encode_message(int standard, const cid_message_t *m, uint8_t *buf, int max)
{
    uint8_t body[255];
    int num_len, name_len, has_dt, len = 0, i, type;
    unsigned sum = 0;

    if (m == NULL || buf == NULL || max < 0 || !valid_standard(standard))
        return CID_EINVAL;
    if (standard == CID_DTMF)
        return encode_dtmf(m, 'A', 'C', buf, max);
    if (!check_fields(m, 0, &num_len, &name_len, &has_dt))
        return CID_EINVAL;
    if (m->mwi != CID_MWI_NONE) {
        /* MDMF message waiting: date/time if given, the visual indicator, the count */
        uint8_t vi = m->mwi == CID_MWI_ON ? CID_VI_ON : CID_VI_OFF;
        uint8_t count = (uint8_t) m->messages;

        if ((m->mwi != CID_MWI_ON && m->mwi != CID_MWI_OFF) || m->format != CID_FMT_MDMF
            || num_len > 0 || name_len > 0 || m->number_absence != 0
            || m->name_absence != 0 || m->messages < 0 || m->messages > 255)
            return CID_EINVAL;
        type = CID_MSG_MDMF_MWI;
        if (has_dt)
            len = put_param(body, len, CID_PARAM_DATETIME, m->datetime, CID_DATETIME_LEN);
        len = put_param(body, len, CID_PARAM_VISUAL_INDICATOR, (const char *) &vi, 1);
        if (m->messages > 0)
            len = put_param(body, len, CID_PARAM_MESSAGES, (const char *) &count, 1);
    } else if (m->messages != 0) {
        return CID_EINVAL;                   /* a count belongs to a message waiting */
    } else if (m->format == CID_FMT_SDMF) {
        /* SDMF: date/time and the number or its absence; no name */
        if (!has_dt || name_len > 0 || m->name_absence != 0)
            return CID_EINVAL;
        if (num_len == 0 && m->number_absence == 0)
            return CID_EINVAL;
        type = CID_MSG_SDMF_CALL;
        memcpy(body, m->datetime, CID_DATETIME_LEN);
        len = CID_DATETIME_LEN;
        if (num_len > 0) {
            memcpy(body + len, m->number, (size_t) num_len);
            len += num_len;
        } else {
            body[len++] = (uint8_t) m->number_absence;
        }
    } else if (m->format == CID_FMT_MDMF) {
        type = CID_MSG_MDMF_CALL;
        if (has_dt)
            len = put_param(body, len, CID_PARAM_DATETIME, m->datetime, CID_DATETIME_LEN);
        if (num_len > 0)
            len = put_param(body, len, CID_PARAM_NUMBER, m->number, num_len);
        else if (m->number_absence != 0)
            len = put_param(body, len, CID_PARAM_NUMBER_ABSENT, &m->number_absence, 1);
        if (name_len > 0)
            len = put_param(body, len, CID_PARAM_NAME, m->name, name_len);
        else if (m->name_absence != 0)
            len = put_param(body, len, CID_PARAM_NAME_ABSENT, &m->name_absence, 1);
        if (len == 0)
            return CID_EINVAL;
    } else {
        return CID_EINVAL;
    }
    if (len + 3 > max)
        return CID_EINVAL;
    buf[0] = (uint8_t) type;
    buf[1] = (uint8_t) len;
    memcpy(buf + 2, body, (size_t) len);
    for (i = 0; i < len + 2; i++)
        sum += buf[i];
    buf[len + 2] = (uint8_t) (-sum & 0xFFu);
    return len + 3;
}

static int decode_sdmf(const uint8_t *p, int len, cid_message_t *m)
{
    int i, n = len - CID_DATETIME_LEN;

    if (n < 1 || n > CID_MAX_NUMBER || !valid_datetime((const char *) p, 0))
        return 0;
    memcpy(m->datetime, p, CID_DATETIME_LEN);
    p += CID_DATETIME_LEN;
    if (n == 1 && (p[0] == 'O' || p[0] == 'P')) {
        m->number_absence = (char) p[0];
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (!is_number_char_rx(p[i]))
            return 0;
        m->number[i] = (char) p[i];
    }
    return 1;
}

static int copy_text(char *dst, const uint8_t *src, int n, int max, int number)
{
    int i;

    if (n < 1 || n > max)
        return 0;
    for (i = 0; i < n; i++) {
        if (number ? !is_number_char_rx(src[i]) : !is_printable(src[i]))
            return 0;
        dst[i] = (char) src[i];
    }
    dst[n] = '\0';
    return 1;
}

static int decode_mdmf(const uint8_t *p, int len, cid_message_t *m)
{
    int at = 0, type, n;

    while (at < len) {
        if (at + 2 > len)
            return 0;
        type = p[at];
        n = p[at + 1];
        at += 2;
        if (at + n > len)
            return 0;
        switch (type) {
        case CID_PARAM_DATETIME:
            if (n != CID_DATETIME_LEN || !valid_datetime((const char *) p + at, 0))
                return 0;
            memcpy(m->datetime, p + at, CID_DATETIME_LEN);
            break;
        case CID_PARAM_NUMBER:
            if (!copy_text(m->number, p + at, n, CID_MAX_NUMBER, 1))
                return 0;
            break;
        case CID_PARAM_NAME:
            if (!copy_text(m->name, p + at, n, CID_MAX_NAME, 0))
                return 0;
            break;
        case CID_PARAM_VISUAL_INDICATOR:
            if (n != 1 || (p[at] != CID_VI_ON && p[at] != CID_VI_OFF))
                return 0;
            m->mwi = p[at] == CID_VI_ON ? CID_MWI_ON : CID_MWI_OFF;
            break;
        case CID_PARAM_MESSAGES:
            if (n != 1)
                return 0;
            m->messages = p[at];
            break;
        case CID_PARAM_NUMBER_ABSENT:
        case CID_PARAM_NAME_ABSENT:
            /* 'O' and 'P' in ETSI and Bell; other letters exist in national variants */
            if (n != 1 || p[at] < 'A' || p[at] > 'Z')
                return 0;
            if (type == CID_PARAM_NUMBER_ABSENT)
                m->number_absence = (char) p[at];
            else
                m->name_absence = (char) p[at];
            break;
        default:
            break;                           /* parameters we do not use */
        }
        at += n;
    }
    return 1;
}

int cid_decode_message(const uint8_t *buf, int len, cid_result_t *out)
{
    unsigned sum = 0;
    int i, ok;

    if (out == NULL || (buf == NULL && len != 0) || len < 0)
        return CID_EINVAL;
    memset(&out->msg, 0, sizeof(out->msg));
    out->msg_type = len > 0 ? buf[0] : 0;
    if (len < 3 || buf[1] + 3 != len) {
        out->status = CID_BAD_MESSAGE;
        return out->status;
    }
    for (i = 0; i < len; i++)
        sum += buf[i];
    if ((sum & 0xFFu) != 0) {
        out->status = CID_BAD_CHECKSUM;
        return out->status;
    }
    if (buf[0] == CID_MSG_SDMF_CALL) {
        out->msg.format = CID_FMT_SDMF;
        ok = decode_sdmf(buf + 2, buf[1], &out->msg);
    } else if (buf[0] == CID_MSG_MDMF_CALL) {
        out->msg.format = CID_FMT_MDMF;
        ok = decode_mdmf(buf + 2, buf[1], &out->msg);
        out->msg.mwi = CID_MWI_NONE;         /* indicator parameters mean nothing here */
        out->msg.messages = 0;
    } else if (buf[0] == CID_MSG_MDMF_MWI) {
        /* the visual indicator is the message's mandatory parameter */
        out->msg.format = CID_FMT_MDMF;
        ok = decode_mdmf(buf + 2, buf[1], &out->msg) && out->msg.mwi != CID_MWI_NONE;
    } else {
        out->status = CID_UNSUPPORTED;
        return out->status;
    }
    if (!ok) {
        memset(&out->msg, 0, sizeof(out->msg));
        out->status = CID_BAD_MESSAGE;
        return out->status;
    }
    out->status = CID_OK;
    return out->status;
}

/* ---- transmitter ---------------------------------------------------------------- */

struct cid_tx_s {
    int standard;
    float level_dbm0;
    int seizure_bits, mark_bits;
    char dtmf_start, dtmf_end;
    int active;
    /* FSK: the bit stream is seizure, mark, msg_len 10-bit frames, tail */
    uint8_t msg[CID_MAX_MESSAGE];
    int msg_len;
    int32_t bit_pos, total_bits;
    int32_t units;                     /* time left in the current bit, thirds of a sample */
    uint32_t step_mark, step_space;
    osc_t osc;
    dtmf_gen_t *gen;                   /* CID_DTMF only */
};

size_t cid_tx_state_size(void)
{
    return sizeof(cid_tx_t);
}

cid_tx_t *cid_tx_new(int standard)
{
    cid_tx_t *s;

    if (!valid_standard(standard))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->standard = standard;
    s->level_dbm0 = standard == CID_DTMF ? -10.0f : -13.0f;
    s->seizure_bits = CID_SEIZURE_BITS;
    s->mark_bits = CID_MARK_BITS;
    s->dtmf_start = 'A';
    s->dtmf_end = 'C';
    if (standard == CID_DTMF) {
        s->gen = dtmf_gen_new();
        if (s->gen == NULL) {
            free(s);
            return NULL;
        }
    }
    return s;
}

void cid_tx_free(cid_tx_t *s)
{
    if (s == NULL)
        return;
    dtmf_gen_free(s->gen);
    free(s);
}

int cid_tx_set_level(cid_tx_t *s, float level_dbm0)
{
    if (s == NULL || !(level_dbm0 >= -60.0f && level_dbm0 <= 3.0f))
        return CID_EINVAL;
    s->level_dbm0 = level_dbm0;
    return 0;
}

int cid_tx_set_preamble(cid_tx_t *s, int seizure_bits, int mark_bits)
{
    if (s == NULL || seizure_bits < 0 || seizure_bits > 1000 || mark_bits < 0
        || mark_bits > 1000)
        return CID_EINVAL;
    s->seizure_bits = seizure_bits;
    s->mark_bits = mark_bits;
    return 0;
}

int cid_tx_set_dtmf_codes(cid_tx_t *s, char start, char end)
{
    if (s == NULL || (start != 'A' && start != 'D') || (end != 'C' && end != '#'))
        return CID_EINVAL;
    s->dtmf_start = start;
    s->dtmf_end = end;
    return 0;
}

int cid_tx_set_message(cid_tx_t *s, const cid_message_t *m)
{
    int n;

    if (s == NULL || m == NULL)
        return CID_EINVAL;
    if (s->standard == CID_DTMF) {
        char digits[CID_MAX_NUMBER + 3];
        n = encode_dtmf(m, s->dtmf_start, s->dtmf_end, (uint8_t *) digits,
                        (int) sizeof(digits));
        if (n < 0)
            return CID_EINVAL;
        dtmf_gen_reset(s->gen);
        if (dtmf_gen_set(s->gen, s->level_dbm0, 0.0f, CID_DTMF_TONE_MS, CID_DTMF_PAUSE_MS) < 0
            || dtmf_gen_put(s->gen, digits) != n)
            return CID_EINVAL;
        s->active = 1;
        return n;
    }
    n = cid_encode_message(s->standard, m, s->msg, CID_MAX_MESSAGE);
    if (n < 0)
        return CID_EINVAL;
    s->msg_len = n;
    osc_set(&s->osc, space_hz_of[s->standard], s->level_dbm0);
    s->step_space = s->osc.step;
    osc_set(&s->osc, mark_hz_of[s->standard], s->level_dbm0);
    s->step_mark = s->osc.step;
    s->osc.phase = 0;
    s->bit_pos = -1;
    s->units = 0;
    s->total_bits = s->seizure_bits + s->mark_bits + 10 * n + TX_TAIL_BITS;
    s->active = 1;
    return n;
}

/* Bit number pos of the transmission (0 space, 1 mark). */
static int tx_bit(const cid_tx_t *s, int32_t pos)
{
    int32_t frame_bit;

    if (pos < s->seizure_bits)
        return (int) (pos & 1);              /* 0101...: starts with a space */
    pos -= s->seizure_bits;
    if (pos < s->mark_bits)
        return 1;
    pos -= s->mark_bits;
    if (pos >= 10 * s->msg_len)
        return 1;                            /* tail */
    frame_bit = pos % 10;
    if (frame_bit == 0)
        return 0;                            /* start bit */
    if (frame_bit == 9)
        return 1;                            /* stop bit */
    return (s->msg[pos / 10] >> (frame_bit - 1)) & 1;
}

int cid_tx_block(cid_tx_t *s, int16_t *amp, int n)
{
    int i;

    if (s == NULL || amp == NULL || n < 0)
        return CID_EINVAL;
    if (s->standard == CID_DTMF)
        return dtmf_gen_block(s->gen, amp, n);
    for (i = 0; i < n && s->active; i++) {
        while (s->units <= 0) {
            if (++s->bit_pos >= s->total_bits) {
                s->active = 0;
                break;
            }
            s->osc.step = tx_bit(s, s->bit_pos) ? s->step_mark : s->step_space;
            s->units += UNITS_PER_BIT;
        }
        if (!s->active)
            break;
        amp[i] = osc_sat16(osc_next(&s->osc));
        s->units -= UNITS_PER_SAMPLE;
    }
    if (i < n)
        memset(amp + i, 0, sizeof(int16_t) * (size_t) (n - i));
    return i;
}

int cid_tx_busy(const cid_tx_t *s)
{
    if (s == NULL)
        return 0;
    if (s->standard == CID_DTMF)
        return dtmf_gen_busy(s->gen);
    return s->active;
}

/* ---- receiver ------------------------------------------------------------------- */

enum { RX_IDLE, RX_HUNT, RX_START, RX_BYTE, RX_GAP };

struct cid_rx_s {
    int standard;
    /* demodulator: window of the last CID_CORR_LEN samples, kept twice so that it is
     * always contiguous at hist[pos .. pos + CID_CORR_LEN - 1] (oldest first) */
    float hist[2 * CID_CORR_LEN];
    int pos;
    /* correlator weights e^{-j w (L-1-k)} for k = 0 (oldest) .. L-1 (newest) */
    float mark_c[CID_CORR_LEN], mark_s[CID_CORR_LEN];
    float space_c[CID_CORR_LEN], space_s[CID_CORR_LEN];
    float prev_mre, prev_mim;          /* previous mark correlator output */
    float dec[DEC_SPAN];               /* |mark|^2 - |space|^2 of the last samples */
    float pow_avg, band_avg;           /* mean square of the input; of the two bands */
    float thr_on, thr_off;             /* carrier thresholds, mean square */
    int carrier;
    /* framing */
    int state;
    int from_gap;                      /* the start bit being checked is inside a message */
    int32_t units;                     /* to the next bit decision, thirds of a sample */
    int bit_no;                        /* 1..8 data, 9 stop */
    unsigned byte_val;
    int32_t mark_run;                  /* HUNT: samples since the last space */
    int32_t gap;                       /* GAP: samples of mark after a stop bit */
    double freq_re, freq_im;           /* mark rotation, summed over the mark run */
    double msg_energy;
    int32_t msg_samples;
    float msg_mark_hz;
    uint8_t msg[CID_MAX_MESSAGE];
    int msg_len;
    int64_t sample_no, msg_start;
    /* result */
    cid_result_t result;
    int pending;
    uint32_t overruns;
    /* DTMF */
    dtmf_det_t *det;
    char field;                        /* 'A', 'B', 'D' while a message is open, else 0 */
    char num_a[CID_MAX_NUMBER + 1], num_d[CID_MAX_NUMBER + 1], info[3];
    int len_a, len_d, len_b;
    int64_t last_digit, dtmf_start;
};

size_t cid_rx_state_size(void)
{
    return sizeof(cid_rx_t);
}

static float mean_square_of(float level_dbm0)
{
    float peak = osc_dbm0_to_peak(level_dbm0);

    return 0.5f * peak * peak;
}

static void rx_clear_stream(cid_rx_t *s)
{
    memset(s->hist, 0, sizeof(s->hist));
    memset(s->dec, 0, sizeof(s->dec));
    s->pos = 0;
    s->prev_mre = s->prev_mim = 0.0f;
    s->pow_avg = s->band_avg = 0.0f;
    s->carrier = 0;
    s->state = RX_IDLE;
    s->mark_run = 0;
    s->freq_re = s->freq_im = 0.0;
    s->msg_len = 0;
    s->sample_no = 0;
    s->pending = 0;
    s->field = 0;
    s->len_a = s->len_d = s->len_b = 0;
    if (s->det != NULL)
        dtmf_det_reset(s->det);
}

cid_rx_t *cid_rx_new(int standard)
{
    cid_rx_t *s;
    int k;

    if (!valid_standard(standard))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->standard = standard;
    if (standard == CID_DTMF) {
        s->det = dtmf_det_new();
        if (s->det == NULL) {
            free(s);
            return NULL;
        }
    } else {
        double wm = TWO_PI * mark_hz_of[standard] / RATE;
        double ws = TWO_PI * space_hz_of[standard] / RATE;
        for (k = 0; k < CID_CORR_LEN; k++) {
            int age = CID_CORR_LEN - 1 - k;
            s->mark_c[k] = (float) cos(wm * age);
            s->mark_s[k] = (float) -sin(wm * age);
            s->space_c[k] = (float) cos(ws * age);
            s->space_s[k] = (float) -sin(ws * age);
        }
    }
    cid_rx_set_threshold(s, -48.0f);
    rx_clear_stream(s);
    return s;
}

void cid_rx_free(cid_rx_t *s)
{
    if (s == NULL)
        return;
    dtmf_det_free(s->det);
    free(s);
}

void cid_rx_reset(cid_rx_t *s)
{
    if (s != NULL)
        rx_clear_stream(s);
}

int cid_rx_set_threshold(cid_rx_t *s, float level_dbm0)
{
    if (s == NULL || !(level_dbm0 >= -70.0f && level_dbm0 <= 0.0f))
        return CID_EINVAL;
    s->thr_on = mean_square_of(level_dbm0);
    s->thr_off = s->thr_on * CARRIER_HYSTERESIS;
    return 0;
}

int cid_rx_carrier(const cid_rx_t *s)
{
    return s != NULL && s->carrier;
}

uint32_t cid_rx_overruns(const cid_rx_t *s)
{
    return s == NULL ? 0 : s->overruns;
}

int cid_rx_get(cid_rx_t *s, cid_result_t *out)
{
    if (s == NULL || out == NULL || !s->pending)
        return 0;
    *out = s->result;
    s->pending = 0;
    return 1;
}

static void publish(cid_rx_t *s)
{
    if (s->pending)
        s->overruns++;
    s->pending = 1;
}

static void fsk_hunt(cid_rx_t *s)
{
    s->state = RX_HUNT;
    s->mark_run = 0;
    s->freq_re = s->freq_im = 0.0;
}

static void fsk_message_done(cid_rx_t *s)
{
    cid_result_t *r = &s->result;
    double ms = s->msg_samples > 0 ? s->msg_energy / s->msg_samples : 0.0;
    double ref = mean_square_of(0.0f);

    cid_decode_message(s->msg, s->msg_len, r);
    r->standard = s->standard;
    r->mark_hz = s->msg_mark_hz;
    r->level_dbm0 = ms > 0.0 ? (float) (10.0 * log10(ms / ref)) : -100.0f;
    r->start_sample = s->msg_start;
    r->end_sample = s->sample_no;
    publish(s);
}

/* |sum_{k<L} e^{-j x k}|^2, the power response of a correlator of length L at x rad. */
static double window_power(double x)
{
    double h = sin(0.5 * x), num;

    if (fabs(h) < 1e-9)
        return (double) CID_CORR_LEN * CID_CORR_LEN;
    num = sin(0.5 * CID_CORR_LEN * x);
    return num * num / (h * h);
}

/* The mark frequency from the summed rotation of the mark correlator. A real tone at
 * theta also reaches the correlator (at w) through its negative-frequency image, which
 * turns the other way and, with a one-bit window, pulls the plain angle estimate down
 * by about 20 Hz. The sum is modelled as P(theta - w) e^{j theta} +
 * P(theta + w) e^{-j theta}, and theta is solved by fixed-point iteration. */
static float mark_frequency(const cid_rx_t *s)
{
    double w = TWO_PI * mark_hz_of[s->standard] / RATE;
    double phi = atan2(s->freq_im, s->freq_re), theta = phi;
    int it;

    for (it = 0; it < 6; it++) {
        double a = window_power(theta - w), b = window_power(theta + w);
        double model = atan2((a - b) * sin(theta), (a + b) * cos(theta));
        theta += phi - model;
    }
    return (float) (theta * RATE / TWO_PI);
}

/* A bit decision (1 mark, 0 space) in the state that asked for it. */
static void fsk_bit(cid_rx_t *s, int bit)
{
    switch (s->state) {
    case RX_START:
        if (bit) {                           /* a glitch, not a start bit */
            s->state = s->from_gap ? RX_GAP : RX_HUNT;
            return;
        }
        if (!s->from_gap) {
            if (s->mark_run < MIN_MARK_SAMPLES) {
                fsk_hunt(s);                 /* seizure or noise: keep hunting */
                return;
            }
            s->msg_len = 0;
            /* the start bit began about half a bit + half the window + 1 sample ago */
            s->msg_start = s->sample_no - 8;
            s->msg_energy = 0.0;
            s->msg_samples = 0;
            s->msg_mark_hz = mark_frequency(s);
        }
        s->state = RX_BYTE;
        s->bit_no = 1;
        s->byte_val = 0;
        return;
    case RX_BYTE:
        if (s->bit_no <= 8) {
            s->byte_val |= (unsigned) bit << (s->bit_no - 1);
            s->bit_no++;
            return;
        }
        if (!bit) {                          /* framing error: drop the message */
            fsk_hunt(s);
            return;
        }
        s->msg[s->msg_len++] = (uint8_t) s->byte_val;
        if (s->msg_len >= 2 && s->msg_len == s->msg[1] + 3) {
            fsk_message_done(s);
            fsk_hunt(s);
            return;
        }
        s->state = RX_GAP;
        s->gap = 0;
        return;
    default:
        return;
    }
}

static void fsk_rx(cid_rx_t *s, const int16_t *amp, int n)
{
    const float band_norm = 2.0f / (float) (CID_CORR_LEN * CID_CORR_LEN);
    int i, k;

    for (i = 0; i < n; i++, s->sample_no++) {
        float x = (float) amp[i];
        float mr = 0.0f, mi = 0.0f, sr = 0.0f, si = 0.0f, em, es, d;
        const float *w;
        int falling;
        int32_t edge_units = FIRST_DECISION_UNITS;

        s->hist[s->pos] = x;
        s->hist[s->pos + CID_CORR_LEN] = x;
        if (++s->pos == CID_CORR_LEN)
            s->pos = 0;
        w = s->hist + s->pos;
        for (k = 0; k < CID_CORR_LEN; k++) {
            mr += w[k] * s->mark_c[k];
            mi += w[k] * s->mark_s[k];
            sr += w[k] * s->space_c[k];
            si += w[k] * s->space_s[k];
        }
        em = mr * mr + mi * mi;
        es = sr * sr + si * si;
        d = em - es;
        s->pow_avg += (x * x - s->pow_avg) * AVG_ALPHA;
        s->band_avg += ((em + es) * band_norm - s->band_avg) * AVG_ALPHA;
        falling = s->dec[DEC_SPAN - 1] >= 0.0f && d < 0.0f;
        if (falling) {
            /* where between the last sample and this one the output crossed zero */
            float f = s->dec[DEC_SPAN - 1] / (s->dec[DEC_SPAN - 1] - d);
            edge_units = FIRST_DECISION_UNITS - (int32_t) (3.0f * (1.0f - f) + 0.5f);
        }
        for (k = 0; k < DEC_SPAN - 1; k++)
            s->dec[k] = s->dec[k + 1];
        s->dec[DEC_SPAN - 1] = d;

        if (!s->carrier) {
            if (s->pow_avg > s->thr_on && s->band_avg > BAND_SHARE_ON * s->pow_avg) {
                s->carrier = 1;
                fsk_hunt(s);
            }
        } else if (s->pow_avg < s->thr_off) {
            s->carrier = 0;                  /* an unfinished message is dropped */
            s->state = RX_IDLE;
        }
        if (s->state == RX_IDLE)
            goto next;

        if (s->state == RX_HUNT && d > 0.0f) {
            /* mark: its correlator turns by 2 pi f / 8000 per sample */
            s->freq_re += (double) (s->prev_mre * mr + s->prev_mim * mi);
            s->freq_im += (double) (s->prev_mim * mr - s->prev_mre * mi);
        }
        if (s->state == RX_START || s->state == RX_BYTE || s->state == RX_GAP) {
            if (s->state != RX_START || s->from_gap) {
                s->msg_energy += (double) (x * x);
                s->msg_samples++;
            }
        }
        switch (s->state) {
        case RX_HUNT:
            if (s->mark_run < INT32_MAX / 2)
                s->mark_run++;
            if (falling) {
                s->state = RX_START;
                s->from_gap = 0;
                s->units = edge_units;
            }
            break;
        case RX_GAP:
            if (falling) {
                s->state = RX_START;
                s->from_gap = 1;
                s->units = edge_units;
            } else if (++s->gap > MAX_GAP_SAMPLES) {
                fsk_hunt(s);                 /* the message stopped: drop it */
                s->mark_run = s->gap;
            }
            break;
        case RX_START:
            if (!s->from_gap && s->mark_run < INT32_MAX / 2)
                s->mark_run++;
            else
                s->gap++;
            /* fall through */
        case RX_BYTE:
            s->units -= UNITS_PER_SAMPLE;
            if (s->units <= 1) {
                s->units += UNITS_PER_BIT;
                float sum = 0.0f;
                for (k = 0; k < DEC_SPAN; k++)
                    sum += s->dec[k];
                fsk_bit(s, sum > 0.0f);
            }
            break;
        default:
            break;
        }
    next:
        s->prev_mre = mr;
        s->prev_mim = mi;
    }
}

/* ---- DTMF receiver ---- */

static void dtmf_drop(cid_rx_t *s)
{
    s->field = 0;
    s->len_a = s->len_d = s->len_b = 0;
}

static void dtmf_finish(cid_rx_t *s, char end, int64_t at)
{
    cid_result_t *r = &s->result;
    cid_message_t m;

    memset(&m, 0, sizeof(m));
    m.format = CID_FMT_DTMF;
    if (s->len_a > 0) {
        memcpy(m.number, s->num_a, (size_t) s->len_a);
    } else if (s->len_d == 1 && end == '#' && s->num_d[0] >= '1' && s->num_d[0] <= '3') {
        m.number_absence = s->num_d[0] == '1' ? 'P' : 'O';   /* Danish D1# D2# D3# */
    } else if (s->len_d > 0) {
        memcpy(m.number, s->num_d, (size_t) s->len_d);
    }
    if (m.number[0] == '\0' && m.number_absence == 0 && s->len_b == 2) {
        if (s->info[0] == '0' && s->info[1] == '0')
            m.number_absence = 'O';
        else if (s->info[0] == '1' && s->info[1] == '0')
            m.number_absence = 'P';
    }
    if (m.number[0] != '\0' || m.number_absence != 0) {
        memset(r, 0, sizeof(*r));
        r->standard = CID_DTMF;
        r->status = CID_OK;
        r->msg = m;
        r->start_sample = s->dtmf_start;
        r->end_sample = at;
        publish(s);
    }
    dtmf_drop(s);
}

static void dtmf_digit(cid_rx_t *s, char c, int64_t at)
{
    char *buf;
    int *len, max;

    if (c == 'A' || c == 'B' || c == 'D') {
        if (s->field == 0)
            s->dtmf_start = at;
        s->field = c;
        if (c == 'A')
            s->len_a = 0;
        else if (c == 'D')
            s->len_d = 0;
        else
            s->len_b = 0;
        s->num_a[s->len_a] = s->num_d[s->len_d] = s->info[s->len_b] = '\0';
        return;
    }
    if (s->field == 0)
        return;                              /* not inside a caller ID */
    if (c == 'C' || c == '#') {
        dtmf_finish(s, c, at);
        return;
    }
    if (c < '0' || c > '9') {
        dtmf_drop(s);
        return;
    }
    if (s->field == 'A') {
        buf = s->num_a, len = &s->len_a, max = CID_MAX_NUMBER;
    } else if (s->field == 'D') {
        buf = s->num_d, len = &s->len_d, max = CID_MAX_NUMBER;
    } else {
        buf = s->info, len = &s->len_b, max = 2;
    }
    if (*len >= max) {
        dtmf_drop(s);
        return;
    }
    buf[(*len)++] = c;
    buf[*len] = '\0';
}

static void dtmf_rx(cid_rx_t *s, const int16_t *amp, int n)
{
    dtmf_event_t ev[DTMF_MAX_EV];
    int done = 0, chunk, k, i;

    while (done < n) {
        chunk = n - done < DTMF_CHUNK ? n - done : DTMF_CHUNK;
        k = dtmf_det_rx(s->det, amp + done, chunk, ev, DTMF_MAX_EV);
        for (i = 0; i < k; i++) {
            int64_t at = ev[i].time_ms * (RATE / 1000);
            if (ev[i].type != DTMF_DIGIT_START)
                continue;
            dtmf_digit(s, ev[i].digit, at);
            s->last_digit = at;
        }
        done += chunk;
        s->sample_no += chunk;
        if (s->field != 0 && s->sample_no - s->last_digit > DTMF_TIMEOUT_SAMPLES)
            dtmf_drop(s);
    }
}

int cid_rx_block(cid_rx_t *s, const int16_t *amp, int n)
{
    if (s == NULL || (amp == NULL && n != 0) || n < 0)
        return CID_EINVAL;
    if (s->standard == CID_DTMF)
        dtmf_rx(s, amp, n);
    else
        fsk_rx(s, amp, n);
    return s->pending;
}
