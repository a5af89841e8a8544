# One image for every Fundboard process: web (ASGI), worker, beat, stream, migrate.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FUNDBOARD_COLLECTED_STATIC=1 \
    STATIC_ROOT=/app/staticfiles \
    FUNDBOARD_DATA_DIR=/app/var

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY fundboard ./fundboard
RUN pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# Compressed, hashed static files, served by WhiteNoise with far-future cache headers.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && useradd --system --home /app fundboard \
    && mkdir -p /app/var && chown fundboard /app/var
USER fundboard

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-ingest"]
