"""API keys and the staff sign-in: browser sessions, reset links, attempts."""

from datetime import timedelta

import factory

from app.auth.models import ApiKey, PasswordReset, SignInAttempt, WebSession
from app.auth.sessions import token_hash
from app.core.db import utcnow
from app.core.security import API_KEY_PREFIX, hash_api_key
from tests.factories.base import Base
from tests.factories.people import StaffFactory
from tests.factories.schools import SchoolFactory


class ApiKeyFactory(Base):
    """A key whose full secret is `hearth_<lookup>_<secret>` (the secret is a param)."""

    class Meta:
        model = ApiKey

    name = "SIS sync"
    lookup = factory.Sequence(lambda n: f"{n:012x}")
    key_hash = factory.LazyAttribute(
        lambda o: hash_api_key(f"{API_KEY_PREFIX}{o.lookup}_{o.secret}")
    )
    scopes = factory.LazyFunction(lambda: ["read"])
    school_id = factory.LazyAttribute(lambda o: o.school.id)
    staff_id = None

    class Params:
        secret = "s3cr3t-for-tests-only"
        school = factory.SubFactory(SchoolFactory)


class WebSessionFactory(Base):
    """A signed-in browser: the cookie would carry `token` (a param); only its hash is kept."""

    class Meta:
        model = WebSession

    token_hash = factory.LazyAttribute(lambda o: token_hash(o.token))
    staff_id = factory.LazyAttribute(lambda o: o.staff.id)
    csrf_token = factory.Sequence(lambda n: f"csrf-{n:016d}")
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=14))

    class Params:
        token = factory.Sequence(lambda n: f"session-token-{n}")
        staff = factory.SubFactory(StaffFactory)


class PasswordResetFactory(Base):
    class Meta:
        model = PasswordReset

    token_hash = factory.LazyAttribute(lambda o: token_hash(o.token))
    staff_id = factory.LazyAttribute(lambda o: o.staff.id)
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(hours=1))

    class Params:
        token = factory.Sequence(lambda n: f"reset-token-{n}")
        staff = factory.SubFactory(StaffFactory)


class SignInAttemptFactory(Base):
    class Meta:
        model = SignInAttempt

    email = factory.Sequence(lambda n: f"staff{n}@school.example.org")
    client = "203.0.113.7"
    succeeded = False
