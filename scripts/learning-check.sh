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
.venv/bin/python - "$DATA" "$OUT" <<'PY'
import json, random, sys
data, out = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(f"{data}/real/fsdd.jsonl")]
absolute = lambda r: {**r, "audio": f"{data}/real/{r['audio']}"}
split = {"train": [absolute(r) for r in rows if r["speaker"] != "theo"],
         "theo": [absolute(r) for r in rows if r["speaker"] == "theo"]}
dev = split["theo"][:]
random.Random(1).shuffle(dev)
split["theo-dev"] = dev[:100]
for name, part in split.items():
    open(f"{out}/fsdd-{name}.jsonl", "w").writelines(json.dumps(r) + "\n" for r in part)
words = "zero one two three four five six seven eight nine".split()
rng = random.Random(0)
lines = [w for w in words for _ in range(30)] + [" ".join(rng.choice(words) for _ in range(rng.randint(2, 4)))
                                               for _ in range(300)]
rng.shuffle(lines)
open(f"{out}/digits.txt", "w").write("\n".join(lines) + "\n")
PY
$WS synth "$OUT/digits.txt" "$OUT/synth-digits" --hours 0.4 --quiet
$WS train --config cpu-small --steps 1800 --out "$OUT/runs" \
    --data "$OUT/fsdd-train.jsonl:1" "$OUT/synth-digits/manifest.jsonl:1" --dev "$OUT/fsdd-theo-dev.jsonl" \
    --noise-dir "$DATA/noise" --rir-dir "$DATA/rir"
export WAVESTREAM_MODEL_DIR="$OUT/runs"
$WS eval "$OUT/fsdd-theo.jsonl" --model wavenet-small
$WS eval "$OUT/fsdd-theo.jsonl" --model wavenet-small --streaming --chunk-ms 160
