"""Attachments in a real browser, against `hearth serve --demo`: a teacher picks a photo in a
thread's reply form and sends it; the thread shows it; the family's page on a phone shows it
inline (its Content-Security-Policy lets the page's own images in, and nothing from elsewhere)."""

import io
from urllib.parse import urlsplit

from PIL import Image
from playwright.sync_api import expect

from tests.web.conftest import sign_in
from tests.web.test_browser_family_page import VIETNAMESE, _guardian, _keys, _link, _note
from tests.web.test_browser_teacher import PASSWORD, TEACHER, _without_quiet_hours


def _photo() -> bytes:
    image = Image.new("RGB", (120, 80), (30, 140, 90))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _loaded(locator) -> int:
    return locator.evaluate("img => img.complete ? img.naturalWidth : 0")


def test_a_teacher_sends_a_photo_and_the_family_sees_it(live_server, chromium):
    url = live_server.url
    _without_quiet_hours(live_server)
    admin, teacher = _keys(live_server)
    minh = _guardian(url, admin, VIETNAMESE)
    thread_id = _note(url, teacher, minh, "Photos from the field trip follow.")

    staff = chromium.new_context(locale="en-US")
    page = staff.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, url, TEACHER, PASSWORD)
        page.goto(f"{url}/threads/{thread_id}")
        page.locator("#body").fill("Here is the class photo.")
        page.locator("#attachments").set_input_files(
            files=[{"name": "class.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
        )
        page.get_by_role("button", name="Send reply").click()
        page.wait_for_url(f"{url}/threads/{thread_id}#m*")
        shown = page.locator("#messages img.photo").first
        expect(shown).to_be_visible()
        expect(shown).to_have_attribute("alt", "class.jpg")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
        )
        assert _loaded(shown) == 120
    finally:
        staff.close()

    link = _link(url, admin, minh)
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = phone.new_page()
    page.set_default_timeout(20_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        photo = page.locator("article.message img.photo")
        for _ in range(120):  # the note waits for its Vietnamese translation, as its text does
            response = page.goto(link)
            assert response is not None and response.status == 200
            if photo.count():
                break
            page.wait_for_timeout(500)
        expect(photo.first).to_be_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=photo.first.element_handle()
        )
        assert _loaded(photo.first) == 120
        assert {urlsplit(u).hostname for u in requested} == {"127.0.0.1"}, requested
    finally:
        phone.close()
