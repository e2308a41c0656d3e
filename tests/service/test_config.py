"""Server settings from flags and WAVESTREAM_* environment variables, as `serve` parses them."""

import os
import subprocess
import sys

import pytest

from clients.cli import build_parser
from service.config import ServerConfig
from tests.conftest import ROOT

from .conftest import ServerProcess


def _config(monkeypatch, env: dict, *flags: str) -> ServerConfig:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServerConfig.from_args(build_parser().parse_args(["serve", *flags]))


def test_environment_values_are_parsed_and_a_flag_wins(monkeypatch):
    cfg = _config(monkeypatch, {"WAVESTREAM_MAX_STREAMS": "12", "WAVESTREAM_END_PAD_S": "0.5",
                                "WAVESTREAM_SECOND_PASS": "off", "WAVESTREAM_DEVICE": "cuda",
                                "WAVESTREAM_BLEND_DELAY": "matched"}, "--max-streams", "7")
    assert (cfg.max_streams, cfg.end_pad_s, cfg.second_pass, cfg.device) == (7, 0.5, False, "cuda")
    assert cfg.blend_delay is None  # matched per recording
    assert _config(monkeypatch, {}, "--blend-delay", "2").blend_delay == 2
    assert _config(monkeypatch, {"WAVESTREAM_BLEND_RESCORE": "4"}).blend_rescore == 4
    assert _config(monkeypatch, {}, "--blend-rescore", "0").blend_rescore == 0  # the mix's search alone
    assert _config(monkeypatch, {"WAVESTREAM_BLEND_RESCORE_BEAM": "32"}).blend_rescore_beam == 32
    assert _config(monkeypatch, {"WAVESTREAM_BEAM_THRESHOLD": "12.5"}).beam_threshold == 12.5
    assert _config(monkeypatch, {"WAVESTREAM_RESCORE_LM_WEIGHT": "1.6"}).rescore_lm_weight == 1.6
    assert _config(monkeypatch, {}, "--rescore-word-score", "-0.5").rescore_word_score == -0.5
    assert _config(monkeypatch, {}, "--rescore-lm-weight", "search").rescore_lm_weight is None  # as the searches
    assert _config(monkeypatch, {"WAVESTREAM_WARPS": "0.9,1,1.1"}).warps == (0.9, 1.0, 1.1)
    assert _config(monkeypatch, {"WAVESTREAM_WARPS": "0.9,1,1.1"}, "--warps", "none").warps == ()  # as recorded


def test_an_empty_variable_counts_as_unset_except_for_text(monkeypatch):
    # what a compose file's `WAVESTREAM_X: ${X:-}` passes when X is not set
    cfg = _config(monkeypatch, {"WAVESTREAM_MMAP_THRESHOLD_KB": "", "WAVESTREAM_SECOND_PASS": " ",
                                "WAVESTREAM_OFFLINE_MAX_S": "", "WAVESTREAM_OFFLINE_MODEL": "",
                                "WAVESTREAM_BLEND_DELAY": ""})
    defaults = ServerConfig()
    assert cfg.mmap_threshold_kb == defaults.mmap_threshold_kb
    assert cfg.second_pass is defaults.second_pass is True
    assert cfg.offline_max_s == defaults.offline_max_s
    assert cfg.blend_delay == defaults.blend_delay
    assert cfg.offline_model == ""  # empty text means something: no offline model


@pytest.mark.parametrize("value, expected", [("1", True), ("Yes", True), ("on", True), ("0", False), ("FALSE", False)])
def test_on_off_spellings(monkeypatch, value, expected):
    assert _config(monkeypatch, {"WAVESTREAM_CPU_FALLBACK": value}).cpu_fallback is expected


@pytest.mark.parametrize("name, value, message", [
    ("WAVESTREAM_MAX_STREAMS", "lots", "'lots' is not a whole number (from --max-streams or WAVESTREAM_MAX_STREAMS)"),
    ("WAVESTREAM_END_PAD_S", "0,25", "'0,25' is not a number (from --end-pad-s or WAVESTREAM_END_PAD_S)"),
    ("WAVESTREAM_SECOND_PASS", "maybe", "WAVESTREAM_SECOND_PASS='maybe' is neither on"),
    ("WAVESTREAM_RESCORE_LM_WEIGHT", "heavy",
     "'heavy' is neither a number nor 'search' (from --rescore-lm-weight or WAVESTREAM_RESCORE_LM_WEIGHT)"),
])
def test_a_bad_value_stops_serve_with_a_message_naming_it(name, value, message):
    r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--untrained", "--port", "0", "--metrics-port", "0"],
                       cwd=ROOT, env={**os.environ, name: value}, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and message in r.stderr
    assert "Traceback" not in r.stderr and "serving" not in r.stderr


def test_a_bad_server_variable_does_not_stop_other_commands():
    r = subprocess.run([sys.executable, "-m", "clients.cli", "models"], cwd=ROOT,
                       env={**os.environ, "WAVESTREAM_MAX_STREAMS": "lots"}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_model_calls_get_one_cpu_thread_unless_told_otherwise():
    for extra, expected in (((), "models: 1 CPU thread(s) for each call"),
                            (("--threads", "2"), "models: 2 CPU thread(s) for each call")):
        s = ServerProcess(*extra)
        try:
            assert any(expected in line for line in s.log), s.log
        finally:
            s.stop()


def test_a_negative_thread_count_stops_serve_with_a_message():
    r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--untrained", "--threads", "-1", "--port", "0",
                        "--metrics-port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "--threads -1: give 1 or more, or 0 for PyTorch's choice" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_blend_weight_out_of_range_stops_serve_with_a_message():
    r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--blend-weight", "1.5", "--port", "0",
                        "--metrics-port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "--blend-weight must be between 0 and 1, got 1.5" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("variable, value, message", [
    ("WAVESTREAM_BLEND_RESCORE", "-1", "--blend-rescore must be 0 (off) or more texts, got -1"),
    ("WAVESTREAM_BLEND_RESCORE_BEAM", "-1",
     "--blend-rescore-beam must be 0 (the mix's beam) or more hypotheses, got -1"),
    ("WAVESTREAM_BEAM_THRESHOLD", "0", "--beam-threshold must be above 0, got 0")])
def test_a_decoding_setting_out_of_range_stops_serve_with_a_message(variable, value, message):
    r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--port", "0", "--metrics-port", "0"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env={**os.environ, variable: value})
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_blend_delay_neither_frames_nor_matched_stops_serve_with_a_message():
    for args, env in ((["--blend-delay", "-2"], {}), ([], {"WAVESTREAM_BLEND_DELAY": "later"})):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", *args, "--port", "0", "--metrics-port", "0"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert r.returncode != 0 and "--blend-delay: must be 0 or more frames, or 'matched'" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_warps_that_are_not_warp_factors_stop_serve_with_a_message():
    for args, env, said in ((["--warps", "0.3,1"], {}, "warp factors are from 0.5 to 2, got 0.3,1"),
                            ([], {"WAVESTREAM_WARPS": "low"}, "must be 'none' or warp factors as A,B,...")):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", *args, "--port", "0", "--metrics-port", "0"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        assert r.returncode != 0 and said in r.stderr and "--warps" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
