"""Conference booking in a real browser against `hearth serve --demo`: a teacher publishes an
afternoon of times on the conferences page, a family of her class books one by replying "1" from
its dev phone and is told, in Spanish, that it is booked; the teacher's page shows who booked,
in which language, and that an interpreter is needed."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.web.conftest import reply_from_phone, sign_in

TEACHER = "rivera@riverside.example.org"  # app/demo/service.py: Grade 3 – Room 12
PASSWORD = "riverside-demo"
GUARDIAN = "Carmen López"  # her child is in Room 12; she reads Spanish


def test_a_teacher_publishes_times_and_sees_a_family_book_one_from_its_phone(
    live_server, browser_page
):
    page, url = browser_page, live_server.url
    sign_in(page, url, TEACHER, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Conferences").click()
    page.wait_for_url(f"{url}/conferences")
    day = (datetime.now(ZoneInfo("America/Chicago")) + timedelta(days=7)).date()
    page.get_by_label("Day", exact=True).fill(day.isoformat())
    page.get_by_label(re.compile(r"^From")).fill("15:00")
    page.get_by_label("To", exact=True).fill("16:00")
    page.get_by_label("Minutes each").fill("20")
    page.get_by_label(re.compile(r"^Where")).fill("Room 12")
    page.get_by_role("button", name="Publish and invite the families").click()
    page.wait_for_url(re.compile(r"/conferences\?published=1$"))
    expect(page.get_by_role("status")).to_contain_text("Your times are published")
    times = page.get_by_role("table", name="Times and bookings")
    expect(times.get_by_role("row")).to_have_count(4)  # the header and three times
    expect(times.get_by_role("row", name=re.compile(r"^1\. "))).to_contain_text("Open")

    # Carmen books the first time from her phone (the invitation may wait for the end of the
    # school's quiet hours; her booking does not).
    reply_from_phone(page, url, GUARDIAN, "1", then="Reservado:")

    first = page.get_by_role("table", name="Times and bookings").get_by_role(
        "row", name=re.compile(r"^1\. ")
    )
    for _ in range(30):
        page.reload()
        if "Carmen" in first.inner_text():
            break
        page.wait_for_timeout(1000)
    expect(first).to_contain_text(GUARDIAN)
    expect(first).to_contain_text("Spanish")
    expect(first).to_contain_text("Interpreter needed")
    second = page.get_by_role("table", name="Times and bookings").get_by_role(
        "row", name=re.compile(r"^2\. ")
    )
    expect(second).to_contain_text("Open")
