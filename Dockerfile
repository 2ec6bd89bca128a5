# syntax=docker/dockerfile:1
# cxstream worker image: the package, its dependencies and the bundled model; no compilers in
# the final stage, a non-root user, state on a volume. Not built on the project's machines
# (no Docker there): README "Container, compose and Kubernetes" has the commands.
#
#   docker build -t cxstream:0.1.0 .
#   docker run --rm -e CXSTREAM_BOOTSTRAP_SERVERS=broker:9092 \
#       -e CXSTREAM_WEB_TOKEN="$(openssl rand -hex 32)" -p 127.0.0.1:6066:6066 cxstream:0.1.0
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# Compilers live only in this stage, for any dependency without a wheel for the platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/cxstream
WORKDIR /src
# What the wheel packages (pyproject.toml): the code and the data packages, the model included.
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY models ./models
COPY deploy/kafka ./deploy/kafka
COPY schemas ./schemas
COPY data ./data
RUN /opt/cxstream/bin/pip install --upgrade pip \
    && /opt/cxstream/bin/pip install . \
    && /opt/cxstream/bin/cxstream --help > /dev/null

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 cxstream \
    && useradd --system --uid 10001 --gid cxstream --home-dir /var/lib/cxstream \
        --shell /usr/sbin/nologin cxstream \
    && install -d -o cxstream -g cxstream -m 0750 /var/lib/cxstream
COPY --from=build /opt/cxstream /opt/cxstream
# Inside a container the web and metrics servers must answer on the container's address; the
# worker refuses to start bound beyond loopback without CXSTREAM_WEB_TOKEN(_FILE).
ENV PATH=/opt/cxstream/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/cxstream \
    CXSTREAM_STATE_DIR=/var/lib/cxstream \
    CXSTREAM_WEB_HOST=0.0.0.0 \
    CXSTREAM_METRICS_HOST=0.0.0.0
USER 10001:10001
WORKDIR /var/lib/cxstream
VOLUME ["/var/lib/cxstream"]
EXPOSE 6066 9464
# /livez answers while the worker's event loop runs (README "Web endpoints"); no curl in a slim
# image, so Python asks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('CXSTREAM_WEB_PORT', '6066'), timeout=4)"]
ENTRYPOINT ["cxstream"]
CMD ["worker"]
