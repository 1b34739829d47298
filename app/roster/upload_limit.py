"""A larger body limit for roster uploads: a district's OneRoster zip runs to megabytes,
while every other request keeps the small default (HEARTH_MAX_BODY_BYTES)."""

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware import BodySizeLimit

UPLOAD_PATHS = (
    "/api/v1/roster/imports",
    "/api/v1/roster/guardian-imports",
    # the same uploads from the office's roster page
    "/roster/imports",
    "/roster/guardian-imports",
)


# A message's photos and PDFs (HEARTH_ATTACHMENT_MAX_MB, plus room for the form around them).
ATTACHMENT_PATHS = ("/api/v1/attachments",)
# ... and the staff pages' forms that carry them: a note, a reply in a thread, their previews,
# a broadcast's preview (which stores them for the broadcast it confirms); a family's reply
# from its page, and the dev phone's, with a photo.
ATTACHMENT_FORMS = re.compile(
    r"/threads/\d+/(reply|preview)|/compose(/preview)?|/broadcasts/preview"
    r"|/f/[A-Za-z0-9._~-]+|/dev/phone/\d+/reply"
)
FORM_OVERHEAD = 64 * 1024


class RosterUploadLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, upload_max_bytes: int, attachment_max_bytes: int = 0
    ) -> None:
        self.default = BodySizeLimit(app, max_bytes)
        self.uploads = BodySizeLimit(app, max(max_bytes, upload_max_bytes))
        self.attachments = BodySizeLimit(app, max(max_bytes, attachment_max_bytes + FORM_OVERHEAD))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_upload = (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path", "").rstrip("/") in UPLOAD_PATHS
        )
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and (
                scope.get("path", "").rstrip("/") in ATTACHMENT_PATHS
                or ATTACHMENT_FORMS.fullmatch(scope.get("path", ""))
            )
        ):
            await self.attachments(scope, receive, send)
            return
        await (self.uploads if is_upload else self.default)(scope, receive, send)
