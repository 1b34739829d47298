"""A family sends a photo back from its page, in a real browser on a phone-sized screen, against
`hearth serve --demo`: the photo goes with the reply (only the photo, no words), and the
teacher's thread shows it in the family's bubble."""

import io

from PIL import Image
from playwright.sync_api import expect

from tests.web.conftest import sign_in
from tests.web.test_browser_family_page import VIETNAMESE, _guardian, _keys, _link, _note
from tests.web.test_browser_teacher import PASSWORD, TEACHER, _without_quiet_hours


def _photo() -> bytes:
    image = Image.new("RGB", (90, 60), (200, 120, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_family_sends_a_photo_from_its_page_and_the_teacher_sees_it(live_server, chromium):
    url = live_server.url
    _without_quiet_hours(live_server)
    admin, teacher = _keys(live_server)
    minh = _guardian(url, admin, VIETNAMESE)
    thread_id = _note(url, teacher, minh, "Please send a photo of the signed form.")
    link = _link(url, admin, minh)

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = phone.new_page()
    page.set_default_timeout(20_000)
    try:
        response = page.goto(link)
        assert response is not None and response.status == 200
        page.locator("#photo").set_input_files(
            files=[{"name": "form.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
        )
        page.locator("#reply button.send").click()
        expect(page.locator("#sent")).to_be_visible()
        mine = page.locator("article.message.mine img.photo").last
        expect(mine).to_be_visible()
        page.wait_for_load_state("load")
    finally:
        phone.close()

    staff = chromium.new_context(locale="en-US")
    page = staff.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, url, TEACHER, PASSWORD)
        page.goto(f"{url}/threads/{thread_id}")
        shown = page.locator("#messages article.message.inbound img.photo").last
        expect(shown).to_be_visible()
        expect(shown).to_have_attribute("alt", "form.jpg")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
        )
        assert shown.evaluate("img => img.naturalWidth") == 90
        page.wait_for_load_state("load")
    finally:
        staff.close()
