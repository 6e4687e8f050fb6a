# jobmatch service image: the pinned runtime set, migrations applied at start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JOBMATCH_HOST=0.0.0.0 \
    JOBMATCH_PORT=8000 \
    JOBMATCH_DATABASE_URL=sqlite:////data/jobmatch.db \
    JOBMATCH_MODELS_DIR=/data/models

WORKDIR /srv/jobmatch
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY app ./app
# Editable, so the migrations in alembic/ are found beside the package.
RUN pip install --no-cache-dir --no-deps -e .

RUN useradd --system --home /srv/jobmatch jobmatch && mkdir -p /data && chown jobmatch /data
USER jobmatch
VOLUME ["/data"]
EXPOSE 8000
# Binding 0.0.0.0 is right inside a container: the port is published by the runtime.
CMD ["sh", "-c", "jobmatch db upgrade && jobmatch serve"]
