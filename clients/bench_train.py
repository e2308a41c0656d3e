"""`wavestream bench train`: training steps a second by batch size, the step alone.

A lease's steps are bound by the workers that augment its batches (`wavestream bench loader`) or by the step
itself: the models' kernels queued from one process and what they make the GPU do. This times the step on
batches made beforehand, for each batch size side by side in one run, so a lease can say whether larger batches
would carry more audio through in its minutes (they do where the step waits on queueing kernels, not on the GPU).
"""

from __future__ import annotations

from models.train import step_rate


def run(presets: list[str], data_specs: list[tuple[str, float]], noise_dir: str | None, rir_dir: str | None,
        batch_seconds: list[float], seconds: float, device: str) -> dict:
    rows = [step_rate(presets, data_specs, b, seconds, device, noise_dir, rir_dir) for b in batch_seconds]
    return {"configs": presets, "device": device, "seconds": seconds, "rows": rows}


def format_table(report: dict) -> str:
    lines = [f"{' + '.join(report['configs'])} on {report['device']}, trained together on the same batches; "
             f"{report['seconds']:g} s per row", "",
             "| batch (s of audio) | steps | steps per s | audio s per s | peak GPU memory (MiB) |",
             "|---|---|---|---|---|"]
    for r in report["rows"]:
        peak = "" if r["peak_gpu_mib"] is None else str(r["peak_gpu_mib"])
        lines.append(f"| {r['batch_seconds']:g} | {r['steps']} | {r['steps_per_s']:.2f} | {r['audio_s_per_s']:.0f} | "
                     f"{peak} |")
    return "\n".join(lines)
