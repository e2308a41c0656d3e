#!/usr/bin/env bash
# The recipe's GPU stage: train on a lent CUDA machine what scripts/train-shipped.sh prepared.
#
#   scripts/train-gpu.sh pack  [OUT] [PACKED]     here: the training audio as Ogg Opus in PACKED.tar.gz (default
#                                                  out/shipped, out/packed), as much as fits beside the repository
#                                                  in what a call carries to the GPU machine (RESERVE_MB, default
#                                                  8, left for wheels and weights; SYNTH_MAX_HOURS: no more)
#   scripts/train-gpu.sh train PACKED.tar.gz RUNS [PART...]
#                                                  there: every model at once on the same batches, for
#                                                  MINUTES (default 7.5) of training, WORKERS (default 14)
#                                                  processes augmenting; PYTHON (default .venv/bin/python),
#                                                  DEVICE (default cuda), LR (peak, default 1e-3), CONFIGS
#                                                  (default all four: the shipped and the GPU sizes), INIT
#                                                  (default models/weights: weights to start from, by
#                                                  model name; `recipe_data.py bf16` halves what a later
#                                                  lease carries for it), LOOKAHEAD (`train --lookahead`: the
#                                                  streaming configs hear so many frames ahead; CONFIGS then
#                                                  streaming ones only), AVERAGE_FROM (`train --average-from`:
#                                                  RUNS/averaged/). SESSION_MINUTES: stop this call after
#                                                  so long, checkpointed; the same command again
#                                                  (same RUNS) goes on with the schedule. PARTs: a bundle
#                                                  of an earlier run's RUNS to go on from
#   scripts/train-gpu.sh bundle RUNS DEST          there: RUNS' weights, optimiser states, best and summary
#                                                  as DEST/runs.tar.gz.part-* of 15 MiB (what a call returns;
#                                                  all four models: about 71 MB in five parts)
#
# A lease in one call (a session lent a machine has 15 minutes of it, start included):
#   scripts/train-gpu.sh wheels [DIR]              here: the Python packages the GPU machine's image lacks, as
#                                                  wheels for its Python 3.12, in DIR (default .whl, ignored by git)
#   scripts/train-gpu.sh lease                     there (carry .whl and out/packed.tar.gz): installs the wheels
#                                                  into /tmp/site, trains with PYTHON=python3 the GPU sizes (CONFIGS
#                                                  may add the shipped ones, from models/weights) from
#                                                  models/progress where an earlier lease left them (else from
#                                                  scratch) for MINUTES (here default 7), and writes
#                                                  $OUT/weights.tar (every model, bfloat16), $OUT/summary.json,
#                                                  $OUT/loader.json (`wavestream bench loader` there, first),
#                                                  $OUT/steps.json (`wavestream bench train`: the step alone at
#                                                  300 and 600 s a batch) and $OUT/gpu.csv (the GPU's busy
#                                                  share and memory while it trains, every 5 s; the third
#                                                  lease's first call, without steps.json, took 498 s). The
#                                                  minutes the first call leaves (a call runs at
#                                                  most 10): a second call at once, while the machine is warm, with
#                                                  RUNS=/tmp/runs2 PREVIOUS=/tmp/runs (start from the first call's
#                                                  weights), LOADER_SECONDS=0 STEP_SECONDS=0 and a shorter MINUTES
#   scripts/train-gpu.sh keep FROM [RUNS]          here: FROM (the call's returned folder) into RUNS (default
#                                                  out/gpu-lease), and the GPU sizes into models/progress, which is
#                                                  committed: the next lease goes on from there
#
# train: the shipped sizes go on from their shipped weights (fine-tuning, --init-from models/weights),
# the GPU sizes (wavenet-gpu, logmel-cnn-gpu) start from scratch. The step count each reached is in
# RUNS/summary.json; `--steps N` in place of `--minutes` replays the same length.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
GPU_SIZES="wavenet-gpu logmel-cnn-gpu"  # the full configs: what a lease trains, and keeps in models/progress
# what a lease trains on, from the packed archive's folder: the real reader's clips count three times
training_data() {
    echo "$1/synth-train.jsonl:1" "$1/synth-digits.jsonl:1" "$1/fsdd-train.jsonl:1" "$1/lj-train.jsonl:3"
}

case "${1:-}" in
pack)
    OUT=${2:-out/shipped}
    PACKED=${3:-out/packed}
    DATA=$(realpath "${DATA:-../shared/data}")
    # A lease carries at most 64 MiB: the repository's files (about 11 MB: the LM is kept as its text, and is not
    # built there; models/progress counts too), this archive, and what else a call carries (RESERVE_MB, default 8:
    # the wheels, about 6 MB, and a margin). The real speech, digits, dev set and noise first; the synthetic
    # sentences take the room left, their first utterances (and no more than SYNTH_MAX_HOURS, where set). Speech at
    # about 14 kbps, the synthetic sentences at about 12 (coded so, the held-out lj-amateur clips' CER with the
    # shipped offline model moves from 35.0 to 35.8 and 36.5), noise at about 31. One archive: ten thousand small
    # files cost more to send than their bytes.
    $PY scripts/recipe_data.py pack "$OUT/synth-digits/manifest.jsonl" "$OUT/fsdd-train.jsonl" "$OUT/lj-train.jsonl" \
        "$OUT/synth-dev/manifest.jsonl" --out "$PACKED" --compression-level 0.97
    $PY scripts/recipe_data.py pack "$DATA/noise" --out "$PACKED" \
        --compression-level 0.9
    mkdir -p "$PACKED/rir" && cp "$DATA"/rir/*.flac "$PACKED/rir/"
    travelling() {  # bytes of the files a call sends: tracked, and untracked that git does not ignore
        { git ls-files -z; git ls-files -z -o --exclude-standard; } | xargs -0 -r stat -c %s 2>/dev/null |
            awk '{s += $1} END {print s + 0}'
    }
    tree=$(travelling)
    reserve=$(( ${RESERVE_MB:-8} * 1000000 ))
    rest=$(du -sb --exclude=synth-train --exclude=synth-train.jsonl "$PACKED" | cut -f1)
    room=$(( 64 * 1048576 - tree - rest - reserve ))
    if (( room < 1000000 )); then
        echo "no room for synthetic speech: the repository's files ($tree bytes), the rest of the pack ($rest) and" \
             "RESERVE_MB (${RESERVE_MB:-8}) leave $room of the 64 MiB a lease carries" >&2
        exit 1
    fi
    HOURS=()
    if [ -n "${SYNTH_MAX_HOURS:-}" ]; then HOURS=(--max-hours "$SYNTH_MAX_HOURS"); fi
    # The archive comes out smaller than its files (their headers compress): pack more while a megabyte or more of
    # the room is left and the manifest has more to give (an utterance packed once is kept, not coded again).
    packed=-1
    while :; do
        $PY scripts/recipe_data.py pack "$OUT/synth-train/manifest.jsonl" --out "$PACKED" --compression-level 0.985 \
            --max-mbytes "$(( room / 1000000 ))" "${HOURS[@]}"
        tar czf "$PACKED.tar.gz" -C "$(dirname "$PACKED")" "$(basename "$PACKED")"
        slack=$(( 64 * 1048576 - tree - reserve - $(stat -c %s "$PACKED.tar.gz") ))
        count=$(wc -l < "$PACKED/synth-train.jsonl")
        (( slack >= 1000000 && count > packed )) || break
        packed=$count
        room=$(( room + slack ))
    done
    if (( slack < 0 )); then echo "the archive passes what a lease carries by $(( -slack )) bytes" >&2; exit 1; fi
    echo "a lease carries the repository's files and this archive, $(( (64 * 1048576 - slack - reserve) / 1000000 ))" \
         "MB, and RESERVE_MB (${RESERVE_MB:-8}): $(( slack / 1000000 )) MB to spare of the 67 (64 MiB)"
    ;;
train)
    RUNS=$3
    mkdir -p "$RUNS"
    PACKED=$RUNS/$(basename "$2" .tar.gz)
    [ -d "$PACKED" ] || tar xzf "$2" -C "$RUNS"
    if [ $# -gt 3 ]; then cat "${@:4}" | tar xzf - -C "$RUNS"; fi
    OPTIONS=()  # what the environment asks for
    if [ -n "${SESSION_MINUTES:-}" ]; then OPTIONS+=(--session-minutes "$SESSION_MINUTES"); fi
    if [ -n "${LOOKAHEAD:-}" ]; then OPTIONS+=(--lookahead "$LOOKAHEAD"); fi
    if [ -n "${AVERAGE_FROM:-}" ]; then OPTIONS+=(--average-from "$AVERAGE_FROM"); fi
    read -r -a CONFIG <<< "${CONFIGS:-wavenet-cpu logmel-cnn-cpu $GPU_SIZES}"
    read -r -a DATA_SPECS <<< "$(training_data "$PACKED")"
    $PY -m clients.cli train --config "${CONFIG[@]}" --data "${DATA_SPECS[@]}" \
        --dev "$PACKED/synth-dev.jsonl" --noise-dir "$PACKED/noise" --rir-dir "$PACKED/rir" \
        --init-from "${INIT:-models/weights}" --device "${DEVICE:-cuda}" --workers "${WORKERS:-14}" --minutes "${MINUTES:-7.5}" \
        --steps 1000000 --batch-seconds 300 --lr "${LR:-1e-3}" "${OPTIONS[@]}" --out "$RUNS" > "$RUNS/summary.json"
    ;;
bundle)
    RUNS=$2
    mkdir -p "$3"
    # every model folder (config.json beside it), the best checkpoints, the summary; not the training audio
    mapfile -t KEEP < <(cd "$RUNS" && find . -mindepth 2 -maxdepth 3 -name config.json -printf '%h\n' | sort)
    tar czf - -C "$RUNS" "${KEEP[@]}" $(cd "$RUNS" && ls summary.json 2>/dev/null) \
        | split -b 15M - "$3/runs.tar.gz.part-"
    ls -l "$3"/runs.tar.gz.part-*
    ;;
wheels)
    DIR=${2:-.whl}
    # what models/ and the recipe import that the image (KINDS.md's package list) does not hold; --no-deps: their
    # own needs are in the image or named here
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$DIR" soundfile cffi pycparser jiwer rapidfuzz flashlight-text
    ls -l "$DIR"
    ;;
lease)
    : "${OUT:?the device machine sets OUT, the folder whose files come back}"
    export PYTHON=${PYTHON:-python3}  # there: the image's, which holds PyTorch
    $PYTHON -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "${WHEELS:-.whl}"/*.whl
    # the repository too: `python3 scripts/recipe_data.py` puts scripts/, not the root, on the path (`-m` puts the root)
    export PYTHONPATH=$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    RUNS=${RUNS:-/tmp/runs}
    # the full configs by default: the shipped sizes have stopped gaining (the model card's runs since the
    # thirty-third phase); CONFIGS="wavenet-cpu logmel-cnn-cpu wavenet-gpu logmel-cnn-gpu" trains all four
    export CONFIGS=${CONFIGS:-$GPU_SIZES}
    # one folder of weights to start from, by model name: the shipped sizes, the GPU sizes a lease kept, and (a
    # second call on the same machine) what the first call trained, PREVIOUS: later ones replace earlier ones
    rm -rf /tmp/init /tmp/lease && mkdir -p /tmp/init
    for d in models/weights/* models/progress/* ${PREVIOUS:+"$PREVIOUS"/*}; do
        if [ -f "$d/config.json" ]; then ln -sfn "$(realpath "$d")" "/tmp/init/$(basename "$d")"; fi
    done
    # the ceiling the augmenting workers set on a step (LOADER_SECONDS, default 20; 0: skip): on the third lease
    # 14 made 8,483 seconds of audio a second, 3.3 times what the step used (the model card's "A third lease")
    mkdir -p "$RUNS" && tar xzf out/packed.tar.gz -C "$RUNS"
    read -r -a DATA_SPECS <<< "$(training_data "$RUNS/packed")"
    if [ "${LOADER_SECONDS:-20}" != 0 ]; then
        $PYTHON -m clients.cli bench loader --data "${DATA_SPECS[@]}" --noise-dir "$RUNS/packed/noise" \
            --rir-dir "$RUNS/packed/rir" --workers "${WORKERS:-14}" --seconds "${LOADER_SECONDS:-20}" --json \
            > "$OUT/loader.json" || echo "bench loader failed (above); training goes on" >&2
    fi
    # the step alone, at 300 and 600 s of audio a batch (STEP_SECONDS a row, default 10; 0: skip): whether larger
    # batches would carry more audio through a lease's minutes. Both measurements are for reading, not for
    # training: where one fails the lease trains all the same
    read -r -a CONFIG <<< "$CONFIGS"
    if [ "${STEP_SECONDS:-10}" != 0 ]; then
        $PYTHON -m clients.cli bench train --config "${CONFIG[@]}" --data "${DATA_SPECS[@]}" \
            --noise-dir "$RUNS/packed/noise" --rir-dir "$RUNS/packed/rir" --device "${DEVICE:-cuda}" \
            --batch-seconds 300 600 --seconds "${STEP_SECONDS:-10}" --json > "$OUT/steps.json" ||
            echo "bench train failed (above); training goes on" >&2
    fi
    # how busy the GPU is while it trains (the third lease: 42% on average)
    sampler=
    if command -v nvidia-smi > /dev/null; then
        nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv -l 5 > "$OUT/gpu.csv" & sampler=$!
    fi
    MINUTES=${MINUTES:-7} INIT=/tmp/init "$0" train out/packed.tar.gz "$RUNS"
    if [ -n "$sampler" ]; then kill "$sampler"; fi
    mapfile -t MODELS < <(find "$RUNS" -mindepth 2 -maxdepth 2 -name config.json -printf '%h\n' | sort)
    $PYTHON scripts/recipe_data.py bf16 "${MODELS[@]}" --out /tmp/lease
    if [ -d "$RUNS/averaged" ]; then  # AVERAGE_FROM: the averages too, under averaged/
        mapfile -t MODELS < <(find "$RUNS/averaged" -mindepth 2 -maxdepth 2 -name config.json -printf '%h\n' | sort)
        $PYTHON scripts/recipe_data.py bf16 "${MODELS[@]}" --out /tmp/lease/averaged
    fi
    tar cf "$OUT/weights.tar" -C /tmp/lease .
    cp "$RUNS/summary.json" "$OUT/"
    ls -l "$OUT"
    ;;
keep)
    FROM=$2
    RUNS=${3:-out/gpu-lease}
    mkdir -p "$RUNS"
    tar xf "$FROM/weights.tar" -C "$RUNS"
    for f in "$FROM"/*.json "$FROM"/gpu.csv; do  # summary.json, and where the call measured them loader.json,
        # steps.json, gpu.csv
        if [ -f "$f" ]; then cp "$f" "$RUNS/"; fi
    done
    # the GPU sizes go on from here in the next lease; the shipped sizes are the rule's to judge (ship_if_better)
    for name in $GPU_SIZES; do
        if [ -d "$RUNS/$name" ]; then
            mkdir -p models/progress && rm -rf "models/progress/$name" && cp -r "$RUNS/$name" models/progress/
        fi
    done
    ls -l "$RUNS" models/progress 2>/dev/null || true
    ;;
*)
    sed -n 2,36p "$0"
    exit 2
    ;;
esac
