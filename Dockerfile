# One image for every Fundboard process: web (ASGI), worker, beat, stream, migrate, and the
# demo profile's sandbox. Layers go from least to most often changed, so a code change
# rebuilds only the last ones: the pinned dependencies install from pyproject.toml alone.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    FUNDBOARD_COLLECTED_STATIC=1 \
    STATIC_ROOT=/app/staticfiles \
    FUNDBOARD_DATA_DIR=/app/var

WORKDIR /app
RUN useradd --system --home-dir /app --no-create-home fundboard

# The runtime dependencies pinned in pyproject.toml (not the `test` extra).
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code runs from /app (PYTHONPATH), next to its templates and static files.
COPY manage.py ./
COPY templates ./templates
COPY static ./static
COPY fundboard ./fundboard
# Compressed, hashed static files, served by WhiteNoise with far-future cache headers.
# /app/var holds celery beat's schedule file: the only place the app user writes.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var && chown fundboard /app/var
USER fundboard

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-ingest"]
