import json
import subprocess
import sys
from pathlib import Path

from models.beam import BeamDecoder
from models.blend import Blend
from models.blend_delay import format_delay
from models.decoding_defaults import BLEND_DELAY_FRAMES, BLEND_WEIGHT
from models.engine import Recogniser
from models.registry import SHIPPED_LM, load_model
from tests.conftest import ROOT, lj_sentence


def test_eval_reports_wer_cer_and_streaming_matches_offline(shared_data, tmp_path):
    src = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in src.read_text().splitlines()][:12]
    manifest = tmp_path / "few.jsonl"
    manifest.write_text("".join(json.dumps({**r, "audio": str(src.parent / r["audio"])}) + "\n" for r in rows))
    outs = []
    # one thread offline, PyTorch's choice streaming: the same figures either way
    for extra in (["--errors", "--threads", "1"], ["--streaming", "--chunk-ms", "37"]):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), "--model", "wavenet-base",
                            "--untrained", "--json", *extra],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout))
    offline, streaming = outs
    for o in outs:
        assert set(o) >= {"manifest", "wer", "cer", "n", "words", "audio_s", "rtf"}
        assert o["n"] == 12 and o["audio_s"] > 0 and o["wer"] >= 0.9  # random weights: nearly every word wrong
        assert o["words"] == sum(len(r["text"].split()) for r in rows)
    assert streaming["wer"] == offline["wer"] and streaming["cer"] == offline["cer"]
    assert streaming["examples"] == offline["examples"]
    # --errors lists every utterance read wrong, with its file
    wrong = [e for e in offline["examples"] if e["ref"] != e["hyp"]]
    assert wrong and [{"ref": e["ref"], "hyp": e["hyp"]} for e in offline["errors"][:len(wrong)]] == wrong
    files = {Path(r["audio"]).resolve() for r in map(json.loads, manifest.open())}
    assert {Path(e["audio"]).resolve() for e in offline["errors"]} <= files
    assert "errors" not in streaming


def few(shared_data, tmp_path, speaker: str, n: int):
    src = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in src.read_text().splitlines() if json.loads(l)["speaker"] == speaker][::25][:n]
    manifest = tmp_path / f"{speaker}.jsonl"
    manifest.write_text("".join(json.dumps({**r, "audio": str(src.parent / r["audio"])}) + "\n" for r in rows))
    return manifest


def run_eval(*args) -> dict:
    r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", *map(str, args), "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_eval_with_the_shipped_lm_and_a_digits_vocabulary(shared_data, tmp_path):
    manifest = few(shared_data, tmp_path, "theo", 20)  # the held-out speaker
    offline = run_eval(manifest, "--lm", "default")
    streaming = run_eval(manifest, "--lm", "default", "--streaming", "--chunk-ms", "160")
    digits = run_eval(manifest, "--vocabulary-set", "digits")
    assert streaming["examples"] == offline["examples"] and streaming["wer"] == offline["wer"]
    words = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
    assert all(set(e["hyp"].split()) <= words for e in digits["examples"])
    # the held-out speaker's digits mostly right (8.6% WER over all 500 of his clips; the
    # open-vocabulary LM's 10.4%, but on 20 clips either may lead by a word)
    assert digits["wer"] <= 0.15
    assert "constrained" in digits["model"] and "lm default" in offline["model"]


def test_eval_can_score_another_end_pad_and_refuses_a_bad_one(shared_data, tmp_path):
    manifest = few(shared_data, tmp_path, "theo", 5)
    assert "end pad 0 s" in run_eval(manifest, "--end-pad-s", "0")["model"]
    for bad, says in ((["--end-pad-s", "-1"], "end_pad_s must be >= 0"),
                      (["--end-pad-s", "0", "--server", "127.0.0.1:1"], "the server's to set"),
                      (["--threads", "1", "--server", "127.0.0.1:1"], "--threads does not apply"),
                      (["--threads", "-2"], "--threads: must be 1 or more")):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), *bad], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and says in r.stderr, r.stderr


def test_eval_blends_files_and_second_passes_alike_and_refuses_what_cannot_blend(shared_data, tmp_path):
    # sentences where there is a change to see: one the server's blend reads otherwise than the offline model alone,
    # one the mix's search reads otherwise with the streaming model's frames unmoved (found in this process)
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    beam = BeamDecoder.for_model(offline.cfg, SHIPPED_LM)
    alone, blended = Recogniser(offline, beam=beam), Recogniser(offline, beam=beam, blend=Blend(streaming))
    mixes = [Recogniser(offline, beam=beam, blend=Blend(streaming, delay_frames=d, rescore=0))
             for d in (BLEND_DELAY_FRAMES, 0)]
    rows = [lj_sentence(shared_data, lambda a: blended.transcribe(a).text != alone.transcribe(a).text,
                        "otherwise blended than alone")[0],
            lj_sentence(shared_data, lambda a: len({r.transcribe(a).text for r in mixes}) == 2,
                        "otherwise with the streaming model's frames unmoved")[0]]
    manifest = tmp_path / "lj.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in (rows if rows[0] != rows[1] else rows[:1])))
    files = run_eval(manifest, "--model", "logmel-cnn-cpu", "--lm", "default", "--blend", "wavenet-cpu", "--utterances")
    streams = run_eval(manifest, "--lm", "default", "--streaming", "--second-pass", "logmel-cnn-cpu",
                       "--blend", "wavenet-cpu", "--utterances")
    alone = run_eval(manifest, "--model", "logmel-cnn-cpu", "--lm", "default", "--utterances")
    assert files["utterances"] == streams["utterances"] != alone["utterances"]
    # the server's default share and delay
    assert f"blend wavenet-cpu {BLEND_WEIGHT:g} delay {format_delay(BLEND_DELAY_FRAMES)}" in files["model"]
    # the streaming model's frames unmoved: its letters miss the offline model's, and the mix's readings change (the
    # mix's search alone: scored again, a text's probability sums over all its alignments, and the finals can agree)
    mix = ("--model", "logmel-cnn-cpu", "--lm", "default", "--blend", "wavenet-cpu", "--blend-rescore", "0")
    matched = run_eval(manifest, *mix, "--utterances")
    unmoved = run_eval(manifest, *mix, "--blend-delay", "0", "--utterances")
    assert unmoved["utterances"] != matched["utterances"] and "delay 0" in unmoved["model"]
    for bad, says in ((["--blend", "wavenet-cpu", "--server", "127.0.0.1:1"], "the server's to set"),
                      (["--blend", "wavenet-cpu", "--streaming"], "add --second-pass MODEL, or drop --streaming"),
                      (["--model", "logmel-cnn-cpu", "--blend", "wavenet-cpu", "--blend-weight", "2"],
                       "blend weight must be between 0 and 1"),
                      (["--model", "logmel-cnn-cpu", "--blend", "wavenet-cpu", "--blend-delay", "-1"],
                       "must be 0 or more frames, or 'matched'")):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), *bad], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and says in r.stderr, r.stderr


def test_eval_hears_finals_under_warps_in_files_and_second_passes_alike(shared_data, tmp_path):
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    beam = BeamDecoder.for_model(offline.cfg, SHIPPED_LM)
    plain = Recogniser(offline, beam=beam, blend=Blend(streaming))
    warped = Recogniser(offline, beam=beam, blend=Blend(streaming), warps=(0.9, 1.0, 1.1))
    row, _ = lj_sentence(shared_data, lambda a: warped.transcribe(a).text != plain.transcribe(a).text,
                         "otherwise under warps 0.9,1,1.1 than as recorded")
    manifest = tmp_path / "lj.jsonl"
    manifest.write_text(json.dumps(row) + "\n")
    blended = ("--lm", "default", "--blend", "wavenet-cpu", "--utterances")
    files = run_eval(manifest, "--model", "logmel-cnn-cpu", *blended, "--warps", "0.9,1,1.1")
    streams = run_eval(manifest, "--streaming", "--second-pass", "logmel-cnn-cpu", *blended, "--warps", "0.9,1,1.1")
    as_recorded = run_eval(manifest, "--model", "logmel-cnn-cpu", *blended, "--warps", "none")
    assert files["utterances"] == streams["utterances"] != as_recorded["utterances"]
    assert "warps 0.9,1,1.1" in files["model"] and "warps" not in as_recorded["model"]
    r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), "--warps", "0.9,3"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "warp factors are from 0.5 to 2, got 0.9,3" in r.stderr, r.stderr


def test_eval_with_several_utterances_at_once_reads_each_as_one_at_a_time(shared_data, tmp_path):
    # theo's digits and four lj-amateur sentences: streamed three at a time (three state slots, three
    # search worker processes) against one pass each, one at a time, in this process
    lj = shared_data / "real" / "lj-amateur.jsonl"
    sentences = [{**r, "audio": str(lj.parent / r["audio"])} for r in map(json.loads, lj.open())][:4]
    manifest = few(shared_data, tmp_path, "theo", 6)
    with manifest.open("a") as f:
        f.writelines(json.dumps(r) + "\n" for r in sentences)
    alone = run_eval(manifest, "--lm", "default", "--utterances")
    at_once = run_eval(manifest, "--lm", "default", "--utterances", "--streaming", "--jobs", "3")
    assert at_once["utterances"] == alone["utterances"] and at_once["wer"] == alone["wer"]
    assert [u["ref"] for u in at_once["utterances"]][-4:] == [r["text"] for r in sentences]  # in manifest order
    r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), "--jobs", "0"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "--jobs: must be 1 or more" in r.stderr, r.stderr


def test_eval_streams_with_a_second_pass_as_the_server_does(shared_data, tmp_path):
    manifest = few(shared_data, tmp_path, "theo", 8)
    two_pass = run_eval(manifest, "--lm", "default", "--streaming", "--second-pass", "logmel-cnn-cpu")
    offline = run_eval(manifest, "--lm", "default", "--model", "logmel-cnn-cpu")
    assert two_pass["examples"] == offline["examples"] and two_pass["wer"] == offline["wer"]
    assert "second pass logmel-cnn-cpu" in two_pass["model"]
    r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), "--second-pass", "logmel-cnn-cpu"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "add --streaming" in r.stderr


def test_lm_command_builds_a_model_eval_can_use(shared_data, tmp_path):
    text = tmp_path / "digits.txt"
    text.write_text("\n".join(["one two three", "four five six", "seven eight nine zero"] * 5) + "\n")
    r = subprocess.run([sys.executable, "-m", "clients.cli", "lm", str(text), "--out", str(tmp_path / "d.arpa.gz"),
                        "--min-count", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["words"] == 10
    out = run_eval(few(shared_data, tmp_path, "george", 5), "--lm", tmp_path / "d.arpa.gz")
    assert out["n"] == 5 and "lm" in out["model"]
    missing = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(text), "--lm", str(tmp_path / "no.arpa")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "no language model file" in missing.stderr


def run_compare(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clients.cli", "compare", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_compare_tells_a_trained_model_from_an_untrained_one_and_refuses_unpaired_files(shared_data, tmp_path):
    manifest = few(shared_data, tmp_path, "theo", 10)
    trained, untrained, short, plain = (tmp_path / f"{n}.json" for n in ("trained", "untrained", "short", "plain"))
    trained.write_text(json.dumps(run_eval(manifest, "--model", "logmel-cnn-cpu", "--utterances")))
    untrained.write_text(json.dumps(run_eval(manifest, "--model", "wavenet-base", "--untrained", "--utterances")))
    short.write_text(json.dumps(run_eval(manifest, "--model", "logmel-cnn-cpu", "--utterances", "--limit", "6")))
    plain.write_text(json.dumps(run_eval(manifest, "--model", "logmel-cnn-cpu")))
    assert len(json.loads(trained.read_text())["utterances"]) == 10

    better = run_compare(untrained, trained, "--json")
    assert better.returncode == 0, better.stderr
    row = json.loads(better.stdout)
    assert row["better"] and row["p_candidate_better"] > 0.99 and row["n"] == 10 and row["words"] == 10
    assert row["wer_baseline"] > 0.9 and row["wer_candidate"] < 0.3 and row["delta_ci95"][1] < 0
    worse = run_compare(trained, untrained)
    assert worse.returncode == 1 and "not shown better" in worse.stdout
    same = run_compare(trained, trained)  # a model is never better than itself
    assert same.returncode == 1 and "in 0.0% of 10000 resamples" in same.stdout

    for bad, says in (((trained, short), "read different utterances"), ((plain, trained), "run wavestream eval with --utterances"),
                      ((trained, tmp_path / "missing.json"), "cannot read"),
                      ((untrained, trained, "--resamples", "0"), "--resamples must be 100 or more"),
                      ((untrained, trained, "--min-probability", "1.5"), "--min-probability in (0, 1]")):
        r = run_compare(*bad)
        assert r.returncode == 2 and says in r.stderr, r.stderr


def test_pocketsphinx_readings_set_beside_a_models_utterance_by_utterance(shared_data, tmp_path):
    manifest = few(shared_data, tmp_path, "theo", 4)
    r = subprocess.run([sys.executable, "scripts/pocketsphinx_eval.py", str(manifest), "--utterances"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    yardstick = json.loads(r.stdout)
    refs = [json.loads(l)["text"] for l in manifest.read_text().splitlines()]
    assert [u["ref"] for u in yardstick["utterances"]] == refs and "pocketsphinx" in yardstick["model"]
    (tmp_path / "ps.json").write_text(r.stdout)
    (tmp_path / "model.json").write_text(json.dumps(run_eval(manifest, "--model", "logmel-cnn-cpu", "--lm", "default",
                                                             "--utterances")))
    c = subprocess.run([sys.executable, "-m", "clients.cli", "compare", str(tmp_path / "ps.json"),
                        str(tmp_path / "model.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert c.returncode in (0, 1) and "4 utterances" in c.stdout, c.stdout + c.stderr
