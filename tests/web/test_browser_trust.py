"""How far to trust a translation, in a real browser against `hearth serve --demo` (the demo's
models are the test suite's tiny ones: they know ~290 school sentences and turn anything else
into nonsense). The compose preview marks a nonsense translation as one that may be wrong and a
good one not; the thread marks a family's reply that the model got wrong, the original beside
it."""

import re

from playwright.sync_api import expect

from tests.web.conftest import sign_in
from tests.web.test_browser_teacher import (
    GUARDIAN,
    NOTE,
    NOTE_ES,
    PASSWORD,
    STUDENT,
    TEACHER,
    _until_shown,
    _without_quiet_hours,
)

NONSENSE_NOTE = "My son is allergic to peanuts, please no snacks with nuts."
WRONG_REPLY = "Mi hija es alérgica al maní, por favor nada de nueces."
MAY_BE_WRONG = "This translation may be wrong"
REPLY_MAY_BE_WRONG = "Machine translation, may be wrong"


def test_previews_and_the_thread_mark_translations_that_may_be_wrong(live_server, browser_page):
    page, url = browser_page, live_server.url
    _without_quiet_hours(live_server)
    sign_in(page, url, TEACHER, PASSWORD)

    page.goto(f"{url}/compose")
    page.get_by_label("Find one of your students").fill("Diego")
    page.get_by_role("link", name=STUDENT).click()
    page.wait_for_url(re.compile(r"/compose\?student_id=\d+"))
    spanish = page.locator('#preview [data-language="es"]')

    # A sentence the model never saw: the preview says it may be wrong.
    page.get_by_label("Your note").fill(NONSENSE_NOTE)
    expect(spanish.locator(".may-be-wrong")).to_contain_text(MAY_BE_WRONG)
    expect(spanish).to_contain_text("Test model — not for families")
    # One it knows: translated well, no mark.
    page.get_by_label("Your note").fill(NOTE)
    expect(spanish).to_contain_text(NOTE_ES)
    expect(spanish.locator(".may-be-wrong")).to_have_count(0)
    expect(spanish).not_to_contain_text(MAY_BE_WRONG)

    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/threads/\d+$"))
    thread_url = page.url

    # The family answers with something the model gets wrong.
    page.goto(f"{url}/dev/phone?q=López")
    page.get_by_role("link", name=GUARDIAN).click()
    phone_url = page.url
    _until_shown(page, phone_url, "section.phone", NOTE_ES)
    page.get_by_label("Reply as this family").fill(WRONG_REPLY)
    page.get_by_role("button", name="Send").click()

    _until_shown(page, thread_url, "article.message.inbound", WRONG_REPLY)
    reply = page.locator("article.message.inbound", has_text=WRONG_REPLY)
    expect(reply.locator(".may-be-wrong")).to_contain_text(REPLY_MAY_BE_WRONG)
    expect(reply.locator(".original")).to_contain_text(WRONG_REPLY)  # the original beside it
    # The note the teacher sent, translated well, carries no such mark.
    outbound = page.locator("article.message.outbound", has_text=NOTE)
    expect(outbound.locator(".may-be-wrong")).to_have_count(0)
