# wavestream server image. CPU by default; `--target gpu` (compose's gpu profile) for CUDA.
# Dependencies come from pyproject.toml, as in the README's `make` set-up: one source of truth.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WAVESTREAM_HOST=0.0.0.0 \
    WAVESTREAM_PORT=50051 \
    WAVESTREAM_METRICS_PORT=9464 \
    WAVESTREAM_MODEL_DIR=/models
RUN useradd --create-home --uid 10001 wavestream && mkdir -p /models && chown wavestream /models
WORKDIR /app
COPY pyproject.toml README.md ./
# The shipped weights live in models/weights and come along with the package; the LM is built from its text there
# (`wavestream lm --shipped`, about a minute).
COPY models ./models
COPY service ./service
COPY clients ./clients
COPY protos ./protos

FROM base AS cpu
# A CPU-only torch wheel index makes a much smaller image: --build-arg TORCH_INDEX_URL=<index>.
ARG TORCH_INDEX_URL=""
RUN if [ -n "$TORCH_INDEX_URL" ]; then pip install --index-url "$TORCH_INDEX_URL" torch torchaudio; fi \
 && pip install . && rm -rf /root/.cache \
 && wavestream lm --shipped
USER wavestream
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["wavestream", "health"]
ENTRYPOINT ["wavestream", "serve"]

FROM base AS gpu
# PyPI's default torch wheels carry CUDA; the NVIDIA container runtime supplies the driver.
RUN pip install . && rm -rf /root/.cache && wavestream lm --shipped
ENV WAVESTREAM_DEVICE=cuda
USER wavestream
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["wavestream", "health"]
ENTRYPOINT ["wavestream", "serve"]
