"""The open thread keeps itself up to date, in a real browser against `hearth serve --demo`: a
teacher sends a note and sees it with "Sent to 1 family" and its delivery status moving on
without reloading; the family replies from the dev phone and the reply appears in the open
thread, again without a reload; the office's inbox shows it as a new reply that needs an
answer, until the teacher answers."""

import re

from playwright.sync_api import expect

from tests.web.conftest import reply_from_phone, sign_in
from tests.web.test_browser_teacher import _without_quiet_hours

TEACHER = "rivera@riverside.example.org"  # app/demo/service.py
OFFICE = "office@riverside.example.org"
PASSWORD = "riverside-demo"
STUDENT = "Diego López"
GUARDIAN = "Carmen López"
NOTE = "Please bring a water bottle tomorrow."
REPLY = "Claro, no hay problema."


def test_the_open_thread_updates_without_reload(live_server, chromium, browser_page):
    page, url = browser_page, live_server.url
    _without_quiet_hours(live_server)
    sign_in(page, url, TEACHER, PASSWORD)

    page.goto(f"{url}/compose")
    page.get_by_label("Find one of your students").fill("Diego")
    page.get_by_role("link", name=STUDENT).click()
    page.wait_for_url(re.compile(r"/compose\?student_id=\d+"))
    page.get_by_label("Your note").fill(NOTE)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/threads/\d+$"))
    thread_id = int(page.url.rsplit("/", 1)[1])

    # The note is there at once, with who it went to; a mark set now on the page survives
    # only if the page is never loaded again.
    note = page.locator("article.message.outbound", has_text=NOTE)
    expect(note).to_contain_text("Sent to 1 family")
    page.evaluate("window.notReloaded = true")
    expect(note.locator("details.deliveries summary")).to_contain_text(re.compile("Delivered|Sent"))
    expect(note.locator("details.deliveries summary")).to_contain_text("Delivered", timeout=60_000)
    assert page.evaluate("window.notReloaded === true")

    # The family answers from the dev phone (another tab).
    reply_from_phone(page, url, GUARDIAN, REPLY)

    # The reply appears in the open thread without a reload (the slow poll finds it).
    expect(page.locator("article.message.inbound", has_text=REPLY)).to_be_visible(timeout=60_000)
    assert page.evaluate("window.notReloaded === true")
    expect(page.locator("#messages")).to_contain_text("Needs an answer")

    # The office sees it as new and waiting for an answer.
    office_context = chromium.new_context(locale="en-US")
    try:
        office = office_context.new_page()
        office.set_default_timeout(20_000)
        sign_in(office, url, OFFICE, PASSWORD)
        office.goto(f"{url}/inbox?show=needs_answer")
        row = office.locator(f"tr#thread-{thread_id}")
        expect(row).to_contain_text("New reply")
        expect(row).to_contain_text("Needs an answer")
        expect(row).to_contain_text(STUDENT)

        # The teacher answers in the thread; the office's list of unanswered replies lets go
        # of it, while the teacher's own inbox no longer calls it new.
        page.get_by_label("Your message (families get it translated into their language)").fill(
            "Thank you!"
        )
        page.get_by_role("button", name="Send reply").click()
        page.wait_for_url(re.compile(rf"/threads/{thread_id}"))
        office.goto(f"{url}/inbox?show=needs_answer")
        expect(office.locator(f"tr#thread-{thread_id}")).to_have_count(0)
        page.goto(f"{url}/inbox")
        expect(page.locator(f"tr#thread-{thread_id}")).not_to_contain_text("New reply")
    finally:
        office_context.close()
