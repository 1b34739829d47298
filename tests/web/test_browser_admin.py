"""The engagement dashboard in a real browser against `hearth serve --demo`: the demo admin
opens it from the navigation, reads the demo district's figures, and downloads a table."""

import csv
import re

from playwright.sync_api import expect

from tests.web.conftest import sign_in

ADMIN = "admin@riverside.example.org"  # app/demo/service.py
PASSWORD = "riverside-demo"


def test_the_demo_admin_reads_the_dashboard_and_downloads_a_table(live_server, browser_page):
    page, url = browser_page, live_server.url
    sign_in(page, url, ADMIN, PASSWORD)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Engagement dashboard")

    # The demo district: 45 guardians, every one with a phone for texts.
    figures = page.locator(".admin-figures")
    expect(figures).to_contain_text("Families")
    expect(figures.locator("dd").first).to_have_text("45")
    reach = page.get_by_role("table", name="How families can be reached")
    expect(reach.locator('tr[data-reach="none"] td').first).to_have_text("0")
    languages = page.get_by_role("table", name="Families by language")
    expect(languages.locator('tr[data-language="es"]')).to_contain_text("Spanish")
    # The demo's tiny models know Spanish, Vietnamese and Chinese only.
    uncovered = page.locator("section", has=page.locator("#uncovered"))
    expect(uncovered).to_contain_text("Somali")
    expect(uncovered).not_to_contain_text("Spanish")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download this table (CSV)").first.click()
    with open(download.value.path(), encoding="utf-8") as f:
        rows = dict(csv.reader(f))
    assert rows["reach"] == "families"
    assert sum(int(rows[k]) for k in ("both", "sms", "email", "opted_out", "none")) == 45
