"""Real peers for delivery tests: the official Twilio SDK talking to a local Twilio double over
HTTP, and a real SMTP server (aiosmtpd) on 127.0.0.1."""

import os
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from app import channels
from app.core.config import get_settings
from app.devtools.twilio_double import TwilioDouble

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-1234"


def _configure(**env: str) -> dict[str, str | None]:
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    channels.reset_channels()
    return previous


def _restore(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    channels.reset_channels()


@pytest.fixture
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start() as double:
        previous = _configure(
            HEARTH_SMS_BACKEND="twilio",
            HEARTH_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            HEARTH_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            HEARTH_TWILIO_API_URL=double.url,
        )
        try:
            yield double
        finally:
            _restore(previous)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd checks its port by connecting, so not port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    previous = _configure(
        HEARTH_EMAIL_BACKEND="smtp",
        HEARTH_SMTP_HOST="127.0.0.1",
        HEARTH_SMTP_PORT=str(port),
        HEARTH_EMAIL_REPLY_DOMAIN="replies.school.example.org",
    )
    try:
        yield mailbox
    finally:
        controller.stop()
        _restore(previous)
