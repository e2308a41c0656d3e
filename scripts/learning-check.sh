#!/usr/bin/env bash
# Does the training recipe learn? A CPU-sized check on real speech, one speaker held out:
# FSDD digits of george, jackson and nicolas plus synthetic digits from every installed
# voice train the cpu-small preset; theo's 500 clips measure it. About 20 minutes on 2 cores.
# Usage: scripts/learning-check.sh [SHARED_DATA] [OUT]     (defaults: ../shared/data, out/learning-check)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(realpath "${1:-../shared/data}")
OUT=${2:-out/learning-check}
WS=.venv/bin/wavestream
mkdir -p "$OUT"
.venv/bin/python scripts/recipe_data.py fsdd "$DATA" "$OUT" --dev 100
.venv/bin/python scripts/recipe_data.py digits "$OUT/digits.txt" --per-word 30 --strings 300 --max-words 4
$WS synth "$OUT/digits.txt" "$OUT/synth-digits" --hours 0.4 --quiet
$WS train --config cpu-small --steps 1800 --out "$OUT/runs" \
    --data "$OUT/fsdd-train.jsonl:1" "$OUT/synth-digits/manifest.jsonl:1" --dev "$OUT/fsdd-theo-dev.jsonl" \
    --noise-dir "$DATA/noise" --rir-dir "$DATA/rir"
export WAVESTREAM_MODEL_DIR="$OUT/runs"
$WS eval "$OUT/fsdd-theo.jsonl" --model wavenet-small
$WS eval "$OUT/fsdd-theo.jsonl" --model wavenet-small --streaming --chunk-ms 160
