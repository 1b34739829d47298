"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served with Hearth's
own copies of their scripts (app/static/docs, `make docs-assets`): no CDN and no web fonts, so
they work on a network with no internet. HEARTH_API_DOCS turns them, and /openapi.json, on or
off (default: on in dev, off in production)."""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.core.config import Settings

OPENAPI_URL = "/openapi.json"
ASSETS = "/static/docs"


def openapi_url(settings: Settings) -> str | None:
    """FastAPI's `openapi_url`: None leaves /openapi.json out (it answers 404)."""
    return OPENAPI_URL if settings.api_docs else None


def install(app: FastAPI) -> None:
    """Adds /docs and /redoc when the app publishes its OpenAPI document."""
    if app.openapi_url is None:
        return
    schema_url = app.openapi_url
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + schema_url,
            title=title,
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
            # No badge asking the public validator service about our document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + schema_url,
            title=title,
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
            with_google_fonts=False,
        )
