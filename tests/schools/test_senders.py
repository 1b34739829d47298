"""One rule for a school's SMS sender: the API, the admin pages and `hearth schools
set-sender` store the same value for the same input, and refuse the same input."""

import pytest

from app.schools.senders import normalize_sms_sender, school_for_number
from tests.factories import SchoolFactory

SID = "MG" + "ab12" * 8


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+15125550100", "+15125550100"),
        ("+1 (512) 555-0100", "+15125550100"),
        ("512.555.0100", "+15125550100"),  # a national number, read in the default region
        ("MG" + "AB12" * 8, SID),
        (f"  {SID} ", SID),
    ],
)
def test_a_sender_is_stored_in_one_form(typed, stored):
    assert normalize_sms_sender(typed, "US") == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12", "'12' is neither a phone number (E.164"),
        ("hello", "is neither a phone number"),
        ("MG123", "'MG123' is not a Messaging Service SID"),
        ("555-0100", "is not a valid phone number (E.164"),
        ("+1 555 0100 999", "is not a valid phone number"),
    ],
)
def test_a_bad_sender_is_refused_with_a_reason(typed, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        normalize_sms_sender(typed, "US")


def test_the_api_stores_the_sender_as_the_command_line_does(client, auth):
    school = SchoolFactory(sms_sender=None)
    headers = auth("admin")
    path = f"/api/v1/schools/{school.id}"

    number = client.patch(path, headers=headers, json={"sms_sender": "+1 (512) 555-0100"})
    assert number.status_code == 200, number.text
    assert number.json()["sms_sender"] == "+15125550100"
    service = client.patch(path, headers=headers, json={"sms_sender": "MG" + "AB12" * 8})
    assert service.json()["sms_sender"] == SID

    refused = client.patch(path, headers=headers, json={"sms_sender": "555-0100"})
    assert refused.status_code == 422
    assert "E.164" in refused.text
    assert client.get(path, headers=headers).json()["sms_sender"] == SID


def test_a_number_two_schools_have_goes_to_the_same_school_every_time(session):
    """Data from before a number could belong to one school only: a school's own number wins
    over another's pool, then the lowest id."""
    first = SchoolFactory(sms_sender="+15125550177")
    SchoolFactory(sms_sender="+15125550177")
    SchoolFactory(sms_sender="+15125550188", sms_pool=["+15125550199"])
    owner = SchoolFactory(sms_sender="+15125550199")
    first_pool = SchoolFactory(sms_sender="+15125550166", sms_pool=["+15125550155"])
    SchoolFactory(sms_sender="+15125550144", sms_pool=["+15125550155"])
    assert school_for_number(session, "+15125550177", None).id == first.id
    assert school_for_number(session, "+15125550199", None).id == owner.id
    assert school_for_number(session, "+15125550155", None).id == first_pool.id
