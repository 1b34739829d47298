"""A poll in a real browser against `hearth serve --demo`: the office asks a yes/no question with
a broadcast, sees it in every family's language in the preview, a family answers "sí" from its
dev phone, and the answers on the broadcast's page update without a reload; then the CSV."""

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.web.conftest import reply_from_phone, sign_in, wait_until_sent

OFFICE = "office@riverside.example.org"  # app/demo/service.py
PASSWORD = "riverside-demo"
GUARDIAN = "Carmen López"  # reads Spanish


def test_office_asks_a_yes_no_question_and_watches_the_answers_come_in(live_server, browser_page):
    page, url = browser_page, live_server.url
    sign_in(page, url, OFFICE, PASSWORD)
    page.goto(f"{url}/broadcasts/new")
    page.get_by_label("Notice", exact=True).select_option("event_reminder")
    expect(page.get_by_label("Day", exact=True)).to_be_visible()
    page.get_by_label("Event", exact=True).select_option("family_night")
    page.get_by_label("Day", exact=True).fill("2026-12-10")
    page.get_by_label("Time", exact=True).fill("18:00")
    page.get_by_label("Ask the families").select_option("yes_no")
    page.get_by_label("Urgent", exact=True).check()
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    expect(preview.locator('[data-language="en"]')).to_contain_text("Reply 1 for Yes, 2 for No.")
    expect(preview.locator('[data-language="es"]')).to_contain_text(
        "Responda 1 para Sí, 2 para No."
    )
    page.get_by_role("button", name="Confirm and send").click()
    page.wait_for_url(re.compile(r"/broadcasts/\d+\?created=1$"))
    report_url = page.url
    answers = page.locator("#answers")
    # Filled in as the broadcast goes out (the card polls while answers may come).
    expect(answers).to_contain_text(
        re.compile(r"Families who have answered: 0 of [1-9]\d*"), timeout=60_000
    )
    wait_until_sent(page)

    # Carmen answers from her phone in another tab; this page is not reloaded.
    reply_from_phone(page, url, GUARDIAN, "sí", first="Responda 1 para Sí")

    assert page.url == report_url
    expect(answers).to_contain_text(
        re.compile(r"Families who have answered: 1 of [1-9]\d*"), timeout=30_000
    )
    yes_row = answers.get_by_role("row", name=re.compile(r"^Yes"))
    expect(yes_row).to_contain_text("1")

    with page.expect_download() as download:
        answers.get_by_role("link", name=re.compile("Download the answers")).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["answer"] for r in rows if r["guardian"] == GUARDIAN] == ["Yes"]
    assert any(r["answer"] == "" and r["phone"] for r in rows)  # the call list
