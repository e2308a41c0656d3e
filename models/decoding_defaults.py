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
# that can wait: --beam-size 256. (Blended finals scored again, BLEND_RESCORE below, take three searches
# and about 2.5 times as long at 10 streams: over a second there at threshold 20, under it at BEAM_THRESHOLD.)
BEAM_SIZE = 128
# How far below the best hypothesis (in the search's log-score) another may fall and still be kept. 12: every final
# of every dev set as at 20 (the search library's usual value, this project's until then: synth-dev2, the unheard
# voices, the FSDD and real reader's training clips, digits-dev and its quiet copy under the digits vocabulary; 14,100
# finals) with finals about a fifth sooner; at 10 dev2 reads 0.12 points worse (the model card's "The beam's
# threshold").
BEAM_THRESHOLD = 12.0

# Exact zeros put after the end of the audio before its final is decoded, offline and when a stream
# finishes. Both models learnt word ends with silence after them (and a causal one emits a letter
# frames after hearing it), so a recording cut at its last sound loses or mistakes that sound.
# 0.25 s: the offline model's best of 0, 0.1, 0.25 and 0.5 s on the recipe's dev set; the streaming
# model's dev WER is the same at all four (scripts/tune_beam.py --end-pads, the recipe's tune stage).
END_PAD_S = 0.25

# Finals of the offline model blended with the streaming model's reading of the same audio
# (models.blend): the streaming model's share of the mix, and how many frames later it emits a
# letter (40 ms frames; None: matched per recording, models.blend.matched_delay). Chosen by the
# recipe's blend stage (scripts/blend_rule.py): the share and delay the larger dev set reads best among
# those that do not read the FSDD training speakers' or the real reader's training clips worse than no
# blend. With the fifty-seventh and fifty-eighth phases' pair: 0.5 matched (dev2 26.94; 0.6 matched
# 26.99); each earlier choice is in the model card's section for its phases. The delay is learnt by the
# streaming model: choose again after training either model. 0 turns blending off.
BLEND_WEIGHT = 0.5
BLEND_DELAY_FRAMES = None
# Finals searched for over the mix, and over each model's reading alone: each search's best BLEND_RESCORE texts
# scored again by both models' exact CTC probabilities of them (the shares above) and the LM, the best one the
# final (models.beam decode_rescored; 0: the mix's search decides, as before). It costs two more searches a final.
# On the larger dev set (synth-dev2, 1,000 utterances; the thirty-third phase's streaming weights, the twenty-ninth's
# offline ones) WER 31.53 -> 29.98 at 8: the model card's "Scoring the finals again".
BLEND_RESCORE = 8
# Hypotheses each model's own search keeps when finals are scored again (the mix's search keeps BEAM_SIZE); 0: as many
# as the mix's. Narrower is cheaper and reads worse: dev2 31.27 at 32, 31.00 at 64, 29.98 at 128 (the mix's search
# alone: 31.53; the model card's "The beam's threshold").
BLEND_RESCORE_BEAM = 0
# When finals are scored again, the weight of the LM's score and the bonus per word in that score; None: the searches'
# own (LM_WEIGHT and WORD_SCORE, or what a caller gave them).
RESCORE_LM_WEIGHT = None
RESCORE_WORD_SCORE = None
# The most frames a delay matched per recording may be (a delay of None: models.blend.matched_delay).
# 5, the fixed delay's tuning range: on the FSDD training speakers' digits (share 0.35, the twenty-fifth
# phase's pair; scripts/tune_beam.py --blend-delays 3,matched, with this at 3, 5 and 8) matched delays
# read 0.73%, 0.67% and 0.73%, the fixed 3 frames 2.20%.
BLEND_MAX_DELAY_FRAMES = 5
