# plc-emulator: Modbus TCP 5020, OPC UA 4840, HTTP /health and /metrics 8080, historian under /data.
# Build: docker build -t plc-emulator .    Run: docker run -p 5020:5020 -p 4840:4840 -p 8080:8080 plc-emulator
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    MODBUS_PORT=5020 \
    OPCUA_PORT=4840 \
    API_PORT=8080 \
    LOG_LEVEL=info

WORKDIR /app

# Dependencies are pinned exactly in pyproject.toml; installing the project installs them.
COPY pyproject.toml README.md ./
COPY plc_emulator ./plc_emulator
COPY historian ./historian
COPY tag_maps ./tag_maps
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 plc \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin plc \
    && mkdir -p /data \
    && chown 10001:10001 /data

# Non-root (numeric, so the host and Kubernetes runAsNonRoot can check it).
USER 10001:10001
VOLUME ["/data"]
EXPOSE 5020 4840 8080

# No curl in the slim image: ask /health with the standard library (exit 0 only on HTTP 200).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('API_PORT', '8080') + '/health', timeout=4)"]

ENTRYPOINT ["plc-emulator", "run"]
CMD ["tag_maps/separation_train.yaml"]
