"""create_app(): routers, middleware, error handlers, lifespan."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

import app.models  # noqa: F401  (every table known before any query)
import app.tasks  # noqa: F401  (every job known to the embedded consumer)
from app import __version__
from app.broadcasts.router import router as broadcasts_router
from app.conferences.router import router as conferences_router
from app.core import api_docs, deferred
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import ERROR_RESPONSES, install_error_handlers
from app.core.logging import RequestContext, configure_logging
from app.core.queue import (
    EmbeddedConsumerLock,
    EmbeddedConsumers,
    huey,
    start_embedded_consumer,
)
from app.delivery.router import router as delivery_router
from app.messaging.router import router as messaging_router
from app.messaging.webhooks import router as messaging_webhooks
from app.operations.router import router as operations_router
from app.people.router import router as people_router
from app.records.router import router as records_router
from app.reports.router import router as reports_router
from app.roster.router import router as roster_router
from app.roster.upload_limit import RosterUploadLimit
from app.schools.router import router as schools_router
from app.tasks import warm_up
from app.translation.router import router as translation_router
from app.web.pages import install_page_errors
from app.web.router import router as web_router

STATIC_DIR = Path(__file__).parent / "static"


def create_app() -> FastAPI:
    settings = get_settings()

    def start_consumers() -> EmbeddedConsumers:
        warm_up()  # before the first job, not inside its transaction
        return start_embedded_consumer(settings.embedded_workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Embedded default: the job consumer runs as threads inside the server process — in
        # one server process only when `hearth serve --workers N` runs several (the one that
        # holds the data dir's consumer lock; another takes over if that one ends).
        consumers = None
        if settings.embedded_workers > 0 and not huey.immediate:
            consumers = EmbeddedConsumerLock(
                settings.data_dir / "embedded-consumer.lock", start_consumers
            ).start()
        yield
        if consumers is not None:
            consumers.stop()
        deferred.flush()

    app = FastAPI(
        title="Hearth",
        version=__version__,
        description="Two-way, translated messaging between schools and families.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # /docs and /redoc come from api_docs.install, with Hearth's own copies of their scripts.
        docs_url=None,
        redoc_url=None,
        openapi_url=api_docs.openapi_url(settings),
    )
    install_error_handlers(app)
    install_page_errors(app)
    api_docs.install(app)
    # BodySizeLimit everywhere, with a larger cap for roster uploads.
    app.add_middleware(
        RosterUploadLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.roster_max_upload_bytes,
        attachment_max_bytes=settings.attachment_max_mb * 1024 * 1024,
    )
    # Outermost: every request, a refused one too, gets a request id and an access line (and
    # is counted in flight: the translation batcher reads it, app.core.inflight).
    app.add_middleware(RequestContext)
    # A request is matched against the routes in this order, one by one (a few µs each): the
    # busiest first — Twilio's and the mail server's webhooks, a broadcast's status callbacks,
    # the translate API — then the rest.
    app.include_router(messaging_webhooks)
    app.include_router(delivery_router)
    app.include_router(translation_router)
    app.include_router(schools_router)
    app.include_router(people_router)
    app.include_router(records_router)
    app.include_router(messaging_router)
    app.include_router(roster_router)
    app.include_router(broadcasts_router)
    app.include_router(conferences_router)
    app.include_router(operations_router)
    app.include_router(reports_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """What browsers ask every page for (the family page too, which links nothing)."""
        return FileResponse(
            STATIC_DIR / "favicon.svg",
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    if settings.dev_tools:
        from app.devtools.router import router as devtools_router

        app.include_router(devtools_router)

    @app.get("/api/v1/health", tags=["operations"])
    def health(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok", "version": __version__}

    return app


def create_served_app() -> FastAPI:
    """The app as `hearth serve` runs it: with --workers N each server process is started
    afresh and sets up its own logging."""
    configure_logging(get_settings().log_level)
    app = create_app()
    # What start-up made (modules, mappers, routes, catalogs: ~250,000 objects) lives as long
    # as the process: out of the garbage collector's sight, a full collection takes well under
    # a millisecond instead of ~90 ms with every request stopped for it (bench/README.md).
    gc.collect()
    gc.freeze()
    return app
