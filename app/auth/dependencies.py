"""FastAPI dependencies that name the scope they need."""

from typing import Annotated

from fastapi import Depends, Request

from app.auth.service import AuthSubject, authenticate_api_key
from app.core.db import SessionDep
from app.core.errors import Forbidden, Unauthorized


def current_subject(request: Request, session: SessionDep) -> AuthSubject:
    cached = getattr(request.state, "subject", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    subject = authenticate_api_key(session, token.strip())
    if subject is None:
        raise Unauthorized("This API key is not valid or has been revoked.")
    request.state.subject = subject
    return subject


def _scoped(scope: str):
    def dependency(subject: Annotated[AuthSubject, Depends(current_subject)]) -> AuthSubject:
        if scope not in subject.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope.")
        return subject

    return dependency


Reader = Annotated[AuthSubject, Depends(_scoped("read"))]
Writer = Annotated[AuthSubject, Depends(_scoped("write"))]
Sender = Annotated[AuthSubject, Depends(_scoped("send"))]
AdminScope = Annotated[AuthSubject, Depends(_scoped("admin"))]
