"""Staff pages on a phone-sized screen (375 px) in Chromium: a family's long email address
wraps inside its card; the page never scrolls sideways, and loads nothing that is missing."""

import httpx

from tests.web.conftest import sign_in

OFFICE = "office@riverside.example.org"  # app/demo/service.py
PASSWORD = "riverside-demo"
LONG_EMAIL = "mariafernandagonzalezvillarrealfamilia@riversideelementaryfamilies.example.org"


def test_a_long_email_wraps_on_a_phone(live_server, chromium):
    url = live_server.url
    admin_key = (live_server.log.parent / "demo-api-keys").read_text().split("\n")[0]
    headers = {"Authorization": f"Bearer {admin_key}"}
    guardian = httpx.get(f"{url}/api/v1/guardians", headers=headers).json()["items"][0]
    changed = httpx.patch(
        f"{url}/api/v1/guardians/{guardian['id']}", headers=headers, json={"email": LONG_EMAIL}
    )
    assert changed.status_code == 200, changed.text
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="en-US")
    try:
        page = phone.new_page()
        sign_in(page, url, OFFICE, PASSWORD)
        refused: list[str] = []
        page.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
        page.goto(f"{url}/families/{guardian['id']}")
        page.wait_for_load_state("networkidle")
        assert refused == []  # nothing the page loads (its icon too) is missing
        assert page.get_by_text(LONG_EMAIL).is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
    finally:
        phone.close()
