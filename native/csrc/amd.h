/*
 * amd.h - voice activity for answering-machine detection and answer detection.
 *
 * What: splits a line's received audio into talkspurts ("voice") and steady tones
 * ("tone": ringback, a machine's beep, SIT), and reports their edges. The decision that
 * uses them - a person or an answering machine, a call answered on an analog line without
 * answer supervision - is firmware's (firmware/campaigns/amd.py): this module only says,
 * every 10 ms frame, "speech-like energy", "a steady tone" or "quiet", with hangover.
 *
 * How:
 *   - Frames of AMD_FRAME = 80 samples (10 ms). Level = mean power in dBm0 (0 dBm0 is a
 *     sine of RMS 32768 * 10^(-3.14/20) / sqrt(2), the G.711 convention).
 *   - Noise floor: follows the level down at once and up by 1 dB/s, so a steady hum or
 *     comfort noise does not count as voice; a frame is "loud" when it is at least
 *     threshold_dbm0 and 10 dB above the floor.
 *   - Tonality: the 4th-order linear-prediction gain of the Hann-windowed frame
 *     (autocorrelation, Levinson-Durbin). One or two steady sinusoids are predicted almost
 *     exactly (22-27 dB through A-law, limited by the window's edges); speech is not (a
 *     median of 4-6 dB, rarely above 15). A loud frame with gain >= tone_gain_db is "tone",
 *     otherwise "voice"; a word's odd tonal frame is bridged by the voice hangover.
 *   - Edges with hangover: a state starts after on_ms of its frames in a row and ends after
 *     hang_ms without them (short dips inside a word do not split it). Event times are ms
 *     from the start of the stream: a start carries the onset of its first frame, an end
 *     the end of its last frame.
 * Cost: about 10 multiply-adds per sample. Only amd_vad_new allocates.
 *
 * Usage: v = amd_vad_new(); amd_vad_set(v, -42, 30, 60, 20); per block
 * k = amd_vad_rx(v, amp, len, ev, max); handle ev[0..k); amd_vad_free(v).
 */
#ifndef EDGEPBX_AMD_H
#define EDGEPBX_AMD_H

#include <stdint.h>

#define AMD_FRAME 80
#define AMD_EINVAL (-1)

enum {
    AMD_VOICE = 1,        /* speech-like energy */
    AMD_TONE = 2          /* a steady tone (one or two sinusoids) */
};

enum {
    AMD_EV_START = 1,     /* what (AMD_VOICE / AMD_TONE) began at ms */
    AMD_EV_END = 2        /* what ended at ms */
};

typedef struct {
    int type;             /* AMD_EV_* */
    int what;             /* AMD_VOICE or AMD_TONE */
    int64_t ms;
} amd_event_t;

typedef struct amd_vad_s amd_vad_t;

/* A detector with the defaults of amd_vad_set(v, -42, 30, 60, 20); NULL if out of memory. */
amd_vad_t *amd_vad_new(void);
void amd_vad_free(amd_vad_t *v);
/* threshold (-70..0 dBm0), on_ms (10..1000), hang_ms (10..2000), tone_gain_db (5..60);
 * 0 or AMD_EINVAL. Restarts the stream. */
int amd_vad_set(amd_vad_t *v, float threshold_dbm0, int on_ms, int hang_ms,
                float tone_gain_db);
/* Restart the stream at time 0, quiet. */
void amd_vad_reset(amd_vad_t *v);
/* Feed n samples; up to max_ev events written, their number returned (extra ones are
 * dropped); AMD_EINVAL for bad arguments. 4 per frame always fit. */
int amd_vad_rx(amd_vad_t *v, const int16_t *amp, int n, amd_event_t *ev, int max_ev);
/* The class of the last frame: 0 quiet, AMD_VOICE or AMD_TONE (no hangover). */
int amd_vad_frame_class(const amd_vad_t *v);

#endif
