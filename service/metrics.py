"""Prometheus metrics (served over HTTP on --metrics-port)."""

from prometheus_client import Counter, Gauge, Histogram

ACTIVE_STREAMS = Gauge("wavestream_active_streams", "Streams holding a state slot")
AUDIO_SECONDS = Counter("wavestream_audio_seconds_total", "Audio received, in seconds", ["method"])
REQUESTS = Counter("wavestream_requests_total", "RPCs by method and final status code", ["method", "code"])
STEP_SECONDS = Histogram("wavestream_step_seconds", "Batched model step time",
                         buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1))
BATCH_SIZE = Histogram("wavestream_batch_streams", "Streams per batched step", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
PARTIAL_LATENCY = Histogram("wavestream_result_latency_seconds", "Chunk received to result sent",
                            buckets=(.005, .01, .025, .05, .1, .2, .3, .5, 1, 2))
RTF = Histogram("wavestream_real_time_factor", "Compute time over audio time per step",
                buckets=(.001, .005, .01, .02, .05, .1, .2, .5, 1, 2))
