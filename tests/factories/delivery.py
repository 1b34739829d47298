"""The outbox, opt-outs, and what families sent back."""

from itertools import count

import factory

from app.delivery.models import (
    Attachment,
    Delivery,
    InboundEmail,
    InboundMedia,
    InboundSms,
    OptOut,
)
from app.messaging.models import Thread
from tests.factories.base import NOTE, NOTE_IN, SENDER, Base, _session
from tests.factories.messaging import MessageFactory
from tests.factories.people import GuardianFactory
from tests.factories.schools import SchoolFactory


class DeliveryFactory(Base):
    """One text of a message to one family, in the family's language, queued."""

    class Meta:
        model = Delivery

    message_id = factory.LazyAttribute(lambda o: o.message.id)
    guardian_id = factory.LazyAttribute(lambda o: o.guardian.id)
    school_id = factory.LazyAttribute(
        lambda o: _session().get(Thread, o.message.thread_id).school_id
    )
    channel = "sms"
    address = factory.LazyAttribute(
        lambda o: o.guardian.phone if o.channel == "sms" else o.guardian.email
    )
    sender = SENDER
    language = factory.LazyAttribute(lambda o: o.guardian.language.split("-")[0])
    body = factory.LazyAttribute(lambda o: NOTE_IN.get(o.language, NOTE))
    segments = 1

    class Params:
        message = factory.SubFactory(MessageFactory)
        guardian = factory.SubFactory(GuardianFactory)


class OptOutFactory(Base):
    """A family that texted STOP (in Spanish here: PARAR) to the school's number."""

    class Meta:
        model = OptOut

    phone = factory.Sequence(lambda n: f"+1512555{8000 + n % 2000:04d}")
    sender = factory.LazyAttribute(lambda o: o.school.sms_sender)
    school_id = factory.LazyAttribute(lambda o: o.school.id)
    keyword = "PARAR"

    class Params:
        school = factory.SubFactory(SchoolFactory)


_SIDS = count(1)


class InboundSmsFactory(Base):
    """A family's text as Twilio posted it, not yet routed."""

    class Meta:
        model = InboundSms

    message_sid = factory.LazyFunction(lambda: f"SM{next(_SIDS):032x}")
    from_number = factory.Sequence(lambda n: f"+1512555{3000 + n % 7000:04d}")
    to_number = SENDER
    body = "Gracias, maestra. Mateo estará en casa."
    params = factory.LazyAttribute(
        lambda o: {"MessageSid": o.message_sid, "From": o.from_number, "To": o.to_number,
                   "Body": o.body, "NumSegments": "1"}
    )  # fmt: skip


class InboundEmailFactory(Base):
    class Meta:
        model = InboundEmail

    raw = (
        "From: Lan Nguyễn <lan@family.example.org>\r\nTo: reply@replies.school.example.org\r\n"
        "Subject: Re: Attendance\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Cảm ơn cô, cháu sẽ đi học lại vào thứ Hai.\r\n"
    )


class AttachmentFactory(Base):
    """A small PNG a teacher attached to a note (the row only: no file on disk)."""

    class Meta:
        model = Attachment

    message_id = factory.LazyAttribute(lambda o: o.message.id)
    school_id = factory.LazyAttribute(
        lambda o: _session().get(Thread, o.message.thread_id).school_id
    )
    uploaded_by = "staff:1"
    filename = "field-trip.png"
    content_type = "image/png"
    size = 1234
    sha256 = factory.Sequence(lambda n: f"{n:064x}")

    class Params:
        message = factory.SubFactory(MessageFactory)


class InboundMediaFactory(Base):
    """A photo a family sent by MMS, not fetched yet."""

    class Meta:
        model = InboundMedia

    message_id = factory.LazyAttribute(lambda o: o.message.id)
    position = 0
    url = factory.Sequence(
        lambda n: f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM{n:032x}/Media/ME1"
    )
    declared_type = "image/jpeg"

    class Params:
        message = factory.SubFactory(MessageFactory, direction="inbound", kind="reply")
