# Miz's image: `miz serve` (the default command) or any other `miz` command, as a non-root user.
# Built and started by deploy/compose.yaml; see deploy/README.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/miz \
    PATH=/opt/miz/bin:$PATH

# postgresql-client: pg_dump and pg_restore for `miz backup` and `miz restore` (Debian 12 ships 15, the major
# version of deploy/compose.yaml's PostgreSQL: the client must not be older than the server). Not pinned to a
# package version: Debian's security updates arrive under new versions, and a pin would keep them out.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 miz \
    && useradd --system --uid 10001 --gid miz --home-dir /var/lib/miz --no-create-home --shell /usr/sbin/nologin miz \
    && install -d -o miz -g miz /var/lib/miz /var/lib/miz/files /var/lib/miz/cache /var/lib/miz/backups

WORKDIR /app

# The dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -m venv /opt/miz \
    && mkdir bot catalog config desk storage emulator \
    && pip install . \
    && pip uninstall --yes miz

# The code, the built-in catalog and the texts; installed in place so the catalog and locales are found beside it.
COPY bot/ bot/
COPY catalog/ catalog/
COPY config/ config/
COPY desk/ desk/
COPY storage/ storage/
COPY emulator/ emulator/
COPY locales/ locales/
COPY deploy/entrypoint.sh /usr/local/bin/miz-entrypoint
RUN pip install --no-deps --editable . && python -m compileall -q bot catalog config desk storage emulator

# Where the data lives: the files directory is a volume; mount an edited catalog at /etc/miz/catalog and set
# MIZ_CATALOG_DIR to it (deploy/compose.yaml does), or keep the built-in one.
ENV MIZ_CATALOG_DIR=/app/catalog/data \
    MIZ_FILES_DIR=/var/lib/miz/files \
    MIZ_CACHE_DIR=/var/lib/miz/cache \
    MIZ_SERVE_HOST=0.0.0.0 \
    MIZ_SERVE_PORT=8080
VOLUME ["/var/lib/miz/files"]

USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MIZ_SERVE_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["miz-entrypoint"]
CMD ["serve"]
