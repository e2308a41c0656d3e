"""The recipe's data steps (scripts/recipe_data.py) that decide what training may hear."""

import json
import lzma
import subprocess
import sys

import numpy as np
import soundfile as sf

from tests.conftest import ROOT


def recipe_data(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts/recipe_data.py"), *map(str, args)],
                          capture_output=True, text=True, check=True)


def manifest(path, texts):
    path.write_text("".join(json.dumps({"audio": f"{i}.wav", "text": t, "duration": 1.0}) + "\n"
                            for i, t in enumerate(texts)))
    return path


def test_a_fresh_set_draws_only_sentences_no_earlier_set_speaks(tmp_path):
    source = tmp_path / "sentences.txt"
    source.write_text("the cat sat\n\n  a dog ran  \nbirds fly south\nthe cat sat again\nrain fell\n")
    first = manifest(tmp_path / "first.jsonl", ["the cat sat", "the cat sat"])
    second = manifest(tmp_path / "second.jsonl", ["rain fell", "a sentence no source has"])
    out = tmp_path / "unspoken.txt"
    recipe_data("unspoken", out, source, first, second)
    # whole sentences only ("the cat sat again" stays), in the source's order, stripped, no blanks
    assert out.read_text() == "a dog ran\nbirds fly south\nthe cat sat again\n"


def test_nothing_left_to_draw_is_an_empty_file(tmp_path):
    source = tmp_path / "sentences.txt"
    source.write_text("only one\n")
    out = tmp_path / "unspoken.txt"
    recipe_data("unspoken", out, source, manifest(tmp_path / "m.jsonl", ["only one"]))
    assert out.read_text() == ""


GCIDE_EXCERPT = """
00-database-info
   This file was converted from the original database on:
             Tue Feb 15 10:31:36 2022

Abandon \\A*ban"don\\, v. t. [imp. & p. p. {Abandoned}; p. pr. &
   vb. n. {Abandoning}.] [F. abandonner, fr. LL. abandonare.]
   [1913 Webster]
   1. To cast or drive out; to banish; to expel; to reject.
      [1913 Webster]

            That he might the more freely abandon them from him.
                                                  --Chaucer.
      [1913 Webster]

   2. (Law) To give up wholly, as a pre["e]minent claim.
      See {Abandonment}. Used of a ship in 1849.
      [1913 Webster]

            He abandoned himself . . . to his favorite vice.
                                                  --Macaulay.
      [1913 Webster]

            Thou shalt love thy neighbour as thyself and keep the law.
                                                  --Bible.
      [1913 Webster]

            Go to the ant, thou sluggard.         --Prov.
      [1913 Webster]

   {A*ban"don*er}, n. One who abandons a claim.
      [1913 Webster]

Zythum \\Zy"thum\\ (z[i^]"th[u^]m), n. [L., fr. Gr. zy^qos a kind
   of beer.]
   A kind of ancient malt beverage.
   [1913 Webster]

            They drank zythum with the priests of the temple.
                                                  --Herodotus.
      [1913 Webster]
"""


def test_the_sentences_a_text_leaves_out_are_the_dev_sentences(tmp_path):
    sentences = tmp_path / "train-sentences.txt"
    sentences.write_text("zebras run\n the lm has this \n\nan apple fell\nzebras run\n")
    text = tmp_path / "lm-text.txt.xz"
    with lzma.open(text, "wt") as f:
        f.write("the lm has this\nand text the sentences never had\n")
    out = tmp_path / "dev-sentences.txt"
    recipe_data("left-out", out, sentences, text)
    # stripped, each once, sorted; the text's own lines are not sentences to leave out
    assert out.read_text() == "an apple fell\nzebras run\n"


def test_gcide_gives_quotations_and_definitions_less_anything_that_could_carry_a_held_out_sentence(tmp_path):
    import gzip

    dictionary = tmp_path / "gcide.dict.dz"  # dictzip files read as gzip
    with gzip.open(dictionary, "wt") as f:
        f.write(GCIDE_EXCERPT)
    tests = tmp_path / "eval-sentences.txt"
    tests.write_text("love thy neighbour as thyself and keep\n")  # six words in a row with a quotation
    dev = manifest(tmp_path / "dev.jsonl", ["the ant thou sluggard"])  # a short one, held whole by another
    out = tmp_path / "gcide.txt"
    recipe_data("gcide", dictionary, out, "--held-out", tests, dev)
    assert out.read_text().splitlines() == [
        "to cast or drive out",  # the sense's number, the headword's pronunciation and etymology gone; "to banish"
        # and the other short ones, under three words, dropped
        "that he might the more freely abandon them from him",  # a quotation, less its author
        "to give up wholly as a preeminent claim",  # (Law) dropped; the dictionary's accent marks read as letters
        # "See Abandonment." is two words; "Used of a ship in 1849." has a figure (the text spells numbers out)
        "he abandoned himself to his favorite vice",
        "one who abandons a claim",  # a run-on form's definition, its stress marks gone
        "they drank zythum with the priests of the temple",  # a quotation under a one-sense headword is kept
    ]  # and the one-sense headword's own definition ("A kind of ancient malt beverage") is not


def test_a_spelling_dictionarys_words_as_the_lm_takes_them(tmp_path):
    word_list = tmp_path / "american-english"
    word_list.write_text("Aachen\nAachen's\nacreage\ncafé\nco-op\nfo'c'sle\nrock'n'roll\nA\na\n1st\nMcDonald's\n"
                         "'tis\nmen's\n\n", encoding="utf-8")
    out = tmp_path / "words.txt"
    recipe_data("words", word_list, out)
    # lower case, accents dropped, one apostrophe at most and only inside; hyphens, figures and the rest left out
    assert out.read_text().splitlines() == ["a", "aachen", "aachen's", "acreage", "cafe", "mcdonald's", "men's"]


def test_a_noisy_variant_has_the_floor_asked_for_under_the_speech_and_the_pads(tmp_path):
    rate = 8000
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate)).astype("float32")
    sf.write(tmp_path / "clip.wav", tone, rate)
    source = tmp_path / "set.jsonl"
    # the manifest format's relative path: the clip beside the manifest, wherever the command runs
    source.write_text(json.dumps({"audio": "clip.wav", "text": "a", "duration": 0.5}) + "\n")
    for name in ("noisy", "again"):
        recipe_data("variant", source, tmp_path / name, "--pad-s", 0.25, "--noise-dbfs", -40)
    row = json.loads((tmp_path / "noisy.jsonl").read_text())
    assert row["duration"] == 1.0 and row["text"] == "a"
    y, got_rate = sf.read(row["audio"], dtype="float32")
    assert got_rate == rate and len(y) == rate
    pad = rate // 4
    def dbfs(x):
        return 20 * np.log10(np.sqrt(np.mean(np.square(x))))
    assert abs(dbfs(np.concatenate([y[:pad], y[-pad:]])) - -40) < 0.5
    assert abs(dbfs(y[pad:-pad] - tone) - -40) < 0.5  # under the speech too
    again, _ = sf.read(json.loads((tmp_path / "again.jsonl").read_text())["audio"], dtype="float32")
    assert np.array_equal(y, again)  # seeded: the same set each time it is made


def test_a_set_of_several_voices_is_read_whole_and_voice_by_voice(tmp_path):
    for name, speakers in (("a", ["mbrola:us1", "mbrola:en1", "mbrola:us1"]), ("b", ["festival:rab_diphone"])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.jsonl").write_text("".join(
            json.dumps({"audio": f"audio/{i}.flac", "text": f"{name} {i}", "duration": 1.0, "speaker": s}) + "\n"
            for i, s in enumerate(speakers)))
    out = tmp_path / "voices"
    recipe_data("voices", out, tmp_path / "a/manifest.jsonl", tmp_path / "b/manifest.jsonl")
    read = {f.name: [json.loads(line) for line in f.read_text().splitlines()] for f in out.glob("*.jsonl")}
    assert sorted(read) == ["all.jsonl", "festival-rab_diphone.jsonl", "mbrola-en1.jsonl", "mbrola-us1.jsonl"]
    # every utterance once in the whole set, in the manifests' order, its audio where its own manifest put it
    assert [r["text"] for r in read["all.jsonl"]] == ["a 0", "a 1", "a 2", "b 0"]
    assert read["all.jsonl"][3]["audio"] == str((tmp_path / "b/audio/0.flac").resolve())
    assert [r["text"] for r in read["mbrola-us1.jsonl"]] == ["a 0", "a 2"]
    assert [r["text"] for r in read["festival-rab_diphone.jsonl"]] == ["b 0"]


def test_a_pack_held_to_a_size_keeps_the_first_utterances_that_fit(tmp_path):
    rate = 16000
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        sf.write(tmp_path / f"{i}.wav", (0.1 * rng.standard_normal(rate)).astype("float32"), rate)
        rows.append({"audio": f"{i}.wav", "text": f"clip {i}", "duration": 1.0, "speaker": "s"})
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    whole = tmp_path / "whole"
    recipe_data("pack", tmp_path / "set.jsonl", "--out", whole)
    sizes = [(whole / "set" / f"{i:06d}.opus").stat().st_size for i in range(6)]
    limit = sum(sizes[:3]) + sizes[3] // 2  # room for three clips and half a fourth
    held = tmp_path / "held"
    recipe_data("pack", tmp_path / "set.jsonl", "--out", held, "--max-mbytes", limit / 1e6)
    assert [json.loads(line)["text"] for line in (held / "set.jsonl").read_text().splitlines()] == \
        ["clip 0", "clip 1", "clip 2"]
    # what travels is what the manifest names, nothing past the limit
    assert sorted(f.name for f in (held / "set").iterdir()) == ["000000.opus", "000001.opus", "000002.opus"]


def test_runs_of_one_model_average_parameter_by_parameter_and_other_models_are_refused(tmp_path):
    import torch

    from models.config import ModelConfig
    from models.recogniser import SpeechRecogniser
    from models.registry import load_from_dir, save_model

    cfg = ModelConfig(name="small", d_model=16, subsample_channels=4, dilations=[1, 2])
    runs = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        runs.append(SpeechRecogniser(cfg))
        save_model(runs[-1], tmp_path / f"run{seed}")
    recipe_data("average", *(tmp_path / f"run{s}" for s in (0, 1, 2)), "--out", tmp_path / "avg")
    averaged = load_from_dir(tmp_path / "avg/small")
    for name, p in averaged.named_parameters():
        expected = sum(dict(r.named_parameters())[name] for r in runs) / 3
        assert torch.allclose(p, expected, atol=1e-6), name

    save_model(SpeechRecogniser(ModelConfig(name="small", d_model=32, subsample_channels=4, dilations=[1, 2])),
               tmp_path / "wider")
    refused = subprocess.run([sys.executable, str(ROOT / "scripts/recipe_data.py"), "average", tmp_path / "run0",
                              tmp_path / "wider", "--out", tmp_path / "bad"], capture_output=True, text=True)
    assert refused.returncode != 0 and "not the same model" in refused.stderr
    assert not (tmp_path / "bad").exists()
