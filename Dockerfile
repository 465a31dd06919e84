# livewall in a container: `docker compose up -d` runs it with a worker and PostgreSQL
# (compose.yaml); alone, `docker run -p 8000:8000 livewall` serves the demo configuration.

# The project as a wheel, built apart so the image carries no source tree or build tools.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY collectors ./collectors
COPY aggregator ./aggregator
COPY wall ./wall
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIVEWALL_CONFIG=/app/config/default.toml \
    LIVEWALL_MEDIA_DIR=/var/lib/livewall/media-cache

# The exact versions of the lock, each file checked against its hash; then livewall itself,
# which brings no dependency of its own.
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /app/requirements.txt
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels

# The event files (config/compose.toml for the compose stack) and their word lists;
# mount your own event's file over /app/config/event.toml, or set LIVEWALL_CONFIG.
COPY config /app/config

# Data (a SQLite file when no PostgreSQL is used) and the media cache with its key.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/livewall \
        --shell /usr/sbin/nologin livewall \
    && mkdir -p /var/lib/livewall/media-cache \
    && chown -R livewall:livewall /var/lib/livewall
VOLUME /var/lib/livewall
WORKDIR /var/lib/livewall
USER livewall

EXPOSE 8000
# No curl in the slim image: Python asks /healthz, and a refusal or a 503 is unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["livewall"]
CMD ["serve", "--host", "0.0.0.0"]
