# Hearth: multi-stage, slim, non-root. No torch/CUDA: translation runs on CTranslate2.
# Translation models are not baked in: mount them at /data/argos-packages (see README).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/hearth
COPY pyproject.toml README.md ./
COPY app ./app
# The same install step as `make setup`, without the dev extras.
RUN /opt/hearth/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/hearth/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 hearth
COPY --from=build /opt/hearth /opt/hearth
WORKDIR /srv/hearth
COPY alembic.ini ./
COPY migrations ./migrations
COPY locales ./locales
COPY message_templates ./message_templates
ENV PATH="/opt/hearth/bin:$PATH" \
    HEARTH_DATA_DIR=/data \
    HEARTH_ENV=production \
    PYTHONUNBUFFERED=1
RUN mkdir -p /data && chown hearth /data
USER hearth
VOLUME ["/data"]
EXPOSE 8000
CMD ["hearth", "serve", "--host", "0.0.0.0", "--port", "8000"]
