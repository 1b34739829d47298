"""The Twilio double, driven by the official twilio SDK through make_client."""

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from app.channels import TransientError
from app.channels.sms import TwilioSms
from app.channels.twilio_http import RedirectingHttpClient, make_client
from app.core.config import get_settings
from app.devtools.twilio_double import TwilioDouble

FAMILY = "+15551230001"
SCHOOL = "+15557650000"


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble().start() as running:
        yield running


@pytest.fixture
def sdk(double: TwilioDouble) -> Client:
    return make_client(double.account_sid, double.auth_token, api_url=double.url, timeout=5)


class LoopbackServer:
    """An HTTP server on a free port of 127.0.0.1, in a background thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """A port on 127.0.0.1 that accepts connections and never answers (a hung provider)."""

    def __enter__(self) -> "Silent":
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []

        def accept() -> None:
            with contextlib.suppress(OSError):
                while True:
                    self.held.append(self.listener.accept()[0])

        threading.Thread(target=accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for held in self.held:
            held.close()


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Received(LoopbackServer):
    """A tiny webhook receiver: records each POST's full URL, form and headers."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], dict[str, str]]] = []
        received = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {key: values[0] for key, values in parse_qs(raw).items()}
                url = f"http://{self.headers['Host']}{self.path}"
                received.posts.append((url, form, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

        super().__init__(Handler)


@pytest.fixture
def receiver() -> Iterator[Received]:
    running = Received()
    yield running
    running.close()


def test_send_is_recorded_and_answered_like_twilio(double: TwilioDouble, sdk: Client) -> None:
    sent = sdk.messages.create(
        to=FAMILY, from_=SCHOOL, body="Hola, mañana hay reunión", status_callback="http://cb/s"
    )
    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert (sent.status, sent.to, sent.from_) == ("queued", FAMILY, SCHOOL)
    assert sent.body == "Hola, mañana hay reunión"
    assert sent.num_segments == "1"
    assert sent.account_sid == double.account_sid
    assert sent.date_created is not None and sent.date_created.tzinfo is not None
    [recorded] = double.messages
    assert (recorded.sid, recorded.to, recorded.from_) == (sent.sid, FAMILY, SCHOOL)
    assert recorded.body == "Hola, mañana hay reunión"  # UTF-8 form encoding survives
    assert recorded.status_callback == "http://cb/s"
    assert recorded.messaging_service_sid is None
    assert recorded.auth_ok
    assert recorded.params["StatusCallback"] == "http://cb/s"


def test_num_segments_follows_encoding(sdk: Client) -> None:
    assert sdk.messages.create(to=FAMILY, from_=SCHOOL, body="a" * 161).num_segments == "2"
    assert sdk.messages.create(to=FAMILY, from_=SCHOOL, body="á" * 71).num_segments == "2"


def test_messaging_service_send(double: TwilioDouble, sdk: Client) -> None:
    service_sid = "MG" + "1" * 32
    sent = sdk.messages.create(to=FAMILY, messaging_service_sid=service_sid, body="Hi")
    assert sent.status == "accepted"  # Twilio picks the number later
    assert sent.from_ is None
    assert double.messages[0].messaging_service_sid == service_sid


def test_fail_next_then_success(double: TwilioDouble, sdk: Client) -> None:
    double.fail_next((500, None))
    with pytest.raises(TwilioRestException) as raised:
        sdk.messages.create(to=FAMILY, from_=SCHOOL, body="one")
    assert raised.value.status == 500
    assert sdk.messages.create(to=FAMILY, from_=SCHOOL, body="two").status == "queued"
    assert [message.body for message in double.messages] == ["two"]
    assert [attempt.http_status for attempt in double.attempts] == [500, 201]


def test_fail_next_answers_in_order(double: TwilioDouble, sdk: Client) -> None:
    scripted = [(429, 20429), (400, 21610)]
    double.fail_next(*scripted)
    seen = []
    for _ in scripted:
        with pytest.raises(TwilioRestException) as raised:
            sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x")
        seen.append((raised.value.status, raised.value.code))
    assert seen == scripted
    assert sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x").status == "queued"


def test_fail_next_refuses_a_success_status(double: TwilioDouble) -> None:
    with pytest.raises(ValueError):
        double.fail_next((201, None))


def test_fail_number_fails_every_send_to_it(double: TwilioDouble, sdk: Client) -> None:
    double.fail_number(FAMILY, 400, 21610)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x")
        assert (raised.value.status, raised.value.code) == (400, 21610)
        assert "unsubscribed" in raised.value.msg
    sdk.messages.create(to="+15551230002", from_=SCHOOL, body="x")
    assert [message.to for message in double.messages] == ["+15551230002"]


def test_wrong_token_is_refused(double: TwilioDouble) -> None:
    wrong = make_client(double.account_sid, "not-the-token", api_url=double.url)
    with pytest.raises(TwilioRestException) as raised:
        wrong.messages.create(to=FAMILY, from_=SCHOOL, body="x")
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert double.messages == []
    [attempt] = double.attempts
    assert not attempt.auth_ok and attempt.sid == ""


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"to": FAMILY, "from_": SCHOOL}, 21602),  # no body
        ({"to": FAMILY, "body": "x"}, 21603),  # no sender
        ({"to": "12345", "from_": SCHOOL, "body": "x"}, 21211),
        ({"to": FAMILY, "from_": SCHOOL, "body": "x" * 1601}, 21617),
    ],
)
def test_bad_requests_get_twilios_codes(sdk: Client, arguments: dict[str, str], code: int) -> None:
    with pytest.raises(TwilioRestException) as raised:
        sdk.messages.create(**arguments)
    assert (raised.value.status, raised.value.code) == (400, code)


def test_status_callback_is_signed_and_moves_the_message(
    double: TwilioDouble, sdk: Client, receiver: Received
) -> None:
    callback = f"{receiver.url}/webhooks/twilio/status?delivery=7"
    sent = sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x", status_callback=callback)
    assert double.send_status_callback(sent.sid, "undelivered", error_code=30003) == 204
    [(url, form, headers)] = receiver.posts
    assert url == callback
    assert form["MessageSid"] == form["SmsSid"] == sent.sid
    assert form["MessageStatus"] == form["SmsStatus"] == "undelivered"
    assert (form["ErrorCode"], form["To"], form["From"]) == ("30003", FAMILY, SCHOOL)
    assert form["AccountSid"] == double.account_sid
    signature = headers["X-Twilio-Signature"]
    assert RequestValidator(double.auth_token).validate(url, form, signature)
    assert not RequestValidator("another-token").validate(url, form, signature)
    assert not RequestValidator(double.auth_token).validate(
        url, {**form, "ErrorCode": "0"}, signature
    )
    fetched = sdk.messages(sent.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


def test_status_callback_needs_a_callback_url(double: TwilioDouble, sdk: Client) -> None:
    sent = sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x")
    with pytest.raises(ValueError):
        double.send_status_callback(sent.sid, "delivered")


def test_inbound_sms_is_signed(double: TwilioDouble, receiver: Received) -> None:
    url = f"{receiver.url}/webhooks/twilio/sms"
    assert double.send_inbound_sms(url, FAMILY, SCHOOL, "STOP") == 204
    [(_, form, headers)] = receiver.posts
    assert (form["From"], form["To"], form["Body"]) == (FAMILY, SCHOOL, "STOP")
    assert form["MessageSid"].startswith("SM")
    assert RequestValidator(double.auth_token).validate(url, form, headers["X-Twilio-Signature"])


def test_stopped_double_refuses_connections() -> None:
    double = TwilioDouble().start()
    sdk = make_client(double.account_sid, double.auth_token, api_url=double.url, timeout=2)
    sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x")  # leaves a keep-alive connection
    double.stop()
    with pytest.raises(requests.ConnectionError):
        sdk.messages.create(to=FAMILY, from_=SCHOOL, body="x")


def test_redirect_keeps_path_and_query() -> None:
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=5"
    assert RedirectingHttpClient(None).redirect(url) == url
    assert (
        RedirectingHttpClient("http://127.0.0.1:9000/").redirect(url)
        == "http://127.0.0.1:9000/2010-04-01/Accounts/AC1/Messages.json?PageSize=5"
    )
    assert (
        RedirectingHttpClient("http://localhost:8000/dev/twilio").redirect(url)
        == "http://localhost:8000/dev/twilio/2010-04-01/Accounts/AC1/Messages.json?PageSize=5"
    )


def test_calls_api_records_the_call_and_plays_twilios_side(
    double: TwilioDouble, sdk: Client
) -> None:
    call = sdk.calls.create(
        to="+15125550001",
        from_="+15125550100",
        url="https://hearth.example.org/voice/1/twiml?s=abc",
        status_callback="https://hearth.example.org/webhooks/twilio/voice/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        machine_detection="Enable",
    )
    assert call.sid.startswith("CA") and call.status == "queued"
    (recorded,) = double.calls
    assert recorded.sid == call.sid and recorded.auth_ok
    assert recorded.url == "https://hearth.example.org/voice/1/twiml?s=abc"
    assert recorded.status_callback_events == ["initiated", "ringing", "answered", "completed"]
    assert recorded.machine_detection == "Enable"
    # Twilio's requests during the call are signed for the URL they go to, query included.
    url, params, headers = double.answer_request(call.sid, "machine_start")
    assert url == recorded.url and params["AnsweredBy"] == "machine_start"
    validator = RequestValidator(double.auth_token)
    assert validator.validate(url, params, headers["X-Twilio-Signature"])
    url, params, headers = double.call_status_request(call.sid, "busy")
    assert params["CallStatus"] == "busy" and double.call(call.sid).status == "busy"
    assert validator.validate(url, params, headers["X-Twilio-Signature"])
    _, recording, _ = double.recording_request(call.sid, "https://hearth.example.org/r")
    assert recording["RecordingSid"].startswith("RE") and recording["RecordingUrl"]


def test_calls_api_refuses_like_twilio(double: TwilioDouble, sdk: Client) -> None:
    with pytest.raises(TwilioRestException) as missing_url:
        sdk.calls.create(to="+15125550001", from_="+15125550100", url="")
    assert missing_url.value.code == 21205
    double.fail_number("+15125550002", 400, 21211)
    with pytest.raises(TwilioRestException) as bad:
        sdk.calls.create(to="+15125550002", from_="+15125550100", url="https://x.example/t")
    assert bad.value.code == 21211
    assert double.calls == []


def test_an_inbound_mms_names_media_the_double_serves_to_the_account_only(
    double: TwilioDouble,
) -> None:
    url = "https://hearth.example.org/webhooks/twilio/sms"
    params, headers = double.inbound_mms_request(
        url, "+15125550100", "+15125550199", "", [(b"\x89PNG\r\n\x1a\nrest", "image/png")]
    )
    assert params["NumMedia"] == "1" and params["MessageSid"].startswith("MM")
    assert params["MediaContentType0"] == "image/png"
    media = params["MediaUrl0"]
    assert media.startswith(double.url + "/2010-04-01/Accounts/" + double.account_sid)
    assert RequestValidator(double.auth_token).validate(url, params, headers["X-Twilio-Signature"])
    assert requests.get(media, timeout=5).status_code == 401
    got = requests.get(media, auth=(double.account_sid, double.auth_token), timeout=5)
    assert got.status_code == 200 and got.content == b"\x89PNG\r\n\x1a\nrest"
    assert got.headers["Content-Type"] == "image/png"
    double.fail_media(1)
    busy = requests.get(media, auth=(double.account_sid, double.auth_token), timeout=5)
    assert busy.status_code == 503
    assert [ok for _, ok in double.media_fetches] == [False, True, True]


def test_sdk_request_lines_are_built_only_when_someone_logs_them(
    sdk: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK writes its request and response at info; Hearth keeps its logger at warnings
    (the family's number is in them), and then does not format them at all for each text."""
    from twilio.http import HttpClient

    built: list[str] = []
    original = HttpClient.log_request
    monkeypatch.setattr(
        HttpClient, "log_request", lambda self, kw: built.append(kw["url"]) or original(self, kw)
    )
    with caplog.at_level(logging.WARNING, logger="twilio.http_client"):
        sdk.messages.create(to=FAMILY, from_=SCHOOL, body="Hola")
    assert built == []
    with caplog.at_level(logging.INFO, logger="twilio.http_client"):
        sdk.messages.create(to=FAMILY, from_=SCHOOL, body="Hola")
    assert len(built) == 1 and built[0].endswith("/Messages.json")
    assert "-- BEGIN Twilio API Request --" in caplog.text
    assert any(m.startswith("Response Status Code: 201") for m in caplog.messages)


class ForwardingProxy(LoopbackServer):
    """A plain HTTP proxy on loopback: records each request's target and passes it on."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        proxy = self
        direct = requests.Session()
        direct.trust_env = False  # the proxy itself goes straight on

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.targets.append(self.path)  # absolute-form: the URL asked for
                passed = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "proxy-connection")
                }
                answer = direct.post(self.path, data=body, headers=passed, timeout=5)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers["Content-Type"])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        super().__init__(Handler)


def test_the_environments_proxy_is_used_and_read_once_per_host(
    double: TwilioDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A district's HTTP(S)_PROXY and NO_PROXY hold for the texts sent, as requests reads
    them; they are read at a client's first request to a host, not again for every text."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    reads: list[str] = []
    read = requests.sessions.get_environ_proxies
    monkeypatch.setattr(
        requests.sessions,
        "get_environ_proxies",
        lambda url, no_proxy=None: reads.append(url) or read(url, no_proxy=no_proxy),
    )
    proxy = ForwardingProxy()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        through = make_client(double.account_sid, double.auth_token, double.url, timeout=5)
        for body in ("Por el proxy", "Otra vez", "Y otra"):
            through.messages.create(to=FAMILY, from_=SCHOOL, body=body)
        assert [m.body for m in double.messages[-3:]] == ["Por el proxy", "Otra vez", "Y otra"]
        assert len(proxy.targets) == 3 and proxy.targets[0].startswith(double.url + "/")
        assert len(reads) == 1  # three texts, one reading of the environment
        assert through.http_client.proxy == {}  # kept per host, not for every host after

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = make_client(double.account_sid, double.auth_token, double.url, timeout=5)
        direct.messages.create(to=FAMILY, from_=SCHOOL, body="Directo")
        assert len(proxy.targets) == 3 and double.messages[-1].body == "Directo"
    finally:
        proxy.close()


def test_a_text_reaches_twilio_exactly_as_given(double: TwilioDouble, sdk: Client) -> None:
    """The client sends the SDK's request straight through urllib3's pool: the form, its
    repeated fields, the credentials and a page of a list arrive as Twilio needs them."""
    body = "Café cerrado mañana – 5 & 6 de marzo? 100% =) 😀"
    pictures = [double.url + "/a.jpg?x=1&y=2", double.url + "/b.png"]
    created = sdk.messages.create(
        to=FAMILY,
        from_=SCHOOL,
        body=body,
        media_url=pictures,
        status_callback="http://127.0.0.1:9/status?d=7",
    )
    sent = double.messages[-1]
    assert (sent.sid, sent.auth_ok) == (created.sid, True)
    assert (sent.body, sent.to, sent.from_) == (body, FAMILY, SCHOOL)
    assert sent.media_urls == pictures
    assert sent.status_callback == "http://127.0.0.1:9/status?d=7"
    listed = sdk.messages.list(to=FAMILY, from_=SCHOOL, limit=5)
    assert [m.sid for m in listed] == [created.sid] and listed[0].body == body

    wrong = make_client(double.account_sid, "not-the-token", api_url=double.url, timeout=5)
    with pytest.raises(TwilioRestException) as refused:
        wrong.messages.create(to=FAMILY, from_=SCHOOL, body="x")
    assert refused.value.status == 401


def test_twilio_out_of_reach_is_worth_trying_again_for_a_send_and_a_lookup() -> None:
    """A refused connection or a timeout is a transient error, for a text and for the lookup
    of an interrupted send alike (urllib3's errors reach the callers as requests' would)."""
    down = TwilioDouble().start()
    settings = get_settings().model_copy(
        update={
            "twilio_account_sid": down.account_sid,
            "twilio_auth_token": down.auth_token,
            "twilio_api_url": down.url,
            "sms_send_timeout": 2.0,
        }
    )
    sms = TwilioSms(settings)
    sms.send(SCHOOL, FAMILY, "first", None)  # leaves a keep-alive connection
    down.stop()
    with pytest.raises(TransientError) as failed:
        sms.send(SCHOOL, FAMILY, "x", None)
    assert failed.value.code == "network"
    with pytest.raises(TransientError) as failed:
        sms.find_sent(SCHOOL, FAMILY, "first", since=datetime.now(UTC) - timedelta(minutes=5))
    assert failed.value.code == "lookup"

    with Silent() as silent:  # accepts, never answers
        slow = TwilioSms(
            settings.model_copy(update={"twilio_api_url": silent.url, "sms_send_timeout": 0.3})
        )
        with pytest.raises(TransientError) as failed:
            slow.send(SCHOOL, FAMILY, "x", None)
        assert failed.value.code == "network" and "timed out" in str(failed.value)
