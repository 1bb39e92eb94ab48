# syntax=docker/dockerfile:1
# The hardship service image.
#
#   docker build -t hardship .
#   docker run --rm -e DATABASE_URL=postgresql://user:pass@db/hardship hardship hardship db upgrade
#   docker run -d -p 8000:8000 -e DATABASE_URL=postgresql://user:pass@db/hardship \
#       -e HARDSHIP_SECRET_KEY=<random string of 32+ characters> hardship
#
# Migrations are a separate step: run `hardship db upgrade` (the first command above) once per release,
# before the new containers start; the server never migrates on start-up, so several replicas can
# start together.  Other commands run the same way: `docker run --rm -i ... hardship hardship keys
# create --role admin --name ops`, `... hardship hardship import accounts /data/accounts.csv` (mount
# the file).  Without DATABASE_URL the service uses a SQLite file in /var/lib/hardship (a volume).

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the package and its dependencies in a virtualenv ------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /build
# Dependencies first, from pyproject.toml alone (with an empty stand-in package), so that a change to
# the code reuses this layer.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && rm -rf app build
COPY app ./app
RUN pip install --no-deps --force-reinstall .

# --- runtime: the virtualenv, the code, the migrations; a non-root user ---------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# The code runs from /srv/hardship (PYTHONPATH): `hardship db upgrade` finds alembic.ini and migrations/
# beside the app package there.  The working directory is the only writable place.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/srv/hardship \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARDSHIP_ENVIRONMENT=production \
    PORT=8000
RUN groupadd --system --gid 10001 hardship \
    && useradd --system --uid 10001 --gid hardship --home-dir /var/lib/hardship --create-home \
       --shell /usr/sbin/nologin hardship
COPY --from=builder /opt/venv /opt/venv
WORKDIR /srv/hardship
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN python -m compileall -q app migrations
USER hardship:hardship
WORKDIR /var/lib/hardship
VOLUME ["/var/lib/hardship"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["hardship", "serve", "--host", "0.0.0.0"]
