"""Odd input to any page — NUL characters, "²" or huge numbers where an id goes — gets a clear
4xx page, never a server error, on every form the web app has."""

import pytest

from app.core.security import hash_password
from tests import factories

ODD = ["\x00", "²", "9" * 5000, "-1", "🙂"]
FIELDS = [
    "name", "email", "role", "school_ids", "ui_language", "scopes", "school_id", "staff_id",
    "timezone", "term", "body", "subject", "student_id", "guardian_ids", "template", "language",
    "channels", "audience", "grades", "sections", "draft", "password", "current_password",
    "new_password", "q", "page", "title",
]  # fmt: skip


@pytest.fixture
def admin_web(session, signed_in):
    school = factories.SchoolFactory()
    admin = factories.StaffFactory(
        role="admin", schools=[school], password_hash=hash_password("long enough pw")
    )
    session.commit()
    return signed_in(admin), school


def _post_paths(school_id: int) -> list[str]:
    ids = {"staff_id": 1, "key_id": 1, "school_id": school_id, "term_id": 1,
           "broadcast_id": 1, "guardian_id": 1, "thread_id": 1, "token": "x",
           "task_id": 1, "message_id": 1}  # fmt: skip
    from app.web.router import PAGE_ROUTERS

    paths = []
    for page_router in PAGE_ROUTERS:
        for route in page_router.routes:
            if "POST" in getattr(route, "methods", set()) and route.path != "/sign-out":
                paths.append(route.path.format(**ids))
    assert len(paths) > 20  # every page module's forms, not only the sign-in ones
    return paths


@pytest.mark.parametrize("odd", ODD)
def test_no_page_answers_odd_input_with_a_server_error(admin_web, odd):
    web, school = admin_web
    for path in _post_paths(school.id):
        response = web.post(path, {field: odd for field in FIELDS})
        assert response.status_code < 500, (path, odd, response.text[:300])
    for path in ["/inbox", "/families", "/broadcasts", "/admin/staff", "/dashboard", "/compose"]:
        response = web.get(path, params={"page": odd, "q": odd, "school": odd, "offset": odd})
        assert response.status_code < 500, (path, odd, response.text[:300])
    for path in ["/threads/", "/families/", "/broadcasts/", "/admin/schools/"]:
        response = web.get(path + odd.replace("\x00", "%00"))
        assert response.status_code in (404, 422), (path, odd, response.status_code)
