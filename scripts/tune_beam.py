"""Tune the beam search's LM weight and word score on a dev manifest (never on a test set).

    .venv/bin/python scripts/tune_beam.py DEV_MANIFEST --model NAME --lm FILE.arpa.gz [--end-pads 0,0.25]
        [--beam-sizes 32,256] [--beam-size N] [--blend MODEL --blend-weights 0,0.25 --blend-delays 0,3]

The model runs once per utterance; each grid point only decodes again. Prints JSON: the grid's
WERs and the best point, whose values go into `models/decoding_defaults.py` (where the
server's --lm-weight / --word-score and `BeamConfig` take their defaults). --end-pads: the WER at
each end pad (zeros after the audio) with the default beam values, for
`models.decoding_defaults.END_PAD_S` (the grid uses that default pad). --beam-sizes: the WER and
the search's time per second of audio at each beam size with the default weights, for
`models.decoding_defaults.BEAM_SIZE` (accuracy against the CPU time every final costs); the grid
runs at --beam-size (default: that default). --blend: the WER at each share of that model's reading
mixed into the model's (--blend-weights) and each delay of its frames (--blend-delays; models.blend),
with the default beam values, for `models.decoding_defaults.BLEND_WEIGHT` and `BLEND_DELAY_FRAMES`: each the mix's
search alone (as `--blend-rescore 0`); the recipe's blend stage reads its shares through `wavestream eval`, which
scores the searches' texts again by default (`BLEND_RESCORE`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

from models.audio import read_audio
from models.beam import BeamConfig, BeamDecoder
from models.blend import blend_log_probs
from models.blend_delay import parse_delay
from models.ctc import greedy_transcript
from models.data import read_manifest
from models.decoding_defaults import BEAM_SIZE, END_PAD_S
from models.engine import Recogniser
from models.evaluate import wer_cer
from models.registry import load_model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifest")
    p.add_argument("--model", required=True)
    p.add_argument("--lm", required=True)
    p.add_argument("--lm-weights", default="0.2,0.4,0.6,0.8,1.0,1.3,1.6")
    p.add_argument("--word-scores", default="-1,0,0.5,1,1.5,2,3")
    p.add_argument("--end-pads", default="", help="seconds, comma-separated (default: none)")
    p.add_argument("--beam-sizes", default="", help="comma-separated (default: none)")
    p.add_argument("--beam-size", type=int, default=BEAM_SIZE, help="the grid's (default: %(default)s)")
    p.add_argument("--blend", default="", help="a model whose reading is mixed in (default: none)")
    p.add_argument("--blend-weights", default="0,0.1,0.2,0.25,0.3,0.4,0.5")
    p.add_argument("--blend-delays", default="0,1,2,3,4,5", help="frames, or matched (per recording: null in the JSON)")
    args = p.parse_args(argv)
    model = load_model(args.model)
    rec = Recogniser(model, max_streams=1)
    rows = read_manifest(args.manifest)
    refs = [u.text for u in rows]
    audio = [read_audio(u.audio, rec.sample_rate)[0] for u in rows]
    logits = [rec.final_logits(x) for x in audio]
    greedy = wer_cer(refs, [greedy_transcript(x, rec.vocab, rec.frame_s).text for x in logits])
    # the default weights; the LM is read once, and the other widths and weights share it
    dec = BeamDecoder.for_model(model.cfg, args.lm, BeamConfig(beam_size=args.beam_size))
    audio_s = sum(len(x) for x in audio) / rec.sample_rate
    beam_sizes = []
    for size in [int(v) for v in args.beam_sizes.split(",") if v]:
        sized = dec.widened(size)
        t0 = time.perf_counter()
        texts = [sized.decode(x).text for x in logits]
        seconds = time.perf_counter() - t0
        wer, cer = wer_cer(refs, texts)
        beam_sizes.append({"beam_size": size, "wer": wer, "cer": cer, "search_s_per_audio_s": seconds / audio_s})
    grid = []
    for lm_weight, word_score in itertools.product(map(float, args.lm_weights.split(",")),
                                                   map(float, args.word_scores.split(","))):
        point = dec.reweighted(lm_weight, word_score)
        wer, cer = wer_cer(refs, [point.decode(x).text for x in logits])
        grid.append({"lm_weight": lm_weight, "word_score": word_score, "wer": wer, "cer": cer})
    best = min(grid, key=lambda g: (g["wer"], g["cer"]))
    end_pads = []
    for pad in [float(v) for v in args.end_pads.split(",") if v]:
        padded = Recogniser(model, max_streams=1, end_pad_s=pad)
        wer, cer = wer_cer(refs, [dec.decode(padded.final_logits(x)).text for x in audio])
        end_pads.append({"end_pad_s": pad, "wer": wer, "cer": cer})
    blends = []
    if args.blend:
        other = Recogniser(load_model(args.blend), max_streams=1)
        other_logits = [other.final_logits(x) for x in audio]
        for weight, delay in itertools.product(map(float, args.blend_weights.split(",")),
                                               map(parse_delay, args.blend_delays.split(","))):
            texts = [dec.decode(blend_log_probs(a, b, weight, delay)).text for a, b in zip(logits, other_logits)]
            wer, cer = wer_cer(refs, texts)
            blends.append({"blend_weight": weight, "blend_delay_frames": delay, "wer": wer, "cer": cer})
    print(json.dumps({"manifest": args.manifest, "model": args.model, "n": len(rows),
                      "greedy": {"wer": greedy[0], "cer": greedy[1]}, "best": best,
                      "defaults": {"lm_weight": BeamConfig.lm_weight, "word_score": BeamConfig.word_score,
                                   "end_pad_s": END_PAD_S, "beam_size": BEAM_SIZE},
                      "grid_beam_size": args.beam_size, "grid": grid, "end_pads": end_pads,
                      "beam_sizes": beam_sizes,
                      "best_end_pad": min(end_pads, key=lambda g: (g["wer"], g["cer"])) if end_pads else None,
                      "blend": args.blend or None, "blends": blends,
                      "best_blend": min(blends, key=lambda g: (g["wer"], g["cer"])) if blends else None},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
