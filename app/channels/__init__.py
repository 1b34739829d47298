"""The two ways a message leaves Hearth: SMS (Twilio, or the dev phone) and email (SMTP, or the
dev outbox). A channel sends one message and says how it went; it knows no domain and never
touches the outbox. What can go wrong is said here, the same for every channel."""

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SendError(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


class TransientError(SendError):
    """Worth retrying: the provider is busy or down, the network hiccupped."""


class PermanentError(SendError):
    """Retrying will not help."""


class OptedOutError(PermanentError):
    """The carrier says this number has opted out of this sender (Twilio 21610)."""


class BadNumberError(PermanentError):
    """The number cannot receive SMS: invalid, landline, unreachable."""


OPTED_OUT_CODE = 21610
BAD_NUMBER_CODES = {21211, 21614, 30003, 30006}
RETRY_CODES = {20429, 63018}


_made: dict[str, object] = {}


def configured(key: str, make: Callable[[], T]) -> T:
    """The channel for `key` (its kind and backend), made once per process: a Twilio client
    keeps its pooled connections."""
    if key not in _made:
        _made[key] = make()
    return _made[key]  # type: ignore[return-value]


def reset_channels() -> None:
    """Forget the channels made so far (settings changed, or a new process)."""
    _made.clear()


# A forked worker process makes its own HTTP connections rather than share the parent's.
os.register_at_fork(after_in_child=reset_channels)
