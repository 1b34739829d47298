"""/metrics for Prometheus and /api/v1/ready for load balancers and orchestrators."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.core import metrics
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import error_body
from app.operations import service

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, session: SessionDep) -> Response:
    metrics.check_access(get_settings(), request.headers.get("authorization"))
    body = metrics.exposition([service.ScrapeTimeGauges(session)])
    return Response(body, media_type=metrics.CONTENT_TYPE)


@router.get(
    "/api/v1/ready",
    responses={503: {"description": "A check failed; `error.message` says which."}},
)
def ready(session: SessionDep) -> Any:
    """Readiness: the database answers, the job queue answers, at least one translation model
    is installed, and with HEARTH_ATTACHMENT_STORE=s3 the attachments' bucket answers.
    `warnings` says what is wrong but does not stop serving (a model built for tests: not for
    families). `/api/v1/health` is the liveness check."""
    result = service.readiness(session)
    if result.ready:
        return {"status": "ready", "checks": result.checks, "warnings": result.warnings}
    body = {
        "status": "not_ready",
        "checks": result.checks,
        "warnings": result.warnings,
        **error_body("not_ready", result.message()),
    }
    return JSONResponse(body, status_code=503)
