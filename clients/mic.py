"""`wavestream mic`: live microphone (or a file fed through the very same path) to partial and final lines."""

from __future__ import annotations

import queue
import shutil
import sys


from .speech_client import SpeechClient, constraint_from_args, file_chunks, streaming_config

SAMPLE_RATE = 16000
BLOCK_MS = 100


def _sounddevice():
    try:
        import sounddevice as sd
    except (ImportError, OSError) as e:
        sys.exit(f"wavestream mic: no audio input available ({e}); on Debian install 'libportaudio2', "
                 f"or use --file to feed a recording")
    return sd


def microphone_chunks(device, stop) -> iter:
    sd = _sounddevice()
    q: queue.Queue = queue.Queue()

    def callback(indata, frames, time_info, status):
        q.put(bytes(indata))

    with sd.RawInputStream(samplerate=SAMPLE_RATE, blocksize=SAMPLE_RATE * BLOCK_MS // 1000, device=device,
                           channels=1, dtype="int16", callback=callback):
        while not stop():
            try:
                yield q.get(timeout=0.5)
            except queue.Empty:
                continue


class LineDisplay:
    """The partial line is rewritten in place; finals are printed as lines of their own."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.tty = out.isatty()
        self.width = shutil.get_terminal_size((100, 20)).columns

    def partial(self, text: str):
        if self.tty:
            self.out.write("\r\033[K" + text[-(self.width - 1):])
            self.out.flush()

    def final(self, text: str, utterance: int):
        self.out.write(("\r\033[K" if self.tty else "") + f"[{utterance}] {text}\n")
        self.out.flush()


def run(args) -> int:
    if args.list_devices:
        print(_sounddevice().query_devices())
        return 0
    client = SpeechClient(args.server, token=args.token, tls_ca=args.tls_ca)
    display = LineDisplay()
    if args.file:
        config, chunks = file_chunks(args.file, chunk_ms=BLOCK_MS)
        realtime = not args.fast
    else:
        config, chunks = streaming_config(SAMPLE_RATE), microphone_chunks(args.device, lambda: False)
        realtime = False  # the microphone paces itself
    config.interim_results = True
    config.constraint.CopyFrom(constraint_from_args(args))
    if args.silence_after_s:  # else the server's default (README, Benchmarks: "Speech end to final")
        config.endpointing.silence_after_text_s = args.silence_after_s
    if args.quiet_after_s is not None:  # 0 turns the server's quiet rule off
        config.endpointing.quiet_after_text_s = args.quiet_after_s
    try:
        for resp in client.stream(chunks, config, realtime=realtime):
            for r in resp.results:
                if not r.alternatives:
                    continue
                if r.is_final:
                    display.final(r.alternatives[0].transcript, r.utterance_index)
                else:
                    display.partial(r.alternatives[0].transcript)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0

