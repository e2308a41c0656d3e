"""Server configuration: flags, each also settable as a WAVESTREAM_<NAME> environment variable."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields

from models import decoding_defaults  # free of torch: `wavestream health` starts fast
from models.blend_delay import format_delay, parse_delay
from models.warps import format_warps, parse_warps


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int = 9464            # Prometheus /metrics over HTTP; 0 turns it off
    device: str = "cpu"
    cpu_fallback: bool = False          # --device cuda where there is none: serve on the CPU (warned) instead of refusing
    model: str = "wavenet-cpu"          # the streaming model
    offline_model: str = "logmel-cnn-cpu"  # Recognize's model for whole files ("" = the streaming model for all)
    offline_max_s: float = 600.0        # longer files: Recognize reads them in blocks of this length
    lm: str = "default"                 # finals' beam search LM: default (shipped), none (greedy), or an ARPA path
    lm_weight: float = decoding_defaults.LM_WEIGHT    # beam search: LM score weight
    word_score: float = decoding_defaults.WORD_SCORE  # bonus per word (longer vs shorter transcripts)
    beam_size: int = decoding_defaults.BEAM_SIZE
    beam_threshold: float = decoding_defaults.BEAM_THRESHOLD  # hypotheses this far below the best are dropped
    beam_workers: int = 2               # processes running finals' beam searches (0: in the server's threads)
    second_pass: bool = True            # streams' finals re-decoded by the offline model (where one is served)
    # the offline model's finals (files' and the second pass's) mixed with the streaming model's reading of the same
    # audio, at this share (models.blend); 0: the offline model's alone
    blend_weight: float = decoding_defaults.BLEND_WEIGHT
    # how many frames later the streaming model emits a letter (its frames moved that many earlier before the mix),
    # or None ("matched" as a flag): per recording, where the two models' letters overlap most (isolated words: a
    # delay near 0)
    blend_delay: int | None = decoding_defaults.BLEND_DELAY_FRAMES
    # texts each of the finals' searches (over the mix, and over each model alone) proposes, scored again by both
    # models' probabilities of them (models.blend); 0: the mix's search decides (one search a final, not three)
    blend_rescore: int = decoding_defaults.BLEND_RESCORE
    # hypotheses each model's own search keeps when finals are scored again (the mix's search keeps --beam-size);
    # 0: as many as the mix's
    blend_rescore_beam: int = decoding_defaults.BLEND_RESCORE_BEAM
    # finals scored again weigh the LM's score and each word so (None, "search" as a flag: as the searches do, by
    # --lm-weight and --word-score)
    rescore_lm_weight: float | None = decoding_defaults.RESCORE_LM_WEIGHT
    rescore_word_score: float | None = decoding_defaults.RESCORE_WORD_SCORE
    end_pad_s: float = decoding_defaults.END_PAD_S    # zeros after a file's or stream's end before its final
    # the offline finals (files' and the second pass's) heard under these vocal-tract-length warps, each model's
    # log-probabilities averaged (models.engine Recogniser.warps), at as many times the models' work; () ("none"):
    # as recorded. For voices unlike the training voices (the model card's "Test-time warps")
    warps: tuple[float, ...] = ()
    untrained: bool = False             # allow built-in sizes with seeded random weights (testing only)
    max_streams: int = 64               # concurrent streams (state slots); more -> RESOURCE_EXHAUSTED
    max_batch: int = 64                 # streams per batched model step
    max_wait_ms: float = 5.0            # how long a step waits to fill its batch
    idle_timeout_s: float = 30.0        # a stream that sends nothing this long is ended
    max_message_bytes: int = 16 * 1024 * 1024
    max_stream_s: float = 4 * 3600.0    # audio seconds one stream may send
    silence_without_text_s: float = 2.4
    silence_after_text_s: float = 1.2
    max_utterance_s: float = 20.0
    # text, then this much quiet audio ends the utterance too (service.endpointer.QuietMeter: without the streaming
    # model's delay); 0: off. 1.0: chosen by `bench endpoint`'s rule (README, Benchmarks: "Speech end to final")
    quiet_after_text_s: float = 1.0
    token: str = ""                     # bearer token; empty: no auth
    tls_cert: str = ""
    tls_key: str = ""
    grace_s: float = 30.0               # SIGTERM: time in-flight streams get to finish
    # PyTorch's CPU threads for each model call; 0: PyTorch's choice, one per core. The server calls its models
    # from several threads at once (the batched step, finals, files), and OpenMP, once its threads outnumber
    # the cores, stops spinning between the many small operations of a step: one each is faster (README, Benchmarks:
    # "The models' CPU threads")
    threads: int = 1
    # glibc: buffers this big or bigger are mmapped, so freed ones go back to the OS at once: flat memory
    # under churn for ~3% more CPU (README, Soak); 0 keeps malloc's own adaptive policy
    mmap_threshold_kb: int = 0

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        # An environment value is the flag's default, checked like the flag when `serve` parses (so a bad
        # one stops only `serve`, with a message naming it); an empty one counts as unset, except for
        # text settings, where empty means something (no token, no offline model).
        for f in fields(cls):
            flag = "--" + f.name.replace("_", "-")
            env = "WAVESTREAM_" + f.name.upper()
            raw = os.environ.get(env)
            kind = _kind(f)
            unset = raw is None or (raw.strip() == "" and kind != "str")
            if kind == "bool":
                parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default if unset else raw,
                                    help=f"(env {env})")
            else:
                typ = _checked(_PARSERS.get(kind, str), flag, env)
                shown = _SHOWN.get(kind, repr)(f.default)
                parser.add_argument(flag, type=typ, default=f.default if unset else raw,
                                    help=f"(env {env}; default {shown})")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "ServerConfig":
        values = {}
        for f in fields(cls):
            value = getattr(args, f.name)
            if isinstance(value, str) and _kind(f) == "bool":  # an environment value not yet read as on/off
                value = _flag_bool(value, "WAVESTREAM_" + f.name.upper())
            values[f.name] = value
        return cls(**values)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _weight_or_search(text: str) -> float | None:
    """A rescoring weight: a number, or "search" (None): as the searches weigh it."""
    if text.strip() == "search":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a number nor 'search'") from None


# how a setting's text is read, and its default shown, by its type; "int | None" is the blend's delay: frames, or
# "matched"; "float | None" a rescoring weight; "tuple[float, ...]" the finals' warps
_PARSERS = {"int": int, "float": float, "int | None": parse_delay, "float | None": _weight_or_search,
            "tuple[float, ...]": parse_warps}
_SHOWN = {"int | None": format_delay, "float | None": lambda v: "search" if v is None else repr(v),
          "tuple[float, ...]": format_warps}
_NOT = {int: "is not a whole number", float: "is not a number"}  # what a bad number is told


def _kind(f) -> str:
    """A field's type name (annotations are strings under `from __future__ import annotations`)."""
    return f.type if isinstance(f.type, str) else f.type.__name__


def _flag_bool(raw: str, env: str) -> bool:
    """An on/off environment value; anything else is an error rather than a silent False."""
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise SystemExit(f"wavestream: cannot start: {env}={raw!r} is neither on ({', '.join(_TRUE)}) "
                     f"nor off ({', '.join(_FALSE)})")


def _checked(typ, flag: str, env: str):
    """`typ` for argparse, with an error that names where the value may have come from."""
    if typ is str:
        return str

    def convert(text: str):
        try:
            return typ(text)
        except ValueError as e:
            message = f"{text!r} {_NOT[typ]}" if typ in _NOT else str(e)  # a parser's own message says what it wants
            raise argparse.ArgumentTypeError(f"{message} (from {flag} or {env})") from None

    return convert
