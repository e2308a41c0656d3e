"""The blend stage's rule (scripts/train-shipped.sh, STAGES=blend): the share and the delay of the
streaming model's reading mixed into the offline model's finals (models.blend), chosen from readings
the stage made in FOLDER (`wavestream eval --json --utterances` files): SET-alone.json, the offline
model alone, and shares/SET-sSHARE-dDELAY.json, blended at that share and delay.

    .venv/bin/python scripts/blend_rule.py delay FOLDER --share 0.3 --delays 2,3,4
        the delay at which the larger dev set (dev2) reads best
    .venv/bin/python scripts/blend_rule.py share FOLDER --delays 3,matched --shares 0.1,0.2,...
        the share and delay: of the pairs whose readings of the real training speech (the FSDD
        training speakers' digits, the real reader's training clips) are not shown worse than alone,
        the one the larger dev set reads best; where that pair's delay is fixed, the matched delay at
        its share instead unless the dev set shows the fixed one better (a per-recording delay has no
        shift to be wrong on; the fixed one must earn its place); that pair beside alone on the
        larger dev set, and share 0 (no blend) where it is not shown better. A line per pair, then
        `share S delay D`.

The dev set is synthetic sentences; the real speech guards what it lacks (isolated words, a real
voice). Both models trained on that speech, so it tells which way the blend moves it, not how far.
"Shown" is the project's rule: a lower WER in at least 95% of paired bootstrap resamples
(models.significance, as `wavestream compare`).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from models.blend_delay import MATCHED
from models.significance import compare

DEV = "dev2"
GUARDS = ("fsdd-train", "lj-train")  # real speech, trained on: the blend must not read it worse
SHOWN = 0.95


@functools.cache  # the rule asks for a reading's WER several times
def wer(path: Path) -> float:
    return json.loads(path.read_text())["wer"]


def blended(folder: Path, name: str, share: str, delay: str) -> Path:
    return folder / "shares" / f"{name}-s{share}-d{delay}.json"


def better_in(baseline: Path, candidate: Path) -> float:
    """The share of resamples in which `candidate` reads with the lower WER (one manifest per file)."""
    (row,) = compare(baseline, candidate)
    return row["p_candidate_better"]


def choose_delay(folder: Path, share: str, delays: list[str]) -> str:
    return min(delays, key=lambda d: wer(blended(folder, DEV, share, d)))  # the first of equals


def choose_share(folder: Path, delays: list[str], shares: list[str]) -> tuple[str, str]:
    kept = []
    for delay, share in ((d, s) for d in delays for s in shares):
        worse = [g for g in GUARDS if better_in(blended(folder, g, share, delay), folder / f"{g}-alone.json") >= SHOWN]
        guards = ", ".join(f"{g} {wer(blended(folder, g, share, delay)):.2%} (alone {wer(folder / f'{g}-alone.json'):.2%})"
                           for g in GUARDS)
        print(f"share {share}, delay {delay}: {DEV} {wer(blended(folder, DEV, share, delay)):.2%}; {guards}"
              + (f"; shown worse on {', '.join(worse)}" if worse else ""))
        if not worse:
            kept.append((share, delay))
    if not kept:
        print("every share reads the real training speech worse than alone: no blend")
        return "0", delays[0]
    share, delay = min(kept, key=lambda k: wer(blended(folder, DEV, *k)))  # the first of equals
    if delay != MATCHED and (share, MATCHED) in kept:
        p = better_in(blended(folder, DEV, share, MATCHED), blended(folder, DEV, share, delay))
        print(f"{DEV} at share {share}: delay matched {wer(blended(folder, DEV, share, MATCHED)):.2%} -> delay {delay} "
              f"{wer(blended(folder, DEV, share, delay)):.2%}, better in {p:.1%} of resamples: "
              + ("shown better, delay kept" if p >= SHOWN else "not shown better, delay matched"))
        if p < SHOWN:
            delay = MATCHED
    p = better_in(folder / f"{DEV}-alone.json", blended(folder, DEV, share, delay))
    print(f"{DEV} at share {share}, delay {delay}: alone {wer(folder / f'{DEV}-alone.json'):.2%} -> blended "
          f"{wer(blended(folder, DEV, share, delay)):.2%}, better in {p:.1%} of resamples: "
          + ("shown better" if p >= SHOWN else "not shown better, no blend"))
    return (share if p >= SHOWN else "0"), delay


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    d = sub.add_parser("delay")
    d.add_argument("folder", type=Path)
    d.add_argument("--share", required=True)
    d.add_argument("--delays", required=True, help="comma-separated frames")
    s = sub.add_parser("share")
    s.add_argument("folder", type=Path)
    s.add_argument("--delays", required=True, help="comma-separated frames, or matched")
    s.add_argument("--shares", required=True, help="comma-separated")
    args = p.parse_args(argv)
    try:
        if args.what == "delay":
            print(choose_delay(args.folder, args.share, args.delays.split(",")))
        else:
            share, delay = choose_share(args.folder, args.delays.split(","), args.shares.split(","))
            print(f"share {share} delay {delay}")
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"blend_rule: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
