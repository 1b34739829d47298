"""A question on a teacher's note, answered with the family page's buttons in a real browser with
JavaScript turned off (plain forms), against `hearth serve --demo`: the answer is recorded, the
page thanks the family in its language and lets it change its answer, and the teacher's API
shows it."""

import httpx
from playwright.sync_api import expect

from tests.web.test_browser_family_page import VIETNAMESE, _guardian, _keys, _link
from tests.web.test_browser_teacher import _without_quiet_hours


def test_a_family_answers_a_notes_question_with_a_button_without_javascript(live_server, chromium):
    url = live_server.url
    _without_quiet_hours(live_server)
    admin, teacher = _keys(live_server)
    minh = _guardian(url, admin, VIETNAMESE)
    thread = httpx.post(
        f"{url}/api/v1/threads",
        headers=teacher,
        json={"student_id": minh["student_ids"][0], "guardian_ids": [minh["id"]]},
    )
    assert thread.status_code == 201, thread.text
    thread_id = thread.json()["id"]
    sent = httpx.post(
        f"{url}/api/v1/threads/{thread_id}/messages",
        headers=teacher,
        json={"body": "Can you come to the class party?", "question": {"kind": "yes_no"}},
    )
    assert sent.status_code == 201, sent.text
    message_id = sent.json()["id"]
    link = _link(url, admin, minh)

    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, locale="en-US", java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yes = page.get_by_role("button", name="Có", exact=True)
        for _ in range(120):  # the note waits for its translation, as its text does
            page.goto(link)
            if yes.count():
                break
            page.wait_for_timeout(500)
        yes.click()
        expect(page.get_by_role("status")).to_contain_text("Câu trả lời của quý vị: Có")
        page.get_by_role("button", name="Không", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Câu trả lời của quý vị: Không")
    finally:
        context.close()
    found = httpx.get(
        f"{url}/api/v1/threads/{thread_id}/messages/{message_id}/answers", headers=teacher
    ).json()
    assert found["counts"] == {"yes": 0, "no": 1}
    assert [(a["guardian_id"], a["channel"]) for a in found["answers"]] == [(minh["id"], "page")]
