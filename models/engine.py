"""The recogniser API that everything above the models uses.

    rec = Recogniser(model, beam=BeamDecoder(...))  # beam: finals by LM beam search (optional)
    rec.transcribe(audio, sample_rate)            # offline, whole recording
    s = rec.open_stream(); s.accept(chunk) ...    # streaming: partial hypotheses (greedy)
    s.finish()                                    # final hypothesis, slot freed
    rec.step([(s1, c1), (s2, c2), ...])           # one batched step over many streams

The server drives `step` from its scheduler; it never sees layers or state tensors.
A stream whose finals are beam-searched keeps its current utterance's logits (at most
`MAX_BEAM_S` of them; a longer utterance's final falls back to greedy).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF
from torch import Tensor

from .beam import BeamDecoder, Constraint
from .ctc import GreedyDecoder, Hypothesis, Vocabulary
from .recogniser import SpeechRecogniser
from .state_pool import StatePool


def as_tensor(audio) -> Tensor:
    t = torch.as_tensor(np.asarray(audio, dtype=np.float32)) if not isinstance(audio, Tensor) else audio.float()
    if t.dim() != 1:
        raise ValueError(f"expected mono audio of shape [samples], got {tuple(t.shape)}")
    return t


MAX_BEAM_S = 120.0
# Exact zeros put after the end of the audio before its final is decoded, offline and when a stream
# finishes. Both models learnt word ends with silence after them (and a causal one emits a letter
# frames after hearing it), so a recording cut at its last sound loses or mistakes that sound.
# 0.25 s: the offline model's best of 0, 0.1, 0.25 and 0.5 s on the recipe's dev set; the streaming
# model's dev WER is the same at all four (scripts/tune_beam.py --end-pads, the recipe's tune stage).
END_PAD_S = 0.25


@dataclass
class StepResult:
    embeddings: Tensor      # [new_frames, d_model] on the CPU
    new_frames: int         # the stream's decoder has taken these; `stream.partial()` reads it


class Recogniser:
    def __init__(self, model: SpeechRecogniser, device: str | torch.device = "cpu", max_streams: int = 64,
                 beam: BeamDecoder | None = None, end_pad_s: float = END_PAD_S):
        if end_pad_s < 0:
            raise ValueError(f"end_pad_s must be >= 0, got {end_pad_s}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.cfg = model.cfg
        self.name = model.cfg.name
        self.vocab = Vocabulary(self.cfg.vocab)
        self.frame_s = self.cfg.frame_ms / 1000
        self.sample_rate = self.cfg.sample_rate
        self.beam = beam
        self.end_pad = torch.zeros(round(end_pad_s * self.sample_rate))
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
        x = self.resample(as_tensor(audio), sample_rate or self.sample_rate)
        out = self.model(x[None].to(self.device))
        return out.logits[0].cpu(), out.embeddings[0].cpu()

    def final_logits(self, audio, sample_rate: int | None = None) -> Tensor:
        """The logits a final is decoded from: the audio, then the end pad."""
        x = self.resample(as_tensor(audio), sample_rate or self.sample_rate)
        return self.logits(torch.cat([x, self.end_pad]))[0]

    def transcribe(self, audio, sample_rate: int | None = None, constraint: Constraint | None = None,
                   alternatives: int = 1) -> Hypothesis:
        """The final hypothesis; beam-searched ones carry up to `alternatives` - 1 runners-up."""
        x = self.resample(as_tensor(audio), sample_rate or self.sample_rate)
        logits = self.final_logits(x)
        if self.beam_applies(constraint):
            hyp = self.beam.decode(logits, constraint, alternatives=alternatives)
        else:
            dec = GreedyDecoder(self.vocab, self.frame_s)
            dec.accept(logits)
            hyp = dec.hypothesis(is_final=True)
        return hyp.clipped(len(x) / self.sample_rate)

    def beam_applies(self, constraint: Constraint | None) -> bool:
        return self.beam is not None and self.beam.available(constraint)

    def check_constraint(self, constraint: Constraint | None) -> None:
        """A constraint needs the beam decoder; without one it would be silently ignored."""
        if constraint and self.beam is None:
            raise ValueError("this server decodes greedily (started without a beam decoder), so it cannot "
                             "constrain the vocabulary; drop the constraint or start the server with --lm")

    # ----- streaming ---------------------------------------------------------------
    def open_stream(self, constraint: Constraint | None = None, alternatives: int = 1) -> "RecogniserStream":
        if self.pool is None:
            raise RuntimeError(f"model {self.name!r} is offline-only ({self.cfg.family}); use a streaming model")
        self.check_constraint(constraint)
        return RecogniserStream(self, self.pool.acquire(), constraint, alternatives)

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
            s.samples_in += len(c)
            s.take(logits[i, :n])
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
    and (when finals are beam-searched) that utterance's logits."""

    def __init__(self, recogniser: Recogniser, slot: int, constraint: Constraint | None = None,
                 alternatives: int = 1):
        self.rec = recogniser
        self.alternatives = alternatives
        self.slot = slot
        self.samples_in = 0
        self.closed = False
        self.utterance_offset_s = 0.0
        self.constraint = constraint
        self.decoder = GreedyDecoder(recogniser.vocab, recogniser.frame_s)
        self._beam = recogniser.beam_applies(constraint)
        self._logits: list[Tensor] = []
        self._max_frames = int(MAX_BEAM_S / recogniser.frame_s)

    def take(self, logits: Tensor) -> None:
        """The next frames' logits [n, vocab] of this stream (from a batched step)."""
        self.decoder.accept(logits)
        if self._beam and self.decoder.frames <= self._max_frames:
            self._logits.append(logits.clone())

    def _final(self) -> Hypothesis:
        if self._beam and self.decoder.frames <= self._max_frames:
            logits = torch.cat(self._logits) if self._logits else torch.zeros(0, len(self.rec.vocab))
            return self.rec.beam.decode(logits, self.constraint, self.utterance_offset_s, self.alternatives)
        return self.decoder.hypothesis(True, self.utterance_offset_s)

    def _check_open(self):
        if self.closed:
            raise RuntimeError("stream is closed")

    def accept(self, samples) -> Hypothesis:
        self._check_open()
        if self.rec.step([(self, samples)])[0] is None:
            raise RuntimeError("stream was closed during the step")
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
        audio_end_s = self.samples_in / self.rec.sample_rate
        self.rec._flush(self)
        try:
            return self._final().clipped(audio_end_s)
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
        hyp = self._final() if decode else None
        self.utterance_offset_s += self.decoder.frames * self.rec.frame_s
        self.decoder = GreedyDecoder(self.rec.vocab, self.rec.frame_s)
        self._logits = []
        return hyp

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.rec.release(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
