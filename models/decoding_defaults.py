"""How finals are decoded unless a caller says otherwise: the recipe's tune stage chose these
(`scripts/tune_beam.py` on the dev set; the model card says how).

Free of torch, so the server's flags (`service/config.py`) take their defaults from here and
`wavestream health` still starts fast."""

# Beam search: the weight of the LM's score, and a bonus per word (longer vs shorter transcripts).
LM_WEIGHT = 1.3
WORD_SCORE = 0.0
# Hypotheses the search keeps. Wider reads better all the way to 512 on the dev set, and each
# doubling about doubles the search's CPU time, which every final waits for. 128: the widest that
# keeps finals under a second with 10 streams ending at once on 2 cores, now that the server's
# searches run in worker processes side by side (--beam-workers; in its threads they took turns and
# 64 was that widest); it gains 1.9 points of dev WER over 64 for the offline model (the tune
# stage's --beam-sizes; `bench service` with WAVESTREAM_BEAM_SIZE; README Benchmarks). Batch work
# that can wait: --beam-size 256.
BEAM_SIZE = 128

# Exact zeros put after the end of the audio before its final is decoded, offline and when a stream
# finishes. Both models learnt word ends with silence after them (and a causal one emits a letter
# frames after hearing it), so a recording cut at its last sound loses or mistakes that sound.
# 0.25 s: the offline model's best of 0, 0.1, 0.25 and 0.5 s on the recipe's dev set; the streaming
# model's dev WER is the same at all four (scripts/tune_beam.py --end-pads, the recipe's tune stage).
END_PAD_S = 0.25

# Finals of the offline model blended with the streaming model's reading of the same audio
# (models.blend): the streaming model's share of the mix, and how many frames later it emits a
# letter (40 ms frames). Tuned on the recipe's two dev sets (the blend stage: `scripts/tune_beam.py
# --blend`; the model card's "Blending the two models"): with the twenty-fifth phase's streaming
# weights the larger set read best at 0.35 and delay 3 (0.1 points or more better than the other
# shares, 0 to 0.6; the small set's choices, 0.1 with the twenty-third phase's pair and 0.2 with the
# twenty-fourth's, read 0.36 to 0.8 points worse there). It reads the FSDD training speakers' isolated
# digits worse than 0.2 and than no blend (the model card's "The twenty-fifth phase"). The delay
# is learnt by the streaming model, and one frame either way reads worse than no blend: tune again
# after training either model. 0 turns blending off.
BLEND_WEIGHT = 0.35
BLEND_DELAY_FRAMES = 3
# The most frames a delay matched per recording may be (a delay of None: models.blend.matched_delay).
# 5, the fixed delay's tuning range: on the FSDD training speakers' digits (share 0.35, the twenty-fifth
# phase's pair) matched delays read 0.67% at 0 to 5 frames, 0.73% at 0 to 3 and 0 to 8, fixed 3 2.20%.
BLEND_MAX_DELAY_FRAMES = 5
