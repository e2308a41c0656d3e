"""The yardstick: pocketsphinx 5.1.1 with the en-us model its wheel ships, on the same manifests
and scored the same way as `wavestream eval` (jiwer, the same text normalisation).

    .venv/bin/python scripts/pocketsphinx_eval.py MANIFEST ... [--limit N] [--digits] [--utterances]

Prints one JSON object a manifest: {"manifest", "wer", "cer", "n", "audio_s", "rtf", "model"}.
--digits restricts pocketsphinx to a digits grammar, the counterpart of `--vocabulary-set digits`.
--utterances lists every utterance's reference and reading, as `wavestream eval --utterances` does, so
`wavestream compare` can set pocketsphinx beside a model utterance by utterance.
(pocketsphinx is in the project's dev extras: pip install -e '.[dev]'.)
"""

from __future__ import annotations

import argparse
import json
import re
import sys

import numpy as np

from models.beam import NAMED_VOCABULARIES
from models.evaluate import evaluate

# the same words as `--vocabulary-set digits`
DIGITS_JSGF = f"""#JSGF V1.0;
grammar digits;
public <digits> = ( {" | ".join(NAMED_VOCABULARIES["digits"])} )+ ;
"""


def recogniser(digits: bool):
    import pocketsphinx

    decoder = pocketsphinx.Decoder(loglevel="FATAL")
    if digits:
        decoder.add_jsgf_string("digits", DIGITS_JSGF)
        decoder.activate_search("digits")

    def transcribe(_path, samples: np.ndarray) -> str:
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        # the dictionary marks alternate pronunciations "word(2)"; fillers are already dropped
        return re.sub(r"\(\d+\)", "", hyp.hypstr).lower() if hyp else ""

    return transcribe


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("manifests", nargs="+")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--digits", action="store_true", help="a digits grammar instead of the open-vocabulary LM")
    p.add_argument("--errors", action="store_true", help="list every utterance not read exactly right")
    p.add_argument("--utterances", action="store_true", help="list every utterance's reference and reading")
    args = p.parse_args(argv)
    from importlib.metadata import version

    transcribe = recogniser(args.digits)
    label = f"pocketsphinx {version('pocketsphinx')} en-us" + (" digits grammar" if args.digits else "")
    for manifest in args.manifests:
        r = evaluate(manifest, transcribe, rate=16000, limit=args.limit, errors=args.errors, utterances=args.utterances)
        r["model"] = label
        print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
