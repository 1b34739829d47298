"""Domain errors carry their HTTP status; one handler renders every error the same way:
{"error": {"code": "...", "message": "...", "details": [...]}}."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("hearth")


class HearthError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(HearthError):
    status_code = 404
    code = "not_found"


class Forbidden(HearthError):
    status_code = 403
    code = "forbidden"


class Unauthorized(HearthError):
    status_code = 401
    code = "unauthorized"


class Conflict(HearthError):
    status_code = 409
    code = "conflict"


class Invalid(HearthError):
    status_code = 422
    code = "invalid"


class Unavailable(HearthError):
    """Something Hearth depends on (a provider) did not answer: worth trying again."""

    status_code = 503
    code = "unavailable"


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]]


class ErrorResponse(BaseModel):
    """The one shape of every error answer, as documented in the OpenAPI schema."""

    error: ErrorInfo


# Documented on every operation, so that clients (and schema checks) know the error shape;
# 422 replaces FastAPI's own validation schema, which this handler never answers with.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in [
        (400, "Bad request"),
        (401, "No valid API key"),
        (403, "Not allowed"),
        (404, "Not found, or not visible to this key"),
        (409, "Conflicts with the current state"),
        (413, "Request body too large"),
        (422, "Invalid input"),
    ]
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _human(err: dict[str, Any]) -> str:
    field = _field_name(tuple(err.get("loc", ())))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return f"Unknown field '{field}'."
    if kind == "missing":
        return f"'{field}' is required."
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    msg = str(err.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ")
    return f"'{field}': {msg}"


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"field": _field_name(tuple(e.get("loc", ()))), "message": _human(e)} for e in errors]


def hearth_error_response(exc: HearthError) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404 and message == "Not Found":
        message = "Nothing is here."
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if errors and all(tuple(e.get("loc", ("",)))[0] == "path" for e in errors):
        # An address whose id is out of range or not a number (/threads/99999999999,
        # /threads/abc) names nothing: not there, the same answer as an id nobody may see.
        return JSONResponse(error_body("not_found", "Nothing is here."), status_code=404)
    details = validation_details(errors)
    # One sentence each, even where the validator's own words end without a stop.
    message = " ".join(
        text if text.endswith((".", "?", "!")) else f"{text}."
        for text in (d["message"] for d in details[:3])
    )
    message = message or "The request is invalid."
    return JSONResponse(error_body("invalid", message, details), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HearthError)
    async def _hearth(_: Request, exc: HearthError) -> JSONResponse:
        return hearth_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            error_body("internal", "Something went wrong on our side. It has been logged."),
            status_code=500,
        )
