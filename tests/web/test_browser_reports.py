"""The dashboard's charts, district goals and the community report in a real browser against
`hearth serve --demo`: the charts are SVG images with text alternatives, each followed by its
table; a goal the admin sets on the goals page shows as each school's progress on the
dashboard; the report prints and downloads as a PDF with the school's figures. Screenshots of
each page are kept in the test's folder."""

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.web.conftest import sign_in, wait_until_sent
from tests.web.test_community_and_goals import pdf_text

ADMIN = "admin@riverside.example.org"  # app/demo/service.py
PASSWORD = "riverside-demo"
SCHOOL = "Riverside Elementary"


def _screenshot(page, path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000


def test_charts_goals_and_the_community_report(live_server, browser_page, tmp_path):
    page, url = browser_page, live_server.url
    sign_in(page, url, ADMIN, PASSWORD)

    page.goto(f"{url}/dashboard")
    charts = page.locator('svg.chart[role="img"]')
    expect(charts.first).to_be_visible()
    assert charts.count() >= 2
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart_id = chart.get_attribute("id")
        title = chart.locator("title").first.text_content()
        desc = chart.locator("desc").first.text_content()
        assert title and len(desc or "") > 20
        assert chart.get_attribute("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
        # The chart's accessible name is its title; the same figures follow in a table.
        expect(page.get_by_role("img", name=title)).to_be_visible()
        table = chart.locator("xpath=ancestor::figure/following-sibling::div[1]/table")
        expect(table).to_have_count(1)
        expect(table.locator("tbody tr").first).to_be_visible()
    weekly = page.get_by_role("img", name="Messages and replies per week")
    assert weekly.locator("rect").count() > 2
    _screenshot(page, tmp_path / "dashboard.png")

    # A district goal set on the goals page: every school shows its progress against it.
    page.goto(f"{url}/admin")
    page.get_by_role("link", name="District goals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("District goals")
    page.get_by_label("Reply rate (%)").fill("10")
    page.get_by_role("button", name="Save goals").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator('tr[data-goals-for="district"]')).to_contain_text("10%")
    _screenshot(page, tmp_path / "goals.png")

    page.goto(f"{url}/dashboard")
    progress = page.locator("#progress table[data-progress-school]")
    expect(progress).to_have_count(1)  # the demo district has one school
    row = progress.locator('tr[data-goal="reply_rate"]')
    expect(row).to_contain_text("Reply rate")
    expect(row).to_contain_text("district goal")
    expect(row.locator("td").first).to_have_text("10%")
    expect(progress.locator("caption")).to_contain_text(SCHOOL)

    # The community report, from the school's progress table.
    progress.get_by_role("link", name="Community report").click()
    page.wait_for_url(re.compile(r"/reports/community\?school=\d+"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Community engagement report")
    expect(page.locator(".report-place")).to_contain_text(SCHOOL)
    expect(page.get_by_role("table", name="Reach by language")).to_contain_text("Spanish")
    expect(page.get_by_role("table", name="Progress against the district's goals")).to_contain_text(
        "Reply rate"
    )
    families = page.locator(".admin-figures dd").first.text_content()
    assert families == "45"
    page.emulate_media(media="print")
    expect(page.locator("form.admin-filter")).to_be_hidden()
    _screenshot(page, tmp_path / "community-report.png")
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    text = pdf_text(data)
    assert SCHOOL in text and "Community engagement report" in text
    assert "Spanish" in text and families in text


def test_the_report_does_not_count_english_under_one_line_as_their_language(
    live_server, browser_page
):
    page, url = browser_page, live_server.url
    sign_in(page, url, ADMIN, PASSWORD)
    # An urgent notice: the models here cover Spanish, Vietnamese and Chinese only, so the
    # four Arabic families get it in English under one line in Arabic.
    page.goto(f"{url}/broadcasts/new")
    page.get_by_label("Your message").fill("School is closed tomorrow because of snow. Stay safe.")
    page.get_by_label("Urgent", exact=True).check()
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Confirm and send").click()
    page.wait_for_url(re.compile(r"/broadcasts/\d+\?created=1$"))
    wait_until_sent(page)

    page.goto(f"{url}/reports/community")
    reach = page.get_by_role("table", name="Reach by language")
    expect(reach).to_contain_text("One line in theirs")
    arabic = reach.locator("tr", has=page.get_by_role("rowheader", name=re.compile("^Arabic")))
    cells = arabic.locator("td")  # families, reached, in their language, one line, ...
    expect(cells.nth(1)).to_have_text("4")
    expect(cells.nth(2)).to_have_text("0")
    expect(cells.nth(3)).to_have_text("4")
    expect(page.locator("#interpreters + ul")).to_contain_text(
        "Arabic: 4 families written to, 0 reached in their language, 4 reached in the "
        "school's language with one line in theirs"
    )
