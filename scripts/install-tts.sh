#!/usr/bin/env bash
# TTS engines for synthetic training speech, from Debian packages. Run as root.
#   main (always):   espeak-ng, flite, festival with festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts, and
#                    festvox-rablpc16k (a voice scripts/train-shipped.sh never trains on: its unheard-voice dev set)
#   --non-free:      adds the contrib/non-free components and mbrola voices (us1/us2/us3/en1),
#                    libttspico-utils. Check each voice's licence before shipping weights trained
#                    on it (mbrola voices: non-commercial terms; pico: Apache-2.0).
set -euo pipefail
pkgs=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-rablpc16k)
if [ "${1:-}" = "--non-free" ]; then
    sed -i 's/^Components: main$/Components: main contrib non-free/' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true
    pkgs+=(mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 libttspico-utils rhvoice rhvoice-english)
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
