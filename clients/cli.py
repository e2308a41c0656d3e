"""The `wavestream` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from models.blend_delay import format_delay, parse_delay
from models.decoding_defaults import BEAM_THRESHOLD, BLEND_DELAY_FRAMES, BLEND_RESCORE, BLEND_RESCORE_BEAM, BLEND_WEIGHT
from models.warps import format_warps, parse_warps

DEFAULT_STREAMING = "wavenet-base"    # the benchmarks' sizes (README figures)
DEFAULT_OFFLINE = "logmel-cnn-base"
SHIPPED_STREAMING = "wavenet-cpu"     # the trained weights that ship


def _load(name: str, untrained: bool):
    from models.registry import ModelLoadError, ModelNotFound, load_model

    try:
        return load_model(name, allow_untrained=untrained)
    except ModelNotFound as e:
        sys.exit(f"wavestream: {e}" + ("" if untrained else " (--untrained uses seeded random weights of a built-in size)"))
    except ModelLoadError as e:
        sys.exit(f"wavestream: {e}")


def cmd_check_streaming(args) -> int:
    from models.audio import AudioError, read_audio
    from models.checks import check_streaming

    model = _load(args.model, args.untrained)
    if not model.cfg.streaming:
        sys.exit(f"wavestream: model {args.model!r} is offline-only; check-streaming needs a streaming model")
    try:
        audio, _ = read_audio(args.audio, model.cfg.sample_rate)
    except (AudioError, OSError) as e:
        sys.exit(f"wavestream: {args.audio}: {e}")
    report = check_streaming(model, audio, args.chunk_ms)
    report["tolerance"] = 1e-4
    report["ok"] = report["max_abs_diff"] <= 1e-4 and report["transcripts_equal"]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['model']}: {report['duration_s']:.2f} s, offline transcript: {report['offline_transcript']!r}")
        for r in report["chunkings"]:
            print(f"  chunk {r['chunk_ms']:>7g} ms: max |streamed - offline| = {r['max_abs_diff']:.2e}, "
                  f"transcript {'identical' if r['transcripts_equal'] else 'DIFFERS: ' + repr(r['transcript'])}")
        print("OK" if report["ok"] else "MISMATCH")
    return 0 if report["ok"] else 1


def _print_report(args, report: dict, table) -> None:
    """A benchmark report: the command that made it, then JSON or the README's table."""
    report["command"] = " ".join(["wavestream"] + sys.argv[1:])
    print(json.dumps(report, indent=2) if args.json else table(report))


def cmd_bench_engine(args) -> int:
    import torch

    from clients import bench_engine

    streaming = _load(args.model, args.untrained)
    offline = _load(args.offline_model, args.untrained) if args.offline_model else None
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.cpu_only else [])
    _print_report(args, bench_engine.run(streaming, offline, devices, quick=args.quick), bench_engine.format_table)
    return 0


def cmd_eval(args) -> int:
    from models.engine import Recogniser
    from models.evaluate import InProcess, evaluate, through_server

    from clients.speech_client import constraint_from_args
    from models.beam import BeamConfig, BeamDecoder, Constraint
    from models.blend import Blend
    from models.registry import ModelNotFound, resolve_lm

    wanted = constraint_from_args(args)
    try:
        constraint = Constraint.parse(wanted.vocabulary, wanted.phrases, wanted.vocabulary_set)
    except ValueError as e:
        sys.exit(f"wavestream eval: {e}")
    decoding = (f" lm {args.lm}" if args.lm != "none" else " greedy") + (" constrained" if constraint else "")
    beam = None
    if args.server:
        if args.end_pad_s is not None or args.second_pass or args.blend or args.threads:
            sys.exit("wavestream eval: with --server, --end-pad-s, --second-pass and --blend are the server's to set "
                     "(wavestream serve --end-pad-s, --second-pass, --blend-weight, --blend-delay) and --threads does "
                     "not apply; drop them")
        transcribe = through_server(args.server, args.token, wanted)
        label = f"server {args.server}" + (" constrained" if constraint else "")
    else:
        if args.threads or args.jobs > 1:
            import torch

            # --jobs runs the model from several threads: OpenMP teams outnumbering the cores sleep between
            # a step's small operations, so one thread each unless told otherwise (README, eval)
            torch.set_num_threads(args.threads or 1)
        model = _load(args.model, args.untrained)
        if args.streaming and not model.cfg.streaming:
            sys.exit(f"wavestream: model {args.model!r} is offline-only; --streaming needs a streaming model")
        try:
            lm = resolve_lm(args.lm)
        except ModelNotFound as e:
            sys.exit(f"wavestream eval: {e}")
        if args.lm == "default" and lm is None:
            sys.exit("wavestream eval: --lm default, but no language model ships in this checkout")
        if lm or constraint:
            given = {"beam_size": args.beam_size, "beam_threshold": args.beam_threshold, "lm_weight": args.lm_weight,
                     "word_score": args.word_score, "rescore_lm_weight": args.rescore_lm_weight,
                     "rescore_word_score": args.rescore_word_score}  # None: BeamConfig's default
            # with several utterances in flight, their searches in as many worker processes
            beam = BeamDecoder.for_model(model.cfg, lm, BeamConfig(**{k: v for k, v in given.items() if v is not None}),
                                         workers=args.jobs if args.jobs > 1 else 0)
        if args.second_pass and not args.streaming:
            sys.exit("wavestream eval: --second-pass re-decodes streams' finals; add --streaming")
        if args.blend and args.streaming and not args.second_pass:
            sys.exit("wavestream eval: --blend mixes into offline finals; streamed, those are the second pass's: "
                     "add --second-pass MODEL, or drop --streaming")
        try:
            pad = {} if args.end_pad_s is None else {"end_pad_s": args.end_pad_s}
            blend = (Blend(_load(args.blend, False), args.blend_weight, args.blend_delay, args.blend_rescore,
                           args.blend_rescore_beam) if args.blend else None)
            second = (Recogniser(_load(args.second_pass, False), beam=beam, blend=blend, warps=args.warps, **pad)
                      if args.second_pass else None)
            rec = Recogniser(model, max_streams=args.jobs, beam=beam, second_pass=second,
                             blend=None if args.streaming else blend, warps=() if args.streaming else args.warps, **pad)
        except ValueError as e:
            sys.exit(f"wavestream eval: {e}")
        # with several utterances at once, streamed ones are stepped together in one batch
        transcribe = InProcess(rec, args.streaming, args.chunk_ms, constraint or None, at_once=args.jobs)
        label = args.model + (f" streaming {args.chunk_ms:g} ms" if args.streaming else " offline") + decoding
        label += f" second pass {args.second_pass}" if args.second_pass else ""
        label += f" warps {format_warps(args.warps)}" if args.warps else ""
        if args.blend:
            label += f" blend {args.blend} {args.blend_weight:g} delay {format_delay(args.blend_delay)}"
            label += f" rescore {args.blend_rescore}" if args.blend_rescore else ""
            label += f" beam {args.blend_rescore_beam}" if args.blend_rescore and args.blend_rescore_beam else ""
            if args.blend_rescore and beam is not None:
                weights = (("lm weight", beam.cfg.rescore_lm_weight), ("word score", beam.cfg.rescore_word_score))
                label += "".join(f" rescore {name} {value:g}" for name, value in weights if value is not None)
        label += f" end pad {args.end_pad_s:g} s" if args.end_pad_s is not None else ""
    results = []
    for manifest in args.manifests:
        try:
            r = evaluate(manifest, transcribe, limit=args.limit, errors=args.errors, utterances=args.utterances,
                         jobs=args.jobs)
        except (OSError, ValueError) as e:
            sys.exit(f"wavestream eval: {manifest}: {e}")
        r["model"] = label
        results.append(r)
        if not args.json:
            print(f"{manifest}: WER {r['wer']:.3%} CER {r['cer']:.3%} n={r['n']} audio {r['audio_s']:.0f} s "
                  f"RTF {r['rtf']:.4f} ({label})")
            for e in r.get("utterances", r.get("errors", [])):
                print(f"  {e['audio']}: {e['ref']!r} -> {e['hyp']!r}")
    if isinstance(transcribe, InProcess):
        transcribe.close()
    if beam is not None:
        beam.close()  # its search workers, if any
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
    return 0


def cmd_compare(args) -> int:
    from models.significance import compare

    if args.resamples < 100 or not 0 < args.min_probability <= 1:
        print("wavestream compare: --resamples must be 100 or more and --min-probability in (0, 1]", file=sys.stderr)
        return 2
    try:
        rows = compare(args.baseline, args.candidate, resamples=args.resamples)
    except ValueError as e:
        print(f"wavestream compare: {e}", file=sys.stderr)
        return 2
    for r in rows:
        low, high = r["delta_ci95"]
        r["better"] = r["p_candidate_better"] >= args.min_probability
        if not args.json:
            print(f"{r['manifest']}: WER {r['wer_baseline']:.2%} -> {r['wer_candidate']:.2%} "
                  f"({r['delta'] * 100:+.2f} points, 95% interval {low * 100:+.2f} to {high * 100:+.2f}; "
                  f"{r['n']} utterances, {r['words']} words); candidate better in {r['p_candidate_better']:.1%} of "
                  f"{r['resamples']} resamples: {'better' if r['better'] else 'not shown better'}")
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], indent=2))
    return 0 if all(r["better"] for r in rows) else 1


def cmd_lm(args) -> int:
    from pathlib import Path

    from models.lm import build, build_shipped, record_build
    from models.registry import SHIPPED_LM, SHIPPED_LM_TEXT

    if args.shipped == bool(args.text or args.out):
        sys.exit("wavestream lm: give TEXT... --out FILE, or --shipped alone")
    if args.shipped and args.words:
        sys.exit("wavestream lm: --shipped builds what build.json records: give it alone")
    folders = {Path(t).parent.resolve() for t in [*args.text, *args.words]}
    if args.record and len(folders) != 1:
        sys.exit("wavestream lm: --record writes build.json beside the texts: give texts and word lists of one folder")
    try:
        if args.shipped:
            report = build_shipped(SHIPPED_LM_TEXT, SHIPPED_LM)
        else:
            report = build(args.text, args.out, args.order, args.min_count, args.words)
            if args.record:
                names = [Path(t).name for t in args.text]  # FILE:N keeps its :N
                report["recorded"] = str(record_build(folders.pop(), names, args.order, args.min_count, args.out,
                                                      [Path(w).name for w in args.words]))
    except (OSError, ValueError) as e:
        sys.exit(f"wavestream lm: {e}")
    print(json.dumps(report, indent=2))
    return 0


def cmd_train(args) -> int:
    import torch

    from models.weighted import parse_weighted

    if args.threads:
        torch.set_num_threads(args.threads)
    from models.registry import ModelLoadError, ModelNotFound
    from models.train import train_together

    try:
        histories = train_together(
            args.config, [parse_weighted(d) for d in args.data], args.out, dev_manifest=args.dev, device=args.device,
            steps=args.steps, noise_dir=args.noise_dir, rir_dir=args.rir_dir, resume=not args.no_resume,
            progress=not args.quiet, name=args.name, vtlp_prob=args.vtlp_prob, vtlp_range=args.vtlp_range,
            augment={k: v for k, v in (("digital_silence_prob", args.digital_silence_prob),
                                       ("level_prob", args.level_prob),
                                       ("lead_trim_prob", args.lead_trim_prob),
                                       ("floor_prob", args.floor_prob)) if v is not None},
            eval_every=args.eval_every, workers=args.workers, minutes=args.minutes, batch_seconds=args.batch_seconds,
            lr=args.lr, init_from=args.init_from, session_minutes=args.session_minutes, teacher=args.teacher,
            distill_weight=args.distill_weight, distill_delay=args.distill_delay, seed=args.seed, grow=args.grow,
            spec_augment=args.spec_augment, lookahead=args.lookahead, average_from=args.average_from)
    except (ValueError, ModelNotFound, ModelLoadError) as e:  # configs that cannot train together, --name with
        sys.exit(f"wavestream: {e}")  # several, a bad manifest, a teacher that is not there or will not load
    summaries = []
    for history in histories:
        summary = {k: v for k, v in history.items() if k != "loss"}
        summary["final_loss"] = sum(history["loss"][-20:]) / max(1, len(history["loss"][-20:]))
        summary["first_loss"] = sum(history["loss"][:20]) / max(1, len(history["loss"][:20]))
        summaries.append(summary)
    print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=2))
    return 0


def cmd_synth(args) -> int:
    from models.synth import installed_voices, synthesise

    if args.list_voices:
        for v in installed_voices():
            print(v.key)
        return 0
    try:
        if args.utterances is not None:
            amount = {"utterances": args.utterances}
        else:
            amount = {"hours": 1.0 if args.hours is None else args.hours}
        report = synthesise(args.text, args.out, **amount, workers=args.workers, seed=args.seed,
                            voices=args.voices, exclude_voices=args.exclude_voices, progress=not args.quiet)
    except (RuntimeError, OSError, ValueError) as e:
        sys.exit(f"wavestream synth: {e}")
    print(json.dumps(report, indent=2))
    return 0


def cmd_transcribe(args) -> int:
    from clients import transcribe

    return transcribe.run(args)


def cmd_mic(args) -> int:
    from clients import mic

    return mic.run(args)


def count_type(minimum: int, allowed: str = "1 or more"):
    """An argparse type for a whole number of at least `minimum`; `allowed` is what its error says."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = minimum - 1
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return n

    return parse


def number_type(ok, allowed: str):
    """An argparse type for a number that `ok` accepts (never NaN); `allowed` is what its error says."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


_above_zero = number_type(lambda v: v > 0, "a number above 0")
_zero_or_more = number_type(lambda v: 0 <= v < 1e6, "a number of 0 or more")


def above_zero_list(text: str) -> list[float]:
    """Comma-separated numbers above 0 (--chunk-ms, --silence-after-s: a row each)."""
    try:
        return [_above_zero(x) for x in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"takes comma-separated numbers above 0 (e.g. 40,100), got {text!r}") from None


thread_count = count_type(0, "1 or more (0: PyTorch's choice)")  # --threads of eval and train
job_count = count_type(1)  # --jobs of eval (utterances in flight at once) and of transcribe (files)


def mask_counts(text: str) -> tuple[int, int]:
    """--spec-augment: 'FREQ,TIME', two counts of 0 or more."""
    try:
        freq, time_ = (int(n) for n in text.split(","))
    except ValueError:
        freq = time_ = -1
    if min(freq, time_) < 0:
        raise argparse.ArgumentTypeError(f"give two mask counts of 0 or more as FREQ,TIME (e.g. 0,0), got {text!r}")
    return freq, time_


def warp_range(text: str) -> tuple[float, float]:
    """--vtlp-range: 'LOW,HIGH', two warp factors with 0 < LOW <= HIGH."""
    try:
        low, high = (float(n) for n in text.split(","))
    except ValueError:
        low = high = 0.0
    if not 0 < low <= high:
        raise argparse.ArgumentTypeError(f"give two warp factors as LOW,HIGH with 0 < LOW <= HIGH (e.g. 0.85,1.15), "
                                         f"got {text!r}")
    return low, high


def final_warps(text: str) -> tuple[float, ...]:
    """--warps: 'none' or warp factors 'A,B,...' (models.warps)."""
    try:
        return parse_warps(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def blend_delay(text: str) -> int | None:
    """--blend-delay: frames, or 'matched' (None: per recording; models.blend_delay)."""
    try:
        return parse_delay(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def dilation_list(text: str) -> list[int]:
    """--grow's dilations: whole numbers of 1 or more, comma-separated."""
    dilation = count_type(1, "dilations of 1 or more, comma-separated (e.g. 1,2,4,8)")
    return [dilation(d) for d in text.split(",")]


def _session_range(text: str) -> tuple[float, float]:
    """--session-s "MIN,MAX" (or one number) -> (MIN, MAX) seconds."""
    try:
        parts = [float(x) for x in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or not 0.5 <= parts[0] <= parts[-1]:
        raise argparse.ArgumentTypeError(f"takes MIN,MAX seconds with 0.5 <= MIN <= MAX, got {text!r}")
    return parts[0], parts[-1]


def _stop_on_sigterm() -> None:
    """A bench that starts its own server stops it on SIGTERM as on Ctrl-C, by its `finally`: SIGTERM's default
    would end this process at once and leave the server running."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def cmd_bench_service(args) -> int:
    from clients import bench_service

    _stop_on_sigterm()
    if args.session_s and args.session_s[0] > args.seconds:
        print(f"--session-s: the shortest stream ({args.session_s[0]:g} s) is longer than --seconds "
              f"({args.seconds:g} s), so no stream would run", file=sys.stderr)
        return 2
    try:
        report = bench_service.run(args)
    except RuntimeError as e:  # the server it started did not come up (its own words are in the message)
        sys.exit(f"wavestream bench service: {e}")
    _print_report(args, report, bench_service.format_table)
    return 0


def cmd_bench_files(args) -> int:
    from clients import bench_files
    from models.audio import AudioError
    from models.registry import ModelNotFound, resolve_lm

    if args.minutes <= 0 or args.workers < 1 or args.repeat < 1:
        sys.exit("wavestream bench files: --minutes must be above 0, --workers and --repeat at least 1")
    model = _load(args.model, False)
    blend = _load(args.blend, False) if args.blend else None
    try:
        lm = resolve_lm(args.lm)
        report = bench_files.run(model, blend, lm, args.audio, args.minutes, args.workers, args.repeat,
                                 args.blend_rescore, args.blend_rescore_beam, args.beam_threshold)
    except (ModelNotFound, AudioError, OSError, ValueError) as e:
        sys.exit(f"wavestream bench files: {e}")
    _print_report(args, report, bench_files.format_table)
    return 0 if report["same_finals"] else 1


def cmd_bench_delay(args) -> int:
    import torch

    from clients import bench_delay
    from models.audio import AudioError

    if args.tail_s < 0 or (args.limit is not None and args.limit < 1):
        sys.exit("wavestream bench delay: --tail-s must be 0 or more, --limit at least 1")
    streaming, offline = _load(args.model, False), _load(args.reference, False)  # trained weights: words to place
    torch.set_num_threads(1)  # as the server runs its models
    try:
        report = bench_delay.run(streaming, offline, args.manifests, args.chunk_ms, args.tail_s, args.limit)
    except (ValueError, AudioError, OSError) as e:
        sys.exit(f"wavestream bench delay: {e}")
    _print_report(args, report, bench_delay.format_table)
    return 0


def cmd_bench_endpoint(args) -> int:
    import torch

    from clients import bench_endpoint
    from models.audio import AudioError

    _stop_on_sigterm()
    offline = _load(args.reference, False)  # trained weights: the last word to place
    torch.set_num_threads(1)  # the reference's alignments: leave the cores to the server
    try:
        report = bench_endpoint.run(offline, args.manifests, args.silence_after_s, args.tail_s, args.limit,
                                    args.parallel, args.server, args.quiet_after_s)
    except (ValueError, RuntimeError, AudioError, OSError) as e:
        sys.exit(f"wavestream bench endpoint: {e}")
    _print_report(args, report, bench_endpoint.format_table)
    return 0


def cmd_bench_loader(args) -> int:
    from clients import bench_loader
    from models.weighted import parse_weighted

    if args.seconds <= 0 or args.batch_seconds <= 0 or min(args.workers) < 0:
        sys.exit("wavestream bench loader: --seconds and --batch-seconds must be above 0, --workers 0 or more")
    try:
        specs = [parse_weighted(d) for d in args.data]
        report = bench_loader.run(specs, args.noise_dir, args.rir_dir, args.batch_seconds, args.seconds, args.workers)
    except (OSError, ValueError) as e:
        sys.exit(f"wavestream bench loader: {e}")
    _print_report(args, report, bench_loader.format_table)
    return 0


def cmd_bench_train(args) -> int:
    import torch

    from clients import bench_train
    from models.weighted import parse_weighted

    if args.seconds <= 0 or min(args.batch_seconds) <= 0:
        sys.exit("wavestream bench train: --seconds and --batch-seconds must be above 0")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"wavestream bench train: --device {args.device} was asked for but CUDA is not available")
    try:
        specs = [parse_weighted(d) for d in args.data]
        report = bench_train.run(args.config, specs, args.noise_dir, args.rir_dir, args.batch_seconds, args.seconds,
                                 args.device)
    except (OSError, ValueError) as e:
        sys.exit(f"wavestream bench train: {e}")
    _print_report(args, report, bench_train.format_table)
    return 0


def cmd_bench_soak(args) -> int:
    from clients import bench_soak

    _stop_on_sigterm()
    try:
        report = bench_soak.run(args)
    except RuntimeError as e:
        sys.exit(f"wavestream bench soak: {e}")
    _print_report(args, report, bench_soak.format_summary)
    ok = report["active_streams_end"] == 0 and report["errors"] == 0 and report["server_exit_code"] == 0
    return 0 if ok else 1


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=os.environ.get("WAVESTREAM_SERVER", "127.0.0.1:50051"),
                   help="host:port (env WAVESTREAM_SERVER)")
    p.add_argument("--token", default=os.environ.get("WAVESTREAM_TOKEN") or None, help="bearer token (env WAVESTREAM_TOKEN)")
    p.add_argument("--tls-ca", default=None, help="use TLS, trusting this CA file ('' for the system roots)")


def cmd_health(args) -> int:
    """Exit 0 when the server says SERVING (the container HEALTHCHECK)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from clients.speech_client import open_channel

    with open_channel(args.server, args.tls_ca) as channel:
        try:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout).status
        except grpc.RpcError as e:
            print(f"{args.server}: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    print(f"{args.server}: {name}")
    return 0 if status == health_pb2.HealthCheckResponse.SERVING else 1


def cmd_models(args) -> int:
    from models.registry import list_models

    for m in list_models(include_untrained=True):
        line = f"{m.name}\t{m.family}\t{'trained: ' + str(m.path) if m.trained else 'no trained weights'}"
        if args.stats:
            line += "\t" + _model_stats(m.name)
        print(line)
    return 0


def _model_stats(name: str) -> str:
    """Parameters and FLOPs per audio second (the model's own count, as `bench engine` reports it)."""
    from models.registry import load_model

    model = load_model(name, allow_untrained=True)
    params = sum(p.numel() for p in model.parameters())
    return f"params {params / 1e6:.2f} M\t{model.flops_per_second() / 1e6:.1f} MFLOP per audio second"


def cmd_serve(args) -> int:
    from service.config import ServerConfig
    from service.server import main as serve_main

    return serve_main(ServerConfig.from_args(args))


def add_constraint_args(p) -> None:
    g = p.add_argument_group("what finals may say (beam search; partials stay open)")
    g.add_argument("--vocabulary", nargs="+", default=None, metavar="WORD", help="only these words")
    g.add_argument("--vocabulary-set", default=None, help="a named vocabulary: digits")
    g.add_argument("--phrases-file", default=None, help="only these phrases, one a line (e.g. commands)")


def add_beam_threshold_arg(p) -> None:
    p.add_argument("--beam-threshold", type=_above_zero, default=BEAM_THRESHOLD,
                   help="the search drops hypotheses this far below the best (the server's --beam-threshold; "
                        "default: models.decoding_defaults.BEAM_THRESHOLD)")


def add_rescore_args(p) -> None:
    """How blended finals are scored again (the server's flags of the same names)."""
    p.add_argument("--blend-rescore", type=count_type(0, "0 (off) or more"), default=BLEND_RESCORE, metavar="TEXTS",
                   help="texts each of the final's searches (over the mix, and over each model alone) proposes, "
                        "scored again by both models' probabilities of them; 0: the mix's search decides "
                        "(default: models.decoding_defaults.BLEND_RESCORE)")
    p.add_argument("--blend-rescore-beam", type=count_type(0, "0 (the mix's beam) or more"),
                   default=BLEND_RESCORE_BEAM, metavar="HYPOTHESES",
                   help="hypotheses each model's own search keeps when finals are scored again (the mix's search "
                        "keeps --beam-size; 0: as many; default: models.decoding_defaults.BLEND_RESCORE_BEAM)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wavestream", description="Streaming speech recognition.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check-streaming", help="prove streamed output equals the offline run on your audio")
    c.add_argument("audio", help="an audio file (wav, flac, ogg, mp3)")
    c.add_argument("--model", default=DEFAULT_STREAMING)
    c.add_argument("--chunk-ms", type=above_zero_list, default="10,37,160,1000",
                   help="comma-separated chunk sizes in ms")
    c.add_argument("--untrained", action="store_true",
                   help="allow a built-in size with seeded random weights when no trained weights exist")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check_streaming)

    b = sub.add_parser("bench", help="benchmarks")
    bsub = b.add_subparsers(dest="bench", required=True)
    be = bsub.add_parser("engine", help="the streaming engine in process: RTF, latency, cached vs recompute, batching")
    be.add_argument("--model", default=DEFAULT_STREAMING)
    be.add_argument("--offline-model", default=DEFAULT_OFFLINE, help="also time this offline model ('' to skip)")
    be.add_argument("--untrained", action="store_true", help="use seeded random weights of the shipped sizes")
    be.add_argument("--quick", action="store_true", help="shorter audio and fewer batch sizes (smoke test)")
    be.add_argument("--cpu-only", action="store_true")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench_engine)
    bs = bsub.add_parser("service", help="concurrent paced real-time streams through a real server")
    bs.add_argument("--server", default="", help="an existing server host:port (default: start one)")
    bs.add_argument("--model", default=DEFAULT_STREAMING)
    bs.add_argument("--untrained", action="store_true")
    bs.add_argument("--device", default=None, help="the started server's --device (default: its own, WAVESTREAM_DEVICE or cpu)")
    bs.add_argument("--streams", default="10,25,50,75,100", help="comma-separated levels of concurrent streams")
    bs.add_argument("--seconds", type=float, default=10.0, help="audio per stream at each level")
    bs.add_argument("--audio", default=None, help="a speech file to loop (default: synthetic)")
    bs.add_argument("--p95-limit-ms", type=float, default=300.0)
    bs.add_argument("--session-s", type=_session_range, default=None, metavar="MIN,MAX",
                    help="streams come and go: each of the N runs streams of MIN-MAX s back to back, so ends "
                         "(and finals) are spread over the level (default: one stream per N, all ending together)")
    bs.add_argument("--json", action="store_true")
    bs.set_defaults(func=cmd_bench_service)

    bf = bsub.add_parser("files", help="a long recording's pieces searched by one search worker and by several "
                                       "(Recognize, in process); the same finals")
    bf.add_argument("--audio", required=True, nargs="+", help="speech files, end to end, repeated to --minutes")
    bf.add_argument("--minutes", type=float, default=10.0)
    bf.add_argument("--model", default="logmel-cnn-cpu", help="the model that reads files (the server's default)")
    bf.add_argument("--blend", default=SHIPPED_STREAMING, help="the model blended into its finals ('' for none)")
    add_rescore_args(bf)
    add_beam_threshold_arg(bf)
    bf.add_argument("--lm", default="default", help="the search's LM: default, none or an ARPA file")
    bf.add_argument("--workers", type=int, default=2, help="search workers set beside one (the server's "
                                                           "--beam-workers default)")
    bf.add_argument("--repeat", type=int, default=3)
    bf.add_argument("--json", action="store_true")
    bf.set_defaults(func=cmd_bench_files)

    bd = bsub.add_parser("delay", help="a word spoken -> the stream has it: the streaming model's delay by chunk size, "
                                       "in audio time (forced alignments, in process)")
    bd.add_argument("manifests", nargs="+", help="manifests (jsonl: audio, text) of speech to stream")
    bd.add_argument("--model", default=SHIPPED_STREAMING, help="the streaming model")
    bd.add_argument("--reference", default="logmel-cnn-cpu",
                    help="the offline model whose alignment says when each word was spoken")
    bd.add_argument("--chunk-ms", type=above_zero_list, default="40,100,160",
                    help="comma-separated chunk sizes, a row each (40: a frame; 100: the mic client's block)")
    bd.add_argument("--tail-s", type=float, default=1.0, help="silence sent after each recording")
    bd.add_argument("--limit", type=int, default=None, help="the first N clips of each manifest")
    bd.add_argument("--json", action="store_true")
    bd.set_defaults(func=cmd_bench_delay)

    bp = bsub.add_parser("endpoint", help="speech ends -> its final line arrives: the endpointer's silence and the "
                                          "final's search, through a real server at a microphone's pace")
    bp.add_argument("manifests", nargs="+", help="manifests (jsonl: audio, text) of speech, a recording an utterance")
    bp.add_argument("--silence-after-s", type=above_zero_list, default="1.2,0.8,0.6",
                    help="comma-separated silence-after-text settings (the stream's endpointing, its quiet rule off), "
                         "a row each")
    bp.add_argument("--quiet-after-s", type=above_zero_list, default=(),
                    help="comma-separated quiet-after-text settings (the stream's endpointing, the server's silence "
                         "beside it), a row each")
    bp.add_argument("--reference", default="logmel-cnn-cpu",
                    help="the offline model whose alignment says when the last word was spoken")
    bp.add_argument("--tail-s", type=_above_zero, default=3.0, help="silence sent after each recording")
    bp.add_argument("--limit", type=count_type(1), default=None, help="the first N clips of each manifest")
    bp.add_argument("--parallel", type=count_type(1), default=2,
                    help="recordings streamed at once (each under every setting at once)")
    bp.add_argument("--server", default="", help="an existing server host:port (default: start the shipped one)")
    bp.add_argument("--json", action="store_true")
    bp.set_defaults(func=cmd_bench_endpoint)

    bl = bsub.add_parser("loader", help="training batches made per second (augmented, in DataLoader workers), by "
                                        "worker count: the ceiling they set on a GPU's steps")
    bl.add_argument("--data", required=True, nargs="+", help="MANIFEST[:WEIGHT] as wavestream train takes them")
    bl.add_argument("--noise-dir", default=None)
    bl.add_argument("--rir-dir", default=None)
    bl.add_argument("--batch-seconds", type=float, default=300.0, help="audio per batch (train-gpu.sh's 300)")
    bl.add_argument("--seconds", type=float, default=30.0, help="how long each worker count is timed")
    bl.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts, one row each (0: in "
                                                                           "process)")
    bl.add_argument("--json", action="store_true")
    bl.set_defaults(func=cmd_bench_loader)

    bt = bsub.add_parser("train", help="training steps a second by batch size, the step alone (its batches made "
                                       "beforehand): what larger batches would carry through a lease")
    bt.add_argument("--config", nargs="+", default=["wavenet-gpu", "logmel-cnn-gpu"],
                    help="presets trained together on the same batches, as wavestream train --config")
    bt.add_argument("--data", required=True, nargs="+", help="MANIFEST[:WEIGHT] as wavestream train takes them")
    bt.add_argument("--noise-dir", default=None)
    bt.add_argument("--rir-dir", default=None)
    bt.add_argument("--batch-seconds", type=float, nargs="+", default=[300.0],
                    help="audio per batch, one row each (train-gpu.sh's 300)")
    bt.add_argument("--seconds", type=float, default=30.0, help="how long each row is timed")
    bt.add_argument("--device", default="cpu")
    bt.add_argument("--json", action="store_true")
    bt.set_defaults(func=cmd_bench_train)

    so = bsub.add_parser("soak", help="sustained load with churn; server RSS, slots, threads, fds over time")
    so.add_argument("--streams", type=int, default=20)
    so.add_argument("--minutes", type=float, default=2.0)
    so.add_argument("--model", default=DEFAULT_STREAMING)
    so.add_argument("--untrained", action="store_true")
    so.add_argument("--device", default=None, help="the server's --device (default: its own, WAVESTREAM_DEVICE or cpu)")
    so.add_argument("--idle-timeout-s", type=float, default=5.0, help="the server's idle timeout during the soak")
    so.add_argument("--metrics-port", type=int, default=19464)
    so.add_argument("--json", action="store_true")
    so.set_defaults(func=cmd_bench_soak)

    ev = sub.add_parser("eval", help="WER/CER of a model on manifests (jsonl: audio, text)")
    ev.add_argument("manifests", nargs="+")
    ev.add_argument("--model", default=SHIPPED_STREAMING)
    ev.add_argument("--untrained", action="store_true")
    ev.add_argument("--lm", default="none", help="finals by beam search with this ARPA LM ('default': the shipped one)")
    ev.add_argument("--lm-weight", type=float, default=None, help="(default: the tuned BeamConfig value)")
    ev.add_argument("--word-score", type=float, default=None)
    ev.add_argument("--rescore-lm-weight", type=float, default=None,
                    help="blended finals scored again (--blend-rescore) weigh the LM's score so (default: "
                         "models.decoding_defaults.RESCORE_LM_WEIGHT, or where that is None the search's)")
    ev.add_argument("--rescore-word-score", type=float, default=None,
                    help="and add this per word (default: models.decoding_defaults.RESCORE_WORD_SCORE, or the "
                         "search's)")
    ev.add_argument("--beam-size", type=int, default=None)
    add_beam_threshold_arg(ev)
    ev.add_argument("--streaming", action="store_true", help="stream each file in chunks instead of one pass")
    ev.add_argument("--chunk-ms", type=float, default=160)
    ev.add_argument("--second-pass", default=None, metavar="MODEL",
                    help="with --streaming: finals re-decoded by this (offline) model, as the server does")
    ev.add_argument("--blend", default=None, metavar="MODEL",
                    help="offline finals (with --streaming: the second pass's) from this model's reading mixed with "
                         "the model's own, as the server does with its streaming model (models.blend)")
    ev.add_argument("--blend-weight", type=float, default=BLEND_WEIGHT,
                    help="the --blend model's share of the mix (default: models.decoding_defaults.BLEND_WEIGHT)")
    ev.add_argument("--blend-delay", type=blend_delay, default=BLEND_DELAY_FRAMES, metavar="FRAMES",
                    help="how many frames later the --blend model emits a letter (its frames are moved that many "
                         "earlier), or 'matched': per recording, where the two models' letters overlap most "
                         "(default: models.decoding_defaults.BLEND_DELAY_FRAMES)")
    add_rescore_args(ev)
    ev.add_argument("--warps", type=final_warps, default=(),
                    help="finals heard under each of these vocal-tract-length warps (e.g. 0.9,1,1.1), each model's "
                         "log-probabilities averaged over them: a voice unlike the training voices read as several "
                         "nearer ones, at as many times the models' work; 'none' (the default): as recorded")
    ev.add_argument("--end-pad-s", type=float, default=None,
                    help="seconds of zeros after each file before its final (default: as the server, models.decoding_defaults.END_PAD_S)")
    ev.add_argument("--server", default=None, help="go through a running server (host:port) instead")
    ev.add_argument("--token", default=os.environ.get("WAVESTREAM_TOKEN") or None)
    ev.add_argument("--limit", type=int, default=None, help="first N utterances of each manifest")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--errors", action="store_true", help="list every utterance not read exactly right")
    ev.add_argument("--utterances", action="store_true",
                    help="list every utterance's reference and reading (the input of wavestream compare)")
    ev.add_argument("--threads", type=thread_count, default=0,
                    help="CPU threads for the model (default: PyTorch's choice, all cores; 1 with --jobs above 1); "
                         "1 for each of runs side by side (all-core runs sharing cores slow each other many times over)")
    ev.add_argument("--jobs", type=job_count, default=1,
                    help="utterances read at once, their LM searches in as many worker processes (the same "
                         "readings; RTF then the pass's wall-clock time per audio second)")
    add_constraint_args(ev)
    ev.set_defaults(func=cmd_eval)

    cp = sub.add_parser("compare", help="is a candidate's WER lower than a baseline's, or noise? (paired bootstrap)",
                        description="Both files: wavestream eval --json --utterances output for the same "
                                    "utterances. Exit status 0 when the candidate is better on every manifest "
                                    "(in at least --min-probability of the resamples), 1 when not, 2 on bad input.")
    cp.add_argument("baseline")
    cp.add_argument("candidate")
    cp.add_argument("--min-probability", type=float, default=0.95,
                    help="share of resamples in which the candidate's WER must be lower (default 0.95)")
    cp.add_argument("--resamples", type=int, default=10_000)
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_compare)

    lm = sub.add_parser("lm", help="build a word n-gram language model (ARPA) from text, for the beam search")
    lm.add_argument("text", nargs="*", help="text files, one normalised sentence a line (no evaluation sentences!); "
                    ".xz and .gz read as they are; FILE:N counts FILE N times over")
    lm.add_argument("--out", help="FILE.arpa or FILE.arpa.gz")
    lm.add_argument("--words", action="append", default=[], metavar="FILE",
                    help="a word list (words apart by spaces or lines; .xz and .gz read as they are): words the text "
                         "lacks join the vocabulary at an unseen word's probability, so finals can spell them "
                         "(may be given more than once)")
    lm.add_argument("--shipped", action="store_true",
                    help="build the shipped LM from its text (models/weights/lm/text, as its build.json says; what "
                         "`make lm` runs) and check it is the one the model card measured")
    lm.add_argument("--record", action="store_true",
                    help="write build.json beside the texts (one folder): what --shipped builds from them, and the "
                         "hash it must come to (the recipe's lm stage, for models/weights/lm/text)")
    lm.add_argument("--order", type=int, default=3)
    lm.add_argument("--min-count", type=int, default=2, help="drop highest-order n-grams seen fewer times")
    lm.set_defaults(func=cmd_lm)

    tr = sub.add_parser("train", help="CTC training (see models/train.py for the presets)")
    tr.add_argument("--config", nargs="+", default=["tiny"],
                    help="tiny | cpu-small | wavenet-cpu | logmel-cnn-cpu | wavenet-base | logmel-cnn-base | "
                         "wavenet-gpu | logmel-cnn-gpu; several train together on the same batches")
    tr.add_argument("--data", nargs="+", required=True, help="MANIFEST[:WEIGHT] ...")
    tr.add_argument("--dev", default=None,
                    help="a manifest for dev WER during training; the best checkpoint is kept in OUT/best/<model>")
    tr.add_argument("--eval-every", type=int, default=None, help="steps between dev WERs (default: the preset's)")
    tr.add_argument("--threads", type=thread_count, default=0, help="CPU threads (default: PyTorch's choice)")
    tr.add_argument("--out", required=True, help="writes OUT/<model name>/ (loadable with WAVESTREAM_MODEL_DIR=OUT)")
    tr.add_argument("--name", default=None, help="the model's name (default: the preset's)")
    tr.add_argument("--steps", type=int, default=None)
    tr.add_argument("--minutes", type=float, default=None,
                    help="a time budget: the learning-rate schedule ends on the clock (or at --steps, if sooner)")
    tr.add_argument("--session-minutes", type=float, default=None,
                    help="stop after this long (checkpointed); rerun with the same --out to go on (a lease "
                         "shorter than --minutes)")
    tr.add_argument("--batch-seconds", type=float, default=None, help="audio per batch (default: the preset's)")
    tr.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the preset's)")
    tr.add_argument("--init-from", default=None,
                    help="a folder of <model name>/ weights to start from (fine-tuning), e.g. models/weights")
    tr.add_argument("--grow", type=dilation_list, default=None, metavar="DILATIONS",
                    help="comma-separated dilations of blocks added after the --init-from weights' last, which start "
                         "out reading as those weights (e.g. 1,2,4,8: four more blocks)")
    tr.add_argument("--lookahead", type=count_type(1, "encoder frames ahead, 1 or more"), default=None,
                    metavar="FRAMES",
                    help="the --init-from streaming weights hear FRAMES encoder frames ahead (40 ms of latency "
                         "each), widened from their own lookahead; they start out reading as those weights")
    tr.add_argument("--average-from", type=float, default=None, metavar="FRACTION",
                    help="from this point of the schedule (0 to below 1; 0.5: its second half) on, every step's "
                         "weights are averaged into OUT/averaged/<model name>/, beside the last step's")
    tr.add_argument("--workers", type=int, default=0,
                    help="processes that augment and batch the audio (0: in the training process)")
    tr.add_argument("--teacher", default=None,
                    help="a trained model (name or folder) whose frame posteriors are learnt beside CTC "
                         "(e.g. the offline model for the streaming one; see models/distill.py)")
    tr.add_argument("--distill-weight", type=float, default=1.0, help="of the teacher's divergence, beside CTC")
    tr.add_argument("--distill-delay", type=int, default=None,
                    help="frames the student runs behind the teacher (default: measured on --dev)")
    tr.add_argument("--device", default="cpu")
    tr.add_argument("--noise-dir", default=None, help="noise clips to mix in (e.g. ../shared/data/noise)")
    tr.add_argument("--rir-dir", default=None, help="room impulse responses (e.g. ../shared/data/rir)")
    tr.add_argument("--vtlp-prob", type=float, default=None,
                    help="share of utterances given vocal-tract-length perturbation (default: the preset's)")
    tr.add_argument("--vtlp-range", type=warp_range, default=None, metavar="LOW,HIGH",
                    help="the warp factors VTLP draws from, uniformly (default: the preset's, 0.9,1.1)")
    tr.add_argument("--digital-silence-prob", type=float, default=None,
                    help="share of utterances padded with exact zeros before/after (default: 0.15)")
    tr.add_argument("--level-prob", type=float, default=None,
                    help="share of utterances scaled to a random level of -55..-15 dBFS RMS (default: 0.5)")
    tr.add_argument("--lead-trim-prob", type=float, default=None,
                    help="share of utterances cut to start at their speech, as tightly cut clips do (default: 0)")
    tr.add_argument("--floor-prob", type=float, default=None,
                    help="share of utterances given a steady hiss 15-40 dB under their level, pads included, as a "
                         "microphone's floor (default: 0)")
    tr.add_argument("--spec-augment", type=mask_counts, default=None, metavar="FREQ,TIME",
                    help="SpecAugment's frequency and time masks per utterance (default: the preset's, 2,2; 0,0: none)")
    tr.add_argument("--seed", type=int, default=None,
                    help="draws of batches, augmentation and new weights (default: the preset's, 0); another seed "
                         "is another run of the same settings")
    tr.add_argument("--no-resume", action="store_true")
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=cmd_train)

    sy = sub.add_parser("synth", help="synthetic training speech from a text file with every installed TTS voice")
    sy.add_argument("text", nargs="?", help="one sentence a line (e.g. ../shared/data/text/sentences.txt)")
    sy.add_argument("out", nargs="?", help="folder for audio/ and manifest.jsonl (resumable)")
    amount = sy.add_mutually_exclusive_group()
    amount.add_argument("--hours", type=float, default=None, help="hours of speech to hold (default 1)")
    amount.add_argument("--utterances", type=int, default=None,
                        help="utterances to hold instead: exactly the seed's first N")
    sy.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--voices", nargs="*", default=None, help="only these engine:voice keys or engines")
    sy.add_argument("--exclude-voices", nargs="*", default=None, help="hold these out (engine:voice or engine)")
    sy.add_argument("--list-voices", action="store_true")
    sy.add_argument("--quiet", action="store_true")
    sy.set_defaults(func=cmd_synth)

    t = sub.add_parser("transcribe", help="transcribe files and folders through the server")
    t.add_argument("inputs", nargs="+", help="audio files or folders (wav, flac, ogg, mp3, ...)")
    t.add_argument("--format", choices=("txt", "json", "srt", "vtt"), default="txt")
    t.add_argument("--out", default=None, help="write outputs here (default: beside each input)")
    t.add_argument("-j", "--jobs", type=job_count, default=4, help="files in flight at once")
    t.add_argument("--realtime", action="store_true", help="pace each file as if it were live")
    t.add_argument("--overwrite", action="store_true", help="redo files whose output already exists")
    t.add_argument("--alternatives", type=int, default=1,
                   help="json: up to N readings per segment, the runners-up under \"alternatives\" (beam-searched "
                        "finals only)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    _client_args(t)
    add_constraint_args(t)
    t.set_defaults(func=cmd_transcribe)

    mc = sub.add_parser("mic", help="live microphone: partial text as you speak, a final line per utterance")
    mc.add_argument("--device", default=None, help="input device (see --list-devices)")
    mc.add_argument("--list-devices", action="store_true")
    mc.add_argument("--file", default=None, help="feed this file through the same path, paced as live")
    mc.add_argument("--fast", action="store_true", help="with --file: do not pace")
    mc.add_argument("--silence-after-s", type=_above_zero, default=None,
                    help="time with no new letter after speech that ends an utterance (default: the server's, 1.2 s; "
                         "its quiet rule, --quiet-after-s, usually ends one sooner); shorter gives finals sooner and "
                         "cuts at more pauses (`wavestream bench endpoint` measures both)")
    mc.add_argument("--quiet-after-s", type=_zero_or_more, default=None,
                    help="quiet audio after speech that ends an utterance, measured without the model's delay "
                         "(default: the server's; 0: off, the silence alone)")
    _client_args(mc)
    add_constraint_args(mc)
    mc.set_defaults(func=cmd_mic)

    from service.config import ServerConfig

    sv = sub.add_parser("serve", help="run the gRPC speech server")
    ServerConfig.add_arguments(sv)
    sv.set_defaults(func=cmd_serve)

    h = sub.add_parser("health", help="ask a server's gRPC health service; exit 0 when SERVING")
    h.add_argument("--server", default=os.environ.get(
        "WAVESTREAM_SERVER", f"127.0.0.1:{os.environ.get('WAVESTREAM_PORT', '50051')}"),
        help="host:port (env WAVESTREAM_SERVER, else 127.0.0.1:$WAVESTREAM_PORT)")
    h.add_argument("--service", default="", help="'' for the whole server, or wavestream.v1.Speech")
    h.add_argument("--tls-ca", default=None)
    h.add_argument("--timeout", type=float, default=5.0)
    h.set_defaults(func=cmd_health)

    m = sub.add_parser("models", help="list models")
    m.add_argument("--stats", action="store_true", help="also parameters and FLOPs per audio second")
    m.set_defaults(func=cmd_models)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
