"""The evaluation tables of the model card and the README, made from the eval stage's readings.

    scripts/eval_tables.py [EVAL_JSONL] [--write | --check]

EVAL_JSONL (default models/weights/eval.jsonl, the copy of out/shipped/eval.jsonl that the eval
stage of scripts/train-shipped.sh ships) holds the stage's readings, one per set and decoding. The
tables: the model card's and the README's WER / CER by set and decoding, and (in both) the targets,
each met or missed by arithmetic on the readings. Each sits in its document between
`<!-- eval-table: NAME -->` and `<!-- /eval-table -->`; --write puts the tables there, --check exits
1 where a document's table is not the one the readings make (the test suite runs it), and with
neither the tables are printed. Under each WER table a line says whether the streamed readings
equal the offline ones (the streaming contract, a target of the models) and the second pass the
blended offline reading; --check fails where either does not hold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARD, README = ROOT / "models/weights/README.md", ROOT / "README.md"
END = "<!-- /eval-table -->"

# (key, the card's header, the README's header or None where the README leaves the column out)
COLUMNS = [
    ("wavenet greedy", "wavenet-cpu greedy", "wavenet-cpu greedy"),
    ("wavenet lm", "wavenet-cpu lm", "wavenet-cpu lm (= streaming, `--no-second-pass`)"),
    ("wavenet streamed", "wavenet-cpu **streaming** 160 ms, lm", None),
    ("logmel greedy", "logmel-cnn-cpu greedy", None),
    ("logmel lm", "logmel-cnn-cpu lm", "logmel-cnn-cpu lm (`--blend-weight 0`)"),
    ("blended", "logmel-cnn-cpu lm, **blended** (files; streams' finals)",
     "logmel-cnn-cpu lm, blended (= files; streams with the second pass)"),
    ("pocketsphinx", "pocketsphinx", "pocketsphinx"),
]
# (key, the manifest's path ends with, constrained, the row's name: {n} the clips)
ROWS = [
    ("theo", "fsdd-theo.jsonl", False, "FSDD theo, held-out speaker ({n})"),
    ("digits", "fsdd-theo.jsonl", True, "FSDD theo, digits vocabulary (`--vocabulary-set digits`)"),
    ("padded", "fsdd-theo-padded.jsonl", False, "FSDD theo, 0.5 s of exact zeros before and after"),
    ("lj", "lj-test.jsonl", False, "lj-amateur held out ({n})"),
    ("quiet", "lj-test-quiet.jsonl", False, "lj-amateur held out, 20 dB quieter"),
    ("heldout", "synth-heldout/test.jsonl", False, "synthetic, held-out voice rhvoice:bdl ({n})"),
]


def column_of(label: str) -> str | None:
    """The column a reading belongs in, from its `model` label (clients/cli.py, scripts/pocketsphinx_eval.py);
    "second pass" for streams' finals re-decoded offline, which the tables do not show but check."""
    if label.startswith("pocketsphinx"):
        return "pocketsphinx"
    model, mode = label.split()[:2]
    if " second pass " in label:
        return "second pass"
    family = {"wavenet-cpu": "wavenet", "logmel-cnn-cpu": "logmel"}.get(model)
    if family is None:
        return None
    if " blend " in label:
        return "blended" if family == "logmel" and mode == "offline" else None
    if mode == "streaming":
        return "wavenet streamed" if family == "wavenet" else None
    # under a constraint the search runs without the LM: the row's "lm" reading
    searched = " lm " in f"{label} " or label.endswith(" constrained")
    return f"{family} {'lm' if searched else 'greedy'}"


def row_of(record: dict) -> str | None:
    label = record["model"]
    constrained = " constrained " in f"{label} " or label.endswith(" digits grammar")
    for key, ending, wants_constraint, _ in ROWS:
        if record["manifest"].endswith(ending) and constrained == wants_constraint:
            return key
    return None


def records(text: str):
    """The readings in an eval stage's output: `wavestream eval --json` prints a list per call (one reading per
    set), scripts/pocketsphinx_eval.py one object per line, one after the other in the file."""
    decoder, i = json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return
        value, i = decoder.raw_decode(text, i)
        yield from value if isinstance(value, list) else [value]


def readings(text: str) -> dict[tuple[str, str], dict]:
    """(row, column) -> the reading; a reading given twice is an error (two eval runs appended together)."""
    table: dict[tuple[str, str], dict] = {}
    for record in records(text):
        row, column = row_of(record), column_of(record["model"])
        if row is None or column is None:
            continue
        if (row, column) in table:
            raise ValueError(f"two readings of {row} / {column}: {table[row, column]['model']!r} and "
                             f"{record['model']!r}")
        table[row, column] = record
    return table


def _figures(record: dict) -> tuple[str, str]:
    return f"{100 * record['wer']:.1f}", f"{100 * record['cer']:.1f}"


def render(table: dict, which: str) -> str:
    """The markdown table for `which` ("card" or "readme"): WER / CER in %, the lowest of each row in bold."""
    columns = [(key, card if which == "card" else readme) for key, card, readme in COLUMNS
               if (card if which == "card" else readme)]
    lines = ["| set (clips) | " + " | ".join(h for _, h in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for row, _, _, name in ROWS:
        shown = {c: _figures(table[row, c]) for c, _ in columns if (row, c) in table}
        if not shown:
            continue
        n = next(table[row, c]["n"] for c, _ in columns if (row, c) in table)
        best_wer = min(float(w) for w, _ in shown.values())
        best_cer = min(float(c) for _, c in shown.values())
        cells = []
        for c, _ in columns:
            if c not in shown:
                cells.append("")
                continue
            wer, cer = shown[c]
            wer_best, cer_best = float(wer) == best_wer, float(cer) == best_cer
            if wer_best and cer_best:
                cell = f"**{wer} / {cer}**"
            else:
                cell = f"{f'**{wer}**' if wer_best else wer} / {f'**{cer}**' if cer_best else cer}"
            if c == "pocketsphinx" and row == "digits":
                cell += " (digits grammar)"
            cells.append(cell)
        lines.append(f"| {name.format(n=n)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + identities(table) + "\n"


def _accuracy(r: dict) -> str:
    return f"{100 * (1 - r['wer']):.1f}%"


def _errors(r: dict) -> int:
    return round(r["wer"] * r["words"])


def render_targets(table: dict) -> str:
    """The targets set for the models, each judged on the server's finals (the blended column: files, and
    streams' finals through the second pass), the models alone beside them."""
    def get(row, column):
        if (row, column) not in table:
            raise ValueError(f"no reading of {row} / {column}: the targets need the whole eval stage")
        return table[row, column]

    rows = []
    theo = [get("theo", c) for c in ("blended", "logmel lm", "wavenet lm")]
    rows.append(("FSDD held-out speaker, open vocabulary: word accuracy >= 95%",
                 f"{_accuracy(theo[0])} blended, {_accuracy(theo[1])} offline alone, {_accuracy(theo[2])} streaming",
                 1 - theo[0]["wer"] >= 0.95, ""))
    digits = [get("digits", c) for c in ("blended", "logmel lm", "wavenet lm")]
    allowed = digits[0]["words"] // 100
    sphinx = table.get(("digits", "pocketsphinx"))
    rows.append(("FSDD held-out speaker, digits constraint: word accuracy >= 99%",
                 f"{_accuracy(digits[0])} blended ({_errors(digits[0])} errors in {digits[0]['words']}; 99% allows "
                 f"{allowed}), {_accuracy(digits[1])} offline alone ({_errors(digits[1])}), {_accuracy(digits[2])} "
                 f"streaming ({_errors(digits[2])})"
                 + (f"; pocketsphinx with a digits grammar {_accuracy(sphinx)}" if sphinx else ""),
                 _errors(digits[0]) <= allowed, ""))
    lj = [get("lj", c) for c in ("blended", "pocketsphinx", "logmel lm", "wavenet lm")]
    fewer = _errors(lj[1]) - _errors(lj[0])
    rows.append(("lj-amateur held out: WER below pocketsphinx's",
                 f"{100 * lj[0]['wer']:.2f} blended against {100 * lj[1]['wer']:.2f} ({abs(fewer)} words "
                 f"{'fewer' if fewer >= 0 else 'more'} in {lj[0]['words']}); {100 * lj[2]['wer']:.2f} offline alone, "
                 f"{100 * lj[3]['wer']:.2f} streaming",
                 _errors(lj[0]) < _errors(lj[1]),
                 " (whether by more than noise: the rescore stage's `compare-pocketsphinx.txt`)"))
    held = [get("heldout", c) for c in ("blended", "logmel lm", "wavenet lm")]
    rows.append(("held-out synthetic voice: CER <= 10%",
                 f"{100 * held[0]['cer']:.1f} blended, {100 * held[1]['cer']:.1f} offline alone, "
                 f"{100 * held[2]['cer']:.1f} streaming", held[0]["cer"] <= 0.10, ""))
    names = {"theo": "FSDD", "lj": "lj", "heldout": "synthetic"}
    gaps = {row: get(row, "wavenet lm")["wer"] / get(row, "logmel lm")["wer"] - 1 for row in names}
    over = [names[row] for row, gap in gaps.items() if gap > 0.15]
    rows.append(("streaming model's WER within 15% (relative) of the offline model's, each alone",
                 ", ".join(f"{names[row]} {gap:+.1%} ({100 * get(row, 'wavenet lm')['wer']:.2f} against "
                           f"{100 * get(row, 'logmel lm')['wer']:.2f})" for row, gap in gaps.items()),
                 not over, f" on {', '.join(over)}" if over else ""))
    failures = identity_failures(table)
    streamed = sum((row, "wavenet streamed") in table for row, *_ in ROWS)
    rows.append(("streaming transcript identical to the offline transcript of the same model",
                 "differs: " + "; ".join(failures) if failures else
                 f"the same WER, CER and first five readings on {streamed} sets; the second pass the same as the "
                 f"blended offline reading", not failures and streamed == 3, ""))
    lines = ["| target | result | |", "|---|---|---|"]
    for target, result, met, note in rows:
        lines.append(f"| {target} | {result} | {'met' if met else '**missed**'}{note} |")
    return "\n".join(lines) + "\n"


def _same(a: dict, b: dict) -> bool:
    return (a["wer"], a["cer"], a["n"], a["examples"]) == (b["wer"], b["cer"], b["n"], b["examples"])


def identity_failures(table: dict) -> list[str]:
    """The sets where a streamed reading differs from the offline one it must equal (WER, CER, clips and the
    first readings): the streaming model streamed against it offline; the second pass against the blend."""
    failures = []
    for pair in (("wavenet streamed", "wavenet lm"), ("second pass", "blended")):
        for row, *_ in ROWS:
            if (row, pair[0]) in table and (row, pair[1]) in table and not _same(table[row, pair[0]],
                                                                              table[row, pair[1]]):
                failures.append(f"{row}: {pair[0]} != {pair[1]}")
    return failures


def identities(table: dict) -> str:
    """The line under each table: where streamed readings were set beside offline ones, and how they compared."""
    failures = identity_failures(table)
    if failures:
        return "**Streamed and offline readings differ**: " + "; ".join(failures) + "."
    counts = [sum((row, streamed) in table and (row, offline) in table for row, *_ in ROWS)
              for streamed, offline in (("wavenet streamed", "wavenet lm"), ("second pass", "blended"))]
    if not any(counts):
        return "No streamed reading here to set beside an offline one."
    return (f"Streamed and offline readings the same (WER, CER and the first five readings): the streaming model "
            f"streamed at 160 ms and offline on {counts[0]} sets, the second pass and the blended offline reading "
            f"on {counts[1]}.")


def spliced(text: str, name: str, table_md: str) -> str:
    start = f"<!-- eval-table: {name} -->"
    if text.count(start) != 1:
        raise ValueError(f"the document needs one {start!r} line (it has {text.count(start)})")
    head, rest = text.split(start, 1)
    if END not in rest:
        raise ValueError(f"{start!r} has no {END!r} after it")
    tail = rest.split(END, 1)[1]
    return f"{head}{start}\n{table_md}{END}{tail}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("eval_jsonl", nargs="?", default=str(ROOT / "models/weights/eval.jsonl"))
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="put the tables into the documents")
    mode.add_argument("--check", action="store_true", help="exit 1 where a document's table is not the readings'")
    args = p.parse_args(argv)
    try:
        table = readings(Path(args.eval_jsonl).read_text())
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"eval_tables: {args.eval_jsonl}: {e}")
    tables = {  # each document's tables, by the name its markers give
        CARD: {"card": lambda: render(table, "card"), "targets": lambda: render_targets(table)},
        README: {"readme": lambda: render(table, "readme"), "targets": lambda: render_targets(table)},
    }
    stale = []
    for path, made in tables.items():
        try:
            if not (args.write or args.check):
                for make in made.values():
                    print(make())
                continue
            text = new = path.read_text()
            for name, make in made.items():
                new = spliced(new, name, make())
        except ValueError as e:
            sys.exit(f"eval_tables: {path}: {e}")
        if args.write:
            path.write_text(new)
        elif new != text:
            stale.append(str(path.relative_to(ROOT)))
    if stale:
        print(f"eval_tables: the tables in {', '.join(stale)} are not those of {args.eval_jsonl}: "
              f"run scripts/eval_tables.py --write", file=sys.stderr)
    failures = identity_failures(table)
    if args.check and failures:
        print(f"eval_tables: streamed readings differ from offline ones: {'; '.join(failures)}", file=sys.stderr)
    return 1 if args.check and (stale or failures) else 0


if __name__ == "__main__":
    sys.exit(main())
