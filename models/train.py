"""CTC training for both families: `wavestream train --config NAME [NAME ...] --data MANIFEST[:WEIGHT] ... --out DIR`.

The model folder it writes (`DIR/<model name>/config.json + model.safetensors`) is what the
registry loads (`WAVESTREAM_MODEL_DIR=DIR`). Trainer state for resuming sits beside it in
`DIR/<model name>/trainer.pt` (tensors and numbers only, loaded with weights_only=True). With a dev
set, the checkpoint with the lowest dev WER so far is kept apart in `DIR/best/<model name>/`
(`WAVESTREAM_MODEL_DIR=DIR/best`): the last step is not always the best one. Its step and WER sit
beside it in `best.json`, written with the weights, so a run resumed from an older checkpoint still
knows what it has to beat. With `average_from`, the mean of the weights of every step from that point of
the schedule on (stochastic weight averaging: torch.optim.swa_utils) is kept in `DIR/averaged/<model name>/`,
beside the last step's; a run's weights late in its schedule wander around a minimum its mean lies nearer.

Several configs train together on the same batches (one augmented batch feeds every model), augmented by
`workers` CPU processes. On a GPU these small models' steps go as fast as this process queues their kernels
(a lease measured its workers making 3.3 times what the step used, the GPU busy 42%), so the step waits for
the GPU as little as the code can make it: lengths and targets go to it from pinned memory, and the losses come
back every LOSS_READ_EVERY steps (PyTorch's CUDA CTC loss still copies its lengths with a wait). A time budget
(`minutes`) ends the learning-rate schedule on the clock rather than at a step count, so a run fills a lent
machine's time; the steps it reached are in its summary.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from .config import OFFLINE_BASE, OFFLINE_CPU, STREAMING_BASE, STREAMING_CPU, ModelConfig
from .ctc import Vocabulary, greedy_transcript
from .data import Augment, SpeechData
from .distill import Teacher, measure_delay
from .engine import END_PAD_S
from .frontend import vtlp_filterbanks
from .evaluate import wer_cer
from .recogniser import SpeechRecogniser, deepened, widened_lookahead
from .registry import load_from_dir, load_model, save_model
from .streaming import to_device


@dataclass
class TrainConfig:
    steps: int = 30000
    batch_seconds: float = 300.0      # audio per batch (length-bucketed)
    lr: float = 1e-3
    warmup_steps: int = 1000
    weight_decay: float = 1e-2
    grad_clip: float = 5.0
    freq_masks: int = 2               # SpecAugment
    freq_mask_bins: int = 15
    time_masks: int = 2
    time_mask_frames: int = 40
    vtlp_prob: float = 0.5            # vocal-tract-length perturbation: share of utterances warped
    vtlp_range: tuple[float, float] = (0.9, 1.1)
    max_seconds: float = 20.0         # longer utterances are left out
    eval_every: int = 1000
    checkpoint_every: int = 500
    seed: int = 0
    minutes: float | None = None      # a time budget: the schedule ends on the clock (or at `steps`)
    average_from: float | None = None  # from this point of the schedule (0..1) on, every step's weights averaged


CPU_TRAINING = TrainConfig(steps=9000, batch_seconds=40, lr=2e-3, warmup_steps=300, eval_every=1000,
                           checkpoint_every=200)
TINY = ModelConfig(name="wavenet-tiny", d_model=32, subsample_channels=8, dilations=[1, 2, 4])
PRESETS: dict[str, tuple[ModelConfig, TrainConfig]] = {
    # runs end to end on a CPU in a couple of minutes: the smoke test and CI
    "tiny": (TINY, TrainConfig(steps=60, batch_seconds=10, lr=3e-3, warmup_steps=5, eval_every=0,
                               checkpoint_every=30, max_seconds=3)),
    # the best that fits a 2-core CPU in an hour or so
    "cpu-small": (ModelConfig(name="wavenet-small", d_model=96, subsample_channels=16, dilations=[1, 2, 4, 8, 1, 2, 4, 8]),
                  TrainConfig(steps=3000, batch_seconds=60, lr=2e-3, warmup_steps=200, eval_every=500)),
    # what ships (models/weights/*-cpu): the sizes a CPU serves; scripts/train-shipped.sh
    "wavenet-cpu": (STREAMING_CPU, CPU_TRAINING),
    "logmel-cnn-cpu": (OFFLINE_CPU, CPU_TRAINING),
    # the full sizes, for a CUDA GPU
    "wavenet-base": (STREAMING_BASE, TrainConfig()),
    "logmel-cnn-base": (OFFLINE_BASE, TrainConfig()),
    # the full sizes under names of their own (the -base names stay untrained sizes for tests and
    # benchmarks); the streaming one with the shipped model's 80 ms of lookahead
    "wavenet-gpu": (replace(STREAMING_BASE, name="wavenet-gpu", lookahead_frames=2), TrainConfig()),
    "logmel-cnn-gpu": (replace(OFFLINE_BASE, name="logmel-cnn-gpu"), TrainConfig()),
}


def lr_factor(cfg: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up over steps, then a cosine down to 5% over `progress` (0..1)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def schedule_progress(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """How far along the schedule is: by steps after warm-up, or by the clock where that is further."""
    by_steps = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    by_clock = elapsed_s / (cfg.minutes * 60) if cfg.minutes else 0.0
    return max(by_steps, by_clock)


@torch.no_grad()
def fit_normalisation(model: SpeechRecogniser, data: SpeechData, n: int = 200) -> None:
    """Per-mel-bin mean and std of the training audio, fixed into the frontend (streaming-safe)."""
    model.frontend.set_normalisation(torch.zeros(model.cfg.n_mels), torch.ones(model.cfg.n_mels))
    feats = []
    for u in data.draw(n):
        f, _ = model.frontend(data._samples(u)[None].to(model.frontend.mean.device))
        feats.append(f[0])
    allf = torch.cat(feats, dim=-1)
    model.frontend.set_normalisation(allf.mean(-1), allf.std(-1))


def spec_augment(feats: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    x = feats.unsqueeze(1)  # [B, 1, mels, T]: iid masks per utterance
    for _ in range(cfg.freq_masks):
        x = T.FrequencyMasking(cfg.freq_mask_bins, iid_masks=True)(x)
    for _ in range(cfg.time_masks):
        x = T.TimeMasking(min(cfg.time_mask_frames, max(1, feats.shape[-1] // 5)), iid_masks=True)(x)
    return x.squeeze(1)


LOSS_READ_EVERY = 25  # steps between reading the losses back from the device (_Run.read_losses)


def ctc_loss(model: SpeechRecogniser, batch, cfg: TrainConfig, device, teacher: Teacher | None = None) -> torch.Tensor:
    """CTC, plus with a `teacher` its weighted divergence from the teacher's frame posteriors."""
    audio, lengths, targets, target_lengths = batch
    mel_fb = None
    if cfg.vtlp_prob > 0:
        n = audio.shape[0]
        alphas = torch.empty(n).uniform_(*cfg.vtlp_range)
        alphas = torch.where(torch.rand(n) < cfg.vtlp_prob, alphas, torch.ones(n))
        mel_fb = vtlp_filterbanks(model.frontend.mel_fb, alphas, model.cfg.sample_rate)
    audio = audio.to(device, non_blocking=True)
    feats, feat_lengths = model.frontend(audio, lengths, mel_fb=mel_fb)
    feats = spec_augment(feats, cfg)
    out = model.forward_features(feats, feat_lengths)
    log_probs = out.logits.float().log_softmax(-1)
    # the lengths stay on the CPU, where ctc_loss reads them; the mean over target lengths is taken here, as
    # reduction="mean" does, since its own divisor is a blocking copy to the GPU
    per_utterance = F.ctc_loss(log_probs.transpose(0, 1), to_device(targets, device), out.lengths, target_lengths,
                               blank=0, reduction="none", zero_infinity=True)
    loss = (per_utterance / to_device(target_lengths, device).clamp_min(1)).mean()
    if teacher is not None:
        loss = loss + teacher.weight * teacher.divergence(log_probs, out.lengths, *teacher.log_probs(audio, lengths, mel_fb))
    return loss


@torch.no_grad()
def dev_wer(model: SpeechRecogniser, dev: SpeechData, limit: int = 100) -> float:
    model.eval()
    vocab = Vocabulary(model.cfg.vocab)
    end_pad = round(END_PAD_S * model.cfg.sample_rate)  # decoded as the service decodes finals
    refs, hyps = [], []
    for u, samples in dev.recordings(limit):
        x = F.pad(samples, (0, end_pad))
        logits = model(x[None].to(model.embed.weight.device)).logits[0].cpu()
        hyps.append(greedy_transcript(logits, vocab, model.cfg.frame_ms / 1000).text)
        refs.append(u.text)
    model.train()
    return wer_cer(refs, hyps)[0]


class _Batches(torch.utils.data.IterableDataset):
    """`SpeechData.batches` in DataLoader workers, each drawing with a seed of its own."""

    def __init__(self, data: SpeechData, batch_seconds: float, seed: int):
        self.data, self.batch_seconds, self.seed = data, batch_seconds, seed

    def __iter__(self):
        worker = torch.utils.data.get_worker_info()
        torch.set_num_threads(1)  # one core per worker: the workers are the parallelism
        self.data.rng = random.Random(self.seed * 1000 + (worker.id if worker else 0) + 1)
        return self.data.batches(self.batch_seconds)


def batch_stream(data: SpeechData, batch_seconds: float, workers: int, seed: int, pin: bool):
    """Endless training batches; with workers, built in parallel processes (the audio decoded once, here,
    and shared with them), each drawing with a seed of its own: other batches than in-process ones."""
    if workers <= 0:
        return data.batches(batch_seconds)
    data.preload()
    loader = torch.utils.data.DataLoader(_Batches(data, batch_seconds, seed), batch_size=None, num_workers=workers,
                                         prefetch_factor=4, persistent_workers=True, pin_memory=pin)
    return iter(loader)


class _Run:
    """One model's training: its weights, optimiser, schedule, checkpoints and best dev WER."""

    def __init__(self, cfg: TrainConfig, model_cfg: ModelConfig, out_dir: Path, device: torch.device,
                 data: SpeechData, resume: bool, init_from: Path | None, grow: list[int] | None = None,
                 lookahead: int | None = None):
        self.cfg, self.device, self.teacher = cfg, device, None
        self.out = out_dir / model_cfg.name
        self.best_dir = out_dir / "best" / model_cfg.name  # lowest dev WER so far (WAVESTREAM_MODEL_DIR=OUT/best)
        self.averaged_dir = out_dir / "averaged" / model_cfg.name  # cfg.average_from (WAVESTREAM_MODEL_DIR=OUT/averaged)
        self.state_path = self.out / "trainer.pt"
        state, self.init = None, None
        if resume and self.state_path.exists():
            self.model = load_from_dir(self.out).to(device)
            state = torch.load(self.state_path, map_location=device, weights_only=True)
        elif init_from is not None and (init_from / model_cfg.name / "config.json").exists():
            # fine-tuning: trained weights (and their normalisation), a fresh optimiser and schedule
            self.model = load_from_dir(init_from / model_cfg.name).to(device)
            self.init = str(init_from / model_cfg.name)
            if grow:
                self.model = deepened(self.model, grow)
            if lookahead is not None:
                self.model = widened_lookahead(self.model, lookahead)
        elif grow or lookahead is not None:
            option = "--grow deepens" if grow else "--lookahead widens"
            raise ValueError(f"{option} trained weights: {model_cfg.name!r} has none to start from "
                             f"(no checkpoint in {self.out}, nor --init-from weights)")
        else:
            self.model = SpeechRecogniser(model_cfg).to(device)
            fit_normalisation(self.model, data)
        self.model.train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.step, self.elapsed_s = 0, 0.0
        self.best = {"step": None, "dev_wer": math.inf}
        # the normalisation's buffers are fixed, so averaging them with the weights changes nothing
        self.averaged = AveragedModel(self.model, use_buffers=True) if cfg.average_from is not None else None
        self.averaged_from: int | None = None  # the first step averaged
        if state is not None:
            self.opt.load_state_dict(state["optimizer"])
            self.step = int(state["step"])
            self.elapsed_s = float(state.get("elapsed_s", 0.0))
            if self.averaged is not None and "averaged" in state:
                self.averaged.load_state_dict(state["averaged"])
                self.averaged_from = int(state["averaged_from"])
            if (self.best_dir / "best.json").exists():
                self.best = json.loads((self.best_dir / "best.json").read_text())
        # every dev WER of these weights' run, earlier sessions' too (a resumed run's summary and
        # curve would otherwise start at the resume); those after the checkpoint resumed from are dropped
        self.dev_log = self.out / "dev_wer.jsonl"
        earlier = [] if state is None or not self.dev_log.exists() else [
            (r["step"], r["dev_wer"]) for r in map(json.loads, self.dev_log.read_text().splitlines())
            if r["step"] <= self.step]
        self.dev_log.parent.mkdir(parents=True, exist_ok=True)
        self.dev_log.write_text("".join(json.dumps({"step": s, "dev_wer": w}) + "\n" for s, w in earlier))
        self.history = {"loss": [], "dev_wer": earlier, "start_step": self.step}
        self.ema = None
        self.unread: list[torch.Tensor] = []  # losses still on the device (read_losses)

    def teach(self, teacher: Teacher) -> None:
        teacher.check_student(self.model)
        self.teacher = teacher

    @property
    def name(self) -> str:
        return self.model.cfg.name

    @property
    def done(self) -> bool:
        return self.step >= self.cfg.steps or bool(self.cfg.minutes and self.elapsed_s >= self.cfg.minutes * 60)

    def train_step(self, batch) -> None:
        factor = lr_factor(self.cfg, self.step, schedule_progress(self.cfg, self.step, self.elapsed_s))
        for group in self.opt.param_groups:
            group["lr"] = self.cfg.lr * factor
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            loss = ctc_loss(self.model, batch, self.cfg, self.device, self.teacher)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        self.step += 1
        self.unread.append(loss.detach())
        if self.averaged is not None and schedule_progress(self.cfg, self.step, self.elapsed_s) >= self.cfg.average_from:
            self.averaged.update_parameters(self.model)
            self.averaged_from = self.step if self.averaged_from is None else self.averaged_from

    def read_losses(self) -> None:
        """The losses since the last read into the history and the running mean: reading one waits for the GPU
        to finish every step queued before it, so they are read a batch of steps at a time."""
        if self.unread:
            for value in torch.stack(self.unread).tolist():
                self.history["loss"].append(value)
                self.ema = value if self.ema is None else 0.95 * self.ema + 0.05 * value
            self.unread = []

    def evaluate(self, dev: SpeechData) -> float:
        wer = dev_wer(self.model, dev)
        self.history["dev_wer"].append((self.step, wer))
        with self.dev_log.open("a") as f:
            f.write(json.dumps({"step": self.step, "dev_wer": wer}) + "\n")
        if wer < self.best["dev_wer"]:
            self.best = {"step": self.step, "dev_wer": wer}
            save_model(self.model, self.best_dir)
            (self.best_dir / "best.json").write_text(json.dumps(self.best) + "\n")
        return wer

    def checkpoint(self) -> None:
        save_model(self.model, self.out)
        state = {"step": self.step, "elapsed_s": self.elapsed_s, "optimizer": self.opt.state_dict()}
        if self.averaged_from is not None:
            save_model(self.averaged.module, self.averaged_dir)
            state.update(averaged=self.averaged.state_dict(), averaged_from=self.averaged_from)
        torch.save(state, self.state_path)

    def summary(self, hours: float) -> dict:
        self.read_losses()
        h = dict(self.history, model=self.name, out=str(self.out), hours=hours, steps=self.step,
                 seconds=self.elapsed_s, done=self.done, params=sum(p.numel() for p in self.model.parameters()),
                 spec_augment=[self.cfg.freq_masks, self.cfg.time_masks],
                 vtlp=dict(prob=self.cfg.vtlp_prob, range=list(self.cfg.vtlp_range)))
        if self.init:
            h["init"] = self.init
        if self.teacher is not None:
            h["teacher"] = {"model": self.teacher.model.cfg.name, "weight": self.teacher.weight,
                            "delay": self.teacher.delay}
        if self.best["step"]:
            h["best"] = {**self.best, "out": str(self.best_dir)}
        if self.averaged_from is not None:
            h["averaged"] = {"from_step": self.averaged_from, "steps": int(self.averaged.n_averaged),
                             "out": str(self.averaged_dir)}
        return h


def train(preset: str, data_specs: list[tuple[str, float]], out_dir: str | Path, **kw) -> dict:
    """CTC training of one preset (see `train_together` for the options)."""
    return train_together([preset], data_specs, out_dir, **kw)[0]


def train_together(presets: list[str], data_specs: list[tuple[str, float]], out_dir: str | Path,
                   dev_manifest: str | None = None, device: str = "cpu", steps: int | None = None,
                   noise_dir: str | None = None, rir_dir: str | None = None, resume: bool = True,
                   progress: bool = True, name: str | None = None, vtlp_prob: float | None = None,
                   vtlp_range: tuple[float, float] | None = None,
                   augment: dict | None = None, eval_every: int | None = None, workers: int = 0,
                   minutes: float | None = None, batch_seconds: float | None = None, lr: float | None = None,
                   init_from: str | Path | None = None, session_minutes: float | None = None,
                   teacher: str | None = None, distill_weight: float = 1.0,
                   distill_delay: int | None = None, seed: int | None = None,
                   grow: list[int] | None = None, spec_augment: tuple[int, int] | None = None,
                   lookahead: int | None = None, average_from: float | None = None) -> list[dict]:
    """CTC training of one or more presets on the same batches; `augment` overrides `Augment` fields
    (e.g. digital_silence_prob), the other options the presets' `TrainConfig`s. The batches' size,
    length limit and seed are the first preset's. `init_from`: a folder of `<model name>/` weights to
    start from (fine-tuning) where a run has no checkpoint of its own. `session_minutes`: this call
    trains at most so long, then checkpoints and returns; the schedule (`minutes`, `steps`) goes on
    where it stopped when the runs are resumed (a lease of a machine shorter than the schedule).
    `teacher`: a trained model (a name or a model folder) whose frame posteriors every model also
    learns, with `distill_weight`, `distill_delay` frames late (None: measured on the dev set; see
    `models.distill`). `seed`: the draws of batches, augmentation and new weights (another run of the
    same settings; the presets' is 0). `grow`: dilations of blocks added to the `init_from` weights
    (`models.recogniser.deepened`: they start out reading as those weights); a resumed run has them already.
    `lookahead`: the `init_from` streaming weights' lookahead widened to so many frames
    (`models.recogniser.widened_lookahead`: the new taps start at zero); a resumed run has it already.
    `spec_augment`: SpecAugment's frequency and time masks per utterance in place of the presets' ((0, 0): none).
    `vtlp_range`: the lowest and highest warp factor of vocal-tract-length perturbation in place of the presets'.
    `average_from`: from this point of the schedule (0..1: by steps, or by the clock with `minutes`) to its end,
    every step's weights are averaged into OUT/averaged/<model name>/ (resumed with the run)."""
    if name and len(presets) > 1:
        raise ValueError("--name applies to a single --config")
    overrides = {k: v for k, v in dict(steps=steps, eval_every=eval_every, vtlp_prob=vtlp_prob, minutes=minutes,
                                       batch_seconds=batch_seconds, lr=lr, seed=seed, average_from=average_from,
                                       vtlp_range=vtlp_range).items() if v is not None}
    if vtlp_range is not None and not 0 < vtlp_range[0] <= vtlp_range[1]:
        raise ValueError(f"VTLP's warp factors are LOW,HIGH with 0 < LOW <= HIGH, got {vtlp_range}")
    if average_from is not None and not 0 <= average_from < 1:
        raise ValueError(f"--average-from is a point of the schedule from 0 to below 1, got {average_from}")
    if spec_augment is not None:
        if min(spec_augment) < 0:
            raise ValueError(f"SpecAugment's mask counts must be 0 or more, got {spec_augment}")
        overrides.update(freq_masks=spec_augment[0], time_masks=spec_augment[1])
    configs = _configs(presets, name, overrides)
    first_model, first_cfg = configs[0]
    device = torch.device(device)
    torch.manual_seed(first_cfg.seed)
    out_dir = Path(out_dir)
    vocab = Vocabulary(first_model.vocab)
    data = training_data(data_specs, first_model, first_cfg, noise_dir, rir_dir, augment)
    dev = SpeechData([(dev_manifest, 1.0)], vocab, first_model.sample_rate, 60.0) if dev_manifest else None
    runs = [_Run(cfg, m, out_dir, device, data, resume, Path(init_from) if init_from else None, grow, lookahead)
            for m, cfg in configs]
    if teacher:
        taught = _teacher(teacher, distill_weight, distill_delay, runs[0], dev, device)
        for run in runs:
            run.teach(taught)

    pending = [r for r in runs if not r.done]
    if pending:
        batches = batch_stream(data, first_cfg.batch_seconds, workers, first_cfg.seed + runs[0].step,
                               pin=device.type == "cuda")
        total = max(r.cfg.steps for r in runs)
        bar = tqdm(total=None if first_cfg.minutes else total, initial=min(r.step for r in pending),
                   disable=not progress, unit="step", dynamic_ncols=True)
        session_ends = time.perf_counter() + session_minutes * 60 if session_minutes else math.inf
        while pending:
            clock = time.perf_counter()
            batch = next(batches)
            read = _step(pending, batch)
            # the clock the time budget reads: the whole step, every model's part, and where the losses are read
            # the wait for the GPU to finish the steps queued since the last read; read once, so that runs trained
            # together keep the same clock and stop at the same step
            spent = time.perf_counter() - clock
            for run in pending:
                run.elapsed_s += spent
            session_over = time.perf_counter() >= session_ends  # the rest is for the next session
            postfix, shown = {}, bool(read)
            for run in pending:
                key = run.name if len(runs) > 1 else "loss"
                if run.ema is not None:
                    postfix[key] = f"{run.ema:.3f}"
                if dev is not None and run.cfg.eval_every and run.step % run.cfg.eval_every == 0:
                    postfix[f"{run.name} dev_wer" if len(runs) > 1 else "dev_wer"] = f"{run.evaluate(dev):.3f}"
                    shown = True
                if run.step % run.cfg.checkpoint_every == 0 or run.done or session_over:
                    run.checkpoint()
            if len(runs) == 1:
                postfix["lr"] = f"{runs[0].opt.param_groups[0]['lr']:.1e}"
            if shown:
                bar.set_postfix(postfix)
            bar.update(min(r.step for r in pending) - bar.n)
            pending = [] if session_over else [r for r in pending if not r.done]
        bar.close()
    return [r.summary(data.hours) for r in runs]


def training_data(data_specs: list[tuple[str, float]], model_cfg: ModelConfig, cfg: TrainConfig,
                  noise_dir: str | None = None, rir_dir: str | None = None, augment: dict | None = None) -> SpeechData:
    """The training set as `train_together` draws it for a preset (`augment` overrides `Augment` fields)."""
    return SpeechData(data_specs, Vocabulary(model_cfg.vocab), model_cfg.sample_rate, cfg.max_seconds,
                      Augment.from_dirs(noise_dir, rir_dir, **(augment or {})), cfg.seed)


def _step(runs: list[_Run], batch) -> list[_Run]:
    """One step of every run on the same batch; the runs whose losses were read back (every LOSS_READ_EVERY)."""
    for run in runs:
        run.train_step(batch)
    read = [run for run in runs if run.step % LOSS_READ_EVERY == 0]
    for run in read:
        run.read_losses()
    return read


def _configs(presets: list[str], name: str | None, overrides: dict) -> list[tuple[ModelConfig, TrainConfig]]:
    """The presets' model and training configs, `overrides` applied, checked to train together."""
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise ValueError(f"no preset {', '.join(unknown)} (presets: {', '.join(PRESETS)})")
    configs = []
    for preset in presets:
        model_cfg, cfg = PRESETS[preset]
        configs.append((replace(model_cfg, name=name) if name else model_cfg, replace(cfg, **overrides)))
    if len({m.name for m, _ in configs}) < len(configs):
        raise ValueError("two configs of the same model name")
    first = configs[0][0]
    if any(m.vocab != first.vocab or m.sample_rate != first.sample_rate for m, _ in configs):
        raise ValueError("configs trained together need the same vocabulary and sample rate")
    return configs


def step_rate(presets: list[str], data_specs: list[tuple[str, float]], batch_seconds: float, seconds: float,
              device: str = "cpu", noise_dir: str | None = None, rir_dir: str | None = None, kept: int = 4) -> dict:
    """Training steps a second of `presets` together on the same batches of `batch_seconds`, as
    `train_together` steps them, for about `seconds` (the models new, a warm-up step first). The step alone: its
    batches (`kept`, used in turn) are made beforehand, so the workers that make them in training (`wavestream
    bench loader` measures those) do not count."""
    configs = _configs(presets, None, {"batch_seconds": batch_seconds})
    model_cfg, cfg = configs[0]
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    data = training_data(data_specs, model_cfg, cfg, noise_dir, rir_dir)
    made = data.batches(batch_seconds)
    batches = [next(made) for _ in range(kept)]
    if device.type == "cuda":  # as training's DataLoader hands them over
        batches = [tuple(t.pin_memory() for t in batch) for batch in batches]
    with tempfile.TemporaryDirectory() as out:
        runs = [_Run(c, m, Path(out), device, data, resume=False, init_from=None) for m, c in configs]
        for run in runs:
            run.train_step(batches[0])
            run.read_losses()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        batch_audio_s = [float(batch[1].sum()) / model_cfg.sample_rate for batch in batches]
        steps, audio_s, start = 0, 0.0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            _step(runs, batches[steps % kept])
            audio_s += batch_audio_s[steps % kept]
            steps += 1
        for run in runs:  # waits for the steps still queued on the GPU: they count
            run.read_losses()
        elapsed = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"batch_seconds": batch_seconds, "steps": steps, "seconds": round(elapsed, 2),
            "steps_per_s": steps / elapsed, "audio_s_per_s": audio_s / elapsed,
            "peak_gpu_mib": None if peak is None else round(peak)}


def _teacher(spec: str, weight: float, delay: int | None, first: _Run, dev: SpeechData | None, device) -> Teacher:
    """The teacher named by `spec` (a model folder or a model name). Its delay, where not given, is
    measured against the first run's weights on the dev set's first 100 recordings: that needs trained
    weights to start from (a resumed run or --init-from), as a random student's timing means nothing."""
    model = (load_from_dir(spec) if (Path(spec) / "config.json").exists() else load_model(spec)).to(device)
    if delay is None:
        if dev is None or (first.init is None and first.step == 0):
            raise ValueError("give --distill-delay, or a dev set and trained weights to start from "
                             "(--init-from) to measure it on")
        first.model.eval()
        delay, _ = measure_delay(model, first.model, [samples for _, samples in dev.recordings(100)])
        first.model.train()
    return Teacher(model, weight, delay)
