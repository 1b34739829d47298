"""create_app(): routers, middleware, error handlers, lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

import app.models  # noqa: F401  (every table known before any query)
import app.tasks  # noqa: F401  (every job known to the embedded consumer)
from app import __version__
from app.broadcasts.router import router as broadcasts_router
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import install_error_handlers
from app.core.queue import huey, start_embedded_consumer
from app.delivery.router import router as delivery_router
from app.messaging.router import router as messaging_router
from app.people.router import router as people_router
from app.roster.router import router as roster_router
from app.roster.upload_limit import RosterUploadLimit
from app.schools.router import router as schools_router
from app.translation.router import router as translation_router


def create_app() -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Embedded default: the job consumer runs as threads inside the server process.
        consumer = None
        if settings.embedded_workers > 0 and not huey.immediate:
            consumer = start_embedded_consumer(settings.embedded_workers)
        yield
        if consumer is not None:
            consumer.stop(graceful=True)

    app = FastAPI(
        title="Hearth",
        version=__version__,
        description="Two-way, translated messaging between schools and families.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # BodySizeLimit everywhere, with a larger cap for roster uploads.
    app.add_middleware(
        RosterUploadLimit,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.roster_max_upload_bytes,
    )
    app.include_router(schools_router)
    app.include_router(people_router)
    app.include_router(messaging_router)
    app.include_router(roster_router)
    app.include_router(translation_router)
    app.include_router(delivery_router)
    app.include_router(broadcasts_router)

    if settings.env == "dev":
        from app.devtools.router import router as devtools_router

        app.include_router(devtools_router)

    @app.get("/api/v1/health", tags=["operations"])
    def health(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok", "version": __version__}

    return app
