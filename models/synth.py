"""Synthetic training speech: `wavestream synth TEXT OUT --hours H`.

Every installed engine and voice (espeak-ng accents x variants, flite's 16 kHz voices,
festival voices, RHVoice's English voices, pico, and mbrola through espeak-ng, where
installed), with random rate and pitch, in parallel worker processes. Each utterance picks
an engine first and then one of its voices, so espeak-ng's hundreds of variants do not
crowd out the few, more natural, voices of the other engines. Resumable: utterance ids are fixed by the seed, finished ones are kept. Writes
16 kHz FLAC and `OUT/manifest.jsonl` in the format of ../shared/data (speaker =
"engine:voice", so a voice can be held out of training with --exclude-voices and
synthesised alone for measuring, with --voices).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import shutil
import select
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import read_audio

RATE = 16000
ENGLISH_ESPEAK = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
                  "en-us-nyc"]
FLITE_VOICES = ["kal16", "awb", "rms", "slt"]  # kal (8 kHz) and awb_time (limited domain) left out
# rab_diphone: the recipe trains on none of its speech (the dev set of a voice no model has heard)
FESTIVAL_VOICES = ["english/kal_diphone", "english/ked_diphone", "us/cmu_us_slt_arctic_hts", "english/rab_diphone"]
RHVOICE_ENGLISH = ["alan", "bdl", "clb", "slt"]
PICO_LANGUAGES = ["en-US", "en-GB"]
MBROLA_ENGLISH = ["us1", "us2", "us3", "en1"]  # non-commercial licence: check before shipping weights


@dataclass(frozen=True)
class Voice:
    engine: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}"


def installed_voices() -> list[Voice]:
    voices = []
    if shutil.which("espeak-ng"):
        out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True).stdout
        variants = [line.split()[-1].split("/")[-1] for line in out.splitlines()[1:] if line.strip()]
        voices += [Voice("espeak-ng", f"{accent}+{v}") for accent in ENGLISH_ESPEAK for v in variants]
    if shutil.which("flite"):
        have = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout.split()
        voices += [Voice("flite", v) for v in FLITE_VOICES if v in have]
    if shutil.which("text2wave"):
        voices += [Voice("festival", v.split("/")[1]) for v in FESTIVAL_VOICES
                   if Path(f"/usr/share/festival/voices/{v}").exists()]
    if shutil.which("RHVoice-test"):
        voices += [Voice("rhvoice", v) for v in RHVOICE_ENGLISH if Path(f"/usr/share/RHVoice/voices/{v}").exists()]
    if shutil.which("pico2wave"):
        voices += [Voice("pico", lang) for lang in PICO_LANGUAGES]
    if shutil.which("espeak-ng"):
        voices += [Voice("mbrola", v) for v in MBROLA_ENGLISH if Path(f"/usr/share/mbrola/{v}").exists()]
    return voices


def _render(voice: Voice, text: str, rate: float, pitch: float, wav: str) -> None:
    """One utterance with one engine; rate 1.0 is the engine's normal speed, pitch 0..1."""
    if voice.engine == "espeak-ng":
        cmd = ["espeak-ng", "-v", voice.name, "-s", str(int(165 * rate)), "-p", str(int(pitch * 99)), "-w", wav, text]
    elif voice.engine == "flite":
        cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1 / rate:.3f}",
               "--setf", f"int_f0_target_mean={int(90 + pitch * 110)}", "-t", text, "-o", wav]
    elif voice.engine == "mbrola":
        cmd = ["espeak-ng", "-v", f"mb-{voice.name}", "-s", str(int(165 * rate)), "-p", str(int(pitch * 99)),
               "-w", wav, text]
    elif voice.engine == "pico":  # no rate or pitch control: speed perturbation in training makes up for it
        cmd = ["pico2wave", "-l", voice.name, "-w", wav, text]
    elif voice.engine == "rhvoice":  # percentages, 50 is the voice's default
        cmd = ["RHVoice-test", "-p", voice.name, "-r", str(int(70 * rate) - 10), "-t", str(int(30 + 40 * pitch)),
               "-o", wav]
        subprocess.run(cmd, input=text, text=True, check=True, capture_output=True, timeout=120)
        return
    elif voice.engine == "festival":
        _festival_text2wave(voice.name, text, wav)
        return
    else:
        raise ValueError(f"unknown engine {voice.engine}")
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


# text2wave's synthesis (/usr/bin/text2wave: tts_file, with hooks that gather the waves and a header rewritten
# with their total) as a function, so that one festival process serves all of a worker's utterances in a voice:
# starting festival and loading its voices is most of what text2wave takes for a sentence (0.6 s of 0.75 s here).
# The waves are text2wave's, sample for sample (tests/models/test_synth.py).
_TEXT2WAVE_SCHEME = """
(gc-status nil)
(define (wavestream_save_wave utt)
  (if (eq? wavestream_samples 0)
      (wave.save.header wavestream_fp (utt.wave utt) 'riff nil (list (list "numsamples" 0))))
  (set! wavestream_samples (+ wavestream_samples (get_param 'num_samples (wave.info (utt.wave utt)) 0)))
  (wave.save.data.fp (utt.wave utt) wavestream_fp 'riff nil)
  (set! wavestream_utt utt))
(define (wavestream_text2wave textfile wavfile)
  (set! wavestream_samples 0)
  (set! wavestream_utt nil)
  (set! wavestream_fp (fopen wavfile "wb"))
  (set! tts_hooks (list utt.synth wavestream_save_wave))
  (tts_file textfile nil)
  (fseek wavestream_fp 0 0)
  (wave.save.header wavestream_fp (utt.wave wavestream_utt) 'riff nil
                    (list (list "numsamples" wavestream_samples)))
  (fclose wavestream_fp))
"""


class FestivalProcess:
    """A festival process that takes Scheme on stdin and says on stderr whether each call ran: festival
    prints an error and goes on to the next expression, so each call ends with a marker of its own."""

    MARKER = re.compile(rb"wavestream-(ok|failed)\n")

    def __init__(self, timeout: float = 60.0):
        self.proc = subprocess.Popen(["festival", "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self._err = b""
        try:
            self.call(_TEXT2WAVE_SCHEME, timeout)
        except BaseException:
            self.close()
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, scheme: str, timeout: float) -> None:
        """Run `scheme`; subprocess.SubprocessError where it failed, timed out or festival died."""
        self.proc.stdin.write(f"(set! wavestream_ok nil)\n(begin {scheme}\n(set! wavestream_ok t))\n"
                              '(format stderr "wavestream-%s\\n" (if wavestream_ok "ok" "failed"))\n'.encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not (found := self.MARKER.search(self._err)):
            ready, _, _ = select.select([self.proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise subprocess.TimeoutExpired("festival", timeout)
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                raise subprocess.SubprocessError(f"festival exited: {self._err.decode(errors='replace')[-500:]}")
            self._err += chunk
        said, self._err = self._err[:found.start()], self._err[found.end():]
        if found.group(1) != b"ok":
            raise subprocess.SubprocessError(f"festival: {said.decode(errors='replace')[-500:]}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


# The worker process's own, one a voice: a voice leaves state behind in festival that changes the next voice's waves
# (rab_diphone's, by a step of the least bit, after the HTS voice), and text2wave starts each voice afresh.
_festivals: dict[str, FestivalProcess] = {}


def _festival_text2wave(voice: str, text: str, wav: str) -> None:
    """What `text2wave -eval (voice_VOICE) -o WAV` makes of `text`, from the worker's festival process for `voice`."""
    text_file = wav + ".txt"
    Path(text_file).write_text(text)
    festival = _festivals.get(voice)
    if festival is None or not festival.alive():
        festival = _festivals[voice] = FestivalProcess()
    try:
        festival.call(f'(voice_{voice}) (wavestream_text2wave "{text_file}" "{wav}")', timeout=120)
    except subprocess.SubprocessError:
        festival.close()  # its state is unknown: the voice's next utterance starts a new one
        del _festivals[voice]
        raise


def close_festivals() -> None:
    """Stops this process's festival processes (a worker's end stops them too)."""
    for festival in _festivals.values():
        festival.close()
    _festivals.clear()


def _job(args) -> dict | None:
    uid, voice, text, rate, pitch, out_dir = args
    path = Path(out_dir) / "audio" / f"{uid}.flac"
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "u.wav")
        try:
            _render(voice, text, rate, pitch, wav)
            samples, _ = read_audio(wav, RATE)
        except (subprocess.SubprocessError, OSError, ValueError):
            return None  # an engine that fails on one sentence costs only that sentence
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak < 1e-3:
        return None
    samples = samples / peak * 0.9
    tmp_path = path.with_suffix(".partial.flac")
    sf.write(tmp_path, samples, RATE, format="FLAC")
    os.replace(tmp_path, path)
    return {"audio": f"audio/{uid}.flac", "text": text, "speaker": voice.key, "duration": round(samples.size / RATE, 3),
            "engine": voice.engine, "rate": round(rate, 3), "pitch": round(pitch, 3)}


def _draw(rng: random.Random, by_engine: dict, engines: list[str], sentences: list[str], seed: int, index: int):
    """Utterance `index` of the seed's sequence: an engine first (so engines with many voices do
    not crowd out the rest), then one of its voices, a sentence, a rate and a pitch."""
    voice = rng.choice(by_engine[rng.choice(engines)])
    return f"{seed}-{index:07d}", voice, rng.choice(sentences), rng.uniform(0.8, 1.25), rng.uniform(0.2, 0.8)


def normalise(line: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z' ]", " ", line.lower())).strip()


def synthesise(text_file: str | Path, out_dir: str | Path, hours: float = 0.0, workers: int = 2, seed: int = 0,
               voices: list[str] | None = None, exclude_voices: list[str] | None = None,
               progress: bool = True, utterances: int = 0) -> dict:
    """Synthesise until the folder holds `hours` of speech, or `utterances` utterances (one of the
    two). Utterance i of a seed always gets the same voice, sentence, rate and pitch, and each
    round of jobs takes the next ones not yet made, so a folder holds the start of its seed's
    sequence (less any that failed): `utterances=N` is the first N, made at once or resumed."""
    if (hours > 0) == (utterances > 0):
        raise ValueError("give hours or utterances (one of them, more than 0)")
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    available = installed_voices()
    if voices:
        available = [v for v in available if v.key in voices or v.engine in voices]
    if exclude_voices:
        available = [v for v in available if v.key not in exclude_voices and v.engine not in exclude_voices]
    if not available:
        raise RuntimeError("no TTS voice to use: run scripts/install-tts.sh, or check --voices/--exclude-voices")
    by_engine: dict[str, list[Voice]] = {}
    for v in available:
        by_engine.setdefault(v.engine, []).append(v)
    engines = sorted(by_engine)
    sentences = [s for s in (normalise(l) for l in Path(text_file).read_text().splitlines()) if s]
    done = {}
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if (out / row["audio"]).exists():
                    done[Path(row["audio"]).stem] = row
    total = sum(r["duration"] for r in done.values())
    target = hours * 3600
    rng = random.Random(seed)
    drawn = (_draw(rng, by_engine, engines, sentences, seed, i) for i in itertools.count())
    from tqdm import tqdm

    # utterances count only this seed's (a folder may hold other seeds' too)
    held = sum(uid.startswith(f"{seed}-") for uid in done)
    if utterances:
        bar = tqdm(total=utterances, initial=min(held, utterances), unit="utt", disable=not progress)
    else:
        bar = tqdm(total=round(target), initial=round(min(total, target)), unit="s", disable=not progress)
    with ProcessPoolExecutor(max_workers=workers) as pool, manifest.open("a") as mf:
        while (held < utterances) if utterances else (total < target):
            if utterances:
                size = utterances - held
            else:
                # A round for what is still missing at the mean length made so far. Before any is
                # made, a guess of 3 s an utterance, and half of it: the voices' own mean (nearer
                # 4 s for sentences, 1.5 s for digit strings) sizes the rest, so little is made over.
                mean = total / len(done) if done else 3.0
                size = max(workers, math.ceil((target - total) / mean / (1 if done else 2)))
            jobs = []
            while len(jobs) < size:
                uid, voice, text, rate, pitch = next(drawn)
                if uid not in done:
                    jobs.append((uid, voice, text, rate, pitch, str(out)))
            made = 0
            for fut in as_completed([pool.submit(_job, j) for j in jobs]):
                row = fut.result()
                if row is None:
                    continue
                made += 1
                mf.write(json.dumps(row) + "\n")
                mf.flush()
                done[Path(row["audio"]).stem] = row
                total += row["duration"]
                held += 1
                bar.update(1 if utterances else round(row["duration"]))
            if not made:
                raise RuntimeError(f"every one of {len(jobs)} utterances failed to synthesise: check the engines "
                                   f"({', '.join(sorted({v.engine for v in available}))})")
    bar.close()
    return {"utterances": len(done), "hours": total / 3600, "voices": len({r["speaker"] for r in done.values()}),
            "manifest": str(manifest)}
