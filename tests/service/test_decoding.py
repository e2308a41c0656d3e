"""The shipped models behind a real server: the offline model answers Recognize (blended with the
streaming model's reading), the streaming model answers streams, finals are beam-searched with the
shipped LM, and per-request constraints (a named vocabulary, a phrase list) shape the finals."""

import json

import grpc
import numpy as np
import psutil
import pytest

from clients.speech_client import SpeechClient, final_transcripts, streaming_config
from models.beam import BeamDecoder, Constraint
from models.blend import Blend
from models.blend_delay import format_delay
from models.decoding_defaults import BLEND_DELAY_FRAMES, BLEND_WEIGHT
from models.engine import MAX_BEAM_S, Recogniser
from models.registry import SHIPPED_LM, load_model
from protos.wavestream.v1 import speech_pb2 as pb
from tests.conftest import lj_sentence

from .conftest import ServerProcess, pcm16, read16k, wait_for

SHIPPED = ("--model", "wavenet-cpu", "--offline-model", "logmel-cnn-cpu", "--lm", "default")


@pytest.fixture(scope="module")
def shipped():
    s = ServerProcess(*SHIPPED, "--offline-max-s", "5")
    yield s
    assert s.stop() == 0
    assert not [l for l in s.log if "Traceback" in l], "".join(s.log)


@pytest.fixture(scope="module")
def local():
    """The same models and decoder in process: what the server must answer (the offline model's finals
    blended with the streaming model's, as the server makes them by default)."""
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    beam = BeamDecoder.for_model(streaming.cfg, SHIPPED_LM)
    return Recogniser(streaming, max_streams=2, beam=beam), Recogniser(offline, beam=beam, blend=Blend(streaming))


@pytest.fixture(scope="module")
def fsdd(shared_data):
    path = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    return [{**r, "path": str(path.parent / r["audio"])} for r in rows]


def transcript(resp) -> str:
    return resp.results[0].alternatives[0].transcript if resp.results else ""


def test_models_listed(shipped):
    with SpeechClient(shipped.address) as c:
        resp = c.stub.ListModels(pb.ListModelsRequest())
    models = {m.name: m for m in resp.models}
    assert resp.default_model == "wavenet-cpu"
    assert models["wavenet-cpu"].streaming and models["wavenet-cpu"].trained
    assert not models["logmel-cnn-cpu"].streaming and models["logmel-cnn-cpu"].trained


def file_and_stream(address, audio) -> tuple[str, list[str]]:
    with SpeechClient(address) as c:
        by_file = transcript(c.recognize(pcm16(audio), pb.RecognitionConfig(encoding=pb.LINEAR16,
                                                                            sample_rate_hz=16000)))
        by_stream = final_transcripts(c.stream([pcm16(audio)], streaming_config(
            16000, endpointing=pb.EndpointingConfig(disabled=True))))
    return by_file, by_stream


def test_files_go_to_the_offline_model_and_so_do_streams_finals(shipped, local, lj_clip):
    audio = read16k(lj_clip)[: 16000 * 4]  # under --offline-max-s 5
    rec, offline = local
    by_file, by_stream = file_and_stream(shipped.address, audio)
    x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
    assert by_file == offline.transcribe(x).text and by_file
    assert by_stream == [offline.transcribe(x).text]  # the second pass: the offline model over the utterance


def a_clip_read_otherwise(one: Recogniser, other: Recogniser, shared_data, what: str) -> np.ndarray:
    """4 s of a real reader's sentence (`lj_sentence`) that `one` reads otherwise than `other`, as the server gets
    it (16-bit samples)."""
    def sent(audio: np.ndarray) -> np.ndarray:
        return np.frombuffer(pcm16(audio[: 16000 * 4]), "<i2") / 32768.0

    _, audio = lj_sentence(shared_data, lambda a: one.transcribe(sent(a)).text != other.transcribe(sent(a)).text,
                           f"otherwise in their first 4 s with {what}")
    return audio[: 16000 * 4]


def a_clip_the_blend_changes(offline: Recogniser, shared_data) -> np.ndarray:
    """A clip the blended offline model reads otherwise than the offline model alone."""
    return a_clip_read_otherwise(offline, Recogniser(offline.model, beam=offline.beam), shared_data, "the blend")


def test_without_the_second_pass_streamed_finals_are_the_streaming_models(local, shared_data):
    rec, offline = local
    audio = a_clip_the_blend_changes(offline, shared_data)  # under --offline-max-s 5
    s = ServerProcess(*SHIPPED, "--offline-max-s", "5", "--no-second-pass", "--blend-weight", "0")
    try:
        by_file, by_stream = file_and_stream(s.address, audio)
    finally:
        assert s.stop() == 0
    x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
    alone = Recogniser(offline.model, beam=offline.beam).transcribe(x).text
    assert by_file == alone != offline.transcribe(x).text  # --blend-weight 0: the offline model's own reading
    assert by_stream == [rec.transcribe(x).text]  # streamed finals equal the offline run of the same model
    assert by_stream[0]


def test_the_blend_delay_is_the_servers_to_set_fixed_or_matched_per_recording(local, lj_clip, fsdd):
    # the delay that is not the default (fixed 3 frames, or matched where the default is a fixed one)
    rec, offline = local
    delay = 3 if BLEND_DELAY_FRAMES is None else None
    clips = [read16k(lj_clip)[: 16000 * 4]] + [read16k(r["path"]) for r in fsdd if r["text"] == "three"][:2]
    s = ServerProcess(*SHIPPED, "--offline-max-s", "5", "--blend-delay", format_delay(delay))
    try:
        got = [file_and_stream(s.address, audio) for audio in clips]
        said = "delay matched per recording" if delay is None else f"delay {delay} frames"
        assert any(said in line for line in s.log)
    finally:
        assert s.stop() == 0
    blended = Recogniser(offline.model, beam=offline.beam, blend=Blend(rec.model, BLEND_WEIGHT, delay))
    for audio, (by_file, by_stream) in zip(clips, got):
        x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
        assert by_file == blended.transcribe(x).text and by_stream == [by_file]


def test_finals_of_whole_audio_are_heard_under_the_servers_warps(local, shared_data):
    rec, offline = local
    warped = Recogniser(offline.model, beam=offline.beam, blend=offline.blend, warps=(0.9, 1.0, 1.1))
    audio = a_clip_read_otherwise(warped, offline, shared_data, "warps 0.9,1,1.1")
    s = ServerProcess(*SHIPPED, "--offline-max-s", "5", "--warps", "0.9,1,1.1")
    try:
        by_file, by_stream = file_and_stream(s.address, audio)
        assert any("warps 0.9,1,1.1" in line for line in s.log)
    finally:
        assert s.stop() == 0
    x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
    assert by_file == warped.transcribe(x).text != offline.transcribe(x).text and by_file
    assert by_stream == [by_file]  # the second pass hears the utterance so too


def search_workers(server) -> list[psutil.Process]:
    return [p for p in psutil.Process(server.proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]


def test_finals_are_searched_in_worker_processes_and_survive_one_dying(shipped, local, lj_clip):
    """The server's beam searches run in worker processes (the search holds the GIL); one killed
    (out of memory, say) costs no final: its search runs again on new workers."""
    audio = read16k(lj_clip)[: 16000 * 4]
    x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
    want = local[1].transcribe(x).text
    workers = search_workers(shipped)
    assert len(workers) == 2  # the default --beam-workers
    workers[0].kill()
    workers[0].wait(10)
    assert file_and_stream(shipped.address, audio) == (want, [want])
    now = search_workers(shipped)
    assert len(now) == 2 and not {p.pid for p in now} & {p.pid for p in workers}
    assert wait_for(lambda: any("a beam search worker process died" in line for line in shipped.log), timeout=10)


def test_files_longer_than_the_offline_limit_are_read_in_blocks(shipped, local, lj_clip):
    audio = np.concatenate([read16k(lj_clip)] * 4)  # about 20 s: blocks of 5 s (--offline-max-s 5)
    assert audio.size > 16000 * 15
    x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
    rec, offline = local
    want = offline.transcribe(x).text  # one pass over the whole recording
    assert want and want != rec.transcribe(x).text  # and not what the streaming model reads
    config = pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=16000)
    with SpeechClient(shipped.address) as c:
        by_default = c.recognize(pcm16(audio), config)
        config.model = "logmel-cnn-cpu"
        by_name = c.recognize(pcm16(audio), config)
        config.model = "wavenet-cpu"  # the streaming model's own final, read the same way
        by_streaming = c.recognize(pcm16(audio), config)
    assert transcript(by_default) == transcript(by_name) == want
    assert transcript(by_streaming) == rec.transcribe(x).text
    assert by_default.audio_s == by_streaming.audio_s == pytest.approx(audio.size / 16000)
    assert by_default.results[0].result_end_s == pytest.approx(audio.size / 16000, abs=0.05)


def test_a_file_past_the_searchs_limit_gets_a_result_a_piece(shipped, local, shared_data):
    """Over MAX_BEAM_S (120 s): finals a piece, cut where the reader pauses, in order, as in process."""
    clips = [read16k(p) for p in sorted((shared_data / "real" / "lj-amateur").glob("*.flac"))[:6]]
    gap = np.zeros(16000, dtype=np.float32)
    audio = np.concatenate([part for _ in range(3) for c in clips for part in (c, gap)])
    assert audio.size > 16000 * MAX_BEAM_S
    x = np.frombuffer(pcm16(audio), "<i2") / 32768.0
    want, _ = local[1].transcribe_file([x], 5.0)
    with SpeechClient(shipped.address, timeout=300) as c:
        resp = c.recognize(pcm16(audio), pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=16000))
    assert len(resp.results) == len(want) >= 2
    assert [r.alternatives[0].transcript for r in resp.results] == [f.text for f in want]
    assert [r.utterance_index for r in resp.results] == list(range(len(want)))
    ends = [r.result_end_s for r in resp.results]
    assert ends == sorted(ends) and ends[-1] == pytest.approx(audio.size / 16000, abs=0.05)


def test_streaming_with_the_offline_model_is_refused(shipped):
    with SpeechClient(shipped.address) as c, pytest.raises(grpc.RpcError) as e:
        list(c.stream([b"\x00\x00" * 1600], streaming_config(16000, model="logmel-cnn-cpu")))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "offline-only" in e.value.details() and "Recognize" in e.value.details()


def test_digits_vocabulary_gives_digits(shipped, fsdd):
    """Speaker george (in training): every final is digits only, and right."""
    clips = [r for r in fsdd if r["speaker"] == "george"][::50][:10]
    digits = set(Constraint.parse(vocabulary_set="digits").vocabulary)
    got = []
    with SpeechClient(shipped.address) as c:
        for r in clips:
            config = pb.RecognitionConfig(constraint=pb.Constraint(vocabulary_set="digits"))
            got.append(transcript(c.recognize(open(r["path"], "rb").read(), config)))
    assert all(set(t.split()) <= digits for t in got), got
    right = sum(t == r["text"] for t, r in zip(got, clips))
    assert right >= 9, list(zip(got, [r["text"] for r in clips]))


def test_a_phrase_list_makes_finals_one_of_the_phrases(shipped, lj_manifest):
    """Held-out read speech, constrained to a list of five of the corpus' sentences."""
    spoken = lj_manifest[3]
    phrases = [spoken["text"]] + [r["text"] for r in lj_manifest[10:14]]
    constraint = pb.Constraint(phrases=phrases)
    with SpeechClient(shipped.address) as c:
        via_file = transcript(c.recognize(open(spoken["path"], "rb").read(), pb.RecognitionConfig(constraint=constraint)))
        config = streaming_config(16000, endpointing=pb.EndpointingConfig(disabled=True))
        config.constraint.CopyFrom(constraint)
        via_stream = final_transcripts(c.stream([pcm16(read16k(spoken["path"]))], config))
    assert via_file == spoken["text"]
    assert via_stream == [spoken["text"]]


def test_finals_carry_the_alternatives_asked_for(shipped, lj_clip):
    """max_alternatives: distinct readings from the beam, best first, the first the same as without."""
    audio = pcm16(read16k(lj_clip)[: 16000 * 4])
    with SpeechClient(shipped.address) as c:
        one = c.recognize(audio, pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=16000)).results[0]
        four = c.recognize(audio, pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=16000,
                                                       max_alternatives=4)).results[0]
        config = streaming_config(16000, endpointing=pb.EndpointingConfig(disabled=True))
        config.max_alternatives = 3
        streamed = [r for resp in c.stream([audio], config) for r in resp.results if r.is_final]
    assert len(one.alternatives) == 1
    texts = [a.transcript for a in four.alternatives]
    assert 2 <= len(texts) <= 4 and len(set(texts)) == len(texts), texts
    assert texts[0] == one.alternatives[0].transcript
    assert len(streamed) == 1 and 2 <= len(streamed[0].alternatives) <= 3
    assert len({a.transcript for a in streamed[0].alternatives}) == len(streamed[0].alternatives)


def test_phrase_alternatives_are_the_next_likeliest_phrases(shipped, lj_manifest):
    spoken = lj_manifest[3]
    phrases = [spoken["text"]] + [r["text"] for r in lj_manifest[10:14]]
    config = pb.RecognitionConfig(constraint=pb.Constraint(phrases=phrases), max_alternatives=3)
    with SpeechClient(shipped.address) as c:
        alts = c.recognize(open(spoken["path"], "rb").read(), config).results[0].alternatives
    assert [a.transcript for a in alts][0] == spoken["text"] and len(alts) == 3
    assert len({a.transcript for a in alts}) == 3 and all(a.transcript in phrases for a in alts)
    shares = [a.confidence for a in alts]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1.0 + 1e-4


def test_transcribe_json_lists_the_runners_up(shipped, lj_clip, tmp_path):
    import subprocess
    import sys

    import soundfile as sf

    from tests.conftest import ROOT

    src = tmp_path / "clip.wav"
    sf.write(src, read16k(lj_clip)[: 16000 * 4], 16000)
    r = subprocess.run([sys.executable, "-m", "clients.cli", "transcribe", str(src), "--format", "json",
                        "--alternatives", "3", "--server", shipped.address, "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    segments = json.loads(src.with_suffix(".json").read_text())["segments"]
    assert segments and any(s["alternatives"] for s in segments)
    for s in segments:
        assert len(s["alternatives"]) <= 2 and all(a["text"] != s["text"] for a in s["alternatives"])
