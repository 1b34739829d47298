"""/docs and /redoc render in Chromium on a network where nothing but Hearth answers: every
request to another host is aborted, and no request may fail."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect


@pytest.fixture
def hearth_only(browser_page):
    """The page, with every request to anything but 127.0.0.1 aborted and every failure kept."""
    page = browser_page
    elsewhere: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def only_hearth(route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_hearth)
    page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not elsewhere, f"the page asked other hosts for {elsewhere}"
    assert not failed, f"requests failed: {failed}"
    assert not errors, f"scripts failed: {errors}"


def test_swagger_ui_renders_every_operation_from_hearths_own_files(live_server, hearth_only):
    page = hearth_only
    page.goto(f"{live_server.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Hearth")
    translate = page.locator(".opblock", has_text="/api/v1/translate").first
    expect(translate).to_be_visible()
    translate.locator(".opblock-summary").click()  # opens: the request schema renders too
    expect(translate.get_by_text("back_translate").first).to_be_visible()
    page.wait_for_load_state("networkidle")


def test_swagger_ui_calls_the_api_with_a_key_given_to_authorize(live_server, hearth_only):
    """The document declares the API key, so /docs has "Authorize": a key given there goes
    with "Try it out", and the call answers 200 instead of "Send an API key"."""
    admin_key = (live_server.log.parent / "demo-api-keys").read_text().split("\n")[0]
    page = hearth_only
    page.goto(f"{live_server.url}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".auth-container input").first.fill(admin_key)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator(".auth-btn-wrapper button.btn-done").click()
    languages = page.locator(".opblock-get", has_text="/api/v1/languages").first
    languages.locator(".opblock-summary").click()
    languages.get_by_role("button", name="Try it out").click()
    languages.get_by_role("button", name="Execute").click()
    code = languages.locator(".live-responses-table .response .response-col_status").first
    expect(code).to_have_text("200")
    page.wait_for_load_state("networkidle")


def test_redoc_renders_the_api_from_hearths_own_files(live_server, hearth_only):
    page = hearth_only
    page.goto(f"{live_server.url}/redoc")
    # ReDoc lays out the whole API before it shows anything: seconds on a busy machine.
    expect(page.locator("h1").first).to_contain_text("Hearth", timeout=60_000)
    expect(page.get_by_text("/api/v1/translate").first).to_be_attached()
    page.get_by_role("menuitem").filter(has_text="Translate").first.click()
    expect(page.get_by_text("back_translate").first).to_be_visible()
    page.wait_for_load_state("networkidle")
