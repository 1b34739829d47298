# Hearth: multi-stage, slim, non-root. No torch or CUDA: translation runs on CTranslate2
# through argos-translate-lt. Translation models are not baked in: mount them at /models.
# compose.yaml runs this image as the API and as the queue workers (README: "Docker").

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/hearth
# What the package build reads: setup.py bundles alembic.ini, migrations/, locales/ (.mo)
# and message_templates/ into the installed package (app/_bundled/).
COPY pyproject.toml setup.py MANIFEST.in README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY locales ./locales
COPY message_templates ./message_templates
# The same install step as `make setup`, without the dev extra and not editable.
RUN /opt/hearth/bin/pip install --upgrade pip \
 && /opt/hearth/bin/pip install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --user-group hearth \
 && mkdir -p /data /models \
 && chown hearth:hearth /data /models
COPY --from=build /opt/hearth /opt/hearth
ENV PATH="/opt/hearth/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    HEARTH_ENV=production \
    HEARTH_DATA_DIR=/data \
    HEARTH_ARGOS_PACKAGES_DIR=/models
WORKDIR /home/hearth
USER hearth
# /data: the data dir (Argos's own settings, anything Hearth keeps on disk); /models: the
# installed translation models, shared by the API and the workers.
VOLUME ["/data", "/models"]
EXPOSE 8000
# Slim has no curl: ask the health endpoint (it also checks the database) with Python.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4); sys.exit(r.status != 200)"]
# Migrate first, then serve; exec so the server gets the container's signals.
CMD ["sh", "-c", "hearth db upgrade && exec hearth serve --host 0.0.0.0 --port 8000"]
