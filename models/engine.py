"""The recogniser API that everything above the models uses.

    rec = Recogniser(model, beam=BeamDecoder(...))  # beam: finals by LM beam search (optional)
    rec.transcribe(audio, sample_rate)            # offline, whole recording
    rec.transcribe_file(chunks, block_s)          # offline, any length in bounded memory: finals at pauses
    s = rec.open_stream(); s.accept(chunk) ...    # streaming: partial hypotheses (greedy)
    s.finish()                                    # final hypothesis, slot freed
    rec.step([(s1, c1), (s2, c2), ...])           # one batched step over many streams
    Recogniser(model, second_pass=offline_rec)    # streams' finals re-decoded by an offline model
    Recogniser(offline, blend=Blend(streaming))   # finals from both models' outputs (mixed, texts scored again)

The server drives `step` from its scheduler; it never sees layers or state tensors.
A stream whose finals are beam-searched keeps its current utterance's logits, or with a second
pass its audio (at most `MAX_BEAM_S` of either; a longer utterance's final falls back to greedy).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF
from torch import Tensor

from .beam import BeamDecoder, Constraint
from .blend import Blend, blend_log_probs
from .ctc import BLANK, GreedyDecoder, Hypothesis, Vocabulary
from .decoding_defaults import END_PAD_S
from .frontend import vtlp_filterbanks
from .recogniser import ModelOutput, SpeechRecogniser
from .state_pool import StatePool
from .warps import check_warps


def as_tensor(audio) -> Tensor:
    t = torch.as_tensor(np.asarray(audio, dtype=np.float32)) if not isinstance(audio, Tensor) else audio.float()
    if t.dim() != 1:
        raise ValueError(f"expected mono audio of shape [samples], got {tuple(t.shape)}")
    return t


MAX_BEAM_S = 120.0
MIN_PAD_STEP_S = 0.25


def padded_length(n: int, min_step: int) -> int:
    """The length a whole recording of n samples runs at: the next multiple of a step of
    `min_step` or a sixteenth of n's power of two, whichever is more. A server then sees about
    sixteen lengths an octave instead of one per utterance: every new length costs the CPU's
    convolution library (oneDNN) new kernels, much of which it keeps, and with one length per
    second pass a server's memory grew without end (README, Soak). At most 1/16 more audio to
    run, or `min_step`."""
    step = max(min_step, (1 << (n.bit_length() - 1)) // 16)
    return -(-n // step) * step


def pause_cuts(logits: Tensor, max_frames: int) -> list[int]:
    """Where to cut a reading [T, vocab] into pieces of at most `max_frames`: each cut in the middle
    of the longest run of blank frames (the likeliest symbol blank: a pause) in the second half of
    the piece it ends, or at its end where it has none. None for a reading up to `max_frames`."""
    blank = (logits.argmax(-1) == BLANK).tolist()
    cuts, start = [], 0
    while len(blank) - start > max_frames:
        lo, hi = start + max_frames // 2, start + max_frames
        cut, longest, run = hi, 0, 0
        for t in range(lo, hi):
            run = run + 1 if blank[t] else 0
            if run > longest:
                longest, cut = run, t + 1 - run // 2
        cuts.append(cut)
        start = cut
    return cuts


@dataclass
class StepResult:
    embeddings: Tensor      # [new_frames, d_model] on the CPU
    new_frames: int         # the stream's decoder has taken these; `stream.partial()` reads it


class Recogniser:
    def __init__(self, model: SpeechRecogniser, device: str | torch.device = "cpu", max_streams: int = 64,
                 beam: BeamDecoder | None = None, end_pad_s: float = END_PAD_S,
                 second_pass: "Recogniser | None" = None, blend: Blend | None = None, warps: tuple[float, ...] = ()):
        if end_pad_s < 0:
            raise ValueError(f"end_pad_s must be >= 0, got {end_pad_s}")
        if second_pass is not None and (second_pass.cfg.vocab != model.cfg.vocab
                                        or second_pass.sample_rate != model.cfg.sample_rate):
            raise ValueError(f"second pass {second_pass.name!r} has another vocabulary or sample rate "
                             f"than {model.cfg.name!r}")
        if blend is not None:
            blend.check_matches(model)
        # Finals (offline readings) heard under each of these vocal-tract-length warps, their log-probabilities
        # averaged: a voice unlike the training voices is read as several nearer ones (empty: as it is)
        self.warps = check_warps(tuple(warps))
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        # Finals (offline ones, and this recogniser's as a second pass) mix in another model's reading
        self.blend = blend
        if blend is not None:
            blend.model.to(self.device).eval()
        self.cfg = model.cfg
        self.name = model.cfg.name
        self.vocab = Vocabulary(self.cfg.vocab)
        self.frame_s = self.cfg.frame_ms / 1000
        self.sample_rate = self.cfg.sample_rate
        self.beam = beam
        self.end_pad = torch.zeros(round(end_pad_s * self.sample_rate))
        self._min_pad_step = round(MIN_PAD_STEP_S * self.sample_rate)
        # Streams' finals: the offline model over each utterance's audio (partials stay this model's).
        self.second_pass = second_pass
        self.pool = StatePool(self.model, max_streams, self.device) if self.cfg.streaming else None
        # Held across gather -> step -> scatter, and by release: a slot is never freed (and reset)
        # while a step that read it is still to write it back.
        self._step_lock = threading.RLock()

    # ----- offline -----------------------------------------------------------------
    def resample(self, audio: Tensor, sample_rate: int) -> Tensor:
        if sample_rate == self.sample_rate:
            return audio
        return AF.resample(audio, sample_rate, self.sample_rate)

    @torch.inference_mode()
    def logits(self, audio, sample_rate: int | None = None):
        """The whole recording in one pass, run at a padded length (`padded_length`; the model
        masks past the true length, so the frames are those of the recording alone)."""
        (out,) = self._padded_pass(self.resample(as_tensor(audio), sample_rate or self.sample_rate), 0, [self.model])
        frames = int(out.lengths[0])
        return out.logits[0, :frames].cpu(), out.embeddings[0, :frames].cpu()

    def _final_models(self) -> list[SpeechRecogniser]:
        """The models whose readings a final is decoded from: this one, and a blend's."""
        return [self.model] if self.blend is None else [self.model, self.blend.model]

    def _mixed(self, readings: list[Tensor]) -> Tensor:
        if self.blend is None:
            return readings[0]
        return blend_log_probs(*readings, self.blend.weight, self.blend.delay_frames)

    @torch.inference_mode()
    def final_logits(self, audio, sample_rate: int | None = None) -> Tensor:
        """The logits a final is decoded from: the audio, then the end pad (with a blend: both
        models' readings of that, mixed)."""
        return self._mixed(self.final_readings(audio, sample_rate))

    @torch.inference_mode()
    def final_readings(self, audio, sample_rate: int | None = None) -> list[Tensor]:
        """Each final model's logits of the audio then the end pad: this one's, then a blend's."""
        x = self.resample(as_tensor(audio), sample_rate or self.sample_rate)
        return [out.logits[0, :int(out.lengths[0])].cpu()
                for out in self._padded_pass(x, len(self.end_pad), self._final_models(), final=True)]

    @torch.inference_mode()
    def final_readings_in_blocks(self, chunks: Iterable, block_s: float) -> tuple[list[Tensor], int]:
        """`final_readings` of a recording that arrives as chunks of samples at the model's rate, read
        in blocks of about `block_s` seconds, and its length in samples. Each block's frames come
        from a window reaching `context_frames` past the block on both sides, farther than any of
        its frames can see, so they are one pass's frames; the last window ends as one pass does
        (the end pad). Memory: a window's audio, and the logits (under a megabyte a minute)."""
        models = self._final_models()
        hop = round(self.sample_rate * self.frame_s)  # samples a frame: windows start on a frame
        margin = max(m.context_frames() for m in models)
        block = max(1, round(block_s / self.frame_s))
        readings: list[list[Tensor]] = [[] for _ in models]
        buf, buf_start, done, total = torch.zeros(0), 0, 0, 0  # buf: samples from buf_start; frames < done read
        arrived: list[Tensor] = []  # chunks not yet in buf: joined once a block, not once a chunk
        for chunk in chunks:
            arrived.append(as_tensor(chunk))
            total += len(arrived[-1])
            while total >= (done + block + margin) * hop:  # the next block's window has arrived
                if arrived:
                    buf, arrived = torch.cat([buf, *arrived]), []
                start = max(0, done - margin)
                window = buf[start * hop - buf_start:(done + block + margin) * hop - buf_start][None].to(self.device)
                for reading, model in zip(readings, models):
                    reading.append(self._final_read(model, window).logits[0, done - start:done - start + block].cpu())
                done += block
                drop = max(0, done - margin) * hop - buf_start
                buf, buf_start = buf[drop:], buf_start + drop
        buf, start = torch.cat([buf, *arrived]), max(0, done - margin)
        last = self._padded_pass(buf[start * hop - buf_start:], len(self.end_pad), models, final=True)
        for reading, out in zip(readings, last):
            reading.append(out.logits[0, done - start:int(out.lengths[0])].cpu())
        return [torch.cat(r) for r in readings], total

    def _final_read(self, model: SpeechRecogniser, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        """A final model's output of x [1, N]: as it is, or with `warps`, the mean of its log-probabilities
        under each warp (the batch is the warps)."""
        if not self.warps:
            return model(x, lengths)
        k = len(self.warps)
        fb = vtlp_filterbanks(model.frontend.mel_fb, torch.tensor(self.warps), model.cfg.sample_rate)
        feats, feat_lengths = model.frontend(x.expand(k, -1), None if lengths is None else lengths.expand(k),
                                             mel_fb=fb)
        out = model.forward_features(feats, feat_lengths)
        mean = out.logits.float().log_softmax(-1).mean(0, keepdim=True)
        return ModelOutput.make(mean, out.embeddings[:1], out.lengths[:1])

    def _padded_pass(self, x: Tensor, zeros_after: int, models: list[SpeechRecogniser], final: bool = False) -> list:
        # The end pad's zeros and the padding to the run length are one pad: one copy of the audio,
        # which each of `models` reads (the recogniser's own, and a blend's)
        n = len(x) + zeros_after
        if n:
            x = torch.nn.functional.pad(x, (0, padded_length(n, self._min_pad_step) - len(x)))
        x, lengths = x[None].to(self.device), (torch.tensor([n]) if n else None)
        return [self._final_read(model, x, lengths) if final else model(x, lengths) for model in models]

    def transcribe(self, audio, sample_rate: int | None = None, constraint: Constraint | None = None,
                   alternatives: int = 1, time_offset_s: float = 0.0) -> Hypothesis:
        """The final hypothesis; beam-searched ones carry up to `alternatives` - 1 runners-up.
        `time_offset_s`: where the audio starts (word times are given from there)."""
        x = self.resample(as_tensor(audio), sample_rate or self.sample_rate)
        readings = self.final_readings(x)
        return self._decoded(readings, self._mixed(readings), time_offset_s + len(x) / self.sample_rate, constraint,
                             alternatives, time_offset_s)

    def transcribe_file(self, chunks: Iterable, block_s: float, constraint: Constraint | None = None,
                        alternatives: int = 1) -> tuple[list[Hypothesis], int]:
        """A recording of any length that arrives as chunks of samples at the model's rate, read in
        blocks (`final_readings_in_blocks`) -> its finals, and its length in samples. Up to
        `MAX_BEAM_S`, one final: `transcribe`'s. A longer one is decoded in pieces cut at pauses
        (`pause_cuts`), a final each: the search's time grows faster than its input, and one piece
        loses the language model's context only across a pause. With a search in worker processes
        (`BeamDecoder(workers=N)`), N pieces are searched at once."""
        readings, samples = self.final_readings_in_blocks(chunks, block_s)
        end_s = samples / self.sample_rate
        mixed = self._mixed(readings)  # once, over the whole recording (its delay matched on all of it)
        bounds = [0, *pause_cuts(mixed, int(MAX_BEAM_S / self.frame_s)), len(mixed)]

        def piece(a_b: tuple[int, int]) -> Hypothesis:
            a, b = a_b
            return self._decoded([r[a:b] for r in readings], mixed[a:b], min(end_s, b * self.frame_s), constraint,
                                 alternatives, a * self.frame_s)

        pieces = list(zip(bounds, bounds[1:]))
        side_by_side = min(len(pieces), self.beam.concurrency if self.beam_applies(constraint) else 1)
        if side_by_side > 1:
            # each piece's search is its own (none carries context over a cut), so the search's worker
            # processes take them at once: the same finals, sooner
            with ThreadPoolExecutor(side_by_side) as pool:
                finals = list(pool.map(piece, pieces))
        else:
            finals = [piece(p) for p in pieces]
        return [f for f in finals if f.text] or finals[-1:], samples

    def _decoded(self, readings: list[Tensor], logits: Tensor, end_s: float, constraint: Constraint | None,
                 alternatives: int, time_offset_s: float = 0.0) -> Hypothesis:
        """The final of the final models' `readings` (`final_readings`) and their mix `logits` (`_mixed`),
        its times from `time_offset_s` and none past `end_s`."""
        if self.beam_applies(constraint) and self.blend is not None and self.blend.rescore:
            # the texts the searches find, scored again by each model's own probability of them
            hyp = self.beam.decode_rescored(readings, [1 - self.blend.weight, self.blend.weight], logits, constraint,
                                            time_offset_s, alternatives, self.blend.rescore, self.blend.rescore_beam)
        elif self.beam_applies(constraint):
            hyp = self.beam.decode(logits, constraint, time_offset_s, alternatives)
        else:
            dec = GreedyDecoder(self.vocab, self.frame_s)
            dec.accept(logits)
            hyp = dec.hypothesis(True, time_offset_s)
        return hyp.clipped(end_s)

    def beam_applies(self, constraint: Constraint | None) -> bool:
        return self.beam is not None and self.beam.available(constraint)

    def check_constraint(self, constraint: Constraint | None) -> None:
        """A constraint needs the beam decoder; without one it would be silently ignored."""
        if constraint and self.beam is None:
            raise ValueError("this server decodes greedily (started without a beam decoder), so it cannot "
                             "constrain the vocabulary; drop the constraint or start the server with --lm")

    # ----- streaming ---------------------------------------------------------------
    def open_stream(self, constraint: Constraint | None = None, alternatives: int = 1,
                    second_pass: bool = True) -> "RecogniserStream":
        """second_pass=False: this stream's finals stay this model's even where a second pass is set."""
        if self.pool is None:
            raise RuntimeError(f"model {self.name!r} is offline-only ({self.cfg.family}); use a streaming model")
        self.check_constraint(constraint)
        rescorer = self.second_pass if second_pass else None
        return RecogniserStream(self, self.pool.acquire(), constraint, alternatives, rescorer)

    def transcribe_streamed(self, audio, chunk: int, constraint: Constraint | None = None) -> Hypothesis:
        """A whole recording (16 kHz samples) fed to a stream `chunk` samples at a time, as a live
        client would: its final. The slot is freed even if a step fails."""
        with self.open_stream(constraint) as stream:
            for i in range(0, len(audio), chunk):
                stream.feed(audio[i:i + chunk])  # a partial per chunk would re-read the utterance each time
            return stream.finish()

    @torch.inference_mode()
    def step(self, items: list[tuple["RecogniserStream", object]]) -> list[StepResult | None]:
        """One batched model step: each stream's chunk (16 kHz float samples, any length).

        A stream closed by the time the step runs (a client that went away) is skipped and
        gets None; the others are unaffected."""
        if not items:
            return []
        if len({id(s) for s, _ in items}) != len(items):
            raise ValueError("a stream may appear only once per batched step")
        results: list[StepResult | None] = [None] * len(items)
        with self._step_lock:
            live = [(i, s, as_tensor(c)) for i, (s, c) in enumerate(items) if not s.closed]
            if not live:
                return results
            streams = [s for _, s, _ in live]
            chunks = [c for _, _, c in live]
            lengths = torch.tensor([len(c) for c in chunks], dtype=torch.long)
            batch = torch.zeros(len(chunks), int(lengths.max()))
            for i, c in enumerate(chunks):
                batch[i, : len(c)] = c
            slots = [s.slot for s in streams]
            state = self.pool.gather(slots)
            uniform = bool((lengths == lengths[0]).all())
            out, state = self.model.step(batch.to(self.device), None if uniform else lengths, state)
            self.pool.scatter(slots, state)
        for (i, _, _), r in zip(live, self._distribute(streams, out, chunks)):
            results[i] = r
        return results

    @torch.inference_mode()
    def _flush(self, stream: "RecogniserStream") -> StepResult:
        """End of a stream's audio: the end pad, then the frames the lookahead held back."""
        if len(self.end_pad):
            self.step([(stream, self.end_pad)])
        with self._step_lock:
            state = self.pool.gather([stream.slot])
            out, state = self.model.flush(state)
            self.pool.scatter([stream.slot], state)
        return self._distribute([stream], out, [torch.zeros(0)])[0]

    def _distribute(self, streams, out, chunks) -> list[StepResult]:
        logits, emb = out.logits.cpu(), out.embeddings.cpu()
        results = []
        for i, (s, c) in enumerate(zip(streams, chunks)):
            n = int(out.lengths[i])
            s.take(logits[i, :n], c)
            results.append(StepResult(emb[i, :n], n))
        return results

    def release(self, stream: "RecogniserStream") -> None:
        with self._step_lock:  # waits out a step in flight that holds this slot
            self.pool.release(stream.slot)

    @property
    def active_streams(self) -> int:
        return self.pool.in_use if self.pool else 0


class RecogniserStream:
    """One live stream: a state slot, a greedy decoder for partials of the current utterance,
    and what its final is decoded from: that utterance's logits (beam search) or, with a second
    pass, its audio."""

    def __init__(self, recogniser: Recogniser, slot: int, constraint: Constraint | None = None,
                 alternatives: int = 1, second_pass: Recogniser | None = None):
        self.rec = recogniser
        self.alternatives = alternatives
        self.slot = slot
        self.samples_in = 0
        self.closed = False
        self.utterance_offset_s = 0.0
        self.constraint = constraint
        self.decoder = GreedyDecoder(recogniser.vocab, recogniser.frame_s)
        self.second_pass = second_pass
        self._beam = recogniser.beam_applies(constraint) and second_pass is None
        self._logits: list[Tensor] = []
        self._max_frames = int(MAX_BEAM_S / recogniser.frame_s)
        # The second pass's audio: the samples from _audio_start (absolute) to samples_in, at most
        # about twice _max_samples; an utterance that began before _audio_start gets the greedy final.
        self._audio: list[Tensor] = []
        self._audio_start = 0
        self._max_samples = int(MAX_BEAM_S * recogniser.sample_rate)

    def take(self, logits: Tensor, samples: Tensor) -> None:
        """The next frames' logits [n, vocab] of this stream and the samples that gave them
        (from a batched step)."""
        self.samples_in += len(samples)
        self.decoder.accept(logits)
        if self._beam and self.decoder.frames <= self._max_frames:
            self._logits.append(logits.clone())
        if self.second_pass is not None and len(samples):
            self._audio.append(samples.clone())
            if self.samples_in - self._audio_start > 2 * self._max_samples:
                self._keep_audio_from(self.samples_in - self._max_samples)

    def _keep_audio_from(self, start: int) -> None:
        kept = torch.cat(self._audio)[max(0, start - self._audio_start):] if self._audio else torch.zeros(0)
        self._audio = [kept] if len(kept) else []
        self._audio_start = max(start, self._audio_start)

    def _second_pass_final(self, end_sample: int) -> Hypothesis | None:
        start = round(self.utterance_offset_s * self.rec.sample_rate)
        if self._audio_start > start or end_sample - start > self._max_samples:
            return None
        audio = torch.cat(self._audio)[start - self._audio_start:end_sample - self._audio_start] \
            if self._audio else torch.zeros(0)
        return self.second_pass.transcribe(audio, constraint=self.constraint, alternatives=self.alternatives,
                                           time_offset_s=start / self.rec.sample_rate)

    def _final(self, end_sample: int) -> Hypothesis:
        """The current utterance's final; its audio ends at `end_sample` (absolute)."""
        if self.second_pass is not None:
            hyp = self._second_pass_final(end_sample)
            if hyp is not None:
                return hyp
        if self._beam and self.decoder.frames <= self._max_frames:
            logits = torch.cat(self._logits) if self._logits else torch.zeros(0, len(self.rec.vocab))
            return self.rec.beam.decode(logits, self.constraint, self.utterance_offset_s, self.alternatives)
        return self.decoder.hypothesis(True, self.utterance_offset_s)

    def _check_open(self):
        if self.closed:
            raise RuntimeError("stream is closed")

    def feed(self, samples) -> None:
        """The next chunk, stepped alone, with no partial built (callers that want only the final)."""
        self._check_open()
        if self.rec.step([(self, samples)])[0] is None:
            raise RuntimeError("stream was closed during the step")

    def accept(self, samples) -> Hypothesis:
        self.feed(samples)
        return self.partial()

    def partial(self) -> Hypothesis:
        """The current utterance so far (built on demand: steps only feed the decoder)."""
        return self.decoder.hypothesis(False, self.utterance_offset_s)

    def has_text(self) -> bool:
        return self.decoder.letters > 0

    def finish(self) -> Hypothesis:
        """End of audio: decode the end pad and what the lookahead held back, return the final
        (no time in it past the audio's end), free the slot."""
        self._check_open()
        audio_end = self.samples_in
        self.rec._flush(self)
        try:
            return self._final(audio_end).clipped(audio_end / self.rec.sample_rate)
        finally:
            self.close()

    def silence_s(self) -> float:
        """Audio since the last character of the current utterance (all of it if none yet)."""
        return self.decoder.trailing_blank_frames() * self.rec.frame_s

    def utterance_s(self) -> float:
        return self.decoder.frames * self.rec.frame_s

    def end_utterance(self, decode: bool = True) -> Hypothesis | None:
        """Close the current utterance (endpointing) and start the next; the audio state runs on.
        decode=False drops it undecoded (an utterance with nothing said)."""
        end_s = self.utterance_offset_s + self.utterance_s()
        end_sample = round(end_s * self.rec.sample_rate)
        hyp = self._final(end_sample) if decode else None
        self.utterance_offset_s = end_s
        self.decoder = GreedyDecoder(self.rec.vocab, self.rec.frame_s)
        self._logits = []
        if self.second_pass is not None:
            self._keep_audio_from(end_sample)
        return hyp

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.rec.release(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
