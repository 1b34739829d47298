def test_health_checks_the_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"


def test_docs_and_openapi_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/guardians" in spec["paths"]
    assert "/api/v1/students/{student_id}/family" in spec["paths"]


def test_unknown_path_uses_the_error_shape(client):
    body = client.get("/api/v1/nothing-here").json()
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"]


def test_the_icon_every_browser_asks_for_is_there(client):
    """Browsers ask every page's site for /favicon.ico (the family page links nothing): an
    answer, not a 404 in every page's console."""
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
