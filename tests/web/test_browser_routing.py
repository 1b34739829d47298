"""Where a family's reply goes, in a real browser against `hearth serve --demo`, with a teacher
and the office signed in side by side: the teacher writes to Carmen López, the office sends a
school-wide notice, Carmen answers the notice from her phone. The office finds her reply in a
thread of her own ("Re: School closed"), never in the notice's thread shared with every family
(which has no reply box); the teacher, who wrote to her this week, sees it too, marked as a
reply to the school's notice, without reloading her inbox by hand."""

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.web.conftest import reply_from_phone, sign_in, wait_until_sent
from tests.web.test_browser_teacher import _without_quiet_hours

TEACHER = "rivera@riverside.example.org"  # app/demo/service.py
OFFICE = "office@riverside.example.org"
PASSWORD = "riverside-demo"
STUDENT = "Diego López"
GUARDIAN = "Carmen López"
NOTE = "Please bring a water bottle tomorrow."
REPLY = "Gracias, allí estaré."


def test_a_reply_to_the_schools_notice_reaches_the_office_and_the_teacher_in_their_own_thread(
    live_server, chromium, browser_page
):
    page, url = browser_page, live_server.url
    _without_quiet_hours(live_server)

    # The teacher writes to Diego's family.
    sign_in(page, url, TEACHER, PASSWORD)
    page.goto(f"{url}/compose")
    page.get_by_label("Find one of your students").fill("Diego")
    page.get_by_role("link", name=STUDENT).click()
    page.wait_for_url(re.compile(r"/compose\?student_id=\d+"))
    page.get_by_label("Your note").fill(NOTE)
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/threads/\d+$"))
    expect(page.locator("article.message.outbound", has_text=NOTE)).to_contain_text(
        "Sent to 1 family"
    )

    office_context = chromium.new_context(locale="en-US")
    try:
        office = office_context.new_page()
        office.set_default_timeout(20_000)
        sign_in(office, url, OFFICE, PASSWORD)
        # The office sends a notice to the whole school.
        office.goto(f"{url}/broadcasts/new")
        office.get_by_label("Notice", exact=True).select_option("school_closed")
        office.get_by_label("Day", exact=True).fill((date.today() + timedelta(days=3)).isoformat())
        office.get_by_label("Urgent", exact=True).check()
        office.get_by_role("button", name="Preview").click()
        office.get_by_role("button", name="Confirm and send").click()
        office.wait_for_url(re.compile(r"/broadcasts/\d+\?created=1$"))
        wait_until_sent(office)

        # Carmen answers from her phone.
        reply_from_phone(page, url, GUARDIAN, REPLY, first="cerrada")

        # The office: a thread of Carmen's own, "Re: School closed", holding her reply.
        row = office.locator("table.inbox tbody tr", has_text="Re: School closed")
        for _ in range(60):
            office.goto(f"{url}/inbox")
            if row.count():
                break
            office.wait_for_timeout(1000)
        expect(row).to_have_count(1)
        row.get_by_role("link").first.click()
        expect(office.locator("main")).to_contain_text(REPLY)
        expect(office.locator("main")).to_contain_text("A family's reply to the school's notice")

        # The notice's own thread, shared by every family, has no reply box.
        office.get_by_role("link", name="See the notice").click()
        expect(office.locator("main")).to_contain_text("Replies and follow-ups")
        expect(office.get_by_role("button", name="Send reply")).to_have_count(0)
        expect(office.locator("main")).not_to_contain_text(REPLY)

        # The teacher, who wrote to Carmen this week, sees the reply in her inbox, marked.
        page.goto(f"{url}/inbox")
        mine = page.locator("table.inbox tbody tr", has_text="A family's reply to the school's")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text(STUDENT)
    finally:
        office_context.close()
