"""The training recipe end to end on a CPU: the tiny preset on a few real utterances."""

import json
import random

import numpy as np
import pytest
import torch

from models.ctc import Vocabulary
from models.data import Augment, SpeechData, read_manifest
from models.weighted import parse_weighted
from models.registry import list_models, load_model
from models.checks import check_streaming
from models.train import train


def test_manifests_read_and_mix_by_weight(digits_manifest, tmp_path):
    assert parse_weighted("a/b.jsonl:2.5") == ("a/b.jsonl", 2.5)
    assert parse_weighted("c:/x.jsonl") == ("c:/x.jsonl", 1.0)
    rows = read_manifest(digits_manifest)
    assert len(rows) == 16 and all(r.audio.exists() and r.duration > 0 for r in rows)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no audio"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_manifest(bad)
    data = SpeechData([(str(digits_manifest), 1.0)], Vocabulary(" 'abcdefghijklmnopqrstuvwxyz"))
    audio, lengths, targets, target_lengths = next(data.batches(batch_seconds=3.0))
    assert audio.shape[0] == len(lengths) == len(target_lengths) and int(target_lengths.sum()) == targets.numel()
    assert lengths.sum() / 16000 <= 3.0 + 1.0  # at most one utterance over the budget


def test_a_large_batch_holds_its_seconds_of_audio(tmp_path):
    """A GPU's batches of 300 s hold about 300 s: the pool they are cut from grows with them (64 utterances of
    about 3 s ended every batch near 200 s). Small batches are cut from 64 utterances, as before."""
    import soundfile as sf

    rows = []
    for i in range(4):
        sf.write(tmp_path / f"{i}.flac", np.zeros(3 * 16000, dtype=np.int16), 16000, subtype="PCM_16")
        rows.append({"audio": f"{i}.flac", "text": "three seconds", "duration": 3.0})
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = SpeechData([(str(tmp_path / "m.jsonl"), 1.0)], Vocabulary(" 'abcdefghijklmnopqrstuvwxyz"))
    big = data.batches(batch_seconds=300.0)
    held = [int(next(big)[1].sum()) / 16000 for _ in range(4)]
    assert all(s == 300.0 for s in held), held  # 400 utterances a pool: four batches of 100
    small = data.batches(batch_seconds=40.0)
    held = sorted(int(next(small)[1].sum()) / 16000 for _ in range(5))
    assert held == [36.0] + [39.0] * 4  # 64 utterances a pool: 13 a batch, four times, and 12


def test_training_audio_is_kept_exactly_in_two_bytes_a_sample(tmp_path):
    """Every training utterance stays decoded for the whole run, so its memory is what a run of many hours
    needs: 16-bit recordings come back sample for sample, kept at 2 bytes a sample (float32 took 4: five
    synthetic sets outgrew a 24 GB machine running two models side by side)."""
    import soundfile as sf
    import tracemalloc

    pcm = np.random.default_rng(0).integers(-32768, 32768, size=(20, 16000), dtype=np.int16)
    rows = []
    for i, clip in enumerate(pcm):
        sf.write(tmp_path / f"{i}.flac", clip, 16000, subtype="PCM_16")
        rows.append({"audio": f"{i}.flac", "text": "one", "duration": 1.0})
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = SpeechData([(str(tmp_path / "m.jsonl"), 1.0)], Vocabulary(" 'abcdefghijklmnopqrstuvwxyz"))
    tracemalloc.start()
    data.preload(threads=1)
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert 2 * pcm.size <= kept < 2.5 * pcm.size
    for (_, samples), clip in zip(data.recordings(), pcm):
        assert samples.dtype == torch.float32 and torch.equal(samples, torch.from_numpy(clip).float() / 32768)


def test_augmentation_keeps_audio_usable(shared_data):
    aug = Augment.from_dirs(str(shared_data / "noise"), str(shared_data / "rir"), noise_prob=1.0, rir_prob=1.0,
                            telephone_prob=1.0, digital_silence_prob=0.0)
    x = torch.from_numpy(np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440).astype(np.float32)) * 0.5
    rng = random.Random(0)
    for _ in range(5):
        y = aug(x, 16000, rng)
        assert torch.isfinite(y).all() and y.abs().max() <= 1.0
        assert 16000 / 1.1 - 2 <= y.shape[0] <= 16000 / 0.9 + 2
    padded = Augment(speed=(1.0,), gain_db=(0.0, 0.0), level_prob=0.0, telephone_prob=0.0, narrowband_prob=0.0,
                     digital_silence_prob=1.0)(x, 16000, rng)
    lead = int(padded.shape[0] - 16000)
    assert 1600 <= lead <= 2 * 9600 and padded[:1600].abs().max() == 0  # exact zeros, 0.1 s at least first
    assert torch.equal(padded[padded.abs() > 0][:100], x[x.abs() > 0][:100])


def rms_db(y: torch.Tensor) -> float:
    return float(20 * torch.log10(y.square().mean().sqrt()))


# Augment with nothing drawn but what a test turns on (no speed, gain, level, band or pads)
PLAIN = dict(speed=(1.0,), gain_db=(0.0, 0.0), level_prob=0.0, telephone_prob=0.0, narrowband_prob=0.0,
             digital_silence_prob=0.0)


def test_level_augmentation_reaches_quiet_microphones():
    """Whatever the source's level, a share of utterances lands anywhere in -55..-15 dBFS RMS."""
    x = torch.from_numpy(np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440).astype(np.float32)) * 0.5
    plain = dict(speed=(1.0,), telephone_prob=0.0, narrowband_prob=0.0, digital_silence_prob=0.0)
    rng = random.Random(0)
    levels = [rms_db(Augment(level_prob=1.0, **plain)(x, 16000, rng)) for _ in range(200)]
    assert all(-55.01 <= v <= -14.99 for v in levels)
    assert min(levels) < -50 and max(levels) > -20  # spread over the range, not stuck at the source's
    relative = [rms_db(Augment(level_prob=0.0, **plain)(x, 16000, rng)) for _ in range(200)]
    assert min(relative) >= rms_db(x) - 12.01  # without it, gain stays within -12..+6 dB of the source
    silent = Augment(level_prob=1.0, **plain)(torch.zeros(1600), 16000, rng)
    assert torch.equal(silent, torch.zeros(1600))  # digital silence stays silence, no NaN


def test_vtlp_moves_formants_and_keeps_the_band_edges():
    """A 1 kHz tone warped by alpha = 1.1 lands in a higher mel bin, 0.9 in a lower, 1.0 where it was."""
    from models.frontend import LogMelFrontend, vtlp_filterbanks

    fe = LogMelFrontend()
    tone = torch.sin(torch.arange(16000) / 16000 * 2 * torch.pi * 1000)[None]
    peaks = []
    for alpha in (0.9, 1.0, 1.1):
        fb = vtlp_filterbanks(fe.mel_fb, torch.tensor([alpha]), 16000)
        feats, _ = fe(tone, mel_fb=fb)
        peaks.append(int(feats[0].mean(-1).argmax()))
    plain, _ = fe(tone)
    assert peaks[0] < peaks[1] < peaks[2] and peaks[1] == int(plain[0].mean(-1).argmax())
    assert torch.allclose(vtlp_filterbanks(fe.mel_fb, torch.ones(1), 16000)[0], fe.mel_fb, atol=1e-6)
    warped = vtlp_filterbanks(fe.mel_fb, torch.tensor([0.9, 1.1]), 16000)
    assert torch.allclose(warped[:, -1], fe.mel_fb[-1].expand(2, -1))  # Nyquist stays at Nyquist


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the CUDA path: needs CUDA")
def test_tiny_preset_learns_on_cuda_from_pinned_batches(digits_manifest, tmp_path):
    """On CUDA the batches come pinned from DataLoader workers, lengths and targets go to the GPU without a wait
    and the losses come back in batches of steps: it learns as on the CPU, and every step's loss comes back."""
    from models.streaming import gather_time, mask_time

    x, lengths = torch.randn(3, 4, 50), torch.tensor([50, 20, 1])
    assert torch.equal(mask_time(x.cuda(), lengths).cpu(), mask_time(x, lengths))
    assert torch.equal(gather_time(x.cuda(), lengths - 1, 5).cpu(), gather_time(x, lengths - 1, 5))
    r = train("tiny", [(str(digits_manifest), 1.0)], tmp_path / "out", steps=70, progress=False, device="cuda",
              workers=2)
    assert len(r["loss"]) == 70 and np.mean(r["loss"][-10:]) < 0.7 * np.mean(r["loss"][:10]), r["loss"]


def test_tiny_preset_learns_and_its_checkpoint_loads_and_resumes(digits_manifest, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = train("tiny", [(str(digits_manifest), 1.0)], out, steps=30, progress=False)
    assert first["start_step"] == 0 and (out / "wavenet-tiny" / "model.safetensors").exists()
    resumed = train("tiny", [(str(digits_manifest), 1.0)], out, steps=70, progress=False)
    assert resumed["start_step"] == 30 and len(resumed["loss"]) == 40
    losses = first["loss"] + resumed["loss"]
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10]), losses
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(out))
    model = load_model("wavenet-tiny")
    assert not torch.equal(model.frontend.std, torch.ones_like(model.frontend.std))  # fitted normalisation
    audio = torch.randn(16000) * 0.1
    report = check_streaming(model, audio, [10, 160])
    assert report["max_abs_diff"] <= 1e-4 and report["transcripts_equal"]


def test_the_train_command_takes_the_recipes_options(digits_manifest, tmp_path):
    """The flags scripts/train-shipped.sh passes (phase 1 turns the later augmentations off)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "clients.cli", "train", "--config", "tiny", "--data",
                        f"{digits_manifest}:2", "--out", str(tmp_path), "--steps", "6", "--threads", "1",
                        "--vtlp-prob", "0", "--digital-silence-prob", "0", "--level-prob", "0", "--seed", "1",
                        "--spec-augment", "0,1", "--vtlp-range", "0.85,1.15", "--average-from", "0.5", "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["model"] == "wavenet-tiny" and summary["start_step"] == 0
    assert summary["spec_augment"] == [0, 1]  # the run says which masks it trained with
    assert summary["vtlp"] == {"prob": 0.0, "range": [0.85, 1.15]}  # and which warps
    assert summary["averaged"]["steps"] > 0 and (tmp_path / "averaged" / "wavenet-tiny" / "model.safetensors").exists()
    assert (tmp_path / "wavenet-tiny" / "model.safetensors").exists()


def test_spec_augment_masks_as_many_bands_as_asked_and_none_at_zero():
    """--spec-augment 0,0 trains on the features as they are; the preset's masks blank some."""
    from models.train import TrainConfig, spec_augment

    torch.manual_seed(0)
    feats = torch.rand(4, 80, 300) + 1.0  # no zeros of its own: a zero is a mask's
    assert torch.equal(spec_augment(feats, TrainConfig(freq_masks=0, time_masks=0)), feats)
    masked = spec_augment(feats, TrainConfig())
    assert (masked == 0).any(dim=(1, 2)).all()  # every utterance masked somewhere
    only_time = spec_augment(feats, TrainConfig(freq_masks=0, time_masks=2))
    assert ((only_time == 0).all(dim=1) | (only_time != 0).all(dim=1)).all()  # whole frames, never bands


def test_the_train_command_refuses_mask_counts_or_warps_that_mean_nothing(digits_manifest, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    for bad in ("2", "-1,0", "a,b", "1,2,3"):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "train", "--config", "tiny", "--data",
                            str(digits_manifest), "--out", str(tmp_path / "out"), f"--spec-augment={bad}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "give two mask counts of 0 or more as FREQ,TIME" in r.stderr, r.stderr
    for bad in ("1.1", "1.1,0.9", "0,1.1", "a,b"):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "train", "--config", "tiny", "--data",
                            str(digits_manifest), "--out", str(tmp_path / "out"), f"--vtlp-range={bad}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "give two warp factors as LOW,HIGH with 0 < LOW <= HIGH" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def test_the_train_command_refuses_a_thread_count_that_means_nothing(digits_manifest, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    for bad in ("-1", "two"):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "train", "--config", "tiny", "--data",
                            str(digits_manifest), "--out", str(tmp_path / "out"), "--threads", bad],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "--threads: must be 1 or more (0: PyTorch's choice)" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_dev_set_keeps_the_best_checkpoint_apart_across_resumes(digits_manifest, tmp_path, monkeypatch):
    """--dev: the lowest dev WER's weights sit in OUT/best/<model>, loadable, and a resumed run
    only replaces them with a lower one."""
    out = tmp_path / "out"
    spec = [(str(digits_manifest), 1.0)]
    first = train("tiny", spec, out, dev_manifest=str(digits_manifest), steps=20, eval_every=10, progress=False)
    assert [s for s, _ in first["dev_wer"]] == [10, 20]
    assert first["best"]["dev_wer"] == min(w for _, w in first["dev_wer"])
    assert first["best"]["step"] in (10, 20)
    resumed = train("tiny", spec, out, dev_manifest=str(digits_manifest), steps=30, eval_every=10, progress=False)
    # the dev curve goes on across the resume: the first call's evaluations, then this one's
    assert [tuple(p) for p in resumed["dev_wer"][:2]] == [tuple(p) for p in first["dev_wer"]]
    assert [s for s, _ in resumed["dev_wer"]] == [10, 20, 30]
    improved = resumed["dev_wer"][2][1] < first["best"]["dev_wer"]
    assert resumed["best"]["step"] == (30 if improved else first["best"]["step"])  # remembered across the resume
    assert resumed["best"]["dev_wer"] == min(first["best"]["dev_wer"], resumed["dev_wer"][2][1])
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(out / "best"))
    best = load_model("wavenet-tiny")
    assert best.cfg.name == "wavenet-tiny"
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(out))
    assert {m.name for m in list_models()} >= {"wavenet-tiny"} and "best" not in {m.name for m in list_models()}


def test_a_run_resumed_from_before_its_best_still_knows_the_best(digits_manifest, tmp_path, monkeypatch):
    """A crash after a best dev WER but before the next checkpoint: the resumed run (from the older
    checkpoint) must not take a worse WER for a new best and overwrite the better weights."""
    out, spec = tmp_path / "out", [(str(digits_manifest), 1.0)]
    scripted = iter([0.9] * 6 + [0.5])  # dev WER at steps 5..30, then 0.5 at 35; tiny checkpoints every 30

    def dev_wer(model, dev):
        value = next(scripted, None)
        if value is None:
            raise RuntimeError("the machine went down")  # at step 40, after the best at 35
        return value

    monkeypatch.setattr("models.train.dev_wer", dev_wer)
    with pytest.raises(RuntimeError, match="went down"):
        train("tiny", spec, out, dev_manifest=str(digits_manifest), steps=40, eval_every=5, progress=False)
    best_weights = (out / "best" / "wavenet-tiny" / "model.safetensors").read_bytes()
    scripted = iter([0.7, 0.6])  # steps 35 and 40 again, after resuming from step 30: both worse than 0.5
    resumed = train("tiny", spec, out, dev_manifest=str(digits_manifest), steps=40, eval_every=5, progress=False)
    assert resumed["start_step"] == 30
    assert resumed["best"]["step"] == 35 and resumed["best"]["dev_wer"] == 0.5
    # the curve is that of the weights resumed from: the lost step 35 and 40 are the new ones
    assert [tuple(p) for p in resumed["dev_wer"]] == [(s, 0.9) for s in range(5, 31, 5)] + [(35, 0.7), (40, 0.6)]
    assert (out / "best" / "wavenet-tiny" / "model.safetensors").read_bytes() == best_weights


def test_the_dev_wer_training_reports_is_the_wer_eval_gives(shared_data, tmp_path):
    """Checkpoints are chosen by the dev WER: it must be the greedy WER the model gets when it
    serves (end pad included), or the choice is made on another decoding than the one shipped."""
    from models.engine import Recogniser
    from models.evaluate import InProcess, evaluate
    from models.train import dev_wer

    src = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in src.read_text().splitlines() if json.loads(l)["speaker"] == "theo"][::25]
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps({**r, "audio": str(src.parent / r["audio"])}) + "\n" for r in rows))
    model = load_model("wavenet-cpu")
    dev = SpeechData([(str(path), 1.0)], Vocabulary(model.cfg.vocab), max_seconds=60.0)
    assert dev_wer(model, dev) == pytest.approx(evaluate(path, InProcess(Recogniser(model)))["wer"])


def test_configs_train_together_on_a_time_budget_with_workers(digits_manifest, tmp_path, monkeypatch):
    """Two models on the same batches, built by worker processes, until the clock runs out: both stop
    at the same step, near the budget, with checkpoints that load and resume from where they were."""
    from models.train import train_together

    out, spec = tmp_path / "out", [(str(digits_manifest), 1.0)]
    budget_s = 6.0
    first, second = train_together(["tiny", "cpu-small"], spec, out, steps=10**6, minutes=budget_s / 60,
                                   batch_seconds=4, workers=2, progress=False)
    assert first["model"] == "wavenet-tiny" and second["model"] == "wavenet-small"
    assert 0 < first["steps"] == second["steps"] < 10**6
    assert budget_s <= first["seconds"] < budget_s + 10  # the last step ends past the budget, not far
    state = torch.load(out / "wavenet-small" / "trainer.pt", weights_only=True)
    assert state["step"] == second["steps"] and state["elapsed_s"] == pytest.approx(second["seconds"])
    again = train_together(["tiny", "cpu-small"], spec, out, steps=10**6, minutes=budget_s / 60, progress=False)
    assert [h["start_step"] for h in again] == [first["steps"], second["steps"]] and not again[0]["loss"]
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(out))
    assert load_model("wavenet-small").cfg.d_model == 96


def test_a_session_shorter_than_the_schedule_stops_checkpointed_and_the_next_goes_on(digits_manifest, tmp_path):
    """--session-minutes: a machine lent for less time than the schedule wants. The first session
    stops on its clock with the schedule unfinished and everything saved; the next resumes there and
    the schedule's clock (--minutes) runs on across both."""
    from models.train import train_together

    out, spec = tmp_path / "out", [(str(digits_manifest), 1.0)]
    schedule_s, session_s = 12.0, 3.0
    first, = train_together(["tiny"], spec, out, steps=10**6, minutes=schedule_s / 60, session_minutes=session_s / 60,
                            batch_seconds=4, progress=False)
    # the session clock counts checkpoints and the rest too; the schedule's, training steps only
    assert not first["done"] and 0 < first["steps"] and session_s / 2 <= first["seconds"] <= session_s + 5
    state = torch.load(out / "wavenet-tiny" / "trainer.pt", weights_only=True)
    assert state["step"] == first["steps"] and state["elapsed_s"] == pytest.approx(first["seconds"])
    rest, = train_together(["tiny"], spec, out, steps=10**6, minutes=schedule_s / 60, batch_seconds=4, progress=False)
    assert rest["done"] and rest["start_step"] == first["steps"] < rest["steps"]
    assert schedule_s <= rest["seconds"] < schedule_s + 10  # the clock went on from the first session's


def test_init_from_starts_from_trained_weights_with_a_fresh_schedule(digits_manifest, tmp_path):
    """--init-from: a run with no checkpoint of its own starts from another folder's weights (and their
    normalisation); a model that folder lacks starts from scratch."""
    from safetensors.torch import load_file

    from models.train import train_together

    spec = [(str(digits_manifest), 1.0)]
    train("tiny", spec, tmp_path / "a", steps=10, progress=False)
    tuned, fresh = train_together(["tiny", "cpu-small"], spec, tmp_path / "b", steps=2, lr=0.0,
                                  init_from=tmp_path / "a", progress=False)
    assert tuned["init"] == str(tmp_path / "a" / "wavenet-tiny") and tuned["start_step"] == 0
    assert "init" not in fresh
    a = load_file(str(tmp_path / "a" / "wavenet-tiny" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "wavenet-tiny" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # lr 0: the weights it started from


def test_a_seed_replays_a_run_and_another_seed_is_another_run(digits_manifest, tmp_path):
    """--seed: how much two runs of the same settings differ is measured with two seeds; the same seed
    (the presets' 0 by default) gives the same weights again."""
    from safetensors.torch import load_file

    spec = [(str(digits_manifest), 1.0)]

    def weights(out, seed):
        train("tiny", spec, tmp_path / out, steps=4, progress=False, seed=seed)
        return load_file(str(tmp_path / out / "wavenet-tiny" / "model.safetensors"))

    a, again, other = weights("a", None), weights("again", 0), weights("other", 1)
    assert all(torch.equal(a[k], again[k]) for k in a)
    assert any(not torch.equal(a[k], other[k]) for k in a)


def test_the_schedule_ends_on_the_clock_or_at_the_step_count():
    from models.train import TrainConfig, lr_factor, schedule_progress

    cfg = TrainConfig(steps=1000, warmup_steps=100, minutes=10)
    assert lr_factor(cfg, 49, 0.0) == pytest.approx(0.5)  # warm-up by steps
    assert schedule_progress(cfg, 550, 0.0) == pytest.approx(0.5)
    assert schedule_progress(cfg, 200, 450.0) == pytest.approx(0.75)  # the clock is further along
    assert lr_factor(cfg, 200, schedule_progress(cfg, 200, 600.0)) == pytest.approx(0.05)
    assert lr_factor(cfg, 200, schedule_progress(TrainConfig(steps=1000, warmup_steps=100), 200, 600.0)) > 0.9


@pytest.mark.parametrize("length", [16000, 50021, 96001])  # 50021 + 15999 - 1 = 66019 = 7 * 9431: slow for an FFT
def test_reverberation_is_the_full_convolution_cut_to_the_utterance(length):
    """At a fast FFT length (zero padding past the full convolution) the reverberant speech is torchaudio's
    fftconvolve's, to float rounding."""
    import torchaudio.functional as AF

    from models.data import reverberate

    g = torch.Generator().manual_seed(length)
    x, rir = torch.randn(length, generator=g), torch.randn(15999, generator=g) * torch.linspace(1, 0, 15999)
    expected = AF.fftconvolve(x, rir)[:length]
    assert torch.allclose(reverberate(x, rir), expected, atol=1e-5 * float(expected.abs().max()))


def test_the_fft_length_is_the_smallest_with_no_prime_factor_above_five():
    from models.data import fast_fft_length

    def smooth(m):
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        return m == 1

    for n in range(1, 3000):
        m = fast_fft_length(n)
        assert m >= n and smooth(m) and not any(smooth(k) for k in range(n, m)), n


def test_lead_trim_starts_utterances_at_their_speech():
    """Tightly cut clips start with speech: the trim cuts a clip's lead-in silence (its noise floor
    included) to at most the kept margin, and at probability 0 draws nothing (runs replay)."""
    from models.data import trim_lead

    g = torch.Generator().manual_seed(0)
    tone = torch.sin(torch.arange(8000) / 16000 * 2 * torch.pi * 300) * 0.3
    x = torch.cat([torch.randn(8000, generator=g) * 1e-3, tone])  # 0.5 s of a quiet room, then 0.5 s of sound
    assert abs(len(trim_lead(x, 16000)) - 8000) <= 160
    assert abs(len(trim_lead(x, 16000, keep_s=0.05)) - 8800) <= 160
    assert torch.equal(trim_lead(torch.zeros(4000), 16000), torch.zeros(4000))  # nothing loud: kept whole
    assert torch.equal(trim_lead(tone, 16000), tone)  # already tight

    out = Augment(lead_trim_prob=1.0, **PLAIN)(x, 16000, random.Random(0))
    assert 8000 <= len(out) <= 8000 + 800 + 160
    a, b = random.Random(1), random.Random(1)
    Augment(lead_trim_prob=0.0, **PLAIN)(x, 16000, a)
    Augment(**PLAIN)(x, 16000, b)
    assert a.random() == b.random()  # the same draws as before the option existed


def test_noise_floor_lies_under_the_pads_at_its_drawn_depth():
    """A microphone's floor: with the floor on, the digital-silence pads carry a steady hiss 15-40 dB
    under the utterance's level (not exact zeros), the speech is still there, and at probability 0
    nothing is drawn (runs replay)."""
    from models.data import noise_floor

    tone = torch.sin(torch.arange(16000) / 16000 * 2 * torch.pi * 300) * 0.1
    plain = {**PLAIN, "digital_silence_prob": 1.0, "digital_silence_s": (0.5, 0.5)}
    for seed in range(6):
        out = Augment(floor_prob=1.0, **plain)(tone, 16000, random.Random(seed))
        assert len(out) >= 16000 + 8000
        pad = out[:8000]  # the pad before (always at least one side, and the first)
        assert 15.0 - 1.0 <= rms_db(tone) - rms_db(pad) <= 40.0 + 1.0
        assert rms_db(out) == pytest.approx(rms_db(torch.nn.functional.pad(tone, (8000, len(out) - 24000))), abs=0.5)
    quiet = Augment(floor_prob=0.0, **plain)(tone, 16000, random.Random(0))
    assert torch.equal(quiet[:8000], torch.zeros(8000))
    a, b = random.Random(1), random.Random(1)
    Augment(floor_prob=0.0, **plain)(tone, 16000, a)
    Augment(**plain)(tone, 16000, b)
    assert a.random() == b.random()

    dark = noise_floor(16000, 16000, 0.01, random.Random(3))  # level as asked, whatever its colour
    assert rms_db(dark) == pytest.approx(-40.0, abs=0.1)


def test_averaged_weights_are_the_mean_of_every_step_from_where_the_schedule_says(digits_manifest, tmp_path,
                                                                                   monkeypatch):
    """--average-from 0.5: the weights of every step in the schedule's second half, averaged, kept apart in
    OUT/averaged/ beside the last step's (which stay the run's own); a model the registry loads."""
    from models.train import _Run

    seen = []
    step = _Run.train_step

    def recording(run, batch):
        step(run, batch)
        seen.append((run.step, {k: v.detach().clone() for k, v in run.model.state_dict().items()}))

    monkeypatch.setattr(_Run, "train_step", recording)
    out = tmp_path / "out"
    h = train("tiny", [(str(digits_manifest), 1.0)], out, steps=20, progress=False, average_from=0.5)
    # tiny warms up for 5 steps; the schedule's progress is (step - 5) / 15, at least 0.5 from step 13 on
    assert h["averaged"] == {"from_step": 13, "steps": 8, "out": str(out / "averaged" / "wavenet-tiny")}
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(out / "averaged"))
    averaged = load_model("wavenet-tiny").state_dict()
    last = seen[-1][1]
    for k, v in averaged.items():
        mean = torch.stack([s[k].float() for n, s in seen if n >= 13]).mean(0)
        assert torch.allclose(v.float(), mean, atol=1e-6), k
    assert any(not torch.equal(averaged[k], last[k]) for k in last)
    assert "averaged" not in train("tiny", [(str(digits_manifest), 1.0)], tmp_path / "plain", steps=4,
                                   progress=False)  # without the option nothing is averaged


def test_an_average_goes_on_across_sessions(digits_manifest, tmp_path):
    """A run stopped by its session's clock keeps its average in its checkpoint: the next session adds to it
    rather than starting another."""
    from models.train import train_together

    out, spec = tmp_path / "out", [(str(digits_manifest), 1.0)]
    first, = train_together(["tiny"], spec, out, steps=10**6, minutes=8 / 60, session_minutes=2 / 60,
                            batch_seconds=4, progress=False, average_from=0.0)
    assert not first["done"] and first["averaged"]["steps"] == first["steps"]
    rest, = train_together(["tiny"], spec, out, steps=10**6, minutes=8 / 60, batch_seconds=4, progress=False,
                           average_from=0.0)
    assert rest["done"] and rest["averaged"] == {**first["averaged"], "steps": rest["steps"]}
    with pytest.raises(ValueError, match="average-from"):
        train_together(["tiny"], spec, tmp_path / "bad", steps=2, progress=False, average_from=1.0)
