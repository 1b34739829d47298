"""The office's broadcast in a real browser against `hearth serve --demo`: choose the school
closure notice for the whole school, preview it in every family's language, confirm, and watch
the report fill in as the embedded worker texts the families' dev phones."""

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.web.conftest import sign_in, wait_until_sent

OFFICE = "office@riverside.example.org"  # app/demo/service.py
PASSWORD = "riverside-demo"


def test_office_previews_confirms_and_follows_a_school_closure(live_server, browser_page):
    page, url = browser_page, live_server.url
    sign_in(page, url, OFFICE, PASSWORD)
    page.get_by_role("link", name="Broadcasts", exact=True).click()
    page.get_by_role("link", name="New broadcast").click()
    page.wait_for_url(re.compile(r"/broadcasts/new$"))

    whole_school = page.get_by_label(re.compile(r"^The whole school"))
    expect(whole_school).to_be_checked()
    # Ticking a grade chooses the ticked grades; choosing the whole school again unticks it.
    grade = page.locator("input[name=grades]").first
    grade.check()
    expect(page.get_by_label("Only the grades and classes ticked below")).to_be_checked()
    whole_school.check()
    expect(grade).not_to_be_checked()
    expect(whole_school).to_be_checked()
    page.get_by_label("Notice", exact=True).select_option("school_closed")
    day = page.get_by_label("Day", exact=True)  # swapped in by htmx from the template's params
    expect(day).to_be_visible()
    closed_on = date.today() + timedelta(days=3)
    day.fill(closed_on.isoformat())
    page.get_by_label("Reason (optional)").select_option("snow")
    # Urgent: a closure goes out now, even if the test runs during the demo's quiet hours.
    page.get_by_label("Urgent", exact=True).check()
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    # Every one of the demo's 45 families gets it: the two Hmong families (no translation
    # into Hmong) get it at once, in English under one line in Hmong.
    expect(preview).to_contain_text("45 families will get it:")
    expect(preview.locator('[data-language="es"]')).to_contain_text("estará cerrada")
    expect(preview.locator('[data-language="vi"] .text')).not_to_be_empty()
    expect(preview.locator('[data-language="zh"] .text')).not_to_be_empty()
    expect(preview.locator('[data-language="en"]')).to_contain_text(
        "Riverside Elementary will be closed on"
    )
    # Hmong has neither a people's translation nor a model here: listed, not English alone.
    expect(preview.locator("#fallback")).to_contain_text(
        "2 families get it in English, under this line in Hmong"
    )
    expect(preview.locator("#no-route")).to_have_count(0)

    page.get_by_role("button", name="Confirm and send").click()
    page.wait_for_url(re.compile(r"/broadcasts/\d+\?created=1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("School closed")
    live = page.locator("#broadcast-live")
    # The page polls while the worker sends: every text ends up sent, none left waiting.
    expect(live).to_contain_text(re.compile(r"\b([1-9]\d*) sent"), timeout=60_000)
    wait_until_sent(page)
    expect(live.get_by_role("table", name="By language")).to_contain_text("Spanish")

    page.get_by_role("link", name="All broadcasts").click()
    expect(page.get_by_role("link", name="School closed")).to_be_visible()


def test_urgent_free_text_preview_says_who_gets_it_with_one_line_in_their_language(
    live_server, browser_page
):
    page, url = browser_page, live_server.url
    sign_in(page, url, OFFICE, PASSWORD)
    page.goto(f"{url}/broadcasts/new")
    page.get_by_label("Your message").fill("School is closed tomorrow because of snow. Stay safe.")
    page.get_by_label("Urgent", exact=True).check()
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    # The models here cover Spanish, Vietnamese and Chinese only. Urgent, the Arabic, Haitian
    # Creole, Portuguese, Somali and Hmong families still get it now: the English text under
    # one line in their language. They are counted, and not listed as missed.
    expect(preview).to_contain_text("45 families will get it:")
    expect(preview).not_to_contain_text("Families who will not get it")
    expect(preview.locator("#no-route")).to_have_count(0)
    helped = preview.locator("#fallback")
    expect(helped).to_contain_text("(15)")
    expect(helped).to_contain_text("4 families get it in English, under this line in Arabic (")
    expect(helped.locator('q[lang="ar"]')).to_contain_text("Riverside Elementary")
    expect(helped).to_contain_text("Fatima Hassan")
    arabic = preview.locator('[data-language="ar"]')
    expect(arabic).to_contain_text("one line in theirs asking them to call")
    expect(arabic.locator(".text").first).to_contain_text(
        "School is closed tomorrow because of snow. Stay safe."
    )
    # The back-translation of a machine translation has one label.
    back = preview.locator('[data-language="es"] .back')
    expect(back).to_have_text(re.compile(r"^Back into your language: "))
