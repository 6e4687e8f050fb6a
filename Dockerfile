# jobmatch service image. Build: docker build -t jobmatch .
# Migrations are a step of their own, never part of the start:
#   docker run --rm -v jobmatch-data:/data jobmatch jobmatch db upgrade
#   docker run -p 127.0.0.1:8000:8000 -v jobmatch-data:/data -e JOBMATCH_AUTH=on jobmatch
# compose.yaml runs the same with PostgreSQL.

# ---- build: the pinned runtime set in a virtualenv, then the app (editable, so the
# migrations in alembic/ are found beside the package)
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /srv/jobmatch
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN pip install --no-cache-dir --no-deps -e .

# ---- runtime: no compilers, no pip cache, a user without a login
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    JOBMATCH_HOST=0.0.0.0 \
    JOBMATCH_PORT=8000 \
    JOBMATCH_DATABASE_URL=sqlite:////data/jobmatch.db \
    JOBMATCH_MODELS_DIR=/data/models \
    JOBMATCH_SHARED_DIR=/shared \
    JOBMATCH_AUTH=on
RUN groupadd --system --gid 10001 jobmatch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /srv/jobmatch --no-create-home jobmatch \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /srv/jobmatch /srv/jobmatch
WORKDIR /srv/jobmatch
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
# Liveness only (the process answers); /readyz says whether it can serve.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('JOBMATCH_PORT', '8000') + '/healthz', timeout=4)"]
# Binding 0.0.0.0 is right inside a container: the port is published by the runtime.
CMD ["jobmatch", "serve"]
