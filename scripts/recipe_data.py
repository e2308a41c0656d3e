"""Data that the training scripts share: FSDD split by speaker, and digit-string text.

    .venv/bin/python scripts/recipe_data.py fsdd SHARED_DATA OUT [--dev N]
        OUT/fsdd-train.jsonl (george, jackson, nicolas), OUT/fsdd-theo.jsonl (the held-out
        speaker) and, with --dev, OUT/fsdd-theo-dev.jsonl (N of theo's clips, seeded)
    .venv/bin/python scripts/recipe_data.py digits OUT_FILE --per-word N --strings N --max-words N
        every digit word alone N times, then N strings of 2..max-words digits, seeded, shuffled
    .venv/bin/python scripts/recipe_data.py unspoken OUT_FILE SOURCE MANIFEST ...
        the sentences of the text file SOURCE (a line each), in its order, that no utterance of the
        manifests speaks: what a fresh synthetic set is drawn from
    .venv/bin/python scripts/recipe_data.py left-out OUT_FILE SENTENCES TEXT
        the sentences of SENTENCES that the text file TEXT (plain or .xz) leaves out, each once,
        sorted: the dev sentences, where TEXT is the shipped LM's text (the lm stage writes it as the
        training sentences less the dev ones)
    .venv/bin/python scripts/recipe_data.py gcide DICT OUT_FILE --held-out FILE ...
        English text from GCIDE, the dictionary in Debian's dict-gcide (DICT: its gcide.dict.dz): its
        quotations and its definitions as sentences, normalised like the training text, less any that
        could carry a held-out sentence (FILE: text, a sentence a line, or a manifest)
    .venv/bin/python scripts/recipe_data.py words WORD_LIST OUT_FILE
        a spelling dictionary's words (WORD_LIST: one a line, as Debian's wamerican installs
        /usr/share/dict/american-english) as the LM's word lists take them: accents dropped, lower
        case, letters with at most one apostrophe inside ("speer's"), sorted, one a line
    .venv/bin/python scripts/recipe_data.py variant MANIFEST OUT_NAME [--pad-s S] [--gain-db DB]
            [--noise-dbfs N [--seed SEED]]
        a held-out set as files and microphones also deliver it: S seconds of exact zeros before and
        after each clip, DB decibels of gain, and/or white noise of RMS N dBFS over all of it (seed SEED,
        0 by default: a microphone's noise floor); OUT_NAME/ (FLAC) and OUT_NAME.jsonl
    .venv/bin/python scripts/recipe_data.py voices OUT_DIR MANIFEST ...
        the manifests' utterances as one set, OUT_DIR/all.jsonl, and a set per voice (speaker),
        OUT_DIR/<engine>-<voice>.jsonl (audio paths absolute): read in one `wavestream eval`, a
        reading of the whole set and of each voice
    .venv/bin/python scripts/recipe_data.py levels MANIFEST ... [--by-speaker]
        recording level: each clip's RMS in dBFS, its mean and spread per manifest (or speaker)
    .venv/bin/python scripts/recipe_data.py pack MANIFEST|FOLDER ... --out DIR [--compression-level L] [--max-hours H]
            [--max-mbytes M]
        the audio of manifests (or a folder's clips) as Ogg Opus, small enough to carry to a training machine: DIR/<name>/
        and DIR/<name>.jsonl (paths relative to DIR), <name> the manifest's file name or, for a
        manifest.jsonl, its folder's. L is libsndfile's: 0.97 is about 13 kbps, 0.9 about 31. H, M: each
        manifest's first utterances, up to H hours of audio or M megabytes packed
    .venv/bin/python scripts/recipe_data.py bf16 MODEL_DIR ... --out DIR
        trained models' weights in bfloat16 under DIR/<name>/ (half the bytes; loading casts them back):
        what a later lease carries beside the packed audio to start from (train-gpu.sh's INIT=DIR)
    .venv/bin/python scripts/recipe_data.py average MODEL_DIR ... --out DIR
        one model's weights from several runs (the same config) averaged parameter by parameter, under
        DIR/<name>/: weight averaging of runs that share a start (the same buffers, such as the feature
        normalisation, or it stops)
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import random
import re
import sys
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from models.audio import read_audio, resample
from models.audio_files import audio_files
from models.data import manifest_audio, read_manifest
from models.synth import normalise

HELD_OUT_SPEAKER = "theo"
DIGITS = "zero one two three four five six seven eight nine".split()


def write_jsonl(path: str, rows: list[dict]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)


def fsdd_split(data: str, out: str, dev: int = 0) -> None:
    rows = [{**r, "audio": f"{data}/real/{r['audio']}"} for r in map(json.loads, open(f"{data}/real/fsdd.jsonl"))]
    held = [r for r in rows if r["speaker"] == HELD_OUT_SPEAKER]
    write_jsonl(f"{out}/fsdd-train.jsonl", [r for r in rows if r["speaker"] != HELD_OUT_SPEAKER])
    write_jsonl(f"{out}/fsdd-{HELD_OUT_SPEAKER}.jsonl", held)
    if dev:
        shuffled = held[:]
        random.Random(1).shuffle(shuffled)
        write_jsonl(f"{out}/fsdd-{HELD_OUT_SPEAKER}-dev.jsonl", shuffled[:dev])


def digit_strings(path: str, per_word: int, strings: int, max_words: int) -> None:
    rng = random.Random(0)
    lines = [w for w in DIGITS for _ in range(per_word)] + [
        " ".join(rng.choice(DIGITS) for _ in range(rng.randint(2, max_words))) for _ in range(strings)]
    rng.shuffle(lines)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def unspoken(out: str, source: str, manifests: list[str]) -> None:
    spoken = {u.text for m in manifests for u in read_manifest(m)}
    sentences = [line.strip() for line in open(source) if line.strip()]
    Path(out).write_text("".join(s + "\n" for s in sentences if s not in spoken))


def left_out(out: str, sentences: str, text: str) -> None:
    opener = lzma.open if text.endswith(".xz") else open
    with opener(text, "rt") as f:
        kept = {line.strip() for line in f}
    missing = sorted({s.strip() for s in open(sentences) if s.strip()} - kept)
    Path(out).write_text("".join(s + "\n" for s in missing))
    print(f"{out}: {len(missing)} sentences")


def _gcide_passages(text: str):
    """The dictionary's prose, paragraph by paragraph: quotations (indented ten spaces or more), one
    passage each, less their "--Author."; definitions: the numbered senses of words with more than one,
    and run-on forms, less [etymologies and sources], (parenthesised notes) and sense numbers. Words
    with one sense give no definition: most are rare, and the words only they bring crowd the lexicon.
    The database's own notes, before the first headword, are skipped."""
    first = re.search(r"^[A-Za-z][^\s\\]* \\", text, flags=re.M)
    for para in re.split(r"\n\s*\n", text[first.start() if first else 0:]):
        lines = para.splitlines()
        quoted = [line.strip() for line in lines if re.match(r" {10,}\S", line)]
        if quoted:
            yield re.sub(r"--\s*[A-Z][^-]*$", "", " ".join(quoted)).replace(". . .", " ")
        if lines and not lines[0].startswith(" "):  # a headword's paragraph: its first sense from "1." on
            first_sense = next((i for i, line in enumerate(lines) if re.match(r" +1\.\s", line)), None)
            if first_sense is None:
                continue  # one sense only
            lines = lines[first_sense:]
        body = " ".join(re.sub(r"^\d+\.\s+", "", line.strip()) for line in lines if not re.match(r" {10,}\S", line))
        while re.search(r"\[[^\[\]]*\]", body):
            body = re.sub(r"\[[^\[\]]*\]", " ", body)
        body = re.sub(r"\([^()]*\)", " ", body)
        # a leading label ("n.", "v. t.", "fig."), as run-on and sub-sense paragraphs may open with
        yield re.sub(r"^[\s,;]*(?:(?:[a-z]{1,5}\.|&)\s*)*", "", body)


def _held_sentences(files: list[str]) -> list[str]:
    held = []
    for f in files:
        if f.endswith(".jsonl"):
            held += [u.text for u in read_manifest(f)]
        else:
            held += [normalise(line) for line in open(f) if line.strip()]
    return held


def gcide(dict_file: str, out: str, held_out: list[str], run: int = 6) -> None:
    """A sentence is dropped when it shares a run of `run` words with a held-out sentence, or
    holds a shorter one whole: the dictionary quotes the Bible and WordNet, as the test text does.
    Sentences with figures are dropped (the training text spells numbers out)."""
    text = gzip.open(dict_file, "rt", encoding="utf-8", errors="replace").read()  # dictzip reads as gzip
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()  # "preëminent" -> "preeminent"
    # its own marks for accented letters: pre[\"e]minent, [=a], [e^], [imac] -> the plain letter
    text = re.sub(r"\[[=.^\"'`~,]?([a-zA-Z])(?:[=.^\"'`~,]|mac|acute|grave|uml|um|circ|breve|cedil|til|ring)?\]", r"\1", text)

    def runs(words):
        return {tuple(words[i:i + run]) for i in range(len(words) - run + 1)}

    held = _held_sentences(held_out)
    held_runs = set().union(*(runs(h.split()) for h in held if len(h.split()) >= run))
    short = [f" {h} " for h in held if len(h.split()) < run]
    kept, seen = [], set()
    for passage in _gcide_passages(text):
        # cross-references and run-on forms: {Word} -> Word, {Unc"tu*ous*ness} -> Unctuousness
        passage = re.sub(r"\{([^}]*)\}", lambda m: re.sub(r"[\"*`]", "", m.group(1)), passage)
        passage = re.sub(r"\b(e\.g|i\.e|etc|esp|fig|obs|cf|specif)\.", r"\1", passage, flags=re.I)
        for sentence in re.split(r"(?<=[.!?;:])\s+", passage):
            if re.search(r"\d", sentence):
                continue
            s = normalise(sentence)
            words = s.split()
            if not 3 <= len(words) <= 25 or s in seen or runs(words) & held_runs or any(h in f" {s} " for h in short):
                continue
            seen.add(s)
            kept.append(s)
    Path(out).write_text("".join(s + "\n" for s in kept))
    print(json.dumps({"gcide": out, "sentences": len(kept), "words": sum(len(s.split()) for s in kept)}))


def words(word_list: str, out: str) -> None:
    """Entries the training text's normalisation would split or change otherwise (hyphens, figures, "o'"
    at a word's end) are left out rather than mangled."""
    kept = set()
    for line in open(word_list, encoding="utf-8"):
        w = unicodedata.normalize("NFKD", line.strip()).encode("ascii", "ignore").decode().lower()
        if re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w):
            kept.add(w)
    Path(out).write_text("".join(w + "\n" for w in sorted(kept)))
    print(json.dumps({"words": out, "count": len(kept)}))


def variant(manifest: str, out_name: str, pad_s: float = 0.0, gain_db: float = 0.0,
            noise_dbfs: float | None = None, seed: int = 0) -> None:
    folder = Path(out_name)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for r in map(json.loads, open(manifest)):
        source = manifest_audio(manifest, r["audio"])
        x, rate = read_audio(source, None)
        x = x * np.float32(10 ** (gain_db / 20))
        z = np.zeros(int(rate * pad_s), dtype="float32")
        y = np.concatenate([z, x, z])
        if noise_dbfs is not None:  # a microphone's floor: under the speech and the pads alike
            y = y + rng.normal(0.0, 10 ** (noise_dbfs / 20), len(y)).astype("float32")
        path = folder / source.with_suffix(".flac").name
        sf.write(path, y, rate)
        rows.append({**r, "audio": str(path.resolve()), "duration": round(len(x) / rate + 2 * pad_s, 3)})
    write_jsonl(f"{out_name}.jsonl", rows)


def voices(out: str, manifests: list[str]) -> None:
    rows = [{**r, "audio": str(manifest_audio(m, r["audio"]))} for m in manifests for r in map(json.loads, open(m))]
    by_voice: dict[str, list[dict]] = {}
    for r in rows:
        by_voice.setdefault(r["speaker"], []).append(r)
    write_jsonl(f"{out}/all.jsonl", rows)
    for voice, voice_rows in sorted(by_voice.items()):
        write_jsonl(f"{out}/{voice.replace(':', '-')}.jsonl", voice_rows)
    print(json.dumps({"voices": out, "utterances": len(rows), **{v: len(r) for v, r in sorted(by_voice.items())}}))


def levels(manifests: list[str], by_speaker: bool = False) -> None:
    for manifest in manifests:
        groups: dict[str, list[float]] = {}
        for u in read_manifest(manifest):
            x, _ = read_audio(u.audio, None)
            rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
            groups.setdefault(u.speaker if by_speaker else "", []).append(20 * np.log10(max(rms, 1e-10)))
        for name, db in sorted(groups.items()):
            print(json.dumps({"manifest": manifest, **({"speaker": name} if by_speaker else {}), "n": len(db),
                              "rms_dbfs_mean": round(float(np.mean(db)), 1), "rms_dbfs_std": round(float(np.std(db)), 1),
                              "rms_dbfs_min": round(float(np.min(db)), 1), "rms_dbfs_max": round(float(np.max(db)), 1)}))


OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def _encode_opus(job: tuple[str, str, float]) -> int:
    src, dst, level = job
    if Path(dst).exists():  # packed by an earlier, interrupted run
        return Path(dst).stat().st_size
    x, rate = read_audio(src, None)
    if rate not in OPUS_RATES:
        x, rate = resample(x, rate, 16000), 16000
    sf.write(dst, x, rate, format="OGG", subtype="OPUS", compression_level=level)
    return Path(dst).stat().st_size


def _encode_all(jobs: list[tuple[str, str, float]], workers: int) -> int:
    """Bytes written."""
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_encode_opus, jobs, chunksize=64))


def _encode_within(jobs: list[tuple[str, str, float]], workers: int, max_bytes: int) -> tuple[int, int]:
    """Encode jobs in order, a round at a time, until the next would pass max_bytes: (jobs kept, their bytes).
    The files of a last round's jobs past the limit stay for the caller to remove."""
    kept, total, full = 0, 0, False
    with ProcessPoolExecutor(workers) as pool:
        while kept < len(jobs) and not full:
            for size in pool.map(_encode_opus, jobs[kept:kept + 64 * workers], chunksize=16):
                full = total + size > max_bytes
                if full:
                    break
                total += size
                kept += 1
    return kept, total


def pack(manifests: list[str], out: str, level: float = 0.97, workers: int = 2, max_hours: float = 0.0,
         max_mbytes: float = 0.0) -> None:
    for manifest in manifests:
        path = Path(manifest)
        if path.is_dir():  # a folder of clips with no transcripts (noise, impulse responses)
            (Path(out) / path.name).mkdir(parents=True, exist_ok=True)
            jobs = [(str(f), str(Path(out) / path.name / f"{f.stem}.opus"), level)
                    for f in audio_files(path)]
            size = _encode_all(jobs, workers)
            print(json.dumps({"folder": manifest, "n": len(jobs), "mbytes": round(size / 1e6, 1)}))
            continue
        name = path.parent.name if path.name == "manifest.jsonl" else path.stem
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        rows, jobs, seconds = [], [], 0.0
        for i, u in enumerate(read_manifest(path)):
            seconds += u.duration
            if max_hours and seconds > max_hours * 3600:  # the manifest's first hours
                break
            dst = folder / f"{i:06d}.opus"
            jobs.append((str(u.audio), str(dst), level))
            rows.append({"audio": f"{name}/{dst.name}", "text": u.text, "speaker": u.speaker, "duration": u.duration})
        if max_mbytes:  # the manifest's first utterances that fit in so many bytes
            n, size = _encode_within(jobs, workers, int(max_mbytes * 1e6))
            jobs, rows = jobs[:n], rows[:n]
        else:
            size = _encode_all(jobs, workers)
        kept = {Path(dst).name for _, dst, _ in jobs}
        for stale in folder.glob("*.opus"):  # from an earlier pack of more hours: the folder is what travels
            if stale.name not in kept:
                stale.unlink()
        write_jsonl(str(Path(out) / f"{name}.jsonl"), rows)
        hours = sum(r["duration"] for r in rows) / 3600
        print(json.dumps({"manifest": manifest, "out": str(folder), "n": len(rows), "hours": round(hours, 2),
                          "mbytes": round(size / 1e6, 1), "kbps": round(size * 8 / max(1.0, hours * 3600) / 1000, 1)}))


def bf16_copies(model_dirs: list[str], out: str) -> None:
    """Each model folder's weights in bfloat16 under OUT/<model name>/: half the bytes, for a later
    lease to start from (`--init-from OUT`); loading casts them back to float32."""
    import torch

    from models.registry import load_from_dir, save_model

    for d in model_dirs:
        model = load_from_dir(d)
        dest = save_model(model, Path(out) / model.cfg.name, dtype=torch.bfloat16)
        size = (dest / "model.safetensors").stat().st_size
        print(json.dumps({"model": model.cfg.name, "from": d, "out": str(dest), "mbytes": round(size / 1e6, 1)}))


def average(model_dirs: list[str], out: str) -> None:
    """The runs' weights averaged parameter by parameter under OUT/<model name>/. Averaging only means
    something for runs of one model from one start, so their configs and buffers must be the same."""
    import torch

    from models.registry import load_from_dir, save_model

    models = [load_from_dir(d) for d in model_dirs]
    first = models[0]
    for d, m in zip(model_dirs[1:], models[1:]):
        if m.cfg != first.cfg:
            raise SystemExit(f"{d}: not the same model as {model_dirs[0]} (configs differ)")
        for (name, a), (_, b) in zip(first.named_buffers(), m.named_buffers()):
            if not torch.equal(a, b):
                raise SystemExit(f"{d}: buffer {name} differs from {model_dirs[0]}'s: not runs from one start")
    params = [dict(m.named_parameters()) for m in models]
    with torch.no_grad():
        for name, p in first.named_parameters():
            p.copy_(torch.stack([ps[name].double() for ps in params]).mean(0))
    dest = save_model(first, Path(out) / first.cfg.name)
    print(json.dumps({"model": first.cfg.name, "from": model_dirs, "out": str(dest)}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    f = sub.add_parser("fsdd")
    f.add_argument("data")
    f.add_argument("out")
    f.add_argument("--dev", type=int, default=0)
    d = sub.add_parser("digits")
    d.add_argument("out")
    d.add_argument("--per-word", type=int, required=True)
    d.add_argument("--strings", type=int, required=True)
    d.add_argument("--max-words", type=int, required=True)
    u = sub.add_parser("unspoken")
    u.add_argument("out")
    u.add_argument("source")
    u.add_argument("manifests", nargs="+")
    lo = sub.add_parser("left-out")
    lo.add_argument("out")
    lo.add_argument("sentences")
    lo.add_argument("text")
    g = sub.add_parser("gcide")
    g.add_argument("dict_file")
    g.add_argument("out")
    g.add_argument("--held-out", nargs="+", required=True)
    w = sub.add_parser("words")
    w.add_argument("word_list")
    w.add_argument("out")
    v = sub.add_parser("variant")
    v.add_argument("manifest")
    v.add_argument("out_name")
    v.add_argument("--pad-s", type=float, default=0.0)
    v.add_argument("--gain-db", type=float, default=0.0)
    v.add_argument("--noise-dbfs", type=float, default=None)
    v.add_argument("--seed", type=int, default=0)
    vs = sub.add_parser("voices")
    vs.add_argument("out")
    vs.add_argument("manifests", nargs="+")
    lv = sub.add_parser("levels")
    lv.add_argument("manifests", nargs="+")
    lv.add_argument("--by-speaker", action="store_true")
    pk = sub.add_parser("pack")
    pk.add_argument("manifests", nargs="+")
    pk.add_argument("--out", required=True)
    pk.add_argument("--compression-level", type=float, default=0.97)
    pk.add_argument("--workers", type=int, default=2)
    pk.add_argument("--max-hours", type=float, default=0.0, help="each manifest's first H hours only")
    pk.add_argument("--max-mbytes", type=float, default=0.0, help="each manifest's first utterances that fit in M MB")
    bf = sub.add_parser("bf16", help="model folders' weights in bfloat16 (half the bytes) under OUT/<name>/")
    bf.add_argument("model_dirs", nargs="+")
    bf.add_argument("--out", required=True)
    av = sub.add_parser("average", help="one model's runs averaged parameter by parameter under OUT/<name>/")
    av.add_argument("model_dirs", nargs="+")
    av.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.what == "fsdd":
        fsdd_split(args.data, args.out, args.dev)
    elif args.what == "digits":
        digit_strings(args.out, args.per_word, args.strings, args.max_words)
    elif args.what == "unspoken":
        unspoken(args.out, args.source, args.manifests)
    elif args.what == "left-out":
        left_out(args.out, args.sentences, args.text)
    elif args.what == "gcide":
        gcide(args.dict_file, args.out, args.held_out)
    elif args.what == "words":
        words(args.word_list, args.out)
    elif args.what == "variant":
        variant(args.manifest, args.out_name, args.pad_s, args.gain_db, args.noise_dbfs, args.seed)
    elif args.what == "voices":
        voices(args.out, args.manifests)
    elif args.what == "pack":
        pack(args.manifests, args.out, args.compression_level, args.workers, args.max_hours, args.max_mbytes)
    elif args.what == "bf16":
        bf16_copies(args.model_dirs, args.out)
    elif args.what == "average":
        average(args.model_dirs, args.out)
    else:
        levels(args.manifests, args.by_speaker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
