# emnist-tune worker / dashboard image. The EMNIST files are mounted at /data (never baked in).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EMNIST_DATA_DIR=/data \
    EMNIST_CACHE_DIR=/cache \
    TUNE_ARTIFACTS=/artifacts

# EXTRAS="[gpu]" builds the GPU image (TensorFlow with its CUDA libraries): compose's gpu-worker
ARG EXTRAS=""
WORKDIR /app
COPY pyproject.toml README.md ./
COPY data_pipeline ./data_pipeline
COPY models ./models
COPY tuning ./tuning
RUN pip install ".${EXTRAS}" && useradd --create-home tune && mkdir -p /cache /artifacts && chown tune /cache /artifacts
USER tune

ENTRYPOINT ["tune"]
CMD ["--help"]
