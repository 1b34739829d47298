"""Passwords (argon2), API key secrets, and signed tokens."""

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash

from app.core.schema import MAX_ID

_passwords = PasswordHash.recommended()  # argon2id

API_KEY_PREFIX = "hearth_"


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    try:
        return _passwords.verify(password, password_hash)
    except Exception:  # a malformed stored hash is a failed login, not a crash
        return False


def new_api_key() -> tuple[str, str, str]:
    """(full key shown once, lookup prefix, sha256 of the key).

    Keys carry 256 bits of randomness, so a fast hash is enough; passwords use argon2."""
    lookup = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return key, lookup, hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_lookup(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    lookup, _, rest = key.removeprefix(API_KEY_PREFIX).partition("_")
    return lookup if lookup and rest else None


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def parse_token_id(part: str) -> int | None:
    """The row id a signed token starts with: ASCII digits of a possible id, else None
    (str.isdigit alone lets '²' through to int(), and thousands of digits past int()'s
    limit)."""
    if not (part.isascii() and part.isdigit()) or len(part) > len(str(MAX_ID)):
        return None
    return int(part)
