#!/usr/bin/env bash
# Text for the language model beyond ../shared/data/text, from Debian packages. Run as root.
#   dict-gcide: GCIDE, the Collaborative International Dictionary of English (Webster's 1913 with
#   additions; GPL-2+): its quotations and definitions (scripts/recipe_data.py gcide). An LM built
#   from its text is the model card's "The LM's text" for the licence question.
#   wamerican: SCOWL's American English spelling list (/usr/share/dict/american-english; its licence
#   permits use and redistribution with its copyright notice): the recipe's words stage
#   (scripts/recipe_data.py words).
set -euo pipefail
if [ ! -f /usr/share/dictd/gcide.dict.dz ] || [ ! -f /usr/share/dict/american-english ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dict-gcide wamerican
fi
