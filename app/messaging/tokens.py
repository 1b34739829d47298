"""Reply tokens: the signed thread id in a note email's Reply-To, which routes a family's
email reply back to its conversation."""

from app.core.config import get_settings
from app.core.security import parse_token_id, sign


def reply_token(thread_id: int) -> str:
    key = get_settings().signing_key()
    return f"{thread_id}.{sign(key, f'thread:{thread_id}')[:16]}"


def thread_from_token(token: str) -> int | None:
    """The thread a reply token names, or None for a token Hearth did not sign."""
    thread_part, _, mac = token.partition(".")
    thread_id = parse_token_id(thread_part)
    if thread_id is None:
        return None
    return thread_id if reply_token(thread_id).endswith(f".{mac}") else None


def reply_address(thread_id: int) -> str:
    return f"reply+{reply_token(thread_id)}@{get_settings().email_reply_domain}"
