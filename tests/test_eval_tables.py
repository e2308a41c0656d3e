"""The evaluation tables in the model card and the README are those the shipped readings make."""

import json
import subprocess
import sys

import pytest

from scripts import eval_tables
from tests.conftest import ROOT


def test_the_documents_show_the_shipped_readings():
    # the eval stage ships models/weights/eval.jsonl and writes the tables from it; a hand edit of
    # either table, or readings shipped without the tables written again, fails here
    run = subprocess.run([sys.executable, "scripts/eval_tables.py", "--check"], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr


def reading(manifest, model, wer, cer, n=10, examples=None):
    return {"manifest": manifest, "model": model, "wer": wer, "cer": cer, "n": n, "audio_s": 1.0, "rtf": 0.1,
            "examples": examples or [{"ref": "one", "hyp": "one"}]}


def eval_output(*records):
    # as the eval stage writes it: `wavestream eval --json` prints a list, pocketsphinx_eval.py lines
    lists = [r for r in records if not r["model"].startswith("pocketsphinx")]
    lines = [r for r in records if r["model"].startswith("pocketsphinx")]
    return json.dumps(lists, indent=2) + "\n" + "".join(json.dumps(r) + "\n" for r in lines)


THEO = "out/shipped/fsdd-theo.jsonl"
BLEND = " blend wavenet-cpu 0.35 delay matched"


def test_each_reading_lands_in_its_row_and_column_with_the_lowest_in_bold():
    table = eval_tables.readings(eval_output(
        reading(THEO, "wavenet-cpu offline greedy", 0.196, 0.073, n=500),
        reading(THEO, "wavenet-cpu offline lm default", 0.034, 0.025, n=500),
        reading(THEO, "logmel-cnn-cpu offline lm default" + BLEND, 0.018, 0.031, n=500),
        reading(THEO, "pocketsphinx 5.1.1 en-us", 0.76, 0.013, n=500),
        reading(THEO, "wavenet-cpu offline greedy constrained", 0.022, 0.018, n=500),
        reading(THEO, "pocketsphinx 5.1.1 en-us digits grammar", 0.388, 0.362, n=500),
    ))
    card = eval_tables.render(table, "card").splitlines()
    theo, digits = card[2], card[3]
    assert theo == ("| FSDD theo, held-out speaker (500) | 19.6 / 7.3 | 3.4 / 2.5 |  |  |  | **1.8** / 3.1 "
                    "| 76.0 / **1.3** |")
    # under the digits constraint the search runs without the LM: the "lm" column
    assert digits.startswith("| FSDD theo, digits vocabulary (`--vocabulary-set digits`) |  | **2.2 / 1.8** |")
    assert digits.endswith("| 38.8 / 36.2 (digits grammar) |")
    # the README leaves out the streamed and the greedy offline columns
    readme = eval_tables.render(table, "readme").splitlines()
    assert readme[2] == "| FSDD theo, held-out speaker (500) | 19.6 / 7.3 | 3.4 / 2.5 |  | **1.8** / 3.1 | 76.0 / **1.3** |"


def test_a_streamed_reading_unlike_the_offline_one_is_reported_and_fails_the_check():
    same = [{"ref": "one", "hyp": "one"}]
    table = eval_tables.readings(eval_output(
        reading(THEO, "wavenet-cpu offline lm default", 0.034, 0.025, examples=same),
        reading(THEO, "wavenet-cpu streaming 160 ms lm default", 0.034, 0.025, examples=same),
        reading(THEO, "logmel-cnn-cpu offline lm default" + BLEND, 0.018, 0.013, examples=same),
        reading(THEO, "wavenet-cpu streaming 160 ms lm default second pass logmel-cnn-cpu" + BLEND, 0.018, 0.013,
                examples=[{"ref": "one", "hyp": "won"}]),
    ))
    assert eval_tables.identity_failures(table) == ["theo: second pass != blended"]
    assert "**Streamed and offline readings differ**" in eval_tables.render(table, "card")


def test_the_same_reading_twice_is_an_error():
    twice = eval_output(reading(THEO, "wavenet-cpu offline greedy", 0.2, 0.1),
                        reading(THEO, "wavenet-cpu offline greedy", 0.3, 0.1))
    with pytest.raises(ValueError, match="two readings of theo / wavenet greedy"):
        eval_tables.readings(twice)


def test_a_table_is_put_between_its_markers_and_nothing_else_moves():
    doc = "before\n<!-- eval-table: card -->\nold table\n<!-- /eval-table -->\nafter\n"
    assert eval_tables.spliced(doc, "card", "new table\n") == (
        "before\n<!-- eval-table: card -->\nnew table\n<!-- /eval-table -->\nafter\n")
    with pytest.raises(ValueError, match="needs one"):
        eval_tables.spliced("no markers\n", "card", "t\n")
