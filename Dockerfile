# Hearth: multi-stage, slim, non-root. No torch or CUDA: translation runs on CTranslate2
# through argos-translate-lt. Translation models are not baked in: mount them at /models.
# compose.yaml runs this image as the API and as the queue workers (README: "Docker").
#
#   make image                 # or: docker build -t hearth .
# Behind a proxy that inspects TLS, give pip the proxy's CA certificate (PEM) as a secret:
#   docker build --secret id=ca,src=corporate-ca.pem -t hearth .
#   buildah bud --secret id=ca,src=corporate-ca.pem -t hearth .
# (without it pip fails there with a misleading "No matching distribution found").

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python -m venv /opt/hearth
# Exactly the runtime lock's versions, each file checked against its hash (as `make setup`
# does with the dev lock). Its own layer: it is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then \
        cat /etc/ssl/certs/ca-certificates.crt /run/secrets/ca > /tmp/ca-bundle.pem \
        && export PIP_CERT=/tmp/ca-bundle.pem; \
    fi \
 && { /opt/hearth/bin/python -m pip install --no-compile --require-hashes -r requirements.lock \
      || { echo "pip could not install requirements.lock. Behind a proxy that inspects TLS, pass" \
              "its CA certificate: --secret id=ca,src=<the CA's PEM file>" >&2; exit 1; }; } \
 && rm -f /tmp/ca-bundle.pem
# What the package build reads: setup.py bundles alembic.ini, migrations/, locales/ (.mo)
# and message_templates/ into the installed package (app/_bundled/).
COPY pyproject.toml setup.py MANIFEST.in README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY locales ./locales
COPY message_templates ./message_templates
# Hearth itself: no dependencies of its own (the lock has them), built offline by the locked
# setuptools. Then what the running service never uses: the installer and the build backend,
# and the test suites some packages ship (numpy's alone is 15 MB).
RUN /opt/hearth/bin/python -m pip install --no-compile --no-deps --no-build-isolation . \
 && /opt/hearth/bin/python -m pip uninstall --yes pip setuptools \
 && find /opt/hearth/lib/python3.11/site-packages -depth -type d \
        \( -name tests -o -path '*/joblib/test' \) -exec rm -rf {} +
# Compiled bytecode (.pyc) for the code Hearth runs, not for all of every package (~90 MB):
# load every module of Hearth, what they load lazily, and the migrations, once, here. The
# image's user cannot write there, so whatever was left out is compiled at each start.
RUN cd /tmp && export HEARTH_ENV=dev HEARTH_DATA_DIR=/tmp/warm-up \
 && /opt/hearth/bin/python -c "import importlib, pkgutil, app; [importlib.import_module(m.name) for m in pkgutil.walk_packages(app.__path__, 'app.') if not m.name.endswith('__main__')]; import uvicorn.main, uvicorn.loops.auto, uvicorn.loops.asyncio, uvicorn.protocols.http.auto, uvicorn.protocols.websockets.auto, uvicorn.lifespan.on, argostranslate.translate, argostranslate.package, argostranslate.sbd, ctranslate2, langid.langid, twilio.rest, psycopg, sqlalchemy.dialects.postgresql.psycopg, redis" \
 && /opt/hearth/bin/hearth db upgrade \
 && rm -rf /tmp/warm-up

FROM python:3.11-slim
# espeak-ng speaks voice calls in the languages Twilio has no voice for (Haitian Creole): about
# 10 MB with its voices. From Debian's own packages, like the base image.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends espeak-ng \
 && rm -rf /var/lib/apt/lists/*
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
# compose.yaml repeats it for the app service: images in the OCI format carry no HEALTHCHECK.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4); sys.exit(r.status != 200)"]
# Every command (the server, the workers, `hearth ...` run by hand) first checks that the data
# dir is writable: a host folder owned by another user otherwise fails later, and obscurely.
ENTRYPOINT ["/bin/sh", "-c", "mkdir -p \"$HEARTH_DATA_DIR\" 2>/dev/null; if [ ! -w \"$HEARTH_DATA_DIR\" ]; then echo \"hearth: the data dir $HEARTH_DATA_DIR is not writable by uid $(id -u): make the volume or host folder mounted there writable by it (chown $(id -u))\" >&2; exit 1; fi; exec \"$@\"", "hearth-entrypoint"]
# Migrate first, then serve; exec so the server gets the container's signals.
CMD ["sh", "-c", "hearth db upgrade && exec hearth serve --host 0.0.0.0 --port 8000"]
