"""What the dev phone and dev mailbox received."""

import factory

from app.channels.models import DevOutbox
from tests.factories.base import NOTE_IN, SENDER, Base


class DevOutboxFactory(Base):
    """A text the dev phone "received"."""

    class Meta:
        model = DevOutbox

    channel = "sms"
    provider_id = factory.Sequence(lambda n: f"DEVSM{n:032x}")
    sender = SENDER
    to = factory.Sequence(lambda n: f"+1512555{3000 + n % 7000:04d}")
    body = NOTE_IN["vi"]
