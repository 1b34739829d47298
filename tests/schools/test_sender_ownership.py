"""A number (or Messaging Service) belongs to one school: a family's text is routed by the number
it was sent to, so a second school given it would take the first school's replies. A school's
admin may not send email as another school either. A refused change changes nothing."""

import pytest

from app.schools.senders import school_for_number
from tests.factories import SchoolFactory

NORTH = "+15125550166"
SOUTH = "+15125550177"
SOUTH_POOL = "+15125550178"


@pytest.fixture
def north(session):
    return SchoolFactory(
        name="North", sms_sender=NORTH, sms_pool=["+15125550167"], email_sender="north@x.org"
    )


@pytest.fixture
def south(session):
    return SchoolFactory(
        name="South", sms_sender=SOUTH, sms_pool=[SOUTH_POOL], email_sender="office@south.org"
    )


def _settings(client, headers, school) -> dict:
    body = client.get(f"/api/v1/schools/{school.id}", headers=headers).json()
    return {k: body[k] for k in ("sms_sender", "sms_pool", "email_sender")}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sms_sender": SOUTH}, "sms_sender"),
        ({"sms_sender": "(512) 555-0177"}, "sms_sender"),  # the same number, typed otherwise
        ({"sms_sender": SOUTH_POOL}, "sms_sender"),  # another school's pool number
        ({"sms_pool": ["+15125550168", SOUTH]}, "sms_pool"),
        ({"sms_pool": ["+1 512 555 0178"]}, "sms_pool"),
        ({"email_sender": "office@south.org"}, "email_sender"),
        ({"email_sender": "Not South <OFFICE@South.org>"}, "email_sender"),
    ],
)
def test_a_school_admin_cannot_take_another_schools_number_or_address(
    client, auth, session, north, south, change, field
):
    admin = auth("admin")
    before = _settings(client, admin, north), _settings(client, admin, south)
    headers = auth("admin", school=north)
    refused = client.patch(f"/api/v1/schools/{north.id}", headers=headers, json=change)
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]["message"]
    assert message.startswith(f"{field}: ") and "another school" in message
    assert "South" not in message  # a school this key cannot see stays unnamed
    assert (_settings(client, admin, north), _settings(client, admin, south)) == before
    assert school_for_number(session, SOUTH, None).id == south.id
    assert school_for_number(session, SOUTH_POOL, None).id == south.id


def test_a_district_admin_cannot_give_one_number_to_two_schools(client, auth, north, south):
    headers = auth("admin")
    taken = client.patch(f"/api/v1/schools/{north.id}", headers=headers, json={"sms_sender": SOUTH})
    assert taken.status_code == 409
    assert "sms_sender: +15125550177 already belongs to another school (South)" in taken.text
    pooled = client.patch(
        f"/api/v1/schools/{north.id}", headers=headers, json={"sms_pool": [SOUTH_POOL]}
    )
    assert pooled.status_code == 409 and "sms_pool" in pooled.text
    created = client.post(
        "/api/v1/schools", headers=headers, json={"name": "East", "sms_sender": SOUTH_POOL}
    )
    assert created.status_code == 409 and "(South)" in created.text
    assert client.get("/api/v1/schools", params={"q": "East"}, headers=headers).json()["total"] == 0
    assert _settings(client, headers, north)["sms_sender"] == NORTH
    # A district may send every school's email from one address: a district-wide admin's choice.
    shared = client.patch(
        f"/api/v1/schools/{north.id}", headers=headers, json={"email_sender": "office@south.org"}
    )
    assert shared.status_code == 200, shared.text


def test_a_school_keeps_and_rearranges_its_own_numbers(client, auth, north, south):
    headers = auth("admin", school=north)
    path = f"/api/v1/schools/{north.id}"
    again = client.patch(
        path,
        headers=headers,
        json={"sms_sender": NORTH, "sms_pool": ["+15125550167"], "email_sender": "north@x.org"},
    )
    assert again.status_code == 200, again.text
    swapped = client.patch(
        path, headers=headers, json={"sms_sender": "+15125550167", "sms_pool": [NORTH]}
    )
    assert swapped.status_code == 200, swapped.text
    new = client.patch(path, headers=headers, json={"sms_pool": [NORTH, "+15125550169"]})
    assert new.status_code == 200, new.text
    assert new.json()["sms_pool"] == [NORTH, "+15125550169"]


def test_a_number_shared_before_the_rule_still_lets_a_school_save_its_settings(client, auth):
    SchoolFactory(name="First", sms_sender=SOUTH)
    second = SchoolFactory(name="Second", sms_sender=SOUTH)
    headers = auth("admin", school=second)
    saved = client.patch(
        f"/api/v1/schools/{second.id}",
        headers=headers,
        json={"sms_sender": SOUTH, "timezone": "America/Denver"},
    )
    assert saved.status_code == 200, saved.text
