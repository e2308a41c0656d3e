"""The blend stage's rule (scripts/blend_rule.py): which share and delay the server's finals blend at."""

import json
import subprocess
import sys

from tests.conftest import ROOT

REF = "one two three four five"


def reading(path, wrong, n=100):
    """A `wavestream eval --json --utterances` file: n utterances of five words, the first `wrong` of them
    with one word wrong."""
    path.parent.mkdir(parents=True, exist_ok=True)
    utts = [{"audio": f"{i}.wav", "ref": REF, "hyp": REF.replace("three", "tree") if i < wrong else REF}
            for i in range(n)]
    path.write_text(json.dumps({"manifest": "m.jsonl", "wer": wrong / (5 * n), "cer": 0.0, "n": n,
                                "utterances": utts}))


def rule(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts/blend_rule.py"), *map(str, args)],
                          capture_output=True, text=True, check=True).stdout


def readings(folder, alone, shares, delay=3):
    """alone: {set: wrong}; shares: {share: {set: wrong}} (blended at `delay`)."""
    for name, wrong in alone.items():
        reading(folder / f"{name}-alone.json", wrong)
    for share, sets in shares.items():
        for name, wrong in sets.items():
            reading(folder / "shares" / f"{name}-s{share}-d{delay}.json", wrong)


def test_the_share_is_the_dev_sets_best_of_those_that_read_the_real_training_speech_no_worse(tmp_path):
    readings(tmp_path, {"dev2": 40, "fsdd-train": 2, "lj-train": 10},
             {"0.2": {"dev2": 20, "fsdd-train": 2, "lj-train": 9},
              "0.4": {"dev2": 5, "fsdd-train": 30, "lj-train": 8},    # the dev set's best, but isolated words worse
              "0.6": {"dev2": 15, "fsdd-train": 3, "lj-train": 40}})  # real sentences worse
    out = rule("share", tmp_path, "--delays", 3, "--shares", "0.2,0.4,0.6").splitlines()
    assert out[-1] == "share 0.2 delay 3"
    assert "shown worse on fsdd-train" in out[1] and "shown worse on lj-train" in out[2]
    assert "shown worse" not in out[0] and "shown better" in out[3]


def test_the_choice_runs_over_shares_and_delays_alike(tmp_path):
    readings(tmp_path, {"dev2": 40, "fsdd-train": 10, "lj-train": 10},
             {"0.2": {"dev2": 20, "fsdd-train": 30, "lj-train": 9}, "0.4": {"dev2": 15, "fsdd-train": 30, "lj-train": 8}})
    readings(tmp_path, {}, {"0.2": {"dev2": 18, "fsdd-train": 5, "lj-train": 9},   # matched: isolated words better
                            "0.4": {"dev2": 25, "fsdd-train": 6, "lj-train": 8}}, delay="matched")
    out = rule("share", tmp_path, "--delays", "3,matched", "--shares", "0.2,0.4").splitlines()
    assert out[-1] == "share 0.2 delay matched" and out[2].startswith("share 0.2, delay matched")


def test_a_fixed_delay_gives_way_to_the_matched_one_unless_the_dev_set_shows_it_better(tmp_path):
    readings(tmp_path, {"dev2": 60, "fsdd-train": 2, "lj-train": 10},
             {"0.2": {"dev2": 20, "fsdd-train": 2, "lj-train": 9}})
    readings(tmp_path, {}, {"0.2": {"dev2": 21, "fsdd-train": 2, "lj-train": 9}}, delay="matched")  # one word more
    out = rule("share", tmp_path, "--delays", "3,matched", "--shares", "0.2").splitlines()
    assert out[-1] == "share 0.2 delay matched" and "not shown better, delay matched" in out[2]
    readings(tmp_path, {}, {"0.2": {"dev2": 50, "fsdd-train": 2, "lj-train": 9}}, delay="matched")  # thirty more
    out = rule("share", tmp_path, "--delays", "3,matched", "--shares", "0.2").splitlines()
    assert out[-1] == "share 0.2 delay 3" and "shown better, delay kept" in out[2]


def test_no_blend_where_the_choice_is_not_shown_better_than_alone_or_every_share_reads_worse(tmp_path):
    readings(tmp_path, {"dev2": 20, "fsdd-train": 2, "lj-train": 10},
             {"0.1": {"dev2": 19, "fsdd-train": 2, "lj-train": 10}})  # lower, by one word in 500
    assert rule("share", tmp_path, "--delays", 3, "--shares", "0.1").splitlines()[-1] == "share 0 delay 3"
    readings(tmp_path, {}, {"0.3": {"dev2": 0, "fsdd-train": 40, "lj-train": 10}})
    out = rule("share", tmp_path, "--delays", 3, "--shares", "0.3")
    assert out.splitlines()[-1] == "share 0 delay 3" and "no blend" in out


def test_the_delay_is_the_dev_sets_lowest(tmp_path):
    for delay, wrong in ((2, 30), (3, 12), (4, 12)):
        reading(tmp_path / "shares" / f"dev2-s0.3-d{delay}.json", wrong)
    assert rule("delay", tmp_path, "--share", 0.3, "--delays", "2,3,4").strip() == "3"  # the first of equals


def test_a_missing_reading_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts/blend_rule.py"), "share", str(tmp_path),
                        "--delays", "3", "--shares", "0.2"], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("blend_rule:") and "fsdd-train-s0.2-d3.json" in r.stderr
