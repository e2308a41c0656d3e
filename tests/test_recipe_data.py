"""The recipe's data steps (scripts/recipe_data.py) that decide what training may hear."""

import json
import subprocess
import sys

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
