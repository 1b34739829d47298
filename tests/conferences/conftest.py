"""The delivery tests' real peers (the Twilio double) for the conference tests."""

from tests.delivery.conftest import twilio  # noqa: F401  (the fixture)
