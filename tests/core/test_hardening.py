"""Deployment defaults an attacker tries first: dev tools next to real providers, webhook
signatures for another host, secrets in error output and logs, world-readable data files,
header injection through subjects, an undetermined language."""

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from app import channels
from app.core.config import get_settings
from app.core.db import get_session
from app.demo import service as demo
from app.main import create_app
from tests.conftest import ROOT, run_hearth
from tests.factories import GuardianFactory, SchoolFactory, StudentFactory

SMS_PATH = "/webhooks/twilio/sms"


@pytest.fixture
def settings_env(monkeypatch) -> Iterator[callable]:
    """settings_env(NAME=value, ...): HEARTH_ settings for this test only."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"HEARTH_{name}", value)
        get_settings.cache_clear()
        channels.reset_channels()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    channels.reset_channels()


def _client_for(session) -> TestClient:
    application = create_app()
    application.dependency_overrides[get_session] = lambda: session
    return TestClient(application, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "backends",
    [{"SMS_BACKEND": "twilio"}, {"EMAIL_BACKEND": "smtp"}],
    ids=["real-sms", "real-email"],
)
def test_dev_tools_close_as_soon_as_a_real_provider_is_configured(session, settings_env, backends):
    guardian = GuardianFactory(students=[StudentFactory(school=SchoolFactory())])
    settings_env(
        TWILIO_ACCOUNT_SID="AC" + "2" * 32, TWILIO_AUTH_TOKEN="real-token-5678", **backends
    )
    assert get_settings().env == "dev"  # HEARTH_ENV left unset, as a hurried install does
    with _client_for(session) as client:
        for path in ("/dev/phone", f"/dev/phone/{guardian.id}", "/dev/mail"):
            assert client.get(path).status_code == 404, path
        forged = client.post(f"/dev/phone/{guardian.id}/reply", data={"body": "forged"})
        assert forged.status_code == 404
        assert client.get("/metrics").status_code == 404
    with pytest.raises(Exception, match="only for HEARTH_ENV=dev"):
        demo.seed(session)


def test_dev_tools_are_open_with_the_dev_backends(session, settings_env):
    settings_env()
    with _client_for(session) as client:
        assert client.get("/dev/phone").status_code == 200


def _sign(url: str, params: dict[str, str]) -> str:
    return RequestValidator(get_settings().webhook_auth_token()).compute_signature(url, params)


def _inbound(school) -> dict[str, str]:
    return {
        "MessageSid": "SM" + "a" * 32,
        "From": "+15125559999",
        "To": school.sms_sender,
        "Body": "hello",
    }


def test_a_signature_made_for_another_host_is_refused(client, session):
    params = _inbound(SchoolFactory())
    evil = "http://evil.example" + SMS_PATH
    for headers in (
        {"Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
    ):
        response = client.post(
            SMS_PATH, data=params, headers={"X-Twilio-Signature": _sign(evil, params), **headers}
        )
        assert response.status_code == 403, headers
    good = get_settings().public_url.rstrip("/") + SMS_PATH
    ok = client.post(SMS_PATH, data=params, headers={"X-Twilio-Signature": _sign(good, params)})
    assert ok.status_code == 200


def test_forwarded_host_counts_only_from_a_trusted_proxy(session, settings_env):
    params = _inbound(SchoolFactory())
    forwarded = "https://sms.district.example" + SMS_PATH
    headers = {
        "X-Twilio-Signature": _sign(forwarded, params),
        "X-Forwarded-Host": "sms.district.example",
        "X-Forwarded-Proto": "https",
    }
    settings_env(TRUSTED_PROXIES="10.0.0.0/8")  # the test client is not in it
    with _client_for(session) as client:
        assert client.post(SMS_PATH, data=params, headers=headers).status_code == 403
    # uvicorn's test client connects from "testclient", which is no address: use the
    # proxy module directly for the trusted case.
    from starlette.requests import Request

    from app.core.proxy import client_address, signed_urls

    settings_env(TRUSTED_PROXIES="10.0.0.0/8")
    scope = {
        "type": "http",
        "method": "POST",
        "path": SMS_PATH,
        "query_string": b"",
        "scheme": "http",
        "server": ("10.0.0.5", 8000),
        "client": ("10.0.0.2", 40000),
        "headers": [
            (b"x-forwarded-host", b"sms.district.example"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-for", b"203.0.113.7, 10.0.0.3"),
        ],
    }
    assert forwarded in signed_urls(Request(scope))
    assert client_address(Request(scope)) == "203.0.113.7"
    scope["client"] = ("192.0.2.1", 40000)
    assert signed_urls(Request(scope)) == [get_settings().public_url.rstrip("/") + SMS_PATH]
    assert client_address(Request(scope)) == "192.0.2.1"


def test_a_refused_configuration_is_one_line_naming_the_variable_not_the_secret(tmp_path):
    secret_password = "smtp-pass-Zq81"
    result = run_hearth(
        tmp_path,
        "db",
        "upgrade",
        settings={
            "HEARTH_ENV": "production",
            "HEARTH_SECRET_KEY": "tooshort-K3y",
            "HEARTH_SMTP_PASSWORD": secret_password,
        },
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "HEARTH_SECRET_KEY" in lines[0]
    assert "tooshort-K3y" not in result.stderr + result.stdout
    assert secret_password not in result.stderr + result.stdout
    bad_port = run_hearth(tmp_path, "db", "upgrade", settings={"HEARTH_SMTP_PORT": "twenty-five"})
    assert bad_port.returncode == 2
    assert bad_port.stderr.strip().count("\n") == 0
    assert "HEARTH_SMTP_PORT" in bad_port.stderr and "twenty-five" not in bad_port.stderr


def test_data_files_are_readable_by_their_owner_only(tmp_path):
    assert run_hearth(tmp_path, "db", "upgrade").returncode == 0
    # The queue is created by whoever imports it first (the server, a worker).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATA_DIR"] = str(tmp_path)
    subprocess.run(
        [sys.executable, "-c", "import os; os.umask(0o022); import app.core.queue"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    for name in ("hearth.db", "queue.db"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, f"{name}: {oct(mode)}"


def test_line_breaks_in_a_subject_or_title_are_refused(client, auth, session):
    school = SchoolFactory()
    student = StudentFactory(school=school)
    guardian = GuardianFactory(students=[student])
    headers = auth()
    thread = client.post(
        "/api/v1/threads",
        headers=headers,
        json={"guardian_ids": [guardian.id], "subject": "Hi\r\nBcc: everyone@example.org"},
    )
    assert thread.status_code == 422
    assert "one line" in thread.json()["error"]["message"]
    broadcast = client.post(
        "/api/v1/broadcasts",
        headers=headers,
        json={
            "school_id": school.id,
            "audience": {"whole_school": True},
            "title": "Snow day\nX-Injected: yes",
            "body": "School is closed today.",
        },
    )
    assert broadcast.status_code == 422
    assert "one line" in broadcast.json()["error"]["message"]


def test_und_is_no_language(client, auth, session):
    student = StudentFactory(school=SchoolFactory())
    response = client.post(
        "/api/v1/guardians",
        headers=auth(),
        json={
            "given_name": "A",
            "family_name": "B",
            "phone": "+15125550142",
            "language": "und",
            "student_ids": [student.id],
        },
    )
    assert response.status_code == 422, response.text
    assert "undetermined" in response.json()["error"]["message"]


def test_the_inbound_email_secret_is_taken_from_the_header_only(client, settings_env):
    settings_env(INBOUND_EMAIL_SECRET="s3cret-value")
    raw = b"To: reply+1.abc@localhost\r\nFrom: a@example.org\r\n\r\nHello"
    in_query = client.post("/webhooks/email/inbound?secret=s3cret-value", content=raw)
    assert in_query.status_code == 403
    in_header = client.post(
        "/webhooks/email/inbound", content=raw, headers={"X-Hearth-Secret": "s3cret-value"}
    )
    assert in_header.status_code == 404  # past the secret: no such conversation


def test_unsubscribe_and_family_link_tokens_stay_out_of_the_access_log(client, caplog):
    caplog.set_level("INFO", logger="hearth.access")
    client.get("/unsubscribe/7.secret-token-value")
    client.get("/password-reset/another-secret-token")
    logged = " ".join(json.dumps(getattr(r, "path", "")) + r.getMessage() for r in caplog.records)
    assert "/unsubscribe/[token]" in logged
    assert "secret-token-value" not in logged and "another-secret-token" not in logged


def test_a_fresh_data_dir_is_private(tmp_path):
    data = tmp_path / "new-data"
    assert run_hearth(data, "db", "upgrade").returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(data / "hearth.db").stat().st_mode) == 0o600
