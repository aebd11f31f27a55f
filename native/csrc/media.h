/*
 * media.h - the media engine: every audio channel slot of the box, processed in one call
 * per tick.
 *
 * What: N channel slots (1..ME_MAX_SLOTS) exchange blocks of B samples (B a multiple of 8
 * in 8..ME_MAX_BLOCK; 160 = 20 ms and 80 = 10 ms are the usual ones) with the ports
 * through a "highway": two byte arrays of N * B G.711 codes, rx (ports -> engine) and tx
 * (engine -> ports); slot s occupies bytes [s * B, (s + 1) * B) of each.
 *
 * How, per me_tick():
 *   1. each enabled slot's rx codes are decoded (A-law or mu-law per slot, g711.h) and,
 *      if DTMF detection is on, fed to its detector (dtmf.h);
 *   2. conferences: every slot with a conference id c != 0 hears the saturated sum of the
 *      rx audio of all OTHER enabled slots of conference c; a listen-only member hears the
 *      conference but is not mixed into it. Two members make a plain cross-connect. One
 *      32-bit accumulator per conference (kept in the buffer of its lowest slot) holds
 *      the sum, and each member subtracts itself, so mixing costs O(members), not O(n^2);
 *   3. playback (a cadenced tone, DTMF digits or a PCM prompt) replaces the slot's tx
 *      audio while it lasts; when a non-repeating one ends, PLAYBACK_DONE is queued;
 *   4. tx is encoded per slot codec; disabled slots send the silence code (0xD5 A-law,
 *      0xFF mu-law), as do enabled slots that neither play nor are in a conference.
 * Events (DTMF start/end, playback done) go into a fixed ring of ME_EVENT_QUEUE_LEN inside
 * the engine; when it is full the oldest is dropped and counted. Times are engine time in
 * ms, ticks * B / 8.
 *
 * Rules: nothing in me_tick() allocates; only me_new() and me_play_pcm() do. Every entry
 * point checks its arguments and returns a negative ME_E* code rather than crash. The
 * engine has no locks: one thread at a time per engine (the Python wrapper serialises).
 * Slots start disabled, A-law, DTMF detection off, in no conference.
 *
 * Supervision: a slot may *whisper* to one other slot: its rx audio is added to that slot's
 * tx (and nobody else's). With listen-only membership this gives the supervisor modes:
 * listen (listen-only), whisper (listen-only + whisper to the agent), barge (full member).
 *
 * Recording taps: a slot with a tap keeps, after step 4, the linear audio it received (rx)
 * and the audio it sent (tx) as interleaved stereo frames in a ring of ME_REC_FRAMES; the
 * owner drains it with me_record_read() at least every ME_REC_FRAMES / 8 ms, or the
 * oldest frames are dropped and counted.
 *
 * Caller ID: a slot may run an on-hook caller ID receiver (callerid.h: Bell 202, V.23 or
 * DTMF) on its decoded rx audio, before the echo canceller. A complete message queues
 * ME_EV_CALLER_ID (value: its status; time: the end of the message) and is kept in the
 * slot until me_cid_result() fetches it; a later message replaces an unfetched one, so
 * fetch it when the event is polled. Messages of a type other than call set-up are
 * ignored.
 *
 * Per-slot pipeline, in the order of the tick: decode -> caller ID -> line echo canceller (echo.h; the
 * reference is what the slot sent on the previous tick, so the echo path seen by the
 * canceller includes one tick of highway latency) -> detectors (DTMF, call-progress tones
 * (cpt.h)) -> mixing and playback -> encode. Echo cancelling and tone detection are off
 * until configured; their state is allocated when configured, never in the tick.
 */
#ifndef EDGEPBX_MEDIA_H
#define EDGEPBX_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "amd.h"
#include "callerid.h"
#include "cpt.h"
#include "echo.h"
#include "tone.h"

#define ME_MAX_SLOTS 256
#define ME_MAX_BLOCK 480
#define ME_EVENT_QUEUE_LEN 1024
#define ME_MAX_PCM_SAMPLES (8000 * 600)   /* prompts up to 10 minutes */
#define ME_REC_FRAMES (8000 * 2)           /* recording ring: 2 s of stereo frames */

#define ME_ALAW 0   /* = G711_ALAW */
#define ME_ULAW 1   /* = G711_ULAW */

/* Error codes (all negative). */
#define ME_EINVAL (-1)     /* bad argument (other than the slot) */
#define ME_ESLOT (-2)      /* slot index out of range */
#define ME_ENOMEM (-3)     /* out of memory */
#define ME_EDISABLED (-4)  /* playback asked on a disabled slot */
#define ME_ELENGTH (-5)    /* highway length is not nslots * block */

enum {
    ME_EV_DTMF_START = 1,
    ME_EV_DTMF_END = 2,
    ME_EV_PLAYBACK_DONE = 3,
    ME_EV_TONE_DETECTED = 4,   /* value: the cpt_tone_t id */
    ME_EV_TONE_ENDED = 5,      /* value: the cpt_tone_t id */
    ME_EV_SILENCE = 6,         /* value: -1 */
    ME_EV_CALLER_ID = 7,       /* value: the CID_OK.. status; fetch with me_cid_result */
    ME_EV_VAD_START = 8,       /* value: AMD_VOICE or AMD_TONE (amd.h); time: its onset */
    ME_EV_VAD_END = 9          /* value: AMD_VOICE or AMD_TONE; time: its end */
};

typedef struct {
    int slot;
    int type;          /* ME_EV_* */
    int value;         /* the digit (ASCII) for DTMF events, 0 otherwise */
    int64_t time_ms;   /* engine time */
} me_event_t;

typedef struct me_engine_s me_engine_t;

/* NULL for bad sizes or out of memory. */
me_engine_t *me_new(int nslots, int block);
void me_free(me_engine_t *e);   /* NULL is fine */

int me_nslots(const me_engine_t *e);
int me_block(const me_engine_t *e);
int64_t me_time_ms(const me_engine_t *e);

/* codec ME_ALAW / ME_ULAW. Enabling a slot or turning detection on restarts its detector;
 * disabling a slot stops its playback (without a PLAYBACK_DONE). */
int me_configure_slot(me_engine_t *e, int slot, int codec, int enabled, int dtmf_detect);

/* Line echo canceller on a slot: tail_ms 0 switches it off (and frees it), else 64..256 ms
 * with ECHO_OPT_* options. Restarts the canceller. */
int me_configure_echo(me_engine_t *e, int slot, int tail_ms, int options);

/* Call-progress tone detection on a slot's (echo-cancelled) rx audio: ntones 0 switches it
 * off. Events ME_EV_TONE_DETECTED / ME_EV_TONE_ENDED carry the tone's id, ME_EV_SILENCE -1.
 * threshold / silence level in dBm0, silence_ms 0 = no silence events (see cpt_det_set). */
int me_configure_cpd(me_engine_t *e, int slot, const cpt_tone_t *tones, int ntones,
                     float threshold_dbm0, float silence_dbm0, int silence_ms);

/* On-hook caller ID receiver on a slot's rx audio: standard CID_BELL202 / CID_V23 /
 * CID_DTMF, or -1 to switch it off (and free it). threshold_dbm0 is the FSK carrier-detect
 * level (-70..0 dBm0; 0 keeps the receiver's default). Restarts the receiver and forgets
 * any unfetched result. Allocates: call it outside the tick. */
/* Voice activity on a slot's rx audio (amd.h; after the echo canceller): on = 0 switches
 * it off. Events ME_EV_VAD_START / ME_EV_VAD_END carry AMD_VOICE or AMD_TONE. */
int me_configure_vad(me_engine_t *e, int slot, int on, float threshold_dbm0, int on_ms,
                     int hang_ms, float tone_gain_db);
int me_configure_cid(me_engine_t *e, int slot, int standard, float threshold_dbm0);
/* Copy the slot's last unfetched caller ID message into *out: 1, or 0 when there is none. */
int me_cid_result(me_engine_t *e, int slot, cid_result_t *out);

/* Conference membership: conf 0 leaves. */
int me_join(me_engine_t *e, int slot, uint32_t conf, int listen_only);
int me_leave(me_engine_t *e, int slot);

/* Playback; a new one replaces the current one (which then sends no PLAYBACK_DONE). */
int me_play_tone(me_engine_t *e, int slot, const tone_segment_t *segs, int nsegs, int repeat);
int me_play_dtmf(me_engine_t *e, int slot, const char *digits, float level_dbm0,
                 float twist_db, int on_ms, int off_ms);
/* Copies pcm (1..ME_MAX_PCM_SAMPLES samples) into an engine-owned buffer. */
int me_play_pcm(me_engine_t *e, int slot, const int16_t *pcm, size_t n);
int me_stop_playback(me_engine_t *e, int slot);
/* 1 while the slot plays, 0 if not. */
int me_playing(const me_engine_t *e, int slot);

/* Whisper: add slot's rx audio to target's tx; target -1 stops. target == slot: ME_EINVAL. */
int me_whisper(me_engine_t *e, int slot, int target);

/* Recording tap on/off (on allocates the ring, off frees it and drops what is unread). */
int me_record(me_engine_t *e, int slot, int on);
/* Copy up to max_frames stereo frames (rx, tx interleaved: 2 * max_frames int16) into dst;
 * returns the number of frames copied, 0 when none, negative on error. */
int me_record_read(me_engine_t *e, int slot, int16_t *dst, int max_frames);
/* Frames dropped because the ring was not drained in time. */
uint32_t me_record_dropped(const me_engine_t *e, int slot);

/* One tick: rx and tx are len = nslots * block bytes. 0 or ME_ELENGTH / ME_EINVAL. */
int me_tick(me_engine_t *e, const uint8_t *rx, uint8_t *tx, size_t len);

/* Pop the oldest event into *ev: 1, 0 when there is none, ME_EINVAL for NULL. */
int me_poll_event(me_engine_t *e, me_event_t *ev);
/* Events dropped because the ring was full. */
uint32_t me_events_dropped(const me_engine_t *e);

#endif
