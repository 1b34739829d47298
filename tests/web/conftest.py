"""Web app fixtures: a TestClient signed in as a staff member (`signed_in`), and for browser
tests a real `hearth serve --demo` on 127.0.0.1 driven by Debian's Chromium (`browser_page`)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth import sessions
from app.auth.dependencies import SESSION_COOKIE
from tests.servers import free_port

CHROMIUM = os.environ.get("HEARTH_TEST_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The test machine has no internet: without these Chromium keeps dialling out.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class WebClient:
    client: TestClient
    csrf_token: str

    def get(self, url: str, **kw):
        return self.client.get(url, headers={"accept": "text/html"}, **kw)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kw):
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf_token)
        return self.client.post(
            url, data=form, headers={"accept": "text/html"}, follow_redirects=False, **kw
        )


@pytest.fixture
def signed_in(app, session: Session) -> Iterator[Callable[..., WebClient]]:
    """signed_in(staff) -> a client whose requests carry that staff member's session."""
    clients: list[TestClient] = []

    def make(staff) -> WebClient:
        token = sessions.start_session(session, staff)
        session.commit()
        signed = sessions.current(session, token)
        assert signed is not None
        client = TestClient(app, raise_server_exceptions=False)
        client.cookies.set(SESSION_COOKIE, token)
        clients.append(client)
        return WebClient(client, signed.csrf_token)

    yield make
    for client in clients:
        client.close()


@dataclass
class LiveServer:
    url: str
    log: Path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """`hearth serve --demo` in a subprocess: SQLite, embedded workers, dev phone, demo data."""
    data_dir = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        HEARTH_DATA_DIR=str(data_dir),
        HEARTH_ENV="dev",
        HEARTH_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HEARTH_SMS_SEGMENTS_PER_SECOND="1000",
    )
    log = data_dir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--demo", "--port", str(port)],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"hearth serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    try:
        yield LiveServer(url, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, tmp_path) -> Iterator:
    context = chromium.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()


def sign_in(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label(re.compile("^Email")).fill(email)
    page.get_by_label(re.compile("^Password")).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(inbox|dashboard|broadcasts)"))


def wait_until_sent(page, timeout: float = 60_000) -> None:
    """On a broadcast's page: wait until it has gone out to every family. Its status reads
    "Sending" from Confirm until its last text has left (before the texts are even made, when no
    count is "still going out" yet), then "Sent"."""
    from playwright.sync_api import expect

    status = page.locator("#broadcast-live dl.facts dd").first.locator(".badge").first
    expect(status).to_have_text("Sent", timeout=timeout)


def reply_from_phone(
    page, url: str, guardian: str, text: str, *, first: str = "", then: str = ""
) -> None:
    """Reply as `guardian` from the dev phone in a new tab of `page`'s browser: wait for `first`
    to arrive on the phone when given, send `text`, wait for the school's answer `then` when
    given, and close the tab. (Closing a tab while its form's navigation is still committing can
    hang Chromium for good, so the tab is closed only once the phone shows the reply sent.)"""
    from playwright.sync_api import expect

    phone = page.context.new_page()
    phone.goto(f"{url}/dev/phone?q={guardian.split()[-1]}")
    phone.get_by_role("link", name=guardian).click()
    shown = phone.locator("section.phone")
    if first:
        expect(shown).to_contain_text(first, timeout=60_000)
    phone.get_by_label("Reply as this family").fill(text)
    phone.get_by_role("button", name="Send").click()
    expect(shown.locator(".bubble.me").last).to_contain_text(text)
    if then:
        expect(shown).to_contain_text(then, timeout=60_000)
    phone.wait_for_load_state("load")
    phone.close()
