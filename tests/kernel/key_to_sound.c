/*
 * key-to-sound: presses keys and records what comes out, on one clock.
 *
 * The real-kernel lane's probe. It captures the loopback sound card (what
 * composer-probe plays) as 48 kHz 16-bit stereo into a raw file and, at the
 * capture frames given, writes MIDI bytes to the keyboard gadget's rawmidi
 * node: a key press travelling over USB to snd-usb-audio. For each write it
 * prints the capture position at that moment (frames read + frames waiting
 * in the capture buffer), so the host can measure key-to-sound latency in
 * frames of the same stream that holds the sound.
 *
 * usage: key-to-sound RAWMIDI PCM OUT.raw SECONDS [MS:HEXBYTES ...]
 * prints: "sent N at FRAME" per event, "captured FRAMES" at the end.
 */
#include <alsa/asoundlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RATE 48000
#define CHANNELS 2
#define PERIOD 256

struct event {
    long frame;
    unsigned char bytes[64];
    size_t length;
};

static int parse_event(const char *text, struct event *event)
{
    char *rest;
    long ms = strtol(text, &rest, 10);
    if (*rest != ':' || ms < 0)
        return -1;
    event->frame = ms * (RATE / 1000);
    event->length = 0;
    for (rest++; rest[0] && rest[1]; rest += 2) {
        unsigned int byte;
        if (event->length == sizeof event->bytes || sscanf(rest, "%2x", &byte) != 1)
            return -1;
        event->bytes[event->length++] = (unsigned char)byte;
    }
    return event->length ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: key-to-sound RAWMIDI PCM OUT.raw SECONDS [MS:HEXBYTES ...]\n");
        return 2;
    }
    int count = argc - 5;
    struct event *events = calloc(count ? count : 1, sizeof *events);
    for (int i = 0; i < count; i++) {
        if (parse_event(argv[5 + i], &events[i]) != 0) {
            fprintf(stderr, "key-to-sound: bad event %s\n", argv[5 + i]);
            return 2;
        }
    }
    long total = atol(argv[4]) * RATE;
    int keys = open(argv[1], O_WRONLY);
    if (keys < 0) {
        perror(argv[1]);
        return 1;
    }
    FILE *out = fopen(argv[3], "wb");
    if (!out) {
        perror(argv[3]);
        return 1;
    }
    snd_pcm_t *pcm;
    int error = snd_pcm_open(&pcm, argv[2], SND_PCM_STREAM_CAPTURE, 0);
    if (error == 0)
        error = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
                                   CHANNELS, RATE, 1, 200000);
    /* snd_pcm_set_params starts a capture only once a whole buffer is
     * asked for; we read a period at a time, so start it ourselves. */
    if (error == 0)
        error = snd_pcm_start(pcm);
    if (error < 0) {
        fprintf(stderr, "key-to-sound: %s: %s\n", argv[2], snd_strerror(error));
        return 1;
    }
    short buffer[PERIOD * CHANNELS];
    long read_frames = 0;
    int next = 0;
    while (read_frames < total) {
        snd_pcm_sframes_t got = snd_pcm_readi(pcm, buffer, PERIOD);
        if (got < 0) {
            got = snd_pcm_recover(pcm, (int)got, 1);
            if (got < 0) {
                fprintf(stderr, "key-to-sound: capture: %s\n", snd_strerror((int)got));
                return 1;
            }
            fprintf(stderr, "key-to-sound: capture overrun at frame %ld\n", read_frames);
            continue;
        }
        fwrite(buffer, sizeof(short) * CHANNELS, (size_t)got, out);
        read_frames += got;
        while (next < count && events[next].frame <= read_frames) {
            snd_pcm_sframes_t waiting = snd_pcm_avail(pcm);
            if (write(keys, events[next].bytes, events[next].length) != (ssize_t)events[next].length) {
                perror("key-to-sound: write");
                return 1;
            }
            printf("sent %d at %ld\n", next, read_frames + (waiting > 0 ? waiting : 0));
            fflush(stdout);
            next++;
        }
    }
    printf("captured %ld\n", read_frames);
    snd_pcm_close(pcm);
    fclose(out);
    close(keys);
    return 0;
}
