"""/docs and /redoc use only Hearth's own files, and HEARTH_API_DOCS turns them off.
(tests/web/test_browser_api_docs.py renders them in Chromium with every other host blocked.)"""

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import get_settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "app" / "static" / "docs"
PRODUCTION = {
    "HEARTH_ENV": "production",
    "HEARTH_SECRET_KEY": "Zq8-x7Rk2pWm9vTb4nLs6yHd3cFgJ5aQ1eU0",
    "HEARTH_SMS_BACKEND": "twilio",
    "HEARTH_EMAIL_BACKEND": "smtp",
    "HEARTH_TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "HEARTH_TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
}


@pytest.fixture
def app_with(monkeypatch) -> Iterator[Callable[..., FastAPI]]:
    """app_with(HEARTH_X="...") -> a new app reading those settings."""

    def make(**env: str) -> FastAPI:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        return create_app()

    yield make
    get_settings.cache_clear()


class Links(HTMLParser):
    """Every URL a page loads by itself: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_hearths_own_files(app_with, page):
    client = TestClient(app_with(HEARTH_ENV="dev"))
    answer = client.get(page)
    assert answer.status_code == 200
    links = Links()
    links.feed(answer.text)
    assert links.urls, f"{page} loads nothing?"
    for url in links.urls:
        assert url.startswith("/static/docs/"), f"{page} loads {url} from elsewhere"
        assert client.get(url).status_code == 200, f"{page} needs {url}, which is not served"
    # The document itself, and no other address anywhere in the page.
    assert "/openapi.json" in answer.text
    assert not re.findall(r"https?://(?!127\.0\.0\.1)", answer.text), "a page names a host"
    assert client.get("/openapi.json").json()["info"]["title"] == "Hearth"


def test_production_publishes_no_docs_unless_asked(app_with):
    client = TestClient(app_with(**PRODUCTION), raise_server_exceptions=False)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path
    client = TestClient(app_with(**PRODUCTION, HEARTH_API_DOCS="true"))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_dev_can_turn_them_off(app_with):
    client = TestClient(app_with(HEARTH_ENV="dev", HEARTH_API_DOCS="false"))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path


def test_the_vendored_files_are_the_versions_the_makefile_names_with_their_licences():
    makefile = (ROOT / "Makefile").read_text()
    versions = dict(line.split() for line in (ASSETS / "VERSIONS").read_text().splitlines())
    assert f"SWAGGER_UI_VERSION := {versions['swagger-ui-dist']}" in makefile
    assert f"REDOC_VERSION      := {versions['redoc']}" in makefile
    for script in ("swagger-ui-bundle.js", "redoc.standalone.js"):
        assert (ASSETS / script).stat().st_size > 500_000
        assert (ASSETS / f"{script}.LICENSE.txt").is_file(), f"{script}: its bundled licences"
    # `make docs-assets` swaps the logo ReDoc would fetch from Redocly's CDN for an empty one.
    assert "cdn.redoc.ly" not in (ASSETS / "redoc.standalone.js").read_text()
    for project in ("swagger-ui", "redoc"):
        assert (ASSETS / f"{project}.LICENSE").read_text().strip(), f"{project}'s licence"


def test_the_document_says_which_operations_need_an_api_key(app_with):
    """The key's scheme is declared, so /docs offers "Authorize"; every operation that needs a
    key names it (the translate API too, which reads its key by hand); health and the
    provider webhooks, which take none, do not."""
    document = TestClient(app_with(HEARTH_ENV="dev")).get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    operations = {
        (path, method): spec for path, item in document["paths"].items()
        for method, spec in item.items()
    }  # fmt: skip
    keyed = {key for key, spec in operations.items() if spec.get("security") == [{"apiKey": []}]}
    assert ("/api/v1/translate", "post") in keyed and ("/api/v1/guardians", "get") in keyed
    assert ("/api/v1/health", "get") not in keyed
    assert not [key for key in keyed if key[0].startswith("/webhooks")]
    unmarked = sorted(key for key in operations if key[0].startswith("/api/") and key not in keyed)
    assert unmarked == [("/api/v1/health", "get"), ("/api/v1/ready", "get")], unmarked
