"""`wavestream bench loader`: how fast training batches are made, by worker count.

Training draws utterances, augments them (speed, reverberation, noise, band limits, level) and pads them into
batches in DataLoader worker processes (`models.train.batch_stream`, as `wavestream train --workers` does). On a
GPU the model's step can outrun them: this says how many seconds of training audio a second the workers make,
so a lease's steps per second can be read against the ceiling its workers set.
"""

from __future__ import annotations

import time

from models.train import PRESETS, batch_stream, training_data


def run(data_specs: list[tuple[str, float]], noise_dir: str | None, rir_dir: str | None, batch_seconds: float,
        seconds: float, worker_counts: list[int], preset: str = "wavenet-cpu") -> dict:
    model_cfg, train_cfg = PRESETS[preset]
    data = training_data(data_specs, model_cfg, train_cfg, noise_dir, rir_dir)
    t0 = time.perf_counter()
    data.preload()
    preload_s = time.perf_counter() - t0
    rows = []
    for workers in worker_counts:
        batches = batch_stream(data, batch_seconds, workers, train_cfg.seed, pin=False)
        next(batches)  # the workers are up and their first batches under way: not counted
        made, count, t0 = 0.0, 0, time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds:
            _, lengths, _, _ = next(batches)
            made += float(lengths.sum()) / model_cfg.sample_rate
            count += 1
        # persistent workers would go on making batches beside the next row's: stopped (DataLoader's own
        # private stop; an in-process generator has none)
        shutdown = getattr(batches, "_shutdown_workers", None)
        if shutdown:
            shutdown()
        rows.append({"workers": workers, "batches": count, "audio_s_per_s": made / elapsed,
                     "per_worker": made / elapsed / max(1, workers), "audio_s_per_batch": made / max(1, count)})
    return {"data_hours": round(data.hours, 2), "batch_seconds": batch_seconds, "seconds": seconds,
            "preload_s": round(preload_s, 1), "noise": bool(noise_dir), "rir": bool(rir_dir), "rows": rows}


def format_table(report: dict) -> str:
    lines = [f"{report['data_hours']} h of training audio (decoded in {report['preload_s']:g} s), batches of "
             f"{report['batch_seconds']:g} s, augmented"
             + (" with noise" if report["noise"] else "") + (" and reverberation" if report["rir"] else "")
             + f"; {report['seconds']:g} s per row", "",
             "| workers | batches | audio s per s | per worker | audio s per batch |", "|---|---|---|---|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['workers'] or 'in process'} | {r['batches']} | {r['audio_s_per_s']:.0f} | "
                     f"{r['per_worker']:.0f} | {r['audio_s_per_batch']:.1f} |")
    return "\n".join(lines)
