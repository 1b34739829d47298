"""What the outside world posts to the webhooks, malformed: Twilio's SMS and status callbacks
(missing fields, odd values, bad signatures, other content types, bytes that are not UTF-8,
huge bodies) and inbound email (broken MIME, unknown charsets, 8-bit headers, no text).
Every one is answered with a 4xx (or, for harmless oddities, the normal answer), never a 5xx,
and a refused request leaves nothing stored."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from app.core.config import get_settings
from app.delivery.models import Delivery, InboundSms
from app.messaging.models import Message
from app.messaging.tokens import reply_token
from tests.conftest import count_rows
from tests.factories import SENDER, DeliveryFactory, MessageFactory, ThreadFactory
from tests.scenes import Classroom

FAMILY_PHONE = "+15125552001"  # Marisol's, in the shared classroom
FAMILY_EMAIL = "marisol.q@family.example.org"
PROVIDER_ID = "SM" + "a" * 32
SMS = "/webhooks/twilio/sms"
STATUS = "/webhooks/twilio/status"
EMAIL = "/webhooks/email/inbound"
SECRET = "mail-secret"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def signature(path: str, params: dict[str, str], token: str | None = None) -> str:
    url = get_settings().public_url.rstrip("/") + path
    return RequestValidator(token or get_settings().webhook_auth_token()).compute_signature(
        url, params
    )


def signed_post(client, path: str, params: dict[str, str], token: str | None = None):
    headers = {"X-Twilio-Signature": signature(path, params, token)}
    return client.post(path, data=params, headers=headers)


@pytest.fixture
def family(session: Session, classroom: Classroom) -> dict:
    """Marisol of the shared classroom, who was sent a text about Mateo."""
    c = classroom
    thread = ThreadFactory(school=c.school, student_id=c.mateo.id, guardians=[c.marisol])
    message = MessageFactory(thread=thread, body="Mateo was absent.")
    delivery = DeliveryFactory(
        message=message,
        guardian=c.marisol,
        body="Mateo faltó.",
        status="sent",
        provider_id=PROVIDER_ID,
    )
    session.commit()
    return {"school": c.school, "guardian": c.marisol, "thread": thread, "delivery": delivery}


def stored(session: Session) -> dict[str, object]:
    """What a refused request must not change."""
    counts: dict[str, object] = {
        table: count_rows(session, table)
        for table in ("inbound_sms", "inbound_emails", "messages", "opt_outs", "deliveries")
    }
    counts["statuses"] = sorted(session.scalars(select(Delivery.status)).all())
    return counts


@pytest.fixture
def inbound_email_secret() -> Iterator[str]:
    previous = os.environ.get("HEARTH_INBOUND_EMAIL_SECRET")
    os.environ["HEARTH_INBOUND_EMAIL_SECRET"] = SECRET
    get_settings.cache_clear()
    yield SECRET
    if previous is None:
        os.environ.pop("HEARTH_INBOUND_EMAIL_SECRET")
    else:
        os.environ["HEARTH_INBOUND_EMAIL_SECRET"] = previous
    get_settings.cache_clear()


def valid_sms(**changes: str) -> dict[str, str]:
    params = {
        "MessageSid": "SM" + "c" * 32,
        "AccountSid": "AC" + "1" * 32,
        "From": FAMILY_PHONE,
        "To": SENDER,
        "Body": "Gracias",
        "NumMedia": "0",
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v != "<drop>"}


# --- Twilio: inbound SMS -------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
def test_sms_missing_a_required_field_is_422(client, session, family, missing) -> None:
    before = stored(session)
    response = signed_post(client, SMS, valid_sms(**{missing: "<drop>"}))
    assert response.status_code == 422
    assert "MessageSid, From and To" in response.json()["error"]["message"]
    assert stored(session) == before


def test_sms_with_no_fields_at_all_is_422(client, session, family) -> None:
    before = stored(session)
    assert signed_post(client, SMS, {}).status_code == 422
    assert stored(session) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "not base64 at all ☃".encode()},
        {"X-Twilio-Signature": "A" * 10_000},
    ],
    ids=["none", "empty", "garbage", "huge"],
)
def test_sms_without_a_valid_signature_is_403(client, session, family, headers) -> None:
    before = stored(session)
    response = client.post(SMS, data=valid_sms(), headers=headers)
    assert response.status_code == 403
    assert "not signed by Twilio" in response.json()["error"]["message"]
    assert stored(session) == before


def test_sms_signed_with_another_token_or_url_is_403(client, session, family) -> None:
    before = stored(session)
    params = valid_sms()
    assert signed_post(client, SMS, params, token="someone-else").status_code == 403
    other_url = {"X-Twilio-Signature": signature(STATUS, params)}
    assert client.post(SMS, data=params, headers=other_url).status_code == 403
    tampered = {"X-Twilio-Signature": signature(SMS, params)}
    assert client.post(SMS, data={**params, "Body": "STOP"}, headers=tampered).status_code == 403
    assert stored(session) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"MessageSid": "SM1", "From": "+15125552001", "To": "+1512"}'),
        ("text/plain", b"MessageSid=SM1&From=%2B15125552001&To=%2B15125550100"),
        ("application/xml", b"<Message><Body>hi</Body></Message>"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken"),
        ("multipart/form-data", b"no boundary given"),
        ("application/x-www-form-urlencoded", b"\xff\xfe\x00Body=\xc3\x28&From=%FF%FE"),
        ("application/x-www-form-urlencoded", b"=&&==&%&%%&Body"),
    ],
    ids=["json", "text", "xml", "multipart-broken", "multipart-no-boundary", "bad-utf8", "junk"],
)
def test_sms_not_a_signed_form_is_refused(client, session, family, content_type, body) -> None:
    before = stored(session)
    for path in (SMS, STATUS):
        response = client.post(
            path,
            content=body,
            headers={"Content-Type": content_type, "X-Twilio-Signature": "x"},
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["message"]
    assert stored(session) == before


def test_sms_bytes_that_are_not_utf8_are_read_as_replacement_characters(
    client, session, family
) -> None:
    # The form is read as UTF-8 with U+FFFD for undecodable bytes, and the signature is checked
    # over what was read: a signature over the raw bytes (read as Latin-1) does not match.
    raw = b"MessageSid=SM" + b"d" * 32 + b"&From=%2B15125552001&To=%2B15125550100&Body=%FF%FE"
    fields = {"MessageSid": "SM" + "d" * 32, "From": FAMILY_PHONE, "To": SENDER}
    before = stored(session)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    as_latin1 = signature(SMS, {**fields, "Body": "\xff\xfe"})
    response = client.post(SMS, content=raw, headers={**form, "X-Twilio-Signature": as_latin1})
    assert response.status_code == 403
    assert stored(session) == before
    as_read = signature(SMS, {**fields, "Body": "\ufffd\ufffd"})
    response = client.post(SMS, content=raw, headers={**form, "X-Twilio-Signature": as_read})
    assert response.status_code == 200, response.text
    body = session.scalar(
        select(InboundSms.body).where(InboundSms.message_sid == fields["MessageSid"])
    )
    assert body == "\ufffd\ufffd"


def test_sms_with_a_nul_character_is_422(client, session, family) -> None:
    before = stored(session)
    response = signed_post(client, SMS, valid_sms(Body="Hola\x00mundo"))
    assert response.status_code == 422
    assert "NUL" in response.json()["error"]["message"]
    assert stored(session) == before


def test_sms_body_over_the_size_limit_is_413(client, session, family) -> None:
    before = stored(session)
    huge = valid_sms(Body="a" * (get_settings().max_body_bytes + 10))
    response = client.post(SMS, data=huge, headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 413
    assert stored(session) == before


def test_sms_with_overlong_fields_is_stored_trimmed(client, session, family) -> None:
    params = valid_sms(MessageSid="SM" + "e" * 500, From="+1" * 300, To=SENDER + "9" * 300)
    response = signed_post(client, SMS, params)
    assert response.status_code == 200, response.text


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["MessageSid", "SmsSid", "From", "To", "Body", "MessagingServiceSid"])
        | st.text(max_size=20),
        st.text(max_size=200),
        max_size=8,
    )
)
def test_signed_sms_with_any_fields_never_errors(client, session, family, rolled_back, params):
    with rolled_back():
        before = stored(session)
        response = signed_post(client, SMS, params)
        assert response.status_code in (200, 403, 422), response.text
        if response.status_code != 200:
            assert stored(session) == before


# --- Twilio: status callbacks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"MessageSid": PROVIDER_ID},
        {"MessageStatus": "delivered"},
        {"MessageSid": "SM-unknown", "MessageStatus": "delivered"},
        {"MessageSid": PROVIDER_ID, "MessageStatus": "not-a-status"},
        {"MessageSid": PROVIDER_ID, "MessageStatus": "x" * 5000},
        {"MessageSid": "x" * 5000, "MessageStatus": "delivered"},
    ],
    ids=[
        "empty",
        "no-status",
        "no-sid",
        "unknown-sid",
        "unknown-status",
        "huge-status",
        "huge-sid",
    ],
)
def test_status_callback_with_odd_fields_changes_nothing(client, session, family, params) -> None:
    before = stored(session)
    response = signed_post(client, STATUS, params)
    assert response.status_code in (204, 422), response.text
    assert stored(session) == before


@pytest.mark.parametrize(
    "error_code",
    ["²", "٣٠٠٠٣", "30003" * 20, "-1", "30003.0", " 30003", "\x00"],
    ids=["superscript", "arabic-digits", "huge", "negative", "float", "space", "nul"],
)
def test_status_failed_with_an_odd_error_code_never_errors(
    client, session, family, error_code
) -> None:
    params = {"MessageSid": PROVIDER_ID, "MessageStatus": "failed", "ErrorCode": error_code}
    response = signed_post(client, STATUS, params)
    assert response.status_code in (204, 422), response.text
    delivery = session.get(Delivery, family["delivery"].id)
    session.refresh(delivery)
    if response.status_code == 204:
        assert delivery.status == "failed"
        assert delivery.error_code is None or len(delivery.error_code) <= 32
    else:
        assert delivery.status == "sent"


def test_status_callback_without_signature_is_403(client, session, family) -> None:
    before = stored(session)
    response = client.post(STATUS, data={"MessageSid": PROVIDER_ID, "MessageStatus": "failed"})
    assert response.status_code == 403
    assert stored(session) == before


@FUZZ
@given(
    sid=st.sampled_from([PROVIDER_ID]) | st.text(max_size=80),
    status=st.sampled_from(["queued", "sent", "delivered", "failed", "undelivered", "read"])
    | st.text(max_size=40),
    error_code=st.none() | st.text(max_size=40),
)
def test_signed_status_callback_never_errors(
    client, session, family, rolled_back, sid, status, error_code
):
    params = {"MessageSid": sid, "MessageStatus": status}
    if error_code is not None:
        params["ErrorCode"] = error_code
    with rolled_back():
        response = signed_post(client, STATUS, params)
        assert response.status_code in (204, 422), response.text


# --- inbound email ---------------------------------------------------------------------------


def reply_to(family: dict) -> str:
    return f"reply+{reply_token(family['thread'].id)}@replies.school.example.org"


def email(family: dict, body: bytes = b"Muchas gracias.", headers: str = "") -> bytes:
    head = (
        f"From: Maria Ruiz <{FAMILY_EMAIL}>\r\nTo: {reply_to(family)}\r\n"
        f"Subject: Re: Attendance\r\n{headers}"
    )
    if "Content-Type" not in headers:
        head += "Content-Type: text/plain; charset=utf-8\r\n"
    return head.encode() + b"\r\n" + body


def post_email(client, raw: bytes, secret: str | bytes | None = SECRET):
    headers = {"X-Hearth-Secret": secret} if secret is not None else {}
    return client.post(EMAIL, content=raw, headers={**headers, "Content-Type": "message/rfc822"})


def test_email_without_the_secret_is_403(client, session, family, inbound_email_secret) -> None:
    before = stored(session)
    assert post_email(client, email(family), secret=None).status_code == 403
    assert post_email(client, email(family), secret="guess").status_code == 403
    assert post_email(client, email(family), secret=b"\xff\xfe").status_code == 403
    assert stored(session) == before


def test_email_webhook_is_off_without_a_configured_secret(client, session, family) -> None:
    assert post_email(client, email(family), secret="").status_code == 403


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"", 404),
        (b"\x00\xff\xfe garbage \x80\x81", 404),
        (b"not an email at all", 404),
        (b"To: someone@example.org\r\n\r\nHello", 404),
        (b"To: reply+12.deadbeef@replies.school.example.org\r\n\r\nHello", 404),
        (b"To: reply+99999999999999999999999.00@x.org\r\n\r\nHello", 404),
        (b"To: reply+" + b"9" * 5000 + b".00@x.org\r\n\r\nHello", 404),
        (b"To: =?utf-8?q?reply+=FF?=\r\n\r\nHello", 404),
        (b'To: <<<>>>@@@,,,;;;\r\nFrom: "unterminated\r\n\r\n', 404),
    ],
    ids=[
        "empty",
        "binary",
        "no-headers",
        "not-a-reply",
        "forged-token",
        "huge-thread-id",
        "thousands-of-digits",
        "encoded-word",
        "broken-addresses",
    ],
)
def test_email_that_is_no_reply_is_404(
    client, session, family, inbound_email_secret, raw, status
) -> None:
    before = stored(session)
    response = post_email(client, raw)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert stored(session) == before


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"", ""),
        (b"   \r\n\r\n  ", ""),
        (b"\x89PNG\r\n", "Content-Type: image/png\r\n"),
        (
            b"--b\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n",
            'Content-Type: multipart/mixed; boundary="b"\r\n',
        ),
        (b"whatever", "Content-Type: multipart/mixed\r\n"),
    ],
    ids=[
        "empty",
        "blank",
        "image",
        "multipart-no-text",
        "multipart-no-boundary",
    ],
)
def test_reply_without_text_is_422(
    client, session, family, inbound_email_secret, body, headers
) -> None:
    before = stored(session)
    response = post_email(client, email(family, body, headers))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]
    assert stored(session) == before


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b"Gracias", "Content-Type: text/plain; charset=x-unknown-charset\r\n", "Gracias"),
        (b"Gracias", 'Content-Type: text/plain; charset="\xff\xfe"\r\n', "Gracias"),
        (b"Gr\xe1cias \xff\xfe", "", "Gr"),
        (b"Gracias\x00 mil", "", "Gracias"),
        (b"R3JhY2lhcw=", "Content-Transfer-Encoding: base64\r\n", ""),
        (b"Gracias =ZZ =\r\n", "Content-Transfer-Encoding: quoted-printable\r\n", "Gracias"),
        (b"Gracias", "Content-Transfer-Encoding: x-unknown\r\n", "Gracias"),
        (b"<p>Gracias<br>mil</p>", "Content-Type: text/html; charset=utf-8\r\n", "Gracias"),
        (b"Gracias", "Subject: =?x-unknown?q?Re=3A?=\r\n", "Gracias"),
        (b"Gracias", "X-Long: " + "a" * 20_000 + "\r\n", "Gracias"),
        (
            b"--b\r\n\r\nGracias, no closing boundary",
            'Content-Type: multipart/alternative; boundary="b"\r\n',
            "Gracias",
        ),
        (b"> Gracias, all quoted\r\n", "", "Gracias"),
    ],
    ids=[
        "unknown-charset",
        "8bit-charset-name",
        "invalid-utf8",
        "nul",
        "bad-base64",
        "bad-quoted-printable",
        "unknown-transfer-encoding",
        "html",
        "unknown-charset-subject",
        "long-header",
        "multipart-unclosed",
        "only-quoted",
    ],
)
def test_odd_but_readable_reply_is_stored_readably(
    client, session, family, inbound_email_secret, body, headers, expected
) -> None:
    before = stored(session)
    response = post_email(client, email(family, body, headers))
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert stored(session) == before
        return
    message = session.get(Message, response.json()["message_id"])
    assert expected in message.body
    assert "\x00" not in message.body
    message.body.encode("utf-8")  # storable and printable: no lone surrogates


def test_reply_with_8bit_headers_is_stored_readably(
    client, session, family, inbound_email_secret
) -> None:
    raw = (
        b"From: Mar\xeda \xff <" + FAMILY_EMAIL.encode() + b">\r\n"
        b"To: " + reply_to(family).encode() + b"\r\n"
        b"Subject: Re: asistencia \xe1\xff\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nGracias"
    )
    response = post_email(client, raw)
    assert response.status_code == 200, response.text
    message = session.get(Message, response.json()["message_id"])
    assert message.body == "Gracias"
    assert message.author_guardian_id == family["guardian"].id


@pytest.mark.parametrize(
    "header",
    ["Cc: a@[", "Cc: a@", 'Cc: "', "Cc: Ana <b@[>"],
)
def test_reply_with_a_malformed_address_header_is_stored(
    client, session, family, inbound_email_secret, header
) -> None:
    """Headers the standard library fails to parse count as absent: the reply is kept."""
    response = post_email(client, email(family, b"Gracias", f"{header}\r\n"))
    assert response.status_code == 200, response.text
    message = session.get(Message, response.json()["message_id"])
    assert message.body == "Gracias" and message.thread_id == family["thread"].id
    assert message.author_guardian_id == family["guardian"].id


def test_reply_from_a_malformed_address_is_stored_without_a_sender(
    client, session, family, inbound_email_secret
) -> None:
    raw = email(family, b"Gracias").replace(f"<{FAMILY_EMAIL}>".encode(), b"<a@[>")
    response = post_email(client, raw)
    assert response.status_code == 200, response.text
    message = session.get(Message, response.json()["message_id"])
    assert message.body == "Gracias" and message.author_guardian_id is None


def test_email_over_the_size_limit_is_413(client, session, family, inbound_email_secret) -> None:
    before = stored(session)
    huge = email(family, b"a" * (get_settings().max_body_bytes + 10))
    assert post_email(client, huge).status_code == 413
    assert stored(session) == before


mime_headers = st.lists(
    st.sampled_from(
        [
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Type: text/html\r\n",
            b"Content-Type: multipart/mixed; boundary=zz\r\n",
            b"Content-Type: text/plain; charset=",
            b"Content-Transfer-Encoding: base64\r\n",
            b"Content-Transfer-Encoding: quoted-printable\r\n",
            b"MIME-Version: 1.0\r\n",
            b"Cc: reply+1.0@x.org\r\n",
            b"From: \r\n",
        ]
    )
    | st.binary(max_size=60),
    max_size=6,
)


@FUZZ
@given(headers=mime_headers, body=st.binary(max_size=500))
def test_any_reply_bytes_are_answered_cleanly(
    client, session, family, inbound_email_secret, rolled_back, headers, body
):
    raw = b"To: " + reply_to(family).encode() + b"\r\n" + b"".join(headers) + b"\r\n" + body
    with rolled_back():
        before = stored(session)
        response = post_email(client, raw)
        assert response.status_code in (200, 404, 422), response.text
        if response.status_code == 200:
            message = session.get(Message, response.json()["message_id"])
            assert message.body.strip() and "\x00" not in message.body
            message.body.encode("utf-8")
        else:
            assert stored(session) == before


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_any_bytes_without_a_reply_address_are_404(
    client, session, family, inbound_email_secret, rolled_back, raw
):
    with rolled_back():
        before = stored(session)
        response = post_email(client, raw)
        assert response.status_code == 404, response.text
        assert stored(session) == before


@pytest.mark.parametrize(
    "token",
    [
        "²1.abc",
        "١.abc",
        "9" * 5000 + ".abc",
        "99999999999999999999.abc",
        "1.",
        "%00",
        "1.x%00",
    ],
    ids=[
        "superscript",
        "arabic-digit",
        "thousands-of-digits",
        "huge",
        "no-mac",
        "nul",
        "nul-after-mac",
    ],
)
def test_unsubscribe_with_a_malformed_token_is_404(client, session, family, token) -> None:
    before = stored(session)
    assert client.get(f"/unsubscribe/{token}").status_code == 200  # the page only shows a form
    response = client.post(f"/unsubscribe/{token}")
    assert response.status_code == 404, response.text
    assert "not valid" in response.json()["error"]["message"]
    assert stored(session) == before


def test_unsubscribe_page_quotes_the_token_it_was_given(client) -> None:
    page = client.get('/unsubscribe/1.x"><img src=x onerror=alert(1)>').text
    assert "<img" not in page
    assert 'action="/unsubscribe/1.x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"' in page
