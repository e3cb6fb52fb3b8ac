# One image for web, worker and simulator; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code edits do not invalidate this layer.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Run as an unprivileged user. /var/lib/koinonia-sim is where the simulator's
# signing key lives (a named volume in docker-compose.yml, which copies this
# ownership into the new volume).
RUN useradd --system --create-home --uid 10001 koinonia \
    && mkdir -p /var/lib/koinonia-sim \
    && chown -R koinonia /app /var/lib/koinonia-sim
USER koinonia

EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "wsgi:app"]
