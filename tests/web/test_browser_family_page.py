"""The family page in a real browser on a phone-sized screen, against `hearth serve --demo`: a
teacher's note opens in Vietnamese from the family's link, the family answers there and the
answer reaches the teacher's thread, which shows it was seen; an Arabic family's page reads
right to left; a tampered link is a plain 404; and the page asks nothing of any other host."""

import re
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import expect

from tests.web.conftest import sign_in
from tests.web.test_browser_teacher import PASSWORD, TEACHER, _without_quiet_hours

NOTE = "The field trip is on Friday."
REPLY_VI = "Cảm ơn cô, con tôi sẽ đi."
VIETNAMESE = "Minh Trần"  # Noor Trần's father, in Ms. Rivera's Room 12 (app/demo/service.py)
ARABIC = "Fatima Hassan"  # Ayaan Hassan's mother, in Room 12 too


def _keys(live_server) -> tuple[dict[str, str], dict[str, str]]:
    admin, teacher = (live_server.log.parent / "demo-api-keys").read_text().split("\n")[:2]
    return {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {teacher}"}


def _guardian(url: str, headers: dict[str, str], name: str) -> dict:
    given, family = name.split(" ", 1)
    found = httpx.get(f"{url}/api/v1/guardians", params={"q": family}, headers=headers).json()
    return next(g for g in found["items"] if g["given_name"] == given)


def _note(url: str, headers: dict[str, str], guardian: dict, body: str) -> int:
    thread = httpx.post(
        f"{url}/api/v1/threads",
        headers=headers,
        json={
            "student_id": guardian["student_ids"][0],
            "subject": "Field trip",
            "guardian_ids": [guardian["id"]],
        },
    )
    assert thread.status_code == 201, thread.text
    thread_id = thread.json()["id"]
    sent = httpx.post(
        f"{url}/api/v1/threads/{thread_id}/messages", headers=headers, json={"body": body}
    )
    assert sent.status_code == 201, sent.text
    return thread_id


def _link(url: str, headers: dict[str, str], guardian: dict) -> str:
    made = httpx.post(f"{url}/api/v1/guardians/{guardian['id']}/family-link", headers=headers)
    assert made.status_code == 201, made.text
    return made.json()["url"]


def test_a_family_reads_and_answers_from_its_link_on_a_phone(live_server, chromium):
    url = live_server.url
    _without_quiet_hours(live_server)
    admin, teacher = _keys(live_server)
    minh = _guardian(url, admin, VIETNAMESE)
    fatima = _guardian(url, admin, ARABIC)
    assert minh["language"] == "vi" and fatima["language"] == "ar"
    thread_id = _note(url, teacher, minh, NOTE)
    _note(url, teacher, fatima, NOTE)
    vi_link, ar_link = _link(url, admin, minh), _link(url, admin, fatima)
    assert vi_link != ar_link and vi_link.startswith(f"{url}/f/")

    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        # Vietnamese: the teacher's note in Vietnamese (its translation job runs in the server's
        # worker, so the page is reloaded until it is there), the original on request.
        note = page.locator("article.message:not(.mine) p.text[lang='vi']")
        for _ in range(120):
            response = page.goto(vi_link)
            assert response is not None and response.status == 200
            if note.count():
                break
            page.wait_for_timeout(500)
        expect(page.locator("html")).to_have_attribute("lang", "vi")
        expect(page.locator("html")).to_have_attribute("dir", "ltr")
        expect(page.get_by_role("heading", level=1)).to_have_text("Tin nhắn từ nhà trường")
        expect(note.first).not_to_have_text(NOTE)
        original = page.locator("article.message:not(.mine) details").first
        expect(original.locator("p.text")).to_be_hidden()
        original.locator("summary").click()
        expect(original.locator("p.text")).to_have_text(NOTE)
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "noindex" in response.headers["x-robots-tag"]

        # The family answers in Vietnamese from the page.
        page.get_by_label("Viết cho nhà trường").fill(REPLY_VI)
        page.get_by_role("button", name="Gửi").click()
        expect(page.locator("#sent")).to_contain_text("Đã gửi")
        expect(page.locator("article.message.mine").last).to_contain_text(REPLY_VI)

        # Arabic: the page reads right to left, in Arabic.
        response = page.goto(ar_link)
        assert response is not None and response.status == 200
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.get_by_role("heading", level=1)).to_have_text("رسائل من المدرسة")
        expect(page.get_by_role("button", name="إرسال")).to_be_visible()

        # A token changed by one character opens nothing, and says nothing.
        token = vi_link.rsplit("/", 1)[1]
        tampered = f"{url}/f/{token[:-1]}{'B' if token[-1] != 'B' else 'C'}"
        response = page.goto(tampered)
        assert response is not None and response.status == 404
        assert page.locator("body").inner_text().strip() == "Not Found"

        hosts = {urlsplit(u).hostname for u in requested}
        assert hosts == {"127.0.0.1"}, requested
    finally:
        context.close()

    # The teacher's thread: the family's answer, translated, and "Seen by" on the note.
    staff = chromium.new_context(locale="en-US")
    page = staff.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, url, TEACHER, PASSWORD)
        messages = page.locator("#messages")
        for _ in range(120):
            page.goto(f"{url}/threads/{thread_id}")
            if REPLY_VI in messages.inner_text():
                break
            page.wait_for_timeout(500)
        expect(messages).to_contain_text(REPLY_VI)
        expect(messages.locator("article.inbound")).to_contain_text("Minh Trần wrote")
        expect(messages.locator("article.outbound .seen")).to_contain_text(
            re.compile(r"Seen by Minh Trần")
        )
    finally:
        staff.close()


def test_a_machine_translated_broadcast_is_marked_once_on_the_familys_page(live_server, chromium):
    url = live_server.url
    admin, _teacher = _keys(live_server)
    maria = _guardian(url, admin, "María García")
    schools = httpx.get(f"{url}/api/v1/schools", headers=admin).json()["items"]
    sent = httpx.post(
        f"{url}/api/v1/broadcasts",
        headers=admin,
        json={
            "school_id": schools[0]["id"],
            "audience": {"guardian_ids": [maria["id"]]},
            "title": "Closed Monday",
            "body": "School is closed on Monday.",
            "language": "en",
            "urgent": True,
        },
    )
    assert sent.status_code == 201, sent.text
    link = _link(url, admin, maria)

    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="es-US")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        text = page.locator("article.message:not(.mine) p.text[lang='es']", has_text="lunes")
        for _ in range(120):  # the broadcast goes out through the server's worker
            page.goto(link)
            if text.count():
                break
            page.wait_for_timeout(500)
        # Its text as the family reads it, then the page's one machine-translation mark.
        expect(text).to_have_text("La escuela está cerrada el lunes.")
        message = page.locator(
            "article.message:not(.mine)",
            has=page.locator("p.text[lang='es']", has_text="lunes"),
        )
        expect(message.locator("p.mark")).to_have_text("(traducción automática)")
        assert message.inner_text().count("(traducción automática)") == 1
    finally:
        context.close()
