from app.auth.service import revoke_api_key
from app.core.security import api_key_lookup
from tests.factories import SchoolFactory


def test_missing_or_wrong_key_is_401(client, auth):
    assert client.get("/api/v1/schools").status_code == 401
    bad = client.get("/api/v1/schools", headers={"Authorization": "Bearer hearth_abc_def"})
    assert bad.status_code == 401
    assert "not valid" in bad.json()["error"]["message"]


def test_revoked_key_stops_working(client, auth, session):
    headers = auth("read")
    assert client.get("/api/v1/schools", headers=headers).status_code == 200
    from app.auth.models import ApiKey

    key = headers["Authorization"].split()[1]
    row = session.query(ApiKey).filter_by(lookup=api_key_lookup(key)).one()
    revoke_api_key(session, row.id)
    session.flush()
    assert client.get("/api/v1/schools", headers=headers).status_code == 401


def test_read_scope_cannot_write(client, auth):
    response = client.post("/api/v1/schools", json={"name": "X"}, headers=auth("read"))
    assert response.status_code == 403
    assert "write" in response.json()["error"]["message"]


def test_school_restricted_key_sees_only_its_school(client, auth):
    mine, other = SchoolFactory(), SchoolFactory()
    headers = auth("read,write", school=mine)
    names = [s["name"] for s in client.get("/api/v1/schools", headers=headers).json()["items"]]
    assert names == [mine.name]
    assert client.get(f"/api/v1/schools/{other.id}", headers=headers).status_code == 404
