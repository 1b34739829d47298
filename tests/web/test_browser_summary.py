"""A long note as a short summary and the link, in a real browser against `hearth serve --demo`:
the admin chooses it on the school's settings page; the family's phone receives the note's
first words and its family-page link, not the whole note; the link opens the whole note in the
family's language, with Hearth's own audio of it where the browser has no voice to read it."""

import re

import httpx
from playwright.sync_api import expect

from tests.web.conftest import sign_in
from tests.web.test_browser_family_page import _guardian, _keys, _note
from tests.web.test_browser_teacher import _without_quiet_hours

ADMIN = "admin@riverside.example.org"  # app/demo/service.py
PASSWORD = "riverside-demo"
GUARDIAN = "Carmen López"  # reads Spanish
LONG = (
    "The field trip is on Friday. The bus leaves the school at eight in the morning and comes "
    "back at three in the afternoon. Please send a packed lunch, a water bottle and a jacket. "
    "Students who do not have a signed permission form cannot go on the trip. If you have any "
    "questions, please write to me or call the front office."
)


def _spanish(url: str, headers: dict[str, str], thread_id: int) -> str:
    """The note's Spanish text, once its translation is done."""
    for _ in range(120):
        thread = httpx.get(f"{url}/api/v1/threads/{thread_id}", headers=headers).json()
        note = thread["messages"][0]
        es = next((t for t in note["translations"] if t["language"] == "es"), None)
        if es and es["status"] == "translated":
            return es["text"]
        httpx.get(f"{url}/api/v1/health")  # (a pause that asks the server something)
    raise AssertionError(f"the note was not translated: {thread}")


def test_a_long_note_goes_as_a_summary_and_the_link_opens_all_of_it(live_server, browser_page):
    page, url = browser_page, live_server.url
    _without_quiet_hours(live_server)
    admin, teacher = _keys(live_server)

    # The admin chooses summaries on the school's settings page.
    sign_in(page, url, ADMIN, PASSWORD)
    school_id = httpx.get(f"{url}/api/v1/schools", headers=admin).json()["items"][0]["id"]
    page.goto(f"{url}/admin/schools/{school_id}")
    page.get_by_label("Link to the family page in texts").select_option("summary")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    school = httpx.get(f"{url}/api/v1/schools/{school_id}", headers=admin).json()
    assert school["family_link"] == "summary"

    # A teacher's long note to Carmen: her phone gets its first words and the link.
    carmen = _guardian(url, admin, GUARDIAN)
    thread_id = _note(url, teacher, carmen, LONG)
    spanish = _spanish(url, teacher, thread_id)
    page.goto(f"{url}/dev/phone?q=López")
    page.get_by_role("link", name=GUARDIAN).click()
    bubble = page.locator("section.phone .bubble.them").last
    expect(bubble).to_contain_text(re.compile(r"/f/[\w-]{43}"), timeout=60_000)
    text = bubble.inner_text()
    summary = text[: text.index(f"{url}/f/")]
    assert summary.rstrip().endswith(("…", "...")), text
    assert len(summary) < len(spanish) / 2
    # (after who writes: the teacher and the school)
    assert spanish.split(". ")[0] in summary and spanish not in text

    # The link opens the family page, where the whole note is, in Spanish.
    bubble.locator("a").click()
    page.wait_for_url(re.compile(r"/f/[\w-]{43}$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    note = page.locator("article.message:not(.mine) p.text[lang='es']").first
    expect(note).to_have_text(spanish)
    # This browser has no Spanish voice: Hearth's own audio of the note is there instead.
    player = page.locator("article.message:not(.mine) audio.spoken").first
    expect(player).to_be_visible()
    expect(page.locator("article.message:not(.mine) button.speak").first).to_be_hidden()
    # It loads (the page's policy lets media come from the page's own address only).
    player.evaluate("audio => { audio.preload = 'auto'; audio.load(); }")
    page.wait_for_function("audio => audio.readyState >= 1", arg=player.element_handle())
    assert player.evaluate("audio => audio.duration") > 1
