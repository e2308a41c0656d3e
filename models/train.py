"""CTC training for both families: `wavestream train --config NAME --data MANIFEST[:WEIGHT] ... --out DIR`.

The model folder it writes (`DIR/<model name>/config.json + model.safetensors`) is what the
registry loads (`WAVESTREAM_MODEL_DIR=DIR`). Trainer state for resuming sits beside it in
`DIR/<model name>/trainer.pt` (tensors and numbers only, loaded with weights_only=True). With a dev
set, the checkpoint with the lowest dev WER so far is kept apart in `DIR/best/<model name>/`
(`WAVESTREAM_MODEL_DIR=DIR/best`): the last step is not always the best one. Its step and WER sit
beside it in `best.json`, written with the weights, so a run resumed from an older checkpoint still
knows what it has to beat.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from tqdm import tqdm

from .config import OFFLINE_BASE, OFFLINE_CPU, STREAMING_BASE, STREAMING_CPU, ModelConfig
from .ctc import Vocabulary, greedy_transcript
from .data import Augment, SpeechData
from .engine import END_PAD_S
from .frontend import vtlp_filterbanks
from .evaluate import wer_cer
from .recogniser import SpeechRecogniser
from .registry import load_from_dir, save_model


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
    # what ships (models/weights/*-cpu): trained side by side on 2 CPU cores, one thread each,
    # by scripts/train-shipped.sh
    "wavenet-cpu": (STREAMING_CPU, CPU_TRAINING),
    "logmel-cnn-cpu": (OFFLINE_CPU, CPU_TRAINING),
    # the full sizes, for a CUDA GPU
    "wavenet-base": (STREAMING_BASE, TrainConfig()),
    "logmel-cnn-base": (OFFLINE_BASE, TrainConfig()),
}


def _lr_lambda(cfg: TrainConfig):
    def f(step):
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return f


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


def ctc_loss(model: SpeechRecogniser, batch, cfg: TrainConfig, device) -> torch.Tensor:
    audio, lengths, targets, target_lengths = batch
    mel_fb = None
    if cfg.vtlp_prob > 0:
        n = audio.shape[0]
        alphas = torch.empty(n).uniform_(*cfg.vtlp_range)
        alphas = torch.where(torch.rand(n) < cfg.vtlp_prob, alphas, torch.ones(n))
        mel_fb = vtlp_filterbanks(model.frontend.mel_fb, alphas, model.cfg.sample_rate)
    feats, feat_lengths = model.frontend(audio.to(device), lengths, mel_fb=mel_fb)
    feats = spec_augment(feats, cfg)
    out = model.forward_features(feats, feat_lengths)
    log_probs = out.logits.float().log_softmax(-1).transpose(0, 1)
    return F.ctc_loss(log_probs, targets.to(device), out.lengths.to(device), target_lengths.to(device),
                      blank=0, zero_infinity=True)


@torch.no_grad()
def dev_wer(model: SpeechRecogniser, dev: SpeechData, limit: int = 100) -> float:
    model.eval()
    vocab = Vocabulary(model.cfg.vocab)
    end_pad = round(END_PAD_S * model.cfg.sample_rate)  # decoded as the service decodes finals
    refs, hyps = [], []
    for u in [u for rows, _ in dev.sets for u in rows][:limit]:
        x = F.pad(dev._samples(u), (0, end_pad))
        logits = model(x[None].to(model.embed.weight.device)).logits[0].cpu()
        hyps.append(greedy_transcript(logits, vocab, model.cfg.frame_ms / 1000).text)
        refs.append(u.text)
    model.train()
    return wer_cer(refs, hyps)[0]


def train(preset: str, data_specs: list[tuple[str, float]], out_dir: str | Path, dev_manifest: str | None = None,
          device: str = "cpu", steps: int | None = None, noise_dir: str | None = None, rir_dir: str | None = None,
          resume: bool = True, progress: bool = True, name: str | None = None,
          vtlp_prob: float | None = None, augment: dict | None = None, eval_every: int | None = None) -> dict:
    """CTC training of a preset; `augment` overrides `Augment` fields (e.g. digital_silence_prob)."""
    model_cfg, cfg = PRESETS[preset]
    if steps is not None:
        cfg = replace(cfg, steps=steps)
    if eval_every is not None:
        cfg = replace(cfg, eval_every=eval_every)
    if vtlp_prob is not None:
        cfg = replace(cfg, vtlp_prob=vtlp_prob)
    if name:
        model_cfg = replace(model_cfg, name=name)
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    out = Path(out_dir) / model_cfg.name
    best_dir = Path(out_dir) / "best" / model_cfg.name  # lowest dev WER so far (WAVESTREAM_MODEL_DIR=OUT/best)
    vocab = Vocabulary(model_cfg.vocab)
    augment = Augment.from_dirs(noise_dir, rir_dir, **(augment or {}))
    data = SpeechData(data_specs, vocab, model_cfg.sample_rate, cfg.max_seconds, augment, cfg.seed)
    dev = SpeechData([(dev_manifest, 1.0)], vocab, model_cfg.sample_rate, 60.0) if dev_manifest else None

    state_path = out / "trainer.pt"
    if resume and state_path.exists():
        model = load_from_dir(out).to(device)
        state = torch.load(state_path, map_location=device, weights_only=True)
    else:
        model = SpeechRecogniser(model_cfg).to(device)
        fit_normalisation(model, data)
        state = None
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg))
    start, best = 0, {"step": None, "dev_wer": math.inf}
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start = int(state["step"])
        if (best_dir / "best.json").exists():
            best = json.loads((best_dir / "best.json").read_text())
    amp = device.type == "cuda"
    history = {"loss": [], "dev_wer": [], "start_step": start}
    bar = tqdm(total=cfg.steps, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
    batches = data.batches(cfg.batch_seconds)
    ema = None
    t0 = time.perf_counter()
    for step in range(start, cfg.steps):
        batch = next(batches)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = ctc_loss(model, batch, cfg, device)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        value = float(loss.detach())
        history["loss"].append(value)
        ema = value if ema is None else 0.95 * ema + 0.05 * value
        postfix = {"loss": f"{ema:.3f}", "lr": f"{sched.get_last_lr()[0]:.1e}"}
        if dev is not None and cfg.eval_every and (step + 1) % cfg.eval_every == 0:
            wer = dev_wer(model, dev)
            history["dev_wer"].append((step + 1, wer))
            postfix["dev_wer"] = f"{wer:.3f}"
            if wer < best["dev_wer"]:
                best = {"step": step + 1, "dev_wer": wer}
                save_model(model, best_dir)
                (best_dir / "best.json").write_text(json.dumps(best) + "\n")
        bar.set_postfix(postfix)
        bar.update(1)
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            save_model(model, out)
            torch.save({"step": step + 1, "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, state_path)
    bar.close()
    history.update(model=model_cfg.name, out=str(out), hours=data.hours, seconds=time.perf_counter() - t0,
                   params=sum(p.numel() for p in model.parameters()))
    if best["step"]:
        history["best"] = {**best, "out": str(best_dir)}
    return history
