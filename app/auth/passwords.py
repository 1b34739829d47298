"""Staff passwords: the one rule every way of setting one follows (the API, the pages, the
command line)."""

from typing import Annotated

from pydantic import Field

from app.core.errors import Invalid
from app.core.i18n import N_

MIN_PASSWORD = 10
MAX_PASSWORD = 256

# A password field of an API schema: the same rule, as pydantic checks it.
Password = Annotated[str, Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


def check_password(password: str) -> str:
    """The password if it follows the rule; Invalid with a message for a person otherwise."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(N_("Use at least 10 characters for the password."))
    if len(password) > MAX_PASSWORD:
        raise Invalid(N_("That password is too long (256 characters at most)."))
    return password
