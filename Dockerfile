# One image for every service: `docker build -t esim-platform:local .`, then run a service with
# `python -m <service>` as the command (see docker-compose.yml and deploy/kubernetes/).
# Base images are pinned by version tag; docs/operations.md says how to pin them by digest.

# Build stage: a virtualenv with the runtime dependencies at the versions of requirements.lock
# (the dev tools in the lock are left out: only pyproject.toml's runtime dependencies are
# installed, constrained by the lock).
FROM python:3.11.13-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > runtime.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile --constraint requirements.lock --requirement runtime.txt

# Final stage: the slim runtime, the virtualenv and the code; no compiler, no package manager
# cache, no secrets (they come from the environment or files under SECRETS_DIR at run time).
FROM python:3.11.13-slim-bookworm
RUN groupadd --system --gid 10001 esim \
    && useradd --system --uid 10001 --gid esim --no-create-home --shell /usr/sbin/nologin esim
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY services/ services/
COPY deploy/devstack/ deploy/devstack/
COPY deploy/container/healthcheck.py healthcheck.py
COPY docs/privacy-policy.md docs/privacy-policy.md
RUN /opt/venv/bin/python -m compileall -q services deploy/devstack
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/services:/app/deploy \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_FORMAT=json
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
CMD ["python", "-m", "gateway"]
