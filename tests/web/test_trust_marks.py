"""Where staff decide, the pages say how far to trust a translation: the compose and broadcast
previews mark a translation that may be wrong, the thread marks a family's reply translated
for staff that may be wrong (the original beside it), a test model is named as one, and none
of it shows on a good translation. In English and Spanish."""

import html

import pytest

from app.messaging import replies
from app.messaging.models import Thread
from app.schools.models import School
from tests.factories import (
    GuardianFactory,
    SchoolFactory,
    SectionFactory,
    StaffFactory,
    StudentFactory,
)

HTMX = {"hx-request": "true"}
KNOWN = "The field trip is on Friday."
UNKNOWN = "My son is allergic to peanuts, please no snacks with nuts."
MAY_BE_WRONG = "This translation may be wrong — rephrase, ask an interpreter, or send anyway."
MAY_BE_WRONG_ES = "Esta traducción puede estar equivocada"
REPLY_MAY_BE_WRONG = "Machine translation, may be wrong: read the original."
TEST_MODEL = "Test model — not for families"


@pytest.fixture
def family(session, argos_models):
    school = SchoolFactory(sms_sender="+15125550100", name="Riverside Elementary")
    teacher = StaffFactory(schools=[school], name="Ana Rivera", ui_language="en")
    maestra = StaffFactory(schools=[school], name="Lucía Gómez", ui_language="es")
    office = StaffFactory(role="office", schools=[school], ui_language="en")
    admin = StaffFactory(role="admin")
    student = StudentFactory(school=school, given_name="Mateo", family_name="Ruiz")
    SectionFactory(school=school, teachers=[teacher, maestra], students=[student])
    maria = GuardianFactory(students=[student], language="es", given_name="María")
    session.commit()
    return {
        "school": school,
        "teacher": teacher,
        "maestra": maestra,
        "office": office,
        "admin": admin,
        "student": student,
        "maria": maria,
    }


def _preview(web, family, body, language=""):
    response = web.client.post(
        "/compose/preview",
        data={
            "csrf_token": web.csrf_token,
            "student_id": family["student"].id,
            "guardian_ids": [family["maria"].id],
            "body": body,
            "language": language,
        },
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_the_compose_preview_marks_a_translation_that_may_be_wrong(signed_in, family):
    web = signed_in(family["teacher"])
    good = _preview(web, family, KNOWN)
    assert "La excursión es el viernes." in good
    assert MAY_BE_WRONG not in good and "may-be-wrong" not in good
    assert TEST_MODEL in good  # the test suite's models say what they are
    wrong = _preview(web, family, UNKNOWN)
    assert MAY_BE_WRONG in wrong and 'class="warn may-be-wrong"' in wrong
    # In the teacher's own language (a Spanish-speaking teacher writing in English).
    maestra = signed_in(family["maestra"])
    spanish_good = _preview(maestra, family, KNOWN, language="en")
    assert "Modelo de prueba — no es para las familias" in spanish_good
    assert MAY_BE_WRONG_ES not in spanish_good
    assert MAY_BE_WRONG_ES in _preview(maestra, family, UNKNOWN, language="en")


def test_the_broadcast_preview_marks_a_translation_that_may_be_wrong(signed_in, family):
    web = signed_in(family["office"])

    def preview(body):
        form = {
            "school_id": str(family["school"].id),
            "audience": "whole_school",
            "template": "",
            "body": body,
            "language": "en",
            "when": "now",
            "urgent": "1",
        }
        headers = {"accept": "text/html", "HX-Request": "true", "X-CSRF-Token": web.csrf_token}
        response = web.client.post("/broadcasts/preview", data=form, headers=headers)
        assert response.status_code == 200, response.text
        return html.unescape(response.text)

    good = preview(KNOWN)
    assert "La excursión es el viernes." in good and MAY_BE_WRONG not in good
    assert TEST_MODEL in good
    assert MAY_BE_WRONG in preview(UNKNOWN)


def test_the_thread_marks_a_reply_that_may_be_wrong_with_the_original_beside_it(
    session, signed_in, family
):
    school = session.get(School, family["school"].id)
    thread = Thread(
        school_id=school.id, owner_staff_id=family["teacher"].id, student_id=family["student"].id
    )
    session.add(thread)
    session.flush()
    good, _ = replies.add_reply(session, thread, school, family["maria"], "Muchas gracias.")
    wrong_body = "Mi hija es alérgica al maní, por favor nada de nueces."
    wrong, _ = replies.add_reply(session, thread, school, family["maria"], wrong_body)
    session.commit()
    page = html.unescape(signed_in(family["teacher"]).get(f"/threads/{thread.id}").text)
    good_part = page.split(f'id="m{good.id}"')[1].split("</article>")[0]
    wrong_part = page.split(f'id="m{wrong.id}"')[1].split("</article>")[0]
    assert "Thank you very much." in good_part and REPLY_MAY_BE_WRONG not in good_part
    assert REPLY_MAY_BE_WRONG in wrong_part and wrong_body in wrong_part  # the original too
    # The inbox row shows the latest reply, the one that may be wrong, marked.
    inbox = html.unescape(signed_in(family["teacher"]).get("/inbox").text)
    row = inbox.split(f'id="thread-{thread.id}"')[1].split("</tr>")[0]
    assert "Machine translation, may be wrong" in row and "Mi hija" not in row
    spanish = html.unescape(signed_in(family["maestra"]).get(f"/threads/{thread.id}").text)
    # A teacher reading Spanish reads the family's Spanish as written: nothing to mark.
    assert "Traducción automática, puede estar equivocada" not in spanish


def test_the_coverage_page_names_test_models(signed_in, family):
    page = html.unescape(signed_in(family["admin"]).get("/admin/coverage").text)
    assert "installed models are test models — not for families" in page
    assert page.count("Test model — not for families.") == 6
