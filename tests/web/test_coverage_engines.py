"""The admin coverage page with the multilingual model installed: each direction's engine,
model, licence and quality tier, and the engine chosen per language (district-wide admins)."""

import re

from app.translation import service
from tests import factories


def _row(page: str, name: str) -> str:
    return re.search(rf"<tr>\s*<th scope=\"row\">{name}.*?</tr>", page, re.S).group(0)


def test_coverage_shows_engines_and_an_admin_chooses_one(
    signed_in, session, argos_models, multilingual_model
):
    school = factories.SchoolFactory(name="Lincoln Elementary")
    student = factories.StudentFactory(school=school)
    for language in ["ht", "ht", "es"]:
        factories.GuardianFactory(language=language, students=[student])
    admin = signed_in(factories.StaffFactory(role="admin", name="Ada Admin"))

    page = admin.get("/admin/coverage")
    assert page.status_code == 200
    haitian = _row(page.text, "Haitian Creole")
    assert "<td>2</td>" in haitian and "Covered" in haitian
    assert "Multilingual model: multilingual-m2m100-tiny 0.1.0" in haitian
    assert "Licence: MIT" in haitian and "Quality: Test model: not for families" in haitian
    spanish = _row(page.text, "Spanish")
    assert "Argos: en→es" in spanish and "es→en" in spanish
    assert 'value="auto" selected' in spanish
    assert "multilingual-m2m100-tiny" in page.text.split("Installed models")[1]

    saved = admin.post("/admin/coverage/engine", {"language": "es", "engine": "multilingual"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=engine_saved")
    assert service.engine_choices(session) == {"es": "multilingual"}
    after = admin.get("/admin/coverage?done=engine_saved")
    assert "The engine for the language is saved." in after.text
    spanish = _row(after.text, "Spanish")
    assert 'value="multilingual" selected' in spanish
    assert "Multilingual model: multilingual-m2m100-tiny" in spanish

    bad = admin.post("/admin/coverage/engine", {"language": "es", "engine": "google"})
    assert bad.status_code == 422 and service.engine_choices(session) == {"es": "multilingual"}


def test_office_staff_and_a_schools_admin_key_cannot_choose(signed_in, client, auth, session):
    school = factories.SchoolFactory()
    office = signed_in(factories.StaffFactory(role="office", schools=[school]))
    refused = office.post("/admin/coverage/engine", {"language": "ko", "engine": "multilingual"})
    assert refused.status_code == 403
    key = auth("admin", school=school)  # an API key limited to one school
    by_key = client.put("/api/v1/languages/ko/engine", headers=key, json={"engine": "argos"})
    assert by_key.status_code == 403 and "district-wide admin" in by_key.text
    assert service.engine_choices(session) == {}
